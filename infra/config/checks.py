"""Cross-block checks: combinations no single block can see, and the hand-over values an
all-in-one stack fills in from the block that owns them."""

from __future__ import annotations

from dataclasses import replace

from infra.config.scale import check_within_sizing
from infra.config.schema import NAMESPACE, Part, StackConfig
from infra.errors import ConfigError

# Workload fields another party hands over, with their config key.
_HANDED_OVER = {
    "image": "image",
    "model_uri": "modelUri",
    "kms_key_uri": "kmsKeyUri",
    "model_sha256": "modelSha256",
}


def fill_from_blocks(config: StackConfig) -> StackConfig:
    """In an all-in-one stack, values another party would hand over come from its block."""
    if config.part is not Part.ALL:
        return config
    assert config.model and config.harness and config.sandbox and config.workload
    model, harness, workload = config.model, config.harness, config.workload
    derived = {
        "image": harness.image,
        "model_uri": model.model_uri,
        "kms_key_uri": model.kms_key_uri,
        "model_sha256": model.sealed.plaintext_sha256 if model.sealed else None,
    }
    for attr, value in derived.items():
        given = getattr(workload, attr)
        if given is not None and given != value:
            raise ConfigError(
                f"{NAMESPACE}:workload.{_HANDED_OVER[attr]}",
                "disagrees with the block it comes from",
                value=given,
                expected=f"{value!r} or leave it out",
            )
    if workload.ssl_policy is None:
        assert config.cluster is not None
        derived["ssl_policy"] = config.cluster.ssl_policy
    if workload.ingress_address_name is None:
        assert config.cluster is not None
        derived["ingress_address_name"] = config.cluster.ingress_address_name
    sandbox = config.sandbox
    if not sandbox.allowed_repositories:
        sandbox = replace(sandbox, allowed_repositories=(harness.repository_url + "/",))
    return replace(config, workload=replace(workload, **derived), sandbox=sandbox)


def check_cross_block(config: StackConfig) -> None:
    """Combinations that each block alone cannot see."""
    _check_tenants_and_handover(config)
    _check_workload_image(config)
    _check_workload_tenant(config)
    _check_harness_sizing(config)
    _check_sandbox_reaches_cluster(config)
    _check_gatekeeper_admitted(config)
    _check_workload_ssl_policy(config)


def _check_tenants_and_handover(config: StackConfig) -> None:
    if config.tenants and config.workload_tenant is None:
        raise ConfigError(
            f"{NAMESPACE}:tenants",
            "no tenant has workloadServiceAccount",
            expected="exactly one tenant that hosts the harness",
        )
    workload = config.workload
    if config.part is Part.WORKLOAD and workload:
        for attr in ("image", "model_uri", "kms_key_uri"):
            if getattr(workload, attr) is None:
                raise ConfigError(
                    f"{NAMESPACE}:workload.{_HANDED_OVER[attr]}",
                    "is required for part workload",
                    expected="the value Alice handed over (docs/deploy.md, 'What crosses between parties')",
                )
    if config.sandbox and not config.sandbox.allowed_repositories:
        raise ConfigError(
            f"{NAMESPACE}:sandbox.allowedRepositories",
            "is required",
            expected="the harness repository prefix, e.g. us-central1-docker.pkg.dev/p/repo/",
        )


def _check_workload_image(config: StackConfig) -> None:
    sandbox, workload = config.sandbox, config.workload
    if not (sandbox and workload and workload.image):
        return
    digest = workload.image.rsplit("@", 1)[1]
    if digest not in sandbox.approved_digests:
        # The sandbox would deploy a harness its own admission rules deny.
        raise ConfigError(
            f"{NAMESPACE}:sandbox.approvedDigests",
            "does not include the harness image digest",
            value=digest,
            expected="the digest Alice reviewed and signed",
        )
    if not workload.image.startswith(sandbox.allowed_repositories):
        raise ConfigError(
            f"{NAMESPACE}:workload.image",
            "is outside the allowed repositories",
            value=workload.image,
            expected=f"an image under {', '.join(sandbox.allowed_repositories)}",
        )


