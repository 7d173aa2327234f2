"""`network-policy-exact` judges a tenant's NetworkPolicies against the ranges the sandbox's
config chose (`googleApiCidrs`, `loadBalancerCidrs`), recorded in the plan by the program, and
the report lists them; without that record it judges against the design's ranges."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.plan.capture import run_program
from infra.plan.mocks import CloudMocks
from policy import rules
from policy.rules.admission_review import allowed_ranges
from policy.rules.engine import Status
from tests.conftest import engine_form, stack_config

# A Private Service Connect endpoint for Google APIs in the tenant VPC, and an internal
# load balancer's proxy-only subnet: both a tenant may choose instead of the defaults.
PSC_ENDPOINT = "10.128.0.8/32"
PROXY_SUBNET = "10.129.0.0/23"
RULE = "network-policy-exact"


def _plan(sandbox_overrides: dict[str, Any]) -> list[dict[str, Any]]:
    config = copy.deepcopy(stack_config("dev"))
    config["sandbox"].update(sandbox_overrides)
    captured = run_program(_main(), stack="dev", config=engine_form(config), mocks=CloudMocks())
    return [r.as_plan() for r in captured.resources]


def _main() -> Any:
    from infra.program import main

    return main


def _messages(plan: list[dict[str, Any]]) -> list[str]:
    result = next(r for r in rules.evaluate(plan) if r.rule.name == RULE)
    return [] if result.status == Status.PASS else [v.message for v in result.violations]


@pytest.fixture(scope="module")
def configured() -> list[dict[str, Any]]:
    return _plan({"googleApiCidrs": [PSC_ENDPOINT], "loadBalancerCidrs": [PROXY_SUBNET]})


def test_default_ranges_record_nothing() -> None:
    plan = _plan({})
    assert [r for r in plan if r["type"] == "gke-sandbox:review:AllowedExtras"] == []
    assert _messages(plan) == []
    assert allowed_ranges(plan) == []


def test_configured_ranges_pass_and_are_listed(configured: list[dict[str, Any]]) -> None:
    records = [r for r in configured if r["type"] == "gke-sandbox:review:AllowedExtras"]
    assert [r["inputs"] for r in records] == [
        {"networkRanges": {"googleApiCidrs": [PSC_ENDPOINT], "loadBalancerCidrs": [PROXY_SUBNET]}}
    ]
    assert _messages(configured) == []
    assert allowed_ranges(configured) == [
        "tenant egress to Google APIs on 443: 10.128.0.8/32 "
        "(allowed by config googleApiCidrs/loadBalancerCidrs)",
        "tenant ingress from load balancers: 10.129.0.0/23 "
        "(allowed by config googleApiCidrs/loadBalancerCidrs)",
    ]


def test_without_the_record_the_design_ranges_apply(configured: list[dict[str, Any]]) -> None:
    plan = [r for r in configured if r["type"] != "gke-sandbox:review:AllowedExtras"]
    messages = _messages(plan)
    assert any('"10.128.0.8/32", outside' in m and "the design" in m for m in messages), messages
    assert any("admits" in m and "10.129.0.0/23" in m for m in messages), messages


def test_the_record_does_not_widen_beyond_what_it_names(configured: list[dict[str, Any]]) -> None:
    plan = copy.deepcopy(configured)
    policy = next(
        r
        for r in plan
        if r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy"
        and r["inputs"]["metadata"]["name"] == "allow-google-apis"
    )
    policy["inputs"]["spec"]["egress"][0]["to"][0]["ipBlock"]["cidr"] = "10.128.0.0/16"
    messages = _messages(plan)
    assert any(
        '"10.128.0.0/16", outside' in m and "'10.128.0.8/32'" in m and "from config" in m
        for m in messages
    ), messages
