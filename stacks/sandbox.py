"""Alice's Kubernetes stack: Gatekeeper and its rules, then one guarded namespace per tenant (seed 003 steps 10-11, 15)."""

from __future__ import annotations

from typing import Any

import pulumi

from components import gatekeeper_policy
from components.gatekeeper import Gatekeeper, GatekeeperArgs
from components.tenant_sandbox import HarnessSizing, TenantQuota, TenantSandbox, TenantSandboxArgs
from infra import kubeconfig, providers
from infra.config import StackConfig
from stacks import outputs as out
from stacks.links import Links


def admission_for(config: StackConfig) -> list[gatekeeper_policy.TenantAdmission]:
    """Each tenant's admission settings; only the workload tenant runs as the model-reading KSA."""
    sandbox = config.sandbox
    assert sandbox is not None
    return [
        gatekeeper_policy.TenantAdmission(
            namespace=tenant.namespace,
            allowed_repos=sandbox.allowed_repositories,
            workload_service_account=tenant.workload_service_account,
            approved_digests=sandbox.approved_digests if tenant.hosts_workload else (),
            allowed_service_types=sandbox.allowed_service_types,
        )
        for tenant in config.tenants
    ]


def _cluster_coordinates(config: StackConfig, links: Links) -> tuple[Any, Any, Any]:
    sandbox = config.sandbox
    assert sandbox is not None
    if links.cluster_endpoint is not None:
        return links.cluster_name, links.cluster_endpoint, links.cluster_ca_certificate
    if sandbox.cluster_stack:
        ref = pulumi.StackReference(sandbox.cluster_stack)
        return (
            ref.require_output(out.CLUSTER_NAME),
            ref.require_output(out.CLUSTER_ENDPOINT),
            ref.require_output(out.CLUSTER_CA_CERTIFICATE),
        )
    access = sandbox.cluster_access
    assert access is not None  # parse() requires clusterStack or clusterAccess
    return access.cluster_name, access.endpoint, access.ca_certificate


def build(config: StackConfig, links: Links) -> dict[str, Any]:
    sandbox, cluster = config.sandbox, config.cluster
    assert sandbox is not None and cluster is not None
    name, endpoint, ca = _cluster_coordinates(config, links)
    provider = links.kubernetes or providers.kubernetes(
        "sandbox-kubernetes", cluster_name=name, endpoint=endpoint, ca_certificate=ca
    )
    links.kubernetes = provider

    admission = admission_for(config)
    gatekeeper = Gatekeeper(
        "gatekeeper",
        GatekeeperArgs(
            version=sandbox.gatekeeper.version,
            image=sandbox.gatekeeper.image,
            chart_repository=sandbox.gatekeeper.chart_repository,
            templates=gatekeeper_policy.constraint_templates(),
            constraints=[c for tenant in admission for c in gatekeeper_policy.constraints(tenant)],
        ),
        opts=pulumi.ResourceOptions(provider=provider),
    )
    namespaces: dict[str, Any] = {}
    kubeconfigs: dict[str, Any] = {}
    for tenant in config.tenants:
        workload_gsa = None
        if tenant.hosts_workload:
            workload_gsa = links.workload_gsa_email or cluster.workload_sa_email
        sandbox_ns = TenantSandbox(
            f"tenant-{tenant.name}",
            TenantSandboxArgs(
                tenant=tenant.name,
                namespace=tenant.namespace,
                members=tenant.members,
                quota=TenantQuota(
                    cpu=tenant.quota.cpu, memory=tenant.quota.memory, pods=tenant.quota.pods
                )
                if tenant.quota
                else None,
                harness=HarnessSizing(max_replicas=sz.max_replicas, cpu=sz.cpu, memory=sz.memory)
                if (sz := tenant.harness_sizing)
                else None,
                workload_service_account=tenant.workload_service_account,
                workload_gsa_email=workload_gsa,
                google_api_cidrs=sandbox.google_api_cidrs,
                load_balancer_cidrs=sandbox.load_balancer_cidrs,
            ),
            # Tenants arrive only once the rules that bind them are in place.
            opts=pulumi.ResourceOptions(provider=provider, depends_on=[gatekeeper]),
        )
        namespaces[tenant.name] = sandbox_ns.namespace_name
        kubeconfigs[tenant.name] = pulumi.Output.secret(
            pulumi.Output.all(name, endpoint, ca).apply(
                lambda v, ns=tenant.namespace: kubeconfig.render(v[0], v[1], v[2], namespace=ns)
            )
        )
        if tenant.hosts_workload:
            links.sandbox_ready = [sandbox_ns, gatekeeper]
    return {
        out.TENANT_NAMESPACES: namespaces,
        out.TENANT_KUBECONFIGS: kubeconfigs,
        out.GATEKEEPER_CONSTRAINTS: sorted(
            c["metadata"]["name"] for t in admission for c in gatekeeper_policy.constraints(t)
        ),
    }
