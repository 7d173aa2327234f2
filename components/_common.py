"""Small helpers every component shares."""

from __future__ import annotations

import pulumi

# Labels on every GCP resource that takes them, so billing and audit can find the sandbox.
MANAGED_BY = {"managed-by": "pulumi", "app": "gke-sandbox"}


def child(parent: pulumi.Resource, **kwargs: object) -> pulumi.ResourceOptions:
    """Options for a component's child: parented, so the plan tree and aliases stay stable."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)  # type: ignore[arg-type]


def sa_member(email: pulumi.Input[str]) -> pulumi.Output[str]:
    """IAM member string for a service account email."""
    return pulumi.Output.from_input(email).apply(lambda e: f"serviceAccount:{e}")


def workload_pool(project_id: str) -> str:
    """The project's Workload Identity pool: `<project>.svc.id.goog` (GKE Workload Identity docs)."""
    return f"{project_id}.svc.id.goog"


def ksa_member(project_id: str, namespace: str, ksa: str) -> str:
    """The IAM member a Kubernetes service account acts as under Workload Identity."""
    return f"serviceAccount:{workload_pool(project_id)}[{namespace}/{ksa}]"
