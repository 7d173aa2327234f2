"""Alice's mirror of the platform images the cluster runs (Gatekeeper), in the cluster project (issue 10).

Private nodes have no Cloud NAT, so docker.io is out of reach and the mirror.gcr.io cache is
not guaranteed; Artifact Registry is reached through Private Google Access, and the node
service account already holds roles/artifactregistry.reader on the cluster project
(`confidential_cluster.NODE_ROLES`). Alice copies each image in by digest before
`pulumi up -s sandbox` (README "The real path"); Binary Authorization then admits exactly
that digest (`cluster.binauthzAllowlist`).
"""

from dataclasses import dataclass

import pulumi

from components._common import as_args, immutable_docker_repository, token, waits_for


@dataclass
class ImageMirrorArgs:
    """Where Alice mirrors the platform images the cluster runs."""

    project: pulumi.Input[str]
    """The cluster project (its node service account reads Artifact Registry there)."""
    location: str
    """The repository's region, the cluster's region."""
    repository_id: str | None = "mirror"
    """The repository's id (last part of its URL)."""


def mirror_url(location: str, project: str, repository_id: str) -> str:
    """`<location>-docker.pkg.dev/<project>/<repo>`: the prefix images in the mirror carry."""
    return f"{location}-docker.pkg.dev/{project}/{repository_id}"


class ImageMirror(pulumi.ComponentResource):
    """A docker repository with immutable tags for the platform images, pulled by digest."""

    repository_url: pulumi.Output[str]
    """Where the platform images are copied to: `<location>-docker.pkg.dev/<project>/<id>`."""

    def __init__(
        self, name: str, args: ImageMirrorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(ImageMirrorArgs, args)
        super().__init__(token("image_mirror", "ImageMirror"), name, None, opts)
        self.repository = immutable_docker_repository(
            self,
            name,
            project=args.project,
            location=args.location,
            repository_id=args.repository_id,
            description="Platform images (Gatekeeper) for the confidential sandbox, by digest.",
            depends_on=waits_for(opts),
        )
        self.repository_url = pulumi.Output.from_input(args.project).apply(
            lambda project: mirror_url(args.location, project, args.repository_id)
        )
        self.register_outputs({"repositoryUrl": self.repository_url})
