"""How a component reads its args whether a Python stack or a package host calls it."""

import pulumi
import pytest

from components import _common
from components._common import as_args, token, waits_for
from components.confidential_cluster import AuthorizedNetwork, ConfidentialClusterArgs
from components.harness_workload import (
    Autoscaling,
    DisruptionBudget,
    HarnessWorkloadArgs,
    WhenUnsatisfiable,
    ZoneSpread,
    check_args,
    disruption_budget_spec,
    harness_pod_spec,
)
from components.model_vault import ModelVaultArgs, SealedModel


def test_the_dataclass_a_python_stack_passes_is_used_as_is():
    args = ConfidentialClusterArgs("p", "us-central1", "us-central1-a", "sandbox")
    assert as_args(ConfidentialClusterArgs, args) is args


def test_a_hosts_dict_becomes_the_dataclass_with_nested_types_and_defaults():
    args = as_args(
        ConfidentialClusterArgs,
        {
            "project_id": "p",
            "region": "us-central1",
            "location": "us-central1-a",
            "cluster_name": "sandbox",
            "node_count": None,  # null from another language: the default applies
            "authorized_networks": [{"display_name": "office", "cidr_block": "198.51.100.0/24"}],
        },
    )
    assert args.node_count == 2
    assert args.master_cidr == "172.16.0.16/28"
    assert args.authorized_networks == [AuthorizedNetwork("office", "198.51.100.0/24")]


def test_an_optional_nested_type_is_rebuilt_too():
    args = as_args(
        ModelVaultArgs,
        {
            "project": "p",
            "location": "europe-west4",
            "key_ring_name": "r",
            "key_name": "k",
            "bucket_name": "b",
            "object_name": "o",
            "sealed_model": {"source_path": "/m.sealed", "metadata": {"encryption-key": "x"}},
        },
    )
    assert args.sealed_model == SealedModel("/m.sealed", {"encryption-key": "x"})
    assert args.protect_key is True


HARNESS = {
    "namespace": "ns1",
    "service_account": "tee-sa",
    "image": "us-central1-docker.pkg.dev/b/harness/harness@sha256:" + "79" * 32,
    "host": "llama.example.com",
    "model_uri": "gs://a-demo-model-sealed/model.sealed",
    "kms_key_uri": "gcp-kms://projects/a/locations/us-central1/keyRings/r/cryptoKeys/k",
    "ssl_policy": "sandbox-tls",
}


def test_what_python_says_with_none_a_host_says_with_values():
    """Python turns zone spread off with None and a budget to min_available with
    max_unavailable=None; a null never reaches a package host, so the same choices arrive as
    values and mean the same."""
    args = as_args(
        HarnessWorkloadArgs,
        {
            **HARNESS,
            "zone_spread": {"enabled": False},
            "disruption_budget": {"min_available": 1},
            "autoscaling": {"min_replicas": 2, "max_replicas": 4},
        },
    )
    assert args.zone_spread == ZoneSpread(enabled=False)
    assert args.autoscaling == Autoscaling(2, 4, 70)
    check_args(args)
    assert "topologySpreadConstraints" not in harness_pod_spec(args)
    budget = disruption_budget_spec(args.disruption_budget)
    assert (budget.get("minAvailable"), budget.get("maxUnavailable")) == (1, None)


def test_absent_harness_settings_take_the_python_defaults():
    args = as_args(HarnessWorkloadArgs, {**HARNESS, "zone_spread": None})
    assert args.zone_spread == ZoneSpread(1, WhenUnsatisfiable.SCHEDULE_ANYWAY, True)
    (spread,) = harness_pod_spec(args)["topologySpreadConstraints"]
    assert spread["whenUnsatisfiable"] == "ScheduleAnyway"
    assert disruption_budget_spec(args.disruption_budget)["maxUnavailable"] == 1
    assert args.disruption_budget == DisruptionBudget()


def test_an_unknown_field_is_named():
    with pytest.raises(TypeError, match="ModelVaultArgs: unknown field\\(s\\) colour"):
        as_args(ModelVaultArgs, {"colour": "blue"})


def test_something_else_is_refused_with_what_was_expected():
    with pytest.raises(TypeError, match="expected ModelVaultArgs or a mapping, got 3"):
        as_args(ModelVaultArgs, 3)


def test_tokens_keep_the_module_unless_hosted(monkeypatch):
    assert token("model_vault", "ModelVault") == "gke-sandbox:model_vault:ModelVault"
    monkeypatch.setattr(_common, "_token_module", None)
    _common.host_as_package()
    assert token("model_vault", "ModelVault") == "gke-sandbox:index:ModelVault"


def test_waits_for_reads_depends_on_in_either_form():
    resource = pulumi.CustomResource.__new__(pulumi.CustomResource)  # identity only
    assert waits_for(None) == []
    assert waits_for(pulumi.ResourceOptions()) == []
    assert waits_for(pulumi.ResourceOptions(depends_on=resource)) == [resource]
    assert waits_for(pulumi.ResourceOptions(depends_on=[resource])) == [resource]
