"""Explicit providers: nothing in the program talks to whatever cluster happens to be current."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from infra import kubeconfig


def kubernetes(
    name: str,
    *,
    cluster_name: pulumi.Input[str] | None = None,
    endpoint: pulumi.Input[str] | None = None,
    ca_certificate: pulumi.Input[str] | None = None,
    raw_kubeconfig: pulumi.Input[str] | None = None,
) -> k8s.Provider:
    """A Kubernetes provider from cluster coordinates, or from a kubeconfig handed over as a secret."""
    if raw_kubeconfig is None and endpoint is not None:
        raw_kubeconfig = pulumi.Output.all(cluster_name, endpoint, ca_certificate).apply(
            lambda values: kubeconfig.render(values[0], values[1], values[2])
        )
    if raw_kubeconfig is None:
        raise ValueError(f"provider {name}: need cluster coordinates or a kubeconfig")
    return k8s.Provider(name, kubeconfig=pulumi.Output.secret(raw_kubeconfig))
