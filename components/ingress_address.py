"""The global static IP of the sandbox's HTTPS load balancer (Bob's GCE Ingress).

Without it the Ingress gets an ephemeral address: unknown at the first `up` and new on every
re-create, so the harness (which believes the last X-Forwarded-For hop the load balancer adds)
would trust the wrong address and rate-limit every client as one. A global external address is
what a GCE Ingress can take by name (`kubernetes.io/ingress.global-static-ip-name`, "Configuring
a static external IP address", cloud.google.com/kubernetes-engine/docs/tutorials/
configuring-domain-name-static-ip); it must be in the project the load balancer lives in, the
cluster project, so Alice's cluster stack owns it and Bob's workload stack needs no GCP provider.
"""

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components._common import as_args, child, token, waits_for


@dataclass
class IngressAddressArgs:
    """Where the address lives and what the Ingress calls it."""

    project: pulumi.Input[str]
    """The cluster project, where GKE creates the Ingress's load balancer."""
    address_name: str | None = "sandbox-ingress"
    """The address's name: what Bob's Ingress annotation names."""


class IngressAddress(pulumi.ComponentResource):
    """One `gcp.compute.GlobalAddress`, EXTERNAL IPv4 (what a GCE Ingress accepts)."""

    address: pulumi.Output[str]
    """The reserved IP (cluster output `ingressAddress`, Bob's `workload.ingressAddress`)."""
    address_name: pulumi.Output[str]
    """Its name (cluster output `ingressAddressName`, Bob's `workload.ingressAddressName`)."""

    def __init__(
        self, name: str, args: IngressAddressArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(IngressAddressArgs, args)
        super().__init__(token("ingress_address", "IngressAddress"), name, None, opts)
        self.global_address = gcp.compute.GlobalAddress(
            f"{name}-address",
            name=args.address_name,
            project=args.project,
            # The GCE Ingress takes only a global, external address (same tutorial).
            address_type="EXTERNAL",
            ip_version="IPV4",
            description="The sandbox's HTTPS load balancer (Bob's harness Ingress).",
            opts=child(self, depends_on=waits_for(opts)),
        )
        self.address = self.global_address.address
        self.address_name = self.global_address.name
        self.register_outputs({"address": self.address, "addressName": self.address_name})
