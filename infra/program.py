"""The Pulumi program: read the stack's config once, then build the parts it names.

`pulumi up` runs this through the root `__main__.py`; the offline plan runs the same
function under mocks. Config errors surface as one `pulumi.RunError` line, no traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from infra.config import (
    KNOWN_BLOCKS,
    NAMESPACE,
    OPTIONAL_BLOCKS,
    SECRET_KEYS,
    Part,
    StackConfig,
    parse,
)
from infra.errors import ConfigError
from policy.facts import (
    DEPLOY_FACTS_TYPE,
    GOOGLE_API_CIDRS,
    GOOGLE_FRONT_END_CIDRS,
    REVIEW_EXTRAS_TYPE,
)
from stacks import cluster, harness, model, sandbox, space, workload
from stacks.links import Links

# Build order inside one stack: the cluster's node SA exists before Bob's reader grant.
BUILD_ORDER: tuple[Part, ...] = (
    Part.MODEL,
    Part.CLUSTER,
    Part.HARNESS,
    Part.SANDBOX,
    Part.WORKLOAD,
    Part.SPACE,
)


def engine_config() -> dict[str, Any]:
    """Every `gke-sandbox:*` key the engine holds, parsed from its JSON/string form."""
    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {"part": config.get("part")}
    for name in sorted(KNOWN_BLOCKS | OPTIONAL_BLOCKS):
        value = config.get_object(name)
        if value is not None:
            raw[name] = value
    # Also surface keys the program does not know, so a typo fails loudly.
    known = {"part", *KNOWN_BLOCKS, *OPTIONAL_BLOCKS, *SECRET_KEYS}
    for full_key in _all_config_keys():
        namespace, _, key = full_key.partition(":")
        if namespace == NAMESPACE and key not in known:
            raw[key] = config.get(key)
    return raw


def _all_config_keys() -> list[str]:
    try:
        from pulumi.runtime.config import CONFIG, get_config_env

        return [*CONFIG.get().keys(), *(get_config_env() or {}).keys()]
    except (
        ImportError,
        LookupError,
        AttributeError,
    ):  # internal API moved: lose typo detection only
        return []


def load() -> tuple[StackConfig, dict[str, pulumi.Output[str] | None]]:
    config = parse(engine_config())
    secrets_config = pulumi.Config(NAMESPACE)
    secrets = {key: secrets_config.get_secret(key) for key in SECRET_KEYS}
    if (
        config.part is Part.WORKLOAD
        and config.workload
        and not config.workload.cluster_access
        and not secrets["kubeconfig"]
    ):
        raise ConfigError(
            f"{NAMESPACE}:workload.clusterAccess",
            "is required when no kubeconfig secret is set",
            expected="clusterAccess from Alice, or `pulumi config set --secret gke-sandbox:kubeconfig`",
        )
    if (secrets["tlsCertificate"] is None) != (secrets["tlsPrivateKey"] is None):
        raise ConfigError(
            f"{NAMESPACE}:tlsPrivateKey",
            "must be set together with tlsCertificate",
            expected="both or neither",
        )
    return config, secrets


def build(config: StackConfig, secrets: dict[str, pulumi.Output[str] | None]) -> dict[str, Any]:
    """Wire the parts this stack runs; return all exports."""
    links = Links()
    builders: dict[Part, Callable[[], dict[str, Any]]] = {
        Part.MODEL: lambda: model.build(config, links),
        Part.CLUSTER: lambda: cluster.build(config, links),
        Part.HARNESS: lambda: harness.build(config, links),
        Part.SANDBOX: lambda: sandbox.build(config, links),
        Part.WORKLOAD: lambda: workload.build(config, links, secrets),
        Part.SPACE: lambda: space.build(config),
    }
    record_deploy_facts(config)
    exports: dict[str, Any] = {}
    for part in BUILD_ORDER:
        if config.runs(part) and part not in held_back(config):
            exports.update(builders[part]())
    record_review_extras(config)
    return exports


def held_back(config: StackConfig) -> frozenset[Part]:
    """Parts not built yet: with `sandbox.gatekeeper.mirrored` false the Gatekeeper chart would
    pull an image not yet in the mirror, and its fail-closed webhook would then reject every
    write after it; the tenants and the workload need Gatekeeper's rules first."""
    sandbox = config.sandbox if config.runs(Part.SANDBOX) else None
    if sandbox is not None and not sandbox.gatekeeper.mirrored:
        return frozenset({Part.SANDBOX, Part.WORKLOAD})
    return frozenset()


