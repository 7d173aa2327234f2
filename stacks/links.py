"""Values one part hands the next when several parts run in one stack (`dev`).

In per-party stacks these stay empty and each part derives the same values from its
config blocks; in `dev` they carry the real Outputs, so the wiring itself is exercised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s


@dataclass
class Links:
    kms_key_id: pulumi.Input[str] | None = None
    bucket: pulumi.Input[str] | None = None
    attestor_id: pulumi.Input[str] | None = None
    node_sa_email: pulumi.Input[str] | None = None
    workload_gsa_email: pulumi.Input[str] | None = None
    cluster_name: pulumi.Input[str] | None = None
    cluster_endpoint: pulumi.Input[str] | None = None
    cluster_ca_certificate: pulumi.Input[str] | None = None
    ssl_policy: pulumi.Input[str] | None = None
    ingress_address: pulumi.Input[str] | None = None
    ingress_address_name: pulumi.Input[str] | None = None
    kubernetes: k8s.Provider | None = None
    # Kubernetes resources the workload must wait for (namespace, KSA, admission rules).
    sandbox_ready: list[pulumi.Resource] = field(default_factory=list)
