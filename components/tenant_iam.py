"""The least a tenant needs in the cluster project: find the cluster and get credentials (seed 003 step 12).

Seed 003 granted `roles/container.viewer`, which also reads every Kubernetes object through
IAM. `roles/container.clusterViewer` only allows `get-credentials`; what the tenant may do
inside the cluster is decided by Kubernetes RBAC in its own namespace.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components._common import as_args, child, token

TENANT_ROLE = "roles/container.clusterViewer"


@dataclass
class TenantIamArgs:
    """The cluster project, the tenant's name and its members."""

    project_id: pulumi.Input[str]
    """The cluster project."""
    tenant: str
    """The tenant's name (for error messages and reports)."""
    members: Sequence[str]
    """IAM members (`user:`, `group:`, `serviceAccount:`), never public; at least one."""


class TenantIam(pulumi.ComponentResource):
    """One `container.clusterViewer` grant per tenant member."""

    members: pulumi.Output[list[str]]
    """The members granted `roles/container.clusterViewer`."""

    def __init__(
        self, name: str, args: TenantIamArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(TenantIamArgs, args)
        if not args.members:
            raise ValueError(f"tenant {args.tenant!r} has no members")
        for member in args.members:
            if member.startswith(("allUsers", "allAuthenticatedUsers")):
                raise ValueError(f"tenant {args.tenant!r}: public member {member!r} is not allowed")
        super().__init__(token("tenant_iam", "TenantIam"), name, None, opts)
        self.grants: list[gcp.projects.IAMMember] = [
            gcp.projects.IAMMember(
                f"{name}-cluster-viewer-{index}",
                project=args.project_id,
                role=TENANT_ROLE,
                member=member,
                opts=child(self),
            )
            for index, member in enumerate(args.members)
        ]
        self.members = pulumi.Output.from_input(list(args.members))
        self.register_outputs({"members": self.members})
