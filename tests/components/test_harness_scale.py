"""Issue 12, the Pulumi side: trusted proxies, workers, HPA, PDB, zone spread, and a tenant
quota sized for the harness's ceiling plus its rollout surge. Pure builders, no mocks."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from components.harness_workload import (
    Autoscaling,
    DisruptionBudget,
    HarnessWorkload,
    ZoneSpread,
    autoscaler_spec,
    check_args,
    deployment_spec,
    disruption_budget_spec,
    harness_container,
    harness_env,
    harness_pod_spec,
    trusted_proxy_cidrs,
    workers,
)
from components.tenant_sandbox import (
    HarnessSizing,
    TenantQuota,
    TenantSandbox,
    effective_quota,
    harness_quota,
    quota_spec,
)
from policy.facts import cpu_millis, cpu_quantity, memory_bytes, memory_quantity
from tests.components.test_harness_workload import workload_args
from tests.components.test_tenant_sandbox import workload_tenant

K8S_VERSION = "1.30"


def env(args: Any) -> dict[str, str]:
    return {e["name"]: e["value"] for e in harness_env(args)}


def validate(kind: str, api_version: str, spec: dict[str, Any]) -> None:
    obj = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "harness", "namespace": "ns1"},
        "spec": spec,
    }
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


# --------------------------------------------------------------------------- quantities
@pytest.mark.parametrize(
    ("text", "millis"), [("1", 1000), ("1.5", 1500), ("500m", 500), ("2", 2000)]
)
def test_cpu_quantities(text, millis):
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "size"),
    [("2Gi", 2 * 1024**3), ("512Mi", 512 * 1024**2), ("1G", 10**9), ("100", 100)],
)
def test_memory_quantities(text, size):
    assert memory_bytes(text) == size


@pytest.mark.parametrize("text", ["1Gi", "one", "", "1.5.2"])
def test_not_a_cpu_quantity(text):
    with pytest.raises(ValueError, match="is not a CPU quantity"):
        cpu_millis(text)


@pytest.mark.parametrize("text", ["500m", "2GB", "x"])
def test_not_a_memory_quantity(text):
    with pytest.raises(ValueError, match="is not a memory quantity"):
        memory_bytes(text)


def test_quantities_are_written_as_kubernetes_writes_them():
    assert cpu_quantity(5000) == "5"
    assert cpu_quantity(4500) == "4500m"
    assert memory_quantity(10 * 1024**3) == "10Gi"
    assert memory_quantity(1536 * 1024**2) == "1536Mi"
    assert memory_quantity(1000) == "1000"


# --------------------------------------------------------------------------- environment
@pytest.mark.parametrize(("cpu", "expected"), [("1", "1"), ("500m", "1"), ("2", "2"), ("3.5", "3")])
def test_workers_follow_the_cpu_limit_not_the_node(cpu, expected):
    assert env(workload_args(cpu=cpu))["HARNESS_WORKERS"] == expected
    assert workers(cpu) == int(expected)


def test_trusted_proxies_are_the_google_front_ends_by_default():
    assert env(workload_args())["HARNESS_TRUSTED_PROXIES"] == (
        "35.191.0.0/16,130.211.0.0/22,2600:2d00:1:b029::/64,2600:2d00:1:1::/64"
    )


def test_the_ingress_address_is_trusted_as_the_last_hop():
    args = workload_args(ingress_address="203.0.113.7", trusted_proxies=("130.211.0.0/22",))
    assert trusted_proxy_cidrs(args) == ["130.211.0.0/22", "203.0.113.7/32"]
    assert env(args)["HARNESS_TRUSTED_PROXIES"] == "130.211.0.0/22,203.0.113.7/32"


def test_a_malformed_cpu_is_refused_before_anything_registers():
    with pytest.raises(ValueError, match="'lots' is not a CPU quantity"):
        check_args(workload_args(cpu="lots"))


# --------------------------------------------------------------------------- deployment
def test_fixed_replicas_and_a_one_pod_surge():
    spec = deployment_spec(workload_args(replicas=3))
    assert spec["replicas"] == 3
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }


def test_under_autoscaling_the_deployment_leaves_the_count_to_the_hpa():
    spec = deployment_spec(workload_args(autoscaling=Autoscaling(2, 5, 60)))
    assert "replicas" not in spec


def test_pods_spread_across_zones_softly_by_default():
    assert harness_pod_spec(workload_args())["topologySpreadConstraints"] == [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "harness"}},
        }
    ]


def test_zone_spread_can_be_strict_or_off():
    strict = harness_pod_spec(workload_args(zone_spread=ZoneSpread(2, "DoNotSchedule")))
    (constraint,) = strict["topologySpreadConstraints"]
    assert (constraint["maxSkew"], constraint["whenUnsatisfiable"]) == (2, "DoNotSchedule")
    assert "topologySpreadConstraints" not in harness_pod_spec(workload_args(zone_spread=None))
    off = ZoneSpread(enabled=False)  # how a language without None says it
    assert "topologySpreadConstraints" not in harness_pod_spec(workload_args(zone_spread=off))


def test_the_deployment_is_valid_kubernetes():
    spec = deployment_spec(workload_args(autoscaling=Autoscaling(2, 5, 60)))
    validate("Deployment", "apps/v1", spec)


# --------------------------------------------------------------------------- HPA / PDB
def test_autoscaler_targets_the_deployment_cpu():
    spec = autoscaler_spec(Autoscaling(min_replicas=2, max_replicas=6, cpu_target_percent=65))
    assert spec == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "harness"},
        "minReplicas": 2,
        "maxReplicas": 6,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 65},
                },
            }
        ],
    }
    validate("HorizontalPodAutoscaler", "autoscaling/v2", spec)


def test_disruption_budget_defaults_to_max_unavailable_one():
    spec = disruption_budget_spec(DisruptionBudget())
    assert spec == {
        "selector": {"matchLabels": {"app.kubernetes.io/name": "harness"}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
        "maxUnavailable": 1,
    }
    validate("PodDisruptionBudget", "policy/v1", spec)


def test_disruption_budget_by_min_available():
    spec = disruption_budget_spec(DisruptionBudget(max_unavailable=None, min_available=1))
    assert spec["minAvailable"] == 1
    assert "maxUnavailable" not in spec
    validate("PodDisruptionBudget", "policy/v1", spec)


def test_min_available_alone_replaces_the_default_max_unavailable():
    """Another language cannot send max_unavailable null: giving min_available is enough."""
    budget = DisruptionBudget(min_available=1)
    check_args(workload_args(disruption_budget=budget))
    spec = disruption_budget_spec(budget)
    assert spec["minAvailable"] == 1
    assert "maxUnavailable" not in spec


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"autoscaling": Autoscaling(4, 3, 70)}, "min_replicas <= max_replicas, got 4..3"),
        ({"autoscaling": Autoscaling(0, 3, 70)}, "min_replicas <= max_replicas, got 0..3"),
        ({"autoscaling": Autoscaling(1, 3, 0)}, "cpu_target_percent must be 1..100, got 0"),
        (
            {"replicas": 1, "disruption_budget": DisruptionBudget(None, 1)},
            "min_available 1 would block node drains at 1 replica",
        ),
        (
            {"disruption_budget": DisruptionBudget(0, None)},
            "max_unavailable below 1 would block every node drain",
        ),
        ({"disruption_budget": DisruptionBudget(1, 1)}, "one of .* not both"),
        ({"zone_spread": ZoneSpread(1, "Sometimes")}, "when_unsatisfiable in"),
        ({"zone_spread": ZoneSpread(0, "ScheduleAnyway")}, "max_skew >= 1"),
    ],
)
def test_unsafe_scale_settings_are_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        check_args(workload_args(**overrides))


def test_one_replica_with_the_default_budget_still_drains():
    """maxUnavailable 1 lets the only pod go; the component accepts it."""
    check_args(workload_args(replicas=1))
    assert disruption_budget_spec(DisruptionBudget())["maxUnavailable"] == 1


def test_component_registers_the_autoscaler_and_budget(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args(autoscaling=Autoscaling(2, 4, 70))))
    hpa = plan.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
    pdb = plan.one("kubernetes:policy/v1:PodDisruptionBudget")
    assert hpa.inputs["spec"]["maxReplicas"] == 4, hpa.urn
    assert hpa.inputs["metadata"]["namespace"] == "ns1", hpa.urn
    assert pdb.inputs["spec"]["maxUnavailable"] == 1, pdb.urn
    assert plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") == [hpa]


def test_no_autoscaler_without_autoscaling(run):
    plan = run(lambda: HarnessWorkload("harness", workload_args()))
    assert plan.of_type("kubernetes:autoscaling/v2:HorizontalPodAutoscaler") == []


# --------------------------------------------------------------------------- quota
def test_quota_is_the_ceiling_plus_the_surge():
    quota = harness_quota(HarnessSizing(max_replicas=4, cpu="1", memory="2Gi"))
    assert quota == TenantQuota(cpu="5", memory="10Gi", pods=5)
    assert harness_quota(HarnessSizing(2, "500m", "768Mi")) == TenantQuota("1500m", "2304Mi", 3)


def pods_fit(hard: dict[str, str], container: dict[str, Any], count: int) -> bool:
    """ResourceQuota admission for `count` identical single-container pods."""
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    return (
        count <= int(hard["pods"])
        and count * cpu_millis(requests["cpu"]) <= cpu_millis(hard["requests.cpu"])
        and count * cpu_millis(limits["cpu"]) <= cpu_millis(hard["limits.cpu"])
        and count * memory_bytes(requests["memory"]) <= memory_bytes(hard["requests.memory"])
        and count * memory_bytes(limits["memory"]) <= memory_bytes(hard["limits.memory"])
    )


@pytest.mark.parametrize(("max_replicas", "cpu", "memory"), [(4, "1", "2Gi"), (3, "750m", "1Gi")])
def test_quota_admits_max_replicas_plus_surge_and_no_more(max_replicas, cpu, memory):
    args = workload_args(autoscaling=Autoscaling(1, max_replicas, 70), cpu=cpu, memory=memory)
    hard = quota_spec(harness_quota(HarnessSizing(max_replicas, cpu, memory)))["hard"]
    container = harness_container(args)
    surge = deployment_spec(args)["strategy"]["rollingUpdate"]["maxSurge"]
    assert pods_fit(hard, container, max_replicas + surge)
    assert not pods_fit(hard, container, max_replicas + surge + 1)


def test_a_given_quota_too_small_for_the_sizing_is_refused():
    args = workload_tenant(
        quota=TenantQuota(cpu="4", memory="8Gi", pods=10), harness=HarnessSizing(4, "1", "2Gi")
    )
    with pytest.raises(ValueError, match="does not admit the harness sizing"):
        effective_quota(args)


def test_a_given_quota_large_enough_is_kept():
    quota = TenantQuota(cpu="8", memory="16Gi", pods=10)
    args = workload_tenant(quota=quota, harness=HarnessSizing(4, "1", "2Gi"))
    assert effective_quota(args) == quota


def test_without_sizing_or_quota_the_default_quota_applies():
    assert effective_quota(workload_tenant()) == TenantQuota(cpu="4", memory="8Gi", pods=10)


def test_the_component_registers_the_derived_quota(run):
    plan = run(
        lambda: TenantSandbox("tenant-bob", workload_tenant(harness=HarnessSizing(4, "1", "2Gi")))
    )
    quota = plan.one("kubernetes:core/v1:ResourceQuota")
    hard = quota.inputs["spec"]["hard"]
    assert (hard["pods"], hard["requests.cpu"], hard["limits.memory"]) == ("5", "5", "10Gi")
