"""Scale config (issue 12): each unsafe or inconsistent value fails naming its key; the sizing
that crosses from Alice's tenant to Bob's workload is checked where both are known."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import (
    AutoscalingConfig,
    DisruptionBudgetConfig,
    HarnessSizing,
    Part,
    WhenUnsatisfiable,
    parse,
)
from tests.config.test_config import assert_names, config_error
from tests.conftest import stack_config

W = "gke-sandbox:workload"
T0 = "gke-sandbox:tenants[0]"


def workload_stack() -> dict[str, Any]:
    import copy

    return copy.deepcopy(stack_config("workload"))


def test_dev_scale_values(dev_config):
    config = parse(dev_config)
    workload, tenant = config.workload, config.workload_tenant
    assert workload.autoscaling == AutoscalingConfig(2, 4, 70)
    assert workload.disruption_budget == DisruptionBudgetConfig(max_unavailable=1)
    assert workload.zone_spread.when_unsatisfiable is WhenUnsatisfiable.SCHEDULE_ANYWAY
    # dev wires the reserved address from the plan; only its name comes from the cluster block.
    assert workload.ingress_address is None
    assert workload.ingress_address_name == "sandbox-ingress"
    assert tenant.harness_sizing == HarnessSizing(max_replicas=4, cpu="1", memory="2Gi")
    assert tenant.quota is None


def test_workload_stack_states_the_handed_over_sizing():
    config = parse(workload_stack())
    assert config.part is Part.WORKLOAD
    assert config.workload.harness_sizing == HarnessSizing(4, "1", "2Gi")


def test_hosting_tenant_without_sizing_gets_the_default(dev_config):
    del dev_config["tenants"][0]["harnessSizing"]
    dev_config["workload"]["autoscaling"]["maxReplicas"] = 3
    assert parse(dev_config).workload_tenant.harness_sizing == HarnessSizing(3, "1", "2Gi")


# --------------------------------------------------------------------------- workload block
def test_min_above_max(dev_config):
    dev_config["workload"]["autoscaling"]["minReplicas"] = 5
    assert_names(
        config_error(dev_config),
        f"{W}.autoscaling.minReplicas",
        "is above maxReplicas",
        "at most maxReplicas (4)",
    )


def test_replicas_and_autoscaling_together(dev_config):
    dev_config["workload"]["replicas"] = 2
    assert_names(
        config_error(dev_config),
        f"{W}.replicas",
        "conflicts with autoscaling",
        "one of replicas (a fixed count) or autoscaling",
    )


@pytest.mark.parametrize("value", [5, 101])
def test_cpu_target_out_of_range(dev_config, value):
    dev_config["workload"]["autoscaling"]["cpuTargetPercent"] = value
    assert_names(
        config_error(dev_config),
        f"{W}.autoscaling.cpuTargetPercent",
        "is out of range",
        "an integer 10..100",
    )


def test_max_replicas_out_of_range(dev_config):
    dev_config["workload"]["autoscaling"]["maxReplicas"] = 51
    assert_names(
        config_error(dev_config),
        f"{W}.autoscaling.maxReplicas",
        "is out of range",
        "an integer 1..50",
    )


def test_min_available_that_blocks_drains(dev_config):
    dev_config["workload"]["disruptionBudget"] = {"minAvailable": 2}
    assert_names(
        config_error(dev_config),
        f"{W}.disruptionBudget.minAvailable",
        "would block every node drain",
        "below the minimum replica count (2)",
    )


def test_min_available_below_the_minimum_is_accepted(dev_config):
    dev_config["workload"]["disruptionBudget"] = {"minAvailable": 1}
    budget = parse(dev_config).workload.disruption_budget
    assert budget == DisruptionBudgetConfig(max_unavailable=None, min_available=1)


def test_both_budget_forms(dev_config):
    dev_config["workload"]["disruptionBudget"] = {"minAvailable": 1, "maxUnavailable": 1}
    assert_names(
        config_error(dev_config),
        f"{W}.disruptionBudget.minAvailable",
        "conflicts with maxUnavailable",
        "one of maxUnavailable or minAvailable",
    )


def test_max_unavailable_zero(dev_config):
    dev_config["workload"]["disruptionBudget"] = {"maxUnavailable": 0}
    assert_names(
        config_error(dev_config),
        f"{W}.disruptionBudget.maxUnavailable",
        "is out of range",
        "an integer 1..50",
    )


def test_unknown_spread_mode(dev_config):
    dev_config["workload"]["zoneSpread"]["whenUnsatisfiable"] = "Sometimes"
    assert_names(
        config_error(dev_config),
        f"{W}.zoneSpread.whenUnsatisfiable",
        "is not a known value",
        "one of ScheduleAnyway, DoNotSchedule",
    )


def test_unknown_spread_key(dev_config):
    dev_config["workload"]["zoneSpread"]["topologyKey"] = "kubernetes.io/hostname"
    assert_names(
        config_error(dev_config),
        f"{W}.zoneSpread.topologyKey",
        "is not a known key",
        "maxSkew",
    )


@pytest.mark.parametrize(("key", "value"), [("cpu", "2Gi"), ("cpu", "0"), ("memory", "500m")])
def test_malformed_pod_size(dev_config, key, value):
    dev_config["workload"][key] = value
    kind = "CPU" if key == "cpu" else "memory"
    assert_names(
        config_error(dev_config), f"{W}.{key}", f"is not a {kind} quantity", "quantity such as"
    )


@pytest.mark.parametrize("value", ["10.0.0.5", "127.0.0.1", "fd00::1"])
def test_internal_ingress_address(dev_config, value):
    dev_config["workload"]["ingressAddress"] = value
    assert_names(
        config_error(dev_config),
        f"{W}.ingressAddress",
        "is an internal address",
        "reserved external IP",
    )


def test_ingress_address_not_an_ip(dev_config):
    dev_config["workload"]["ingressAddress"] = "llama.example.com"
    assert_names(
        config_error(dev_config), f"{W}.ingressAddress", "is not an IP address", "external IP"
    )


# --------------------------------------------------------------------------- the crossing
def test_max_replicas_beyond_the_quota_sizing(dev_config):
    dev_config["workload"]["autoscaling"]["maxReplicas"] = 5
    assert_names(
        config_error(dev_config),
        f"{W}.autoscaling.maxReplicas",
        "is beyond what the tenant quota is sized for",
        f"at most {T0}.harnessSizing.maxReplicas (4)",
    )


def test_fixed_replicas_beyond_the_quota_sizing(dev_config):
    del dev_config["workload"]["autoscaling"]
    dev_config["workload"]["replicas"] = 5
    assert_names(
        config_error(dev_config),
        f"{W}.replicas",
        "is beyond what the tenant quota is sized for",
        "(4)",
    )


@pytest.mark.parametrize(("key", "value"), [("cpu", "1500m"), ("memory", "3Gi")])
def test_pod_bigger_than_the_sizing(dev_config, key, value):
    dev_config["workload"][key] = value
    assert_names(
        config_error(dev_config),
        f"{W}.{key}",
        "is beyond the pod size the quota is sized for",
        f"at most {T0}.harnessSizing.{key}",
    )


def test_workload_sizing_disagreeing_with_the_tenant(dev_config):
    dev_config["workload"]["harnessSizing"] = {"maxReplicas": 6}
    assert_names(
        config_error(dev_config),
        f"{W}.harnessSizing",
        "disagrees with the block it comes from",
        f"{T0}.harnessSizing",
    )


def test_workload_stack_checks_its_own_handed_over_sizing():
    raw = workload_stack()
    raw["workload"]["autoscaling"]["maxReplicas"] = 5
    assert_names(
        config_error(raw),
        f"{W}.autoscaling.maxReplicas",
        "is beyond what the tenant quota is sized for",
        f"at most {W}.harnessSizing.maxReplicas (4)",
    )


def test_hosting_tenant_with_a_hand_written_quota(dev_config):
    dev_config["tenants"][0]["quota"] = {"cpu": "4", "memory": "8Gi", "pods": 10}
    assert_names(
        config_error(dev_config),
        f"{T0}.quota",
        "is derived from harnessSizing for the tenant that hosts the harness",
        "harnessSizing",
    )


def test_sizing_on_a_tenant_that_hosts_nothing(dev_config):
    dev_config["tenants"][1]["harnessSizing"] = {"maxReplicas": 2}
    assert_names(
        config_error(dev_config),
        "gke-sandbox:tenants[1].harnessSizing",
        "is only for the tenant that hosts the harness",
        "quota",
    )


def test_sizing_max_replicas_out_of_range(dev_config):
    dev_config["tenants"][0]["harnessSizing"]["maxReplicas"] = 0
    assert_names(
        config_error(dev_config),
        f"{T0}.harnessSizing.maxReplicas",
        "is out of range",
        "an integer 1..50",
    )


# --------------------------------------------------------------------------- trusted proxies
def test_trusted_proxies_default_to_the_google_front_ends(dev_config):
    assert parse(dev_config).workload.trusted_proxies == (
        "35.191.0.0/16",
        "130.211.0.0/22",
        "2600:2d00:1:b029::/64",
        "2600:2d00:1:1::/64",
    )


def test_trusted_proxies_can_name_an_internal_load_balancer(dev_config):
    dev_config["workload"]["trustedProxies"] = ["10.129.0.0/23"]
    assert parse(dev_config).workload.trusted_proxies == ("10.129.0.0/23",)


@pytest.mark.parametrize("value", ["10.129.0.1/23", "proxies", "2600:2d00::/300"])
def test_trusted_proxies_must_be_cidrs(dev_config, value):
    dev_config["workload"]["trustedProxies"] = ["35.191.0.0/16", value]
    assert_names(
        config_error(dev_config),
        f"{W}.trustedProxies[1]",
        "is not a CIDR",
        "an IPv4 or IPv6 CIDR",
    )