def _check_workload_tenant(config: StackConfig) -> None:
    workload, tenant = config.workload, config.workload_tenant
    if (
        config.part is Part.ALL
        and workload
        and tenant
        and (workload.namespace, workload.service_account)
        != (tenant.namespace, tenant.workload_service_account)
    ):
        raise ConfigError(
            f"{NAMESPACE}:workload.namespace",
            "does not match the tenant that hosts the harness",
            value=f"{workload.namespace}/{workload.service_account}",
            expected=f"{tenant.namespace}/{tenant.workload_service_account}",
        )


def _check_harness_sizing(config: StackConfig) -> None:
    """Where both parties' values are known: Bob's replicas and pod size fit Alice's quota."""
    workload, tenant = config.workload, config.workload_tenant
    if not (workload and tenant and tenant.harness_sizing):
        return
    source = f"{NAMESPACE}:tenants[{config.tenants.index(tenant)}].harnessSizing"
    given = workload.harness_sizing
    if given is not None and given != tenant.harness_sizing:
        raise ConfigError(
            f"{NAMESPACE}:workload.harnessSizing",
            "disagrees with the block it comes from",
            value=given,
            expected=f"{source} ({tenant.harness_sizing}) or leave it out",
        )
    check_within_sizing(workload, tenant.harness_sizing, source)


def _check_sandbox_reaches_cluster(config: StackConfig) -> None:
    sandbox = config.sandbox
    if (
        config.part is Part.SANDBOX
        and sandbox
        and not (sandbox.cluster_stack or sandbox.cluster_access)
    ):
        raise ConfigError(
            f"{NAMESPACE}:sandbox.clusterStack",
            "is required for part sandbox",
            expected="clusterStack or clusterAccess",
        )


def _check_gatekeeper_admitted(config: StackConfig) -> None:
    sandbox = config.sandbox
    if not (sandbox and config.cluster):
        return
    image = sandbox.gatekeeper.image
    mirror = config.cluster.mirror_prefix
    if not image.startswith(mirror):
        # Private nodes reach Artifact Registry (Private Google Access), not docker.io (issue 10).
        raise ConfigError(
            f"{NAMESPACE}:sandbox.gatekeeper.image",
            "is not in the cluster project's mirror repository",
            value=image,
            expected=f"{mirror}gatekeeper@sha256:<64 hex> (copy the image there first)",
        )
    if image not in config.cluster.binauthz_allowlist:
        # Binary Authorization would refuse to start Gatekeeper, and with it every tenant pod.
        raise ConfigError(
            f"{NAMESPACE}:cluster.binauthzAllowlist",
            "does not admit sandbox.gatekeeper.image",
            value=image,
            expected="the Gatekeeper image by digest, exactly",
        )


def _check_workload_ssl_policy(config: StackConfig) -> None:
    """Bob's Ingress must name Alice's TLS 1.2+ SSL policy; GCLB's default allows TLS 1.0."""
    if config.workload is not None and config.workload.ssl_policy is None:
        raise ConfigError(
            f"{NAMESPACE}:workload.sslPolicy",
            "is required",
            expected="the SSL policy Alice created (cluster stack output sslPolicy)",
        )
    # Without the reserved address the Ingress gets an ephemeral IP the harness cannot trust.
    if config.workload is not None and config.workload.ingress_address_name is None:
        raise ConfigError(
            f"{NAMESPACE}:workload.ingressAddressName",
            "is required",
            expected="the global address Alice reserved (cluster stack output ingressAddressName)",
        )
    if (
        config.part is Part.WORKLOAD
        and config.workload is not None
        and config.workload.ingress_address is None
    ):
        raise ConfigError(
            f"{NAMESPACE}:workload.ingressAddress",
            "is required",
            expected="the reserved address's IP (cluster stack output ingressAddress)",
        )
