"""How a component reads its args whether a Python stack or a package host calls it."""

import pulumi
import pytest

from components import _common
from components._common import as_args, token, waits_for
from components.confidential_cluster import AuthorizedNetwork, ConfidentialClusterArgs
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
