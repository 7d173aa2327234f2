"""A VPC Service Controls perimeter around the model and cluster projects (issue 10).

Inside it, Cloud Storage and Cloud KMS answer only requests that come from within the
perimeter (or through its one ingress rule): a leaked workload credential, or a buggy harness
told to copy the model elsewhere, cannot read the sealed model or use the key from outside,
nor write what it read to a bucket outside.

The perimeter lives in the organization's access policy (`accessPolicies/<id>`), which only
an organization-level `roles/accesscontextmanager.policyAdmin` can change; its API
(accesscontextmanager.googleapis.com) is billed to the caller's project, not the sandbox's.
Field names and formats: pulumi-gcp 10.2.0 `accesscontextmanager/service_perimeter.py` and
`_inputs.py` (ServicePerimeterStatus*): `resources` are `projects/<project number>`.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components._common import as_args, child, token, waits_for
from policy.facts import PERIMETER_RESTRICTED_SERVICES

# `name`'s short part: letters, digits and underscores (accessPolicies/<id>/servicePerimeters/<x>).
_SHORT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")


@dataclass
class ServicePerimeterArgs:
    """The access policy, the perimeter's name, the projects inside and who may come in."""

    access_policy: str
    """The numeric id of the organization's access policy."""
    short_name: str
    """The perimeter's short name: letters, digits and underscores."""
    project_numbers: Sequence[pulumi.Input[str]]
    """The number of every project inside: the model project and the cluster project."""
    ingress_identities: Sequence[str] | None = field(default_factory=list)
    """Who may still reach storage/KMS inside from outside (the parties' deploy identities and
    the sealing tool), as `user:` / `serviceAccount:` emails; empty admits no one."""


def check_args(args: ServicePerimeterArgs) -> None:
    """Refuse what the API would reject late, or a perimeter that protects nothing."""
    if not args.access_policy.isdigit():
        raise ValueError(f"access_policy {args.access_policy!r} must be the numeric policy id")
    if not _SHORT_NAME.match(args.short_name):
        raise ValueError(f"short_name {args.short_name!r} must be letters, digits and underscores")
    if len(args.project_numbers) < 2:
        raise ValueError("the perimeter must hold the model project and the cluster project")


def ingress_policies(identities: Sequence[str]) -> list[dict[str, Any]]:
    """The one way in from outside: named identities, for storage and KMS only.

    `sources: [{access_level: "*"}]` means "from any network"; the identities are what limits
    it (VPC-SC ingress rules reference; not in the SDK docstring, not verified here).
    """
    if not identities:
        return []
    return [
        {
            "ingress_from": {"identities": list(identities), "sources": [{"access_level": "*"}]},
            "ingress_to": {
                "resources": ["*"],
                "operations": [
                    {"service_name": service, "method_selectors": [{"method": "*"}]}
                    for service in PERIMETER_RESTRICTED_SERVICES
                ],
            },
        }
    ]


class ServicePerimeter(pulumi.ComponentResource):
    """A regular, enforced (not dry-run) perimeter restricting storage and KMS.

    `depends_on` (resource option): what must exist first; the perimeter waits for it.
    """

    perimeter_name: pulumi.Output[str]
    """The perimeter's name, `accessPolicies/<id>/servicePerimeters/<short name>`."""

    def __init__(
        self, name: str, args: ServicePerimeterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(ServicePerimeterArgs, args)
        check_args(args)
        super().__init__(token("service_perimeter", "ServicePerimeter"), name, None, opts)
        parent = f"accessPolicies/{args.access_policy}"
        resources = [
            pulumi.Output.from_input(number).apply(lambda n: f"projects/{n}")
            for number in args.project_numbers
        ]
        self.perimeter: gcp.accesscontextmanager.ServicePerimeter = (
            gcp.accesscontextmanager.ServicePerimeter(
                f"{name}-perimeter",
                parent=parent,
                name=f"{parent}/servicePerimeters/{args.short_name}",
                title=args.short_name,
                description="gke-sandbox: the sealed model and its key stay inside",
                # Regular, not a bridge: a bridge restricts no services.
                perimeter_type="PERIMETER_TYPE_REGULAR",
                # Enforced `status`, never only a dry-run `spec`: a dry run blocks nothing.
                status={
                    "resources": resources,
                    "restricted_services": list(PERIMETER_RESTRICTED_SERVICES),
                    # No `vpc_accessible_services` restriction: the nodes also need container,
                    # logging, monitoring and Artifact Registry, which are not restricted here.
                    "ingress_policies": ingress_policies(args.ingress_identities or []),
                },
                opts=child(self, depends_on=waits_for(opts)),
            )
        )
        self.perimeter_name = self.perimeter.name
        self.register_outputs({"perimeterName": self.perimeter_name})