def record_deploy_facts(config: StackConfig) -> pulumi.ComponentResource | None:
    """Put the deploy config the review judges but no resource shows into the plan: whether
    Gatekeeper's image is in the mirror yet (the chart is built only then), the customer IDs
    each organization allows, CI's deploy identities, the sealed file the model object uploads. Nothing to record, nothing recorded."""
    facts: dict[str, Any] = {}
    sandbox = config.sandbox if config.runs(Part.SANDBOX) else None
    if sandbox is not None:
        facts["gatekeeper"] = {
            "image": sandbox.gatekeeper.image,
            "mirrored": sandbox.gatekeeper.mirrored,
        }
    if config.model is not None and config.runs(Part.MODEL) and config.model.sealed is not None:
        # The ciphertext file the config names, so the review can tell it from any other file
        # the program might upload under the sealed metadata (model-object-sealed).
        facts["sealedModel"] = {
            "object": config.model.object_name,
            "source": config.model.sealed.source,
        }
    allowed: dict[str, list[str]] = {}
    if config.cluster is not None and config.runs(Part.CLUSTER):
        allowed["cluster"] = list(config.cluster.allowed_customer_ids)
        if config.cluster.perimeter is not None:
            facts["deployIdentities"] = list(config.cluster.perimeter.deploy_identities)
    if config.harness is not None and config.runs(Part.HARNESS):
        allowed["harness"] = list(config.harness.allowed_customer_ids)
    if allowed:
        facts["allowedCustomerIds"] = allowed
    if not facts:
        return None
    record = pulumi.ComponentResource(DEPLOY_FACTS_TYPE, "deploy-facts", facts)
    record.register_outputs(facts)
    return record


def record_review_extras(config: StackConfig) -> pulumi.ComponentResource | None:
    """Put what the config allows beyond the design into the plan as the inputs of one
    resource, so the offline review and the CrossGuard pack (which see resources, not config)
    both accept it and list it: `review.extraGrants`, and the sandbox's network ranges when
    they are not the design's (`googleApiCidrs`, `loadBalancerCidrs`). Nothing extra, nothing
    recorded."""
    extras: dict[str, Any] = {}
    if config.extra_grants:
        extras["extraGrants"] = [
            {
                "member": g.member,
                "role": g.role,
                "kind": g.on.replace("-", " "),
                "resource": g.resource,
                "reason": g.reason,
                **({"condition": g.condition} if g.condition is not None else {}),
            }
            for g in config.extra_grants
        ]
    sandbox = config.sandbox if config.runs(Part.SANDBOX) else None
    if sandbox is not None and (
        sandbox.google_api_cidrs != GOOGLE_API_CIDRS
        or sandbox.load_balancer_cidrs != GOOGLE_FRONT_END_CIDRS
    ):
        extras["networkRanges"] = {
            "googleApiCidrs": list(sandbox.google_api_cidrs),
            "loadBalancerCidrs": list(sandbox.load_balancer_cidrs),
        }
    extras.update(_party_facts(config))
    if not extras:
        return None
    record = pulumi.ComponentResource(REVIEW_EXTRAS_TYPE, "review", extras)
    record.register_outputs(extras)
    return record


def _party_facts(config: StackConfig) -> dict[str, Any]:
    """Config facts a per-party plan needs to be judged alone, recorded only where the stack
    does not build the resource that shows them: the cluster stack binds the workload service
    account to a KSA the sandbox stack creates (`workloadKsas`); the sandbox stack approves
    digests of a Deployment the workload stack creates (`approvedDigests`, per namespace)."""
    facts: dict[str, Any] = {}
    tenant = config.workload_tenant
    if tenant is None or tenant.workload_service_account is None:
        return facts
    if config.part is Part.CLUSTER and config.cluster is not None:
        facts["workloadKsas"] = [
            {
                "serviceAccount": config.cluster.workload_sa_email,
                "namespace": tenant.namespace,
                "name": tenant.workload_service_account,
            }
        ]
    if config.part is Part.SANDBOX and config.sandbox is not None:
        facts["approvedDigests"] = {tenant.namespace: sorted(config.sandbox.approved_digests)}
    return facts


def main() -> None:
    """Entry point for `pulumi up/preview` and for the offline plan."""
    try:
        config, secrets = load()
    except ConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
    for key, value in build(config, secrets).items():
        pulumi.export(key, value)
