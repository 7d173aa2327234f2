"""How far the harness scales, and the quota that must hold it (issue 12).

Two parties meet here: Alice's sandbox sizes the workload tenant's quota from
`tenants[].harnessSizing`; Bob's workload picks its replicas, HPA bounds and pod size, and
states the sizing Alice handed over (`workload.harnessSizing`) so his own stack can refuse
a choice the quota would not admit. In an all-in-one stack both are known and checked in
`infra.config.checks`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from infra.config.reader import Block, cidrs
from infra.config.schema import (
    NAMESPACE,
    AutoscalingConfig,
    DisruptionBudgetConfig,
    HarnessSizing,
    WhenUnsatisfiable,
    WorkloadConfig,
    ZoneSpreadConfig,
)
from infra.errors import ConfigError
from policy.facts import GOOGLE_FRONT_END_CIDRS, cpu_millis, memory_bytes

MAX_REPLICAS = 50
# RFC 1918, shared address space (RFC 6598) and IPv6 unique local: never a load balancer's
# external address.
_INTERNAL = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
CPU_HINT = "a CPU quantity such as 1, 1.5 or 500m"
MEMORY_HINT = "a memory quantity such as 2Gi or 512Mi"


def cpu(block: Block, name: str, default: str) -> str:
    value = block.str(name, default=default, expected=CPU_HINT)
    try:
        millis = cpu_millis(value)
    except ValueError:
        millis = 0
    if millis <= 0:
        raise ConfigError(block.key(name), "is not a CPU quantity", value=value, expected=CPU_HINT)
    return value


def memory(block: Block, name: str, default: str) -> str:
    value = block.str(name, default=default, expected=MEMORY_HINT)
    try:
        size = memory_bytes(value)
    except ValueError:
        size = 0
    if size <= 0:
        raise ConfigError(
            block.key(name), "is not a memory quantity", value=value, expected=MEMORY_HINT
        )
    return value


def parse_harness_sizing(parent: Block) -> HarnessSizing | None:
    block = parent.block("harnessSizing", required=False)
    if block is None:
        return None
    default = HarnessSizing()
    sizing = HarnessSizing(
        max_replicas=block.int(
            "maxReplicas", default=default.max_replicas, minimum=1, maximum=MAX_REPLICAS
        ),
        cpu=cpu(block, "cpu", default.cpu),
        memory=memory(block, "memory", default.memory),
    )
    block.done()
    return sizing


def _parse_autoscaling(parent: Block) -> AutoscalingConfig | None:
    block = parent.block("autoscaling", required=False)
    if block is None:
        return None
    default = AutoscalingConfig()
    scale = AutoscalingConfig(
        min_replicas=block.int(
            "minReplicas", default=default.min_replicas, minimum=1, maximum=MAX_REPLICAS
        ),
        max_replicas=block.int(
            "maxReplicas", default=default.max_replicas, minimum=1, maximum=MAX_REPLICAS
        ),
        # Below 10% the HPA scales out on noise; above 100% it would never scale out.
        cpu_target_percent=block.int(
            "cpuTargetPercent", default=default.cpu_target_percent, minimum=10, maximum=100
        ),
    )
    block.done()
    if scale.min_replicas > scale.max_replicas:
        raise ConfigError(
            block.key("minReplicas"),
            "is above maxReplicas",
            value=scale.min_replicas,
            expected=f"at most maxReplicas ({scale.max_replicas})",
        )
    if parent.has("replicas"):
        raise ConfigError(
            parent.key("replicas"),
            "conflicts with autoscaling",
            expected="one of replicas (a fixed count) or autoscaling (the HPA owns the count)",
        )
    return scale


def _parse_disruption_budget(parent: Block, min_replicas: int) -> DisruptionBudgetConfig:
    block = parent.block("disruptionBudget", required=False)
    if block is None:
        return DisruptionBudgetConfig()
    has_max, has_min = block.has("maxUnavailable"), block.has("minAvailable")
    if has_max and has_min:
        raise ConfigError(
            block.key("minAvailable"),
            "conflicts with maxUnavailable",
            expected="one of maxUnavailable or minAvailable",
        )
    max_unavailable = block.int("maxUnavailable", default=1, minimum=1, maximum=MAX_REPLICAS)
    min_available = block.int("minAvailable", default=0, minimum=0, maximum=MAX_REPLICAS)
    block.done()
    if not has_min:
        return DisruptionBudgetConfig(max_unavailable=max_unavailable)
    if min_available >= min_replicas:
        # The eviction API would refuse every eviction: node drains and upgrades hang.
        raise ConfigError(
            block.key("minAvailable"),
            "would block every node drain",
            value=min_available,
            expected=f"below the minimum replica count ({min_replicas}), or use maxUnavailable",
        )
    return DisruptionBudgetConfig(max_unavailable=None, min_available=min_available)


def _parse_zone_spread(parent: Block) -> ZoneSpreadConfig:
    block = parent.block("zoneSpread", required=False)
    if block is None:
        return ZoneSpreadConfig()
    spread = ZoneSpreadConfig(
        max_skew=block.int("maxSkew", default=1, minimum=1, maximum=MAX_REPLICAS),
        when_unsatisfiable=block.enum(
            "whenUnsatisfiable", WhenUnsatisfiable, default=WhenUnsatisfiable.SCHEDULE_ANYWAY
        ),
    )
    block.done()
    return spread


def _ingress_address(block: Block) -> str | None:
    expected = "the Ingress's reserved external IP address, such as 203.0.113.7"
    value = block.str("ingressAddress", required=False, expected=expected)
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ConfigError(
            block.key("ingressAddress"), "is not an IP address", value=value, expected=expected
        ) from None
    if (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or any(address in network for network in _INTERNAL)
    ):
        # The forwarding rule's address is external; an internal one would trust a hop that
        # any pod in the cluster could put in X-Forwarded-For.
        raise ConfigError(
            block.key("ingressAddress"), "is an internal address", value=value, expected=expected
        )
    return str(address)


def parse_workload_scale(block: Block, replicas: int) -> dict[str, Any]:
    """The workload block's scale keys, as WorkloadConfig fields."""
    autoscaling = _parse_autoscaling(block)
    min_replicas = autoscaling.min_replicas if autoscaling else replicas
    return {
        "cpu": cpu(block, "cpu", "1"),
        "memory": memory(block, "memory", "2Gi"),
        "autoscaling": autoscaling,
        "disruption_budget": _parse_disruption_budget(block, min_replicas),
        "zone_spread": _parse_zone_spread(block),
        "ingress_address": _ingress_address(block),
        # Whose X-Forwarded-For the harness believes (HARNESS_TRUSTED_PROXIES): the Google
        # front ends by default; an internal load balancer's proxy-only subnet instead.
        "trusted_proxies": cidrs(
            block, "trustedProxies", GOOGLE_FRONT_END_CIDRS, family="IPv4 or IPv6"
        ),
        "harness_sizing": parse_harness_sizing(block),
    }


