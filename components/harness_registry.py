"""Bob's Artifact Registry repository for the harness image, and who may pull from it (seed 003 steps 4, 13)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components._common import MANAGED_BY, child


@dataclass
class HarnessRegistryArgs:
    project: pulumi.Input[str]
    location: str
    repository_id: str
    # IAM members (e.g. the cluster's node service account) granted artifactregistry.reader.
    readers: Sequence[pulumi.Input[str]] = field(default_factory=list)
    # Must exist first: the enablement (`gcp.projects.Service`) of each API used here.
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class HarnessRegistry(pulumi.ComponentResource):
    """A docker repository with immutable tags, readable only by the members listed."""

    repository: gcp.artifactregistry.Repository
    reader_grants: list[gcp.artifactregistry.RepositoryIamMember]

    def __init__(
        self, name: str, args: HarnessRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("gke-sandbox:harness_registry:HarnessRegistry", name, None, opts)
        self.repository = gcp.artifactregistry.Repository(
            f"{name}-repository",
            repository_id=args.repository_id,
            project=args.project,
            location=args.location,
            format="DOCKER",
            description="Harness images for the confidential ML sandbox; deployed by digest only.",
            # A signed digest must keep meaning the same bytes: tags cannot be moved.
            docker_config={"immutable_tags": True},
            labels=MANAGED_BY,
            opts=child(self, depends_on=list(args.depends_on)),
        )
        self.reader_grants = [
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-reader-{index}",
                project=args.project,
                location=args.location,
                repository=self.repository.repository_id,
                role="roles/artifactregistry.reader",
                member=member,
                opts=child(self),
            )
            for index, member in enumerate(args.readers)
        ]
        self.repository_url = pulumi.Output.concat(
            args.location,
            "-docker.pkg.dev/",
            pulumi.Output.from_input(args.project),
            "/",
            args.repository_id,
        )
        self.register_outputs(
            {"repositoryId": self.repository.id, "repositoryUrl": self.repository_url}
        )
