"""The Google APIs a party's existing project must have before the stack's first use of them.

Alice's model project and Bob's harness project exist before gke-sandbox runs (the cluster
project is created by `SandboxProject`, which enables its own). A resource that calls an API
must wait for that API's enablement, or a first `pulumi up` on a fresh project fails with
"API has not been used in project ... or it is disabled" and only a retry passes.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components._common import as_args, child, token


def service_role(service: str) -> str:
    """`cloudkms.googleapis.com` -> `cloudkms`: the Service child's role in its name."""
    return service.split(".")[0]


@dataclass
class ProjectServicesArgs:
    """An existing project and the APIs it must have."""

    project: pulumi.Input[str]
    """The party's existing project."""
    services: Sequence[str]
    """The APIs to enable, e.g. `cloudkms.googleapis.com`; at least one."""


class ProjectServices(pulumi.ComponentResource):
    """One `gcp.projects.Service` per API, kept enabled when the stack is destroyed.

    From another language, `dependsOn: [thisComponent]` makes a resource wait for every API.
    """

    enabled_apis: pulumi.Output[list[str]]
    """The APIs enabled, sorted."""

    def __init__(
        self, name: str, args: ProjectServicesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(ProjectServicesArgs, args)
        if not args.services:
            raise ValueError("ProjectServices needs at least one API to enable")
        super().__init__(token("project_services", "ProjectServices"), name, None, opts)
        self.by_api: dict[str, gcp.projects.Service] = {
            service: gcp.projects.Service(
                f"{name}-{service_role(service)}",
                project=args.project,
                service=service,
                # Never disable on destroy: the project is the party's own and other workloads
                # (or the other party's stacks) may use the same API; disabling it would break
                # them, and destroying this stack must not reach beyond what it created.
                disable_on_destroy=False,
                opts=child(self),
            )
            for service in sorted(set(args.services))
        }
        self.services: list[gcp.projects.Service] = list(self.by_api.values())
        self.enabled_apis = pulumi.Output.from_input(sorted(self.by_api))
        self.register_outputs({"enabledApis": self.enabled_apis})
