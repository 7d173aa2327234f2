"""Bob's Kubernetes stack: the signed harness in his namespace (seed 003 step 14)."""

from __future__ import annotations

from typing import Any

import pulumi

from components.harness_workload import (
    Autoscaling,
    DisruptionBudget,
    HarnessWorkload,
    HarnessWorkloadArgs,
    ZoneSpread,
)
from infra import providers
from infra.config import StackConfig
from stacks import outputs as out
from stacks.links import Links


def build(
    config: StackConfig, links: Links, secrets: dict[str, pulumi.Output[str] | None]
) -> dict[str, Any]:
    workload = config.workload
    assert workload is not None and workload.image and workload.model_uri and workload.kms_key_uri
    provider = links.kubernetes
    if provider is None:
        access = workload.cluster_access
        provider = providers.kubernetes(
            "workload-kubernetes",
            raw_kubeconfig=secrets.get("kubeconfig"),
            cluster_name=access.cluster_name if access else None,
            endpoint=access.endpoint if access else None,
            ca_certificate=access.ca_certificate if access else None,
        )
    harness = HarnessWorkload(
        "harness",
        HarnessWorkloadArgs(
            namespace=workload.namespace,
            service_account=workload.service_account,
            image=workload.image,
            host=workload.host,
            model_uri=workload.model_uri,
            kms_key_uri=workload.kms_key_uri,
            model_sha256=workload.model_sha256,
            replicas=workload.replicas,
            cpu=workload.cpu,
            memory=workload.memory,
            autoscaling=Autoscaling(
                min_replicas=workload.autoscaling.min_replicas,
                max_replicas=workload.autoscaling.max_replicas,
                cpu_target_percent=workload.autoscaling.cpu_target_percent,
            )
            if workload.autoscaling
            else None,
            disruption_budget=DisruptionBudget(
                max_unavailable=workload.disruption_budget.max_unavailable,
                min_available=workload.disruption_budget.min_available,
            ),
            zone_spread=ZoneSpread(
                max_skew=workload.zone_spread.max_skew,
                when_unsatisfiable=workload.zone_spread.when_unsatisfiable,
            ),
            # From the plan in `dev` (the reserved address itself), else as Alice handed it over.
            ingress_address=links.ingress_address or workload.ingress_address,
            ingress_address_name=workload.ingress_address_name,
            trusted_proxies=workload.trusted_proxies,
            ssl_policy=links.ssl_policy or workload.ssl_policy,
            token=secrets.get("harnessToken"),
            tls_certificate=secrets.get("tlsCertificate"),
            tls_private_key=secrets.get("tlsPrivateKey"),
        ),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=list(links.sandbox_ready)),
    )
    return {
        out.HARNESS_URL: harness.url,
        out.HARNESS_TOKEN: harness.token,
        out.HARNESS_CERTIFICATE: harness.certificate,
    }