def check_within_sizing(workload: WorkloadConfig, sizing: HarnessSizing, source: str) -> None:
    """Refuse a workload the tenant quota is not sized for: the HPA would stall below its
    ceiling, or a rollout at the ceiling would hang on the quota. `source` names the key the
    sizing came from."""
    prefix = f"{NAMESPACE}:workload"
    count_key = (
        f"{prefix}.autoscaling.maxReplicas" if workload.autoscaling else f"{prefix}.replicas"
    )
    if workload.max_replicas > sizing.max_replicas:
        raise ConfigError(
            count_key,
            "is beyond what the tenant quota is sized for",
            value=workload.max_replicas,
            expected=f"at most {source}.maxReplicas ({sizing.max_replicas})",
        )
    if cpu_millis(workload.cpu) > cpu_millis(sizing.cpu):
        raise ConfigError(
            f"{prefix}.cpu",
            "is beyond the pod size the quota is sized for",
            value=workload.cpu,
            expected=f"at most {source}.cpu ({sizing.cpu})",
        )
    if memory_bytes(workload.memory) > memory_bytes(sizing.memory):
        raise ConfigError(
            f"{prefix}.memory",
            "is beyond the pod size the quota is sized for",
            value=workload.memory,
            expected=f"at most {source}.memory ({sizing.memory})",
        )
