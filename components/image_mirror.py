"""Alice's mirror of the platform images the cluster runs (Gatekeeper), in the cluster project (issue 10).

Private nodes have no Cloud NAT, so docker.io is out of reach and the mirror.gcr.io cache is
not guaranteed; Artifact Registry is reached through Private Google Access, and the node
service account already holds roles/artifactregistry.reader on the cluster project
(`confidential_cluster.NODE_ROLES`). Alice copies each image in by digest before
`pulumi up -s sandbox` (README "The real path"); Binary Authorization then admits exactly
that digest (`cluster.binauthzAllowlist`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components._common import MANAGED_BY, child


@dataclass
class ImageMirrorArgs:
    project: pulumi.Input[str]
    location: str
    repository_id: str = "mirror"


def mirror_url(location: str, project: str, repository_id: str) -> str:
    """`<location>-docker.pkg.dev/<project>/<repo>`: the prefix images in the mirror carry."""
    return f"{location}-docker.pkg.dev/{project}/{repository_id}"


class ImageMirror(pulumi.ComponentResource):
    """A docker repository with immutable tags for the platform images, pulled by digest."""

    repository: gcp.artifactregistry.Repository

    def __init__(
        self, name: str, args: ImageMirrorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("gke-sandbox:image_mirror:ImageMirror", name, None, opts)
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-repository",
            repository_id=args.repository_id,
            project=args.project,
            location=args.location,
            format="DOCKER",
            description="Platform images (Gatekeeper) for the confidential sandbox, by digest.",
            # An allowlisted digest must keep meaning the same bytes: tags cannot be moved.
            docker_config={"immutable_tags": True},
            labels=MANAGED_BY,
            # A component's depends_on does not reach its children: the repository itself must
            # wait for the Artifact Registry API (review: services-before-use).
            opts=child(self, depends_on=opts.depends_on if opts else None),
        )
        self.repository_url = pulumi.Output.from_input(args.project).apply(
            lambda project: mirror_url(args.location, project, args.repository_id)
        )
        self.register_outputs(
            {"repositoryId": self.repository.id, "repositoryUrl": self.repository_url}
        )
