"""`python -m infra review`: output formats, exit codes 0/1/2 and clear errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra import review
from infra.__main__ import main
from policy.rules import RULES

REPO = Path(__file__).resolve().parents[2]
WritePlan = Callable[..., Path]


def run_review(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["review", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_valid_plan_passes_with_text_report(
    capsys: pytest.CaptureFixture[str], valid_resources: list[dict[str, Any]], write_plan: WritePlan
) -> None:
    path = write_plan(valid_resources)
    code, out, err = run_review(capsys, str(path), "--verbose")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"plan {path}: stack dev, part all, {len(valid_resources)} resources"
    for rule in RULES:
        assert any(line.split()[:3] == ["PASS", rule.name, str(rule.severity)] for line in lines)
    n = len(RULES)  # rules join the catalogue; every one passes here
    assert f"  {n} passed, 0 failed, 0 not applicable" in lines
    assert lines[-1] == (f"summary: PASS, 1 plan(s), {n} passed, 0 failed, 0 not applicable")
    assert "\033[" not in out, "no colour when stdout is not a terminal"


def test_broken_property_fails_naming_rule_resource_and_remediation(
    capsys: pytest.CaptureFixture[str],
    valid_resources: list[dict[str, Any]],
    write_plan: WritePlan,
    mutate: Callable[..., Any],
    by_name: Callable[..., Any],
) -> None:
    mutate(valid_resources, "cluster-cluster", "confidentialNodes.enabled", False)
    path = write_plan(valid_resources)
    code, out, _ = run_review(capsys, str(path), "--verbose")
    assert code == 1
    lines = out.splitlines()
    index = next(
        i for i, line in enumerate(lines) if line.split()[:2] == ["FAIL", "gke-confidential-nodes"]
    )
    assert lines[index].split()[2] == "critical"
    assert lines[index + 1].strip() == by_name(valid_resources, "cluster-cluster")["urn"]
    assert lines[index + 2].strip() == (
        'gcp:container/cluster:Cluster "cluster-cluster": confidentialNodes.enabled is '
        "false; Confidential GKE Nodes must be on"
    )
    assert lines[index + 3].strip() == (
        "remediation: Set confidentialNodes.enabled=true on the cluster and "
        "nodeConfig.confidentialNodes.enabled=true on every node pool, with an n2d/c2d/c3d "
        "machine type (also on the cluster's nodeConfig, which sizes the default pool)."
    )
    assert lines[-1] == (
        f"summary: FAIL, 1 plan(s), {len(RULES) - 1} passed, 1 failed, "
        "0 not applicable: gke-confidential-nodes (dev)"
    )


def test_json_format(
    capsys: pytest.CaptureFixture[str],
    valid_resources: list[dict[str, Any]],
    write_plan: WritePlan,
    mutate: Callable[..., Any],
    by_name: Callable[..., Any],
) -> None:
    good = write_plan(valid_resources[:1], stack="harness", part="harness")
    mutate(valid_resources, "model-bucket", "publicAccessPrevention", "inherited")
    bad = write_plan(valid_resources)
    code, out, _ = run_review(capsys, str(good), str(bad), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    assert doc["summary"] == {
        "plans": 2,
        "pass": len(RULES) - 1,
        "fail": 1,
        "not-applicable": len(RULES),
    }
    first, second = doc["plans"]
    assert (first["file"], first["stack"], first["part"], first["resources"], first["status"]) == (
        str(good),
        "harness",
        "harness",
        1,
        "pass",
    )
    assert {r["status"] for r in first["rules"]} == {"not-applicable"}
    bucket = next(r for r in second["rules"] if r["name"] == "bucket-no-public-access")
    assert (bucket["status"], bucket["severity"]) == ("fail", "critical")
    assert bucket["remediation"] and bucket["description"]
    assert bucket["violations"] == [
        {
            "urn": by_name(valid_resources, "model-bucket")["urn"],
            "message": 'gcp:storage/bucket:Bucket "model-bucket": publicAccessPrevention is '
            '"inherited"; public access prevention must be "enforced"',
        }
    ]
    assert second["status"] == "fail"


def test_not_applicable_rules_are_shown_as_na(
    capsys: pytest.CaptureFixture[str], valid_resources: list[dict[str, Any]], write_plan: WritePlan
) -> None:
    path = write_plan(valid_resources[:1], stack="workload", part="workload")
    code, out, _ = run_review(capsys, str(path), "--rule", "images-by-digest", "--verbose")
    assert code == 0
    assert out.splitlines()[1].split() == ["N/A", "images-by-digest", "high"]


def test_default_text_is_a_summary_failures_in_full_the_rest_counted(
    capsys: pytest.CaptureFixture[str],
    valid_resources: list[dict[str, Any]],
    write_plan: WritePlan,
    mutate: Callable[..., Any],
    by_name: Callable[..., Any],
) -> None:
    good = write_plan(valid_resources[:1], stack="harness", part="harness")
    mutate(valid_resources, "cluster-cluster", "confidentialNodes.enabled", False)
    bad = write_plan(valid_resources)
    code, out, _ = run_review(capsys, str(good), str(bad))
    assert code == 1
    lines = out.splitlines()
    n = len(RULES)  # other rules may join; the counts are what this test is about
    assert lines[0] == (
        f"plan {good}: stack harness, part harness, 1 resources: 0 passed, 0 failed, "
        f"{n} not applicable"
    )
    assert lines[1] == (
        f"plan {bad}: stack dev, part all, {len(valid_resources)} resources: "
        f"{n - 1} passed, 1 failed, 0 not applicable"
    )
    assert lines[2].split() == ["FAIL", "gke-confidential-nodes", "critical"]
    assert lines[3].strip() == by_name(valid_resources, "cluster-cluster")["urn"]
    assert (
        lines[4]
        .strip()
        .endswith("confidentialNodes.enabled is false; Confidential GKE Nodes must be on")
    )
    assert lines[5].strip().startswith("remediation: Set confidentialNodes.enabled=true")
    assert lines[6:] == [
        "",
        f"summary: FAIL, 2 plan(s), {n - 1} passed, 1 failed, {n} not applicable: "
        "gke-confidential-nodes (dev)",
    ]
    assert not any(line.split()[:1] in (["PASS"], ["N/A"]) for line in lines)


def test_rule_filter(
    capsys: pytest.CaptureFixture[str],
    valid_resources: list[dict[str, Any]],
    write_plan: WritePlan,
    mutate: Callable[..., Any],
) -> None:
    mutate(valid_resources, "cluster-cluster", "enableLegacyAbac", True)
    path = write_plan(valid_resources)
    code, out, _ = run_review(
        capsys,
        str(path),
        "--rule",
        "kms-key-rotation",
        "--rule",
        "no-public-members",
        "--format",
        "json",
    )
    assert code == 0, "the broken rule was not selected"
    names = [r["name"] for r in json.loads(out)["plans"][0]["rules"]]
    assert names == ["kms-key-rotation", "no-public-members"]
    code, _, _ = run_review(capsys, str(path), "--rule", "gke-no-legacy-auth")
    assert code == 1


def test_unknown_rule_is_a_user_error(
    capsys: pytest.CaptureFixture[str], valid_resources: list[dict[str, Any]], write_plan: WritePlan
) -> None:
    code, out, err = run_review(capsys, str(write_plan(valid_resources)), "--rule", "nope")
    assert (code, out) == (2, "")
    assert err.startswith("error: --rule: unknown rule 'nope'; known rules: gke-confidential-nodes")


def test_missing_plan_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "build" / "plan" / "dev.json"
    code, out, err = run_review(capsys, str(missing))
    assert (code, out) == (2, "")
    assert err == f"error: {missing}: no such plan file; run `python -m infra plan` first\n"


def test_directory_instead_of_plan(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run_review(capsys, str(tmp_path))
    assert code == 2
    assert err == f"error: {tmp_path}: is a directory; expected a plan JSON file\n"


def test_invalid_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text('{"stack": "dev",\n  "part": }', encoding="utf-8")
    code, _, err = run_review(capsys, str(path))
    assert code == 2
    assert err == f"error: {path}: not valid JSON: Expecting value at line 2 column 11\n"


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (
            lambda plan: plan["resources"][1].update(urn="sandbox-cluster"),
            "$.resources[1].urn",
            "'sandbox-cluster' does not match '^urn:pulumi:'",
        ),
        (
            lambda plan: plan["resources"][2].pop("inputs"),
            "$.resources[2]",
            "'inputs' is a required property",
        ),
        (lambda plan: plan.pop("outputs"), "$", "'outputs' is a required property"),
        (
            lambda plan: plan["resources"][3].update(inputs=["not", "a", "map"]),
            "$.resources[3].inputs",
            "['not', 'a', 'map'] is not of type 'object'",
        ),
    ],
)
def test_plan_that_does_not_match_the_schema(
    capsys: pytest.CaptureFixture[str],
    valid_resources: list[dict[str, Any]],
    tmp_path: Path,
    change: Callable[[dict], Any],
    where: str,
    problem: str,
) -> None:
    plan = {"stack": "dev", "part": "all", "resources": valid_resources, "outputs": {}}
    change(plan)
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(plan), encoding="utf-8")
    code, out, err = run_review(capsys, str(path))
    assert (code, out) == (2, "")
    assert err == (
        f"error: {path}: not a plan file (infra/plan.schema.json): at {where}: {problem}\n"
    )


def test_schema_error_count_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text(json.dumps({"stack": 1, "part": 2, "resources": [], "outputs": {}}))
    code, _, err = run_review(capsys, str(path))
    assert code == 2
    assert err.endswith("at $.part: 2 is not of type 'string' (and 1 more problem(s))\n")


def test_every_plan_is_validated_before_any_report(
    capsys: pytest.CaptureFixture[str],
    valid_resources: list[dict[str, Any]],
    write_plan: WritePlan,
    tmp_path: Path,
) -> None:
    good = write_plan(valid_resources)
    code, out, err = run_review(capsys, str(good), str(tmp_path / "absent.json"))
    assert (code, out) == (2, "")
    assert "absent.json: no such plan file" in err


def test_colour_only_when_asked() -> None:
    result = RULES[0].run([])
    report = review.render_json([review.PlanReport(Path("p.json"), "dev", "all", 0, [result])])
    assert "\033[2mN/A " in review.render_text(report, color=True, verbose=True)
    assert "\033[" not in review.render_text(report, color=False, verbose=True)
    assert "\033[32mPASS" in review.render_text(report, color=True)


def test_json_path_formatting() -> None:
    assert review.json_path(["resources", 3, "inputs", "encryption-key"]) == (
        '$.resources[3].inputs["encryption-key"]'
    )


def test_cli_entry_point_runs_as_a_module(
    valid_resources: list[dict[str, Any]], write_plan: WritePlan
) -> None:
    path = write_plan(valid_resources)
    done = subprocess.run(
        [sys.executable, "-m", "infra", "review", str(path), "--format", "json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True


def test_replication_controller_by_tag_fails_the_review(
    capsys: pytest.CaptureFixture[str],
    valid_resources: list[dict[str, Any]],
    write_plan: WritePlan,
    by_name: Callable[..., Any],
) -> None:
    """Every pod-creating kind is judged, ReplicationController included (it used to pass)."""
    sibling = by_name(valid_resources, "harness-deployment")
    urn = sibling["urn"].replace(
        "kubernetes:apps/v1:Deployment::harness-deployment",
        "kubernetes:core/v1:ReplicationController::harness-rc",
    )
    valid_resources.append(
        {
            "urn": urn,
            "type": "kubernetes:core/v1:ReplicationController",
            "name": "harness-rc",
            "parent": sibling["parent"],
            "inputs": {
                "apiVersion": "v1",
                "kind": "ReplicationController",
                "metadata": {"name": "legacy", "namespace": "ns1"},
                "spec": {
                    "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}
                },
            },
        }
    )
    code, out, _ = run_review(capsys, str(write_plan(valid_resources)))
    assert code == 1
    lines = out.splitlines()
    index = next(
        i for i, line in enumerate(lines) if line.split()[:2] == ["FAIL", "images-by-digest"]
    )
    assert lines[index + 1].strip() == urn
    assert lines[index + 2].strip() == (
        'kubernetes:core/v1:ReplicationController "harness-rc": '
        'spec.template.spec.containers[0].image is "nginx:1.27"; images must be pinned by '
        "digest (<repository>@sha256:<64 hex>)"
    )
    assert lines[-1].startswith("summary: FAIL, 1 plan(s), ")
    # The tenant Role has no replicationcontrollers (Bob cannot apply it), and Gatekeeper's
    # image-digest constraint denies it too (the review gate, issue 14).
    assert lines[-1].endswith(
        ": images-by-digest (dev), workloads-admitted (dev), tenant-can-deploy (dev)"
    )
