"""Who can decrypt: on the shipped dev stack exactly one path per target, the harness pods in ns1
admitted only with the approved digest; each side door, added alone, is flagged by name."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from typing import Any

import pytest

from infra.plan.capture import run_program
from infra.plan.mocks import CloudMocks
from infra.plan.writer import plan_document
from policy import access
from policy.rules import Status, evaluate
from tests.conftest import ROOT, engine_form, stack_config

KEY = "KMS key projects/a-demo-model/locations/us-central1/keyRings/model-ring/cryptoKeys/model-key"
OBJECT = "object gs://a-demo-model-sealed/sentiment-model.tar.sealed"
DIGEST = "sha256:79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"


def _plan(stack: str, outputs: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    from infra.program import main

    captured = run_program(
        main,
        stack=stack,
        config=engine_form(stack_config(stack)),
        mocks=CloudMocks(stack_outputs=outputs),
    )
    return plan_document(stack, "x", captured)["resources"]


@pytest.fixture(scope="module")
def dev_resources(dev_plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The dev stack's real plan (conftest runs `python -m infra plan dev` once per session)."""
    return dev_plan["resources"]


@pytest.fixture
def dev(dev_resources) -> list[dict[str, Any]]:
    return copy.deepcopy(dev_resources)


def _by_name(resources, name):
    found = [r for r in resources if r["name"] == name]
    assert len(found) == 1, name
    return found[0]


def _flagged(resources) -> list[access.Path]:
    return access.analyse(resources).flagged


def test_dev_has_exactly_one_path_per_target_through_the_harness(dev):
    report = access.analyse(dev)
    assert report.targets == {KEY: "decrypt", OBJECT: "read"}
    for target in (KEY, OBJECT):
        paths = report.paths_to(target)
        assert len(paths) == 1, [p.principal for p in paths]
        path = paths[0]
        assert not path.flagged, path.verdict
        assert path.principal == "harness pods in ns1 (deployed by User bob@example.com)"
        assert [h.step for h in path.hops] == [
            "iam-grant",
            "workload-identity",
            "kubernetes",
            "rbac",
            "admission",
        ]
        assert f"approved digests {DIGEST}" in path.hops[-1].detail
        assert "ns1-approved-digests" in path.hops[-1].detail


def test_the_other_tenant_has_no_path(dev):
    assert not any(
        "carol" in p.principal or "ns2" in p.principal for p in access.analyse(dev).paths
    )


def test_the_review_rule_passes_on_every_shipped_stack(dev):
    result = next(r for r in evaluate(dev) if r.rule.name == "model-access-paths")
    assert result.status is Status.PASS, [v.message for v in result.violations]


def _add_rule(resources, role_name: str, rule: dict[str, Any]) -> None:
    _by_name(resources, role_name)["inputs"]["rules"].append(rule)


@pytest.mark.parametrize(
    ("resource", "verdict"),
    [
        ("pods/exec", "can run its own code inside running pods (create core/pods/exec)"),
        ("pods/ephemeralcontainers", "can run its own code inside running pods"),
    ],
)
def test_exec_or_ephemeral_containers_in_the_tenant_role_are_flagged(dev, resource, verdict):
    _add_rule(
        dev,
        "tenant-bob-role",
        {"apiGroups": [""], "resources": [resource], "verbs": ["create", "update", "patch"]},
    )
    flagged = _flagged(dev)
    assert {p.target for p in flagged} == {KEY, OBJECT}
    assert all(p.principal == "User bob@example.com" for p in flagged)
    assert all(p.verdict.startswith(verdict) for p in flagged), [p.verdict for p in flagged]


def test_minting_tokens_for_the_workload_ksa_is_flagged(dev):
    _add_rule(
        dev,
        "tenant-bob-role",
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
    )
    assert {p.verdict for p in _flagged(dev)} == {
        "can mint tokens for the workload service account"
    }


def test_missing_approved_digest_rule_is_flagged(dev):
    dev.remove(_by_name(dev, "gatekeeper-constraint-ns1-approved-digests"))
    flagged = _flagged(dev)
    assert len(flagged) == 2
    assert all("without SandboxApprovedDigests" in p.verdict for p in flagged), [
        p.verdict for p in flagged
    ]
    assert all("ANY image" in p.hops[-1].detail for p in flagged)


