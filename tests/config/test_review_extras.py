"""Config `review.extraGrants`: an explicit, reasoned allowance the program records in the plan,
so the exact-grants review accepts the grant and its report lists it (issue 14 item 1)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ExtraGrant, parse
from infra.errors import ConfigError
from infra.plan.capture import run_program
from infra.plan.mocks import CloudMocks
from policy.rules.least_privilege import used_extras
from tests.conftest import engine_form, stack_config

EXTRA = {
    "member": "serviceAccount:ci@b-demo-harness.iam.gserviceaccount.com",
    "role": "roles/artifactregistry.writer",
    "on": "repository",
    "resource": "projects/b-demo-harness/locations/us-central1/repositories/repo1",
    "reason": "CI pushes the harness image",
}


def with_review(stack: str, *grants: dict[str, Any]) -> dict[str, Any]:
    return {**stack_config(stack), "review": {"extraGrants": list(grants)}}


def test_every_part_may_carry_extra_grants() -> None:
    for stack in ("harness", "cluster", "dev"):
        config = parse(with_review(stack, EXTRA))
        assert config.extra_grants == (
            ExtraGrant(
                member="serviceAccount:ci@b-demo-harness.iam.gserviceaccount.com",
                role="roles/artifactregistry.writer",
                on="repository",
                resource="projects/b-demo-harness/locations/us-central1/repositories/repo1",
                reason="CI pushes the harness image",
            ),
        ), stack


def test_no_review_block_allows_nothing() -> None:
    assert parse(stack_config("harness")).extra_grants == ()


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        ({"on": "bucket-object"}, "on", "is malformed"),
        ({"reason": None}, "reason", "is required"),
        ({"role": "owner"}, "role", "is malformed"),
        ({"member": "bob@example.com"}, "member", "is malformed"),
        ({"scope": "x"}, "scope", "is not a known key"),
    ],
)
def test_a_bad_extra_names_its_key(change: dict[str, Any], key: str, problem: str) -> None:
    grant = {k: v for k, v in {**EXTRA, **change}.items() if v is not None}
    with pytest.raises(ConfigError) as caught:
        parse(with_review("harness", grant))
    assert caught.value.key == f"gke-sandbox:review.extraGrants[0].{key}"
    assert str(caught.value).startswith(
        f"config gke-sandbox:review.extraGrants[0].{key}: {problem}"
    )


def test_the_program_records_extras_in_the_plan_for_the_review() -> None:
    from infra.program import main

    captured = run_program(
        main, stack="harness", config=engine_form(with_review("harness", EXTRA)), mocks=CloudMocks()
    )
    resources = [r.as_plan() for r in captured.resources]
    records = [r for r in resources if r["type"] == "gke-sandbox:review:AllowedExtras"]
    assert [r["inputs"] for r in records] == [
        {
            "extraGrants": [
                {
                    "member": "serviceAccount:ci@b-demo-harness.iam.gserviceaccount.com",
                    "role": "roles/artifactregistry.writer",
                    "kind": "repository",
                    "resource": "projects/b-demo-harness/locations/us-central1/repositories/repo1",
                    "reason": "CI pushes the harness image",
                }
            ]
        }
    ]
    assert used_extras(resources) == [
        "roles/artifactregistry.writer on repository "
        "projects/b-demo-harness/locations/us-central1/repositories/repo1 to "
        "serviceAccount:ci@b-demo-harness.iam.gserviceaccount.com (allowed by config "
        "review.extraGrants: CI pushes the harness image): unused"
    ]
