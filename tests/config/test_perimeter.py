"""cluster.perimeter: the VPC Service Controls block (issue 10), read into PerimeterConfig."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.config import PerimeterConfig, parse
from infra.errors import ConfigError
from tests.conftest import stack_config

KEY = "gke-sandbox:cluster.perimeter"


def with_perimeter(perimeter: Any) -> dict[str, Any]:
    raw = copy.deepcopy(stack_config("dev"))
    raw["cluster"]["perimeter"] = perimeter
    return raw


def error_for(perimeter: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(with_perimeter(perimeter))
    return caught.value


def test_dev_turns_the_perimeter_on():
    cluster = parse(stack_config("dev")).cluster
    assert cluster is not None
    assert cluster.perimeter == PerimeterConfig(
        access_policy="512345678901",
        model_project_number="123456789012",
        name="gke_sandbox",
        ingress_identities=(
            "user:alice@example.com",
            "serviceAccount:gke-sandbox-deploy@a-demo-model.iam.gserviceaccount.com",
        ),
        deploy_identities=(
            "serviceAccount:gke-sandbox-deploy@a-demo-model.iam.gserviceaccount.com",
        ),
    )


def test_disabled_builds_none_and_needs_no_ids():
    cluster = parse(with_perimeter({"enabled": False})).cluster
    assert cluster is not None and cluster.perimeter is None


def test_absent_block_is_none():
    raw = copy.deepcopy(stack_config("dev"))
    del raw["cluster"]["perimeter"]
    cluster = parse(raw).cluster
    assert cluster is not None and cluster.perimeter is None


@pytest.mark.parametrize(
    ("perimeter", "key", "problem", "expected"),
    [
        (
            {"modelProjectNumber": "123456789012"},
            f"{KEY}.accessPolicy",
            "is required",
            "numeric id of the organization's access policy",
        ),
        (
            {"accessPolicy": "accessPolicies/5", "modelProjectNumber": "123456789012"},
            f"{KEY}.accessPolicy",
            "is malformed",
            "numeric id",
        ),
        (
            {"accessPolicy": "5", "modelProjectNumber": "a-demo-model"},
            f"{KEY}.modelProjectNumber",
            "is malformed",
            "the model project's number",
        ),
        (
            {"enabled": "yes", "accessPolicy": "5", "modelProjectNumber": "1"},
            f"{KEY}.enabled",
            "must be a boolean",
            "true or false",
        ),
        (
            {
                "accessPolicy": "5",
                "modelProjectNumber": "1",
                "ingressIdentities": ["group:team@example.com"],
            },
            f"{KEY}.ingressIdentities[0]",
            "is malformed",
            "user:<email> or serviceAccount:<email>",
        ),
        (
            {"accessPolicy": "5", "modelProjectNumber": "1", "name": "gke-sandbox"},
            f"{KEY}.name",
            "is malformed",
            "letters, digits and underscores",
        ),
        (
            {"accessPolicy": "5", "modelProjectNumber": "1", "restrict": ["storage"]},
            f"{KEY}.restrict",
            "is not a known key",
            "accessPolicy",
        ),
    ],
)
def test_bad_perimeter_names_the_key(perimeter, key, problem, expected):
    error = error_for(perimeter)
    assert error.key == key, str(error)
    assert str(error).startswith(f"config {key}: {problem}"), str(error)
    assert expected in error.expected, str(error)