def test_dry_run_constraints_do_not_count(dev):
    _by_name(dev, "gatekeeper-constraint-ns1-no-command-override")["inputs"]["spec"][
        "enforcementAction"
    ] = "dryrun"
    assert all("without SandboxNoCommandOverride" in p.verdict for p in _flagged(dev))


def test_service_account_token_secrets_without_the_secret_rule_are_flagged(dev):
    dev.remove(_by_name(dev, "gatekeeper-constraint-ns1-secret-types"))
    assert {p.verdict for p in _flagged(dev)} == {
        "can have a token minted for the workload service account"
    }


def test_decrypt_granted_to_a_person_is_flagged(dev):
    _by_name(dev, "workload-identity-decrypter")["inputs"]["member"] = "user:eve@example.com"
    flagged = _flagged(dev)
    assert [(p.target, p.principal, p.principal_kind) for p in flagged] == [
        (KEY, "user:eve@example.com", "person")
    ]


def test_impersonation_of_the_decrypting_account_is_flagged(dev):
    binding = copy.deepcopy(_by_name(dev, "workload-identity-wi-user"))
    binding.update(name="token-for-eve", urn=binding["urn"] + "-eve")
    binding["inputs"].update(
        role="roles/iam.serviceAccountTokenCreator", member="group:eve-team@example.com"
    )
    dev.append(binding)
    flagged = _flagged(dev)
    assert {p.principal for p in flagged} == {"group:eve-team@example.com"}
    assert all(p.hops[-1].step == "impersonation" for p in flagged)


def test_gke_developer_role_bypasses_rbac_and_is_flagged(dev):
    grant = copy.deepcopy(_by_name(dev, "tenant-iam-bob-cluster-viewer-0"))
    grant.update(name="bob-developer", urn=grant["urn"] + "-dev")
    grant["inputs"]["role"] = "roles/container.developer"
    dev.append(grant)
    flagged = _flagged(dev)
    assert {p.principal for p in flagged} == {"user:bob@example.com"}
    assert all("regardless of RBAC" in p.verdict for p in flagged)


def test_cluster_plan_alone_stops_at_the_ksa_and_merged_plans_follow_through():
    cluster = _plan("cluster")
    sandbox = _plan(
        "sandbox",
        {
            "cluster": {
                "clusterName": "sandbox",
                "clusterEndpoint": "203.0.113.10",
                "clusterCaCertificate": "Q0E=",
            }
        },
    )
    alone = access.analyse(cluster)
    assert {p.principal for p in alone.paths} == {"pods running as ns1/tee-sa"}
    assert all("not in this plan" in p.verdict and not p.flagged for p in alone.paths)
    merged = access.analyse(cluster + sandbox)
    assert {p.principal for p in merged.paths} == {
        "harness pods in ns1 (deployed by User bob@example.com)"
    }


def test_cli_markdown_json_and_exit_codes(tmp_path, dev):
    good = tmp_path / "dev.json"
    good.write_text(json.dumps({"stack": "dev", "part": "all", "resources": dev, "outputs": {}}))
    cli = [sys.executable, "-m", "infra", "access"]
    markdown = subprocess.run(
        [*cli, str(good)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert markdown.returncode == 0, markdown.stderr
    assert "1 path(s), 0 flagged (ok)" in markdown.stdout
    _by_name(dev, "workload-identity-decrypter")["inputs"]["member"] = "user:eve@example.com"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"stack": "dev", "part": "all", "resources": dev, "outputs": {}}))
    result = subprocess.run(
        [*cli, str(bad), "--format", "json"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document[0]["flagged"] == 1
    missing = subprocess.run(
        [*cli, str(tmp_path / "none.json")], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: ") and "Traceback" not in missing.stderr


def test_the_access_analysis_loads_without_the_rule_catalogue():
    """No import cycle: the analysis builds on the rules' base modules, only the catalogue
    (which holds model-access-paths) imports the analysis."""
    script = (
        "import sys, policy.access\n"
        "print('policy.rules.catalogue' in sys.modules)\n"
        "from policy.rules import RULES\n"
        "print('model-access-paths' in [r.name for r in RULES])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False", "True"]
