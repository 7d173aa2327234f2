"""Bob's Artifact Registry repository for the harness image, and who may pull from it (seed 003 steps 4, 13)."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components._common import (
    as_args,
    child,
    immutable_docker_repository,
    token,
    waits_for,
)


@dataclass
class HarnessRegistryArgs:
    """Where the harness repository lives and who may pull from it."""

    project: pulumi.Input[str]
    """The harness owner's project."""
    location: str
    """The repository's region, e.g. `europe-west4`."""
    repository_id: str
    """The repository's id (last part of its URL)."""
    readers: Sequence[pulumi.Input[str]] | None = field(default_factory=list)
    """IAM members granted artifactregistry.reader (e.g. the cluster's node service account)."""


class HarnessRegistry(pulumi.ComponentResource):
    """A docker repository with immutable tags, readable only by the members listed.

    `depends_on` (resource option): the enablement of artifactregistry.googleapis.com; the
    repository waits for it.
    """

    repository_id: pulumi.Output[str]
    """The repository's resource id."""
    repository_url: pulumi.Output[str]
    """Where images are pushed and pulled: `<location>-docker.pkg.dev/<project>/<id>`."""

    def __init__(
        self, name: str, args: HarnessRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(HarnessRegistryArgs, args)
        super().__init__(token("harness_registry", "HarnessRegistry"), name, None, opts)
        self.repository: gcp.artifactregistry.Repository = immutable_docker_repository(
            self,
            name,
            project=args.project,
            location=args.location,
            repository_id=args.repository_id,
            description="Harness images for the confidential ML sandbox; deployed by digest only.",
            depends_on=waits_for(opts),
        )
        self.reader_grants: list[gcp.artifactregistry.RepositoryIamMember] = [
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-reader-{index}",
                project=args.project,
                location=args.location,
                repository=self.repository.repository_id,
                role="roles/artifactregistry.reader",
                member=member,
                opts=child(self),
            )
            for index, member in enumerate(args.readers or [])
        ]
        self.repository_url = pulumi.Output.concat(
            args.location,
            "-docker.pkg.dev/",
            pulumi.Output.from_input(args.project),
            "/",
            args.repository_id,
        )
        self.repository_id = self.repository.id
        self.register_outputs(
            {"repositoryId": self.repository_id, "repositoryUrl": self.repository_url}
        )
