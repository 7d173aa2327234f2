"""Per-party plans judged alone: every widening the review catches in the all-in-one `dev` plan
must be caught in the plan of the party stack that makes it (`model`, `cluster`, `sandbox`,
`workload`), where each party runs the review on its own preview. A stack that cannot show a
widening is listed in CANNOT_SHOW with the reason, and the test keeps that list honest."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from policy.rules import evaluate
from policy.rules.engine import Status
from policy.rules.party_facts import party_notes
from tests.policy import test_least_privilege, test_review_gate, test_settings_rules
from tests.policy.conftest import REPO

Plan = list[dict[str, Any]]
PARTIES = ("model", "harness", "cluster", "sandbox", "workload")

# (id, mutation, rule) of every widening the dev tests apply, from the files that own them.
WIDENINGS: list[tuple[str, Callable[[Plan], None], str]] = [
    *((m.__name__, m, rule) for m, rule, _ in test_review_gate.MUTATIONS),
    *((c.id, c.change, c.rule) for c in test_least_privilege.CASES),
    *((c.id, c.change, c.rule) for c in test_settings_rules.CASES),
]

CANNOT_SHOW: dict[str, str] = {
    # The workload stack holds no sealed object: the digest it is told is the config value Alice
    # handed over, so only its form is judged there; the model stack's object and the dev plan
    # compare the two.
    "harness-told-another-digest": "workload",
}


@pytest.fixture(scope="module")
def party_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Plan]:
    """Each party stack's plan exactly as `python -m infra plan <stack>` writes it."""
    out = tmp_path_factory.mktemp("party-plans")
    done = subprocess.run(
        [sys.executable, "-m", "infra", "plan", "--quiet", "--out", str(out), *PARTIES],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return {
        party: json.loads(Path(out, "plan", f"{party}.json").read_text(encoding="utf-8"))[
            "resources"
        ]
        for party in PARTIES
    }


def _failing(plan: Plan) -> dict[str, list[str]]:
    return {
        r.rule.name: [v.message for v in r.violations]
        for r in evaluate(plan)
        if r.status == Status.FAIL
    }


def _applied(mutation: Callable[[Plan], None], plans: dict[str, Plan]) -> dict[str, Plan]:
    """The party plans that hold what the mutation changes, each with the change made."""
    out = {}
    for party, plan in plans.items():
        changed = copy.deepcopy(plan)
        try:
            mutation(changed)
        except AssertionError:  # `find`: the resource is not in this party's stack
            continue
        out[party] = changed
    return out


def test_every_party_plan_passes_alone(party_plans: dict[str, Plan]) -> None:
    assert {party: _failing(plan) for party, plan in party_plans.items()} == {
        party: {} for party in PARTIES
    }


@pytest.mark.parametrize(
    ("mutation", "rule"), [(m, r) for _, m, r in WIDENINGS], ids=[i for i, _, _ in WIDENINGS]
)
def test_the_party_stack_catches_what_dev_catches(
    party_plans: dict[str, Plan],
    mutation: Callable[[Plan], None],
    rule: str,
    request: pytest.FixtureRequest,
) -> None:
    case_id = request.node.callspec.id
    applied = _applied(mutation, party_plans)
    assert applied, f"{case_id}: changes nothing any party stack builds"
    for party, plan in applied.items():
        failed = _failing(plan)
        if CANNOT_SHOW.get(case_id) == party:
            assert rule not in failed, (
                f"{case_id} is caught in {party} now: drop it from CANNOT_SHOW"
            )
            continue
        assert rule in failed, f"{case_id}: {rule} passes the {party} plan ({sorted(failed)})"


def test_the_report_says_what_each_party_plan_is_judged_against(
    party_plans: dict[str, Plan],
) -> None:
    """The facts a party plan takes from its own config, and the check it cannot make alone,
    are listed in its report (under "allowed by config")."""
    assert {party: party_notes(plan) for party, plan in party_plans.items()} == {
        "model": [],
        "harness": [],
        "cluster": [
            "workload KSA ns1/tee-sa for model-reader@ab-demo-cluster.iam.gserviceaccount.com "
            "(this stack's config; the sandbox stack creates it)"
        ],
        "sandbox": [
            "approved digests for ns1: sha256:79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2"
            "c22aab92b9e315 (this stack's config; the workload stack deploys them)"
        ],
        "workload": [
            "MODEL_SHA256 as handed over in this stack's config: no sealed object in this plan to "
            "compare it with (harness-knows-model-digest judges its form only)"
        ],
    }
