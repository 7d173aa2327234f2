"""The cluster project: created in the confidential folder, billed to Bob's account (seed 003 step 6)."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components._common import MANAGED_BY, as_args, child, token

# What the sandbox needs and nothing more; each enabled API is attack surface.
REQUIRED_SERVICES = (
    "artifactregistry.googleapis.com",
    "binaryauthorization.googleapis.com",
    "cloudkms.googleapis.com",
    "compute.googleapis.com",
    "container.googleapis.com",
    "containeranalysis.googleapis.com",
    # Private zones that send *.googleapis.com and *.pkg.dev to the restricted VIP.
    "dns.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
)


@dataclass
class SandboxProjectArgs:
    """The cluster project's id, its folder, the billing account and its APIs."""

    project_id: str
    """The new project's id."""
    folder_id: pulumi.Input[str]
    """The confidential folder the project is created in (`folders/<id>` or the id)."""
    billing_account: str
    """The customer's billing account id the sandbox runs on."""
    services: Sequence[str] | None = field(default_factory=lambda: list(REQUIRED_SERVICES))
    """The APIs to enable; by default exactly the ones the sandbox uses."""


class SandboxProject(pulumi.ComponentResource):
    """Project + billing link + the services the sandbox uses."""

    project_id: pulumi.Output[str]
    """The project's id."""
    project_number: pulumi.Output[str]
    """The project's number (names its service agents)."""

    def __init__(
        self, name: str, args: SandboxProjectArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(SandboxProjectArgs, args)
        super().__init__(token("sandbox_project", "SandboxProject"), name, None, opts)
        if not args.billing_account:
            raise ValueError(
                "billing_account is required: the sandbox runs on the customer's billing account"
            )
        self.project: gcp.organizations.Project = gcp.organizations.Project(
            f"{name}-project",
            project_id=args.project_id,
            name=args.project_id,
            folder_id=args.folder_id,
            billing_account=args.billing_account,
            # The default network ships permissive firewall rules; the cluster brings its own VPC.
            auto_create_network=False,
            # `pulumi destroy` or a replacement must never delete the sandbox project (SDK 10.2.0).
            deletion_policy="PREVENT",
            labels=MANAGED_BY,
            opts=child(self),
        )
        self.by_api: dict[str, gcp.projects.Service] = {
            service: gcp.projects.Service(
                f"{name}-{service.split('.')[0]}",
                project=self.project.project_id,
                service=service,
                # Kept on destroy: the project itself is PREVENT-protected, and turning an API
                # off under live resources (the cluster, its disks) breaks them, not frees them.
                disable_on_destroy=False,
                opts=child(self),
            )
            for service in sorted(
                set(REQUIRED_SERVICES if args.services is None else args.services)
            )
        }
        self.services: list[gcp.projects.Service] = list(self.by_api.values())
        self.project_id = self.project.project_id
        self.project_number = self.project.number
        self.register_outputs({"projectId": self.project_id, "projectNumber": self.project_number})
