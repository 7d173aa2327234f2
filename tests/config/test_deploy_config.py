"""Config of the second deploy-ready round: staging Gatekeeper, the reserved ingress address,
customer IDs for domain-restricted sharing, CI deploy identities."""

from __future__ import annotations

import copy

from infra.config import parse
from tests.config.test_config import assert_names, config_error
from tests.conftest import stack_config

C = "gke-sandbox:cluster"


def test_shipped_values(dev_config):
    config = parse(dev_config)
    assert config.sandbox.gatekeeper.mirrored is True
    assert config.cluster.allowed_customer_ids == ("C0bobexmpl",)
    assert config.harness.allowed_customer_ids == ("C0aliceexm",)
    assert config.cluster.ingress_address_name == "sandbox-ingress"
    assert config.cluster.perimeter.deploy_identities == (
        "serviceAccount:gke-sandbox-deploy@a-demo-model.iam.gserviceaccount.com",
    )


def test_mirrored_defaults_to_true(dev_config):
    del dev_config["sandbox"]["gatekeeper"]["mirrored"]
    assert parse(dev_config).sandbox.gatekeeper.mirrored is True


def test_customer_id_must_look_like_one(dev_config):
    dev_config["cluster"]["allowedCustomerIds"] = ["example.com"]
    assert_names(
        config_error(dev_config),
        f"{C}.allowedCustomerIds[0]",
        "is malformed",
        "a customer ID such as C03xgje4y",
    )


def test_deploy_identity_is_a_service_account(dev_config):
    dev_config["cluster"]["perimeter"]["deployIdentities"] = ["user:ci@example.com"]
    assert_names(
        config_error(dev_config),
        f"{C}.perimeter.deployIdentities[0]",
        "is malformed",
        "serviceAccount:<email>",
    )


def test_workload_stack_needs_the_reserved_address_name():
    raw = copy.deepcopy(stack_config("workload"))
    del raw["workload"]["ingressAddressName"]
    assert_names(
        config_error(raw),
        "gke-sandbox:workload.ingressAddressName",
        "is required",
        "cluster stack output ingressAddressName",
    )


def test_workload_stack_needs_the_reserved_address():
    raw = copy.deepcopy(stack_config("workload"))
    del raw["workload"]["ingressAddress"]
    assert_names(
        config_error(raw),
        "gke-sandbox:workload.ingressAddress",
        "is required",
        "cluster stack output ingressAddress",
    )
