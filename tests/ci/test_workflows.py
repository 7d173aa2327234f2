"""The GitHub workflows: valid YAML, actions pinned by commit SHA, least permissions, and
every script, make target, CLI command, stack and path they reference exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.__main__ import COMMANDS
from infra.plan.writer import discover
from infra.program import BUILD_ORDER

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
WRITE_SCOPES_ALLOWED = {"id-token", "pull-requests"}


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # PyYAML reads the bare key `on` as boolean True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def steps(document: dict[str, Any]):
    for job_name, job in document.get("jobs", {}).items():
        for step in job.get("steps", []) or []:
            yield job_name, job, step


def run_scripts(document: dict[str, Any]) -> list[str]:
    return [step["run"] for _, _, step in steps(document) if "run" in step]


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"offline.yml", "preview.yml", "deploy.yml", "pulumi-up.yml"} <= names, names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_yaml_loads_with_triggers_and_jobs(path):
    document = load(path)
    assert document.get("on"), f"{path.name}: no triggers"
    assert document.get("jobs"), f"{path.name}: no jobs"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha(path):
    document = load(path)
    uses = [step["uses"] for _, _, step in steps(document) if "uses" in step]
    uses += [job["uses"] for job in document["jobs"].values() if "uses" in job]
    for ref in uses:
        if ref.startswith("./"):
            assert (ROOT / ref).is_file(), f"{path.name}: local workflow {ref} does not exist"
            continue
        assert PINNED.match(ref), (
            f"{path.name}: {ref} is referenced by tag or branch, not by commit SHA"
        )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_least(path):
    document = load(path)
    assert document.get("permissions") == {"contents": "read"}, (
        f"{path.name}: top-level permissions must be contents: read"
    )
    for name, job in document["jobs"].items():
        perms = job.get("permissions", {})
        assert perms != "write-all", f"{path.name}:{name} asks for write-all"
        writes = {scope for scope, level in perms.items() if level == "write"}
        assert writes <= WRITE_SCOPES_ALLOWED, (
            f"{path.name}:{name} writes {writes - WRITE_SCOPES_ALLOWED}"
        )


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_pull_request_target_and_no_persisted_credentials(path):
    document = load(path)
    assert "pull_request_target" not in (document["on"] or {}), (
        f"{path.name}: pull_request_target runs PR code with secrets"
    )
    for name, _, step in steps(document):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, (
                f"{path.name}:{name} persists the token"
            )


def test_only_cloud_jobs_get_an_id_token():
    for path in WORKFLOWS:
        document = load(path)
        for name, job in document["jobs"].items():
            job_uses = [s.get("uses", "") for s in job.get("steps", []) or []]
            has_token = job.get("permissions", {}).get("id-token") == "write"
            needs_token = (
                any(u.startswith("google-github-actions/auth@") for u in job_uses) or "uses" in job
            )
            assert has_token == needs_token, (
                f"{path.name}:{name}: id-token {has_token} but cloud auth {needs_token}"
            )


def test_referenced_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    for path in WORKFLOWS:
        for script in run_scripts(load(path)):
            for target in re.findall(r"\bmake ([a-z][a-z-]*)", script):
                assert target in targets, f"{path.name}: make {target} is not a Makefile target"


def test_referenced_cli_commands_and_scripts_exist():
    for path in WORKFLOWS:
        for script in run_scripts(load(path)):
            for command in re.findall(r"-m infra ([a-z]+)", script):
                assert command in COMMANDS, f"{path.name}: python -m infra {command} does not exist"
            for script_path in re.findall(r"\bbash ([\w./-]+)", script):
                assert (ROOT / script_path).is_file(), f"{path.name}: {script_path} does not exist"


def test_policy_pack_directory_exists():
    for path in WORKFLOWS:
        for _, _, step in steps(load(path)):
            pack = step.get("with", {}).get("policyPacks")
            if pack:
                assert (ROOT / pack / "PulumiPolicy.yaml").is_file(), (
                    f"{path.name}: policy pack {pack} has no PulumiPolicy.yaml"
                )


def test_deploy_runs_every_party_stack_in_order_and_never_dev():
    document = load(ROOT / ".github" / "workflows" / "deploy.yml")
    stacks = discover(ROOT)
    order: list[str] = []
    for name, job in document["jobs"].items():
        stack = job["with"]["stack"]
        assert stack in stacks, f"deploy.yml:{name} deploys unknown stack {stack}"
        needs = job.get("needs")
        if order:
            assert needs == order[-1], (
                f"deploy.yml:{name} must wait for {order[-1]}, waits for {needs}"
            )
        order.append(stack)
    # The same order the program builds parts in: the node SA exists before Bob's reader grant.
    assert order == [part.value for part in BUILD_ORDER], order


def test_reusable_up_is_gated_by_an_environment_named_after_the_stack():
    document = load(ROOT / ".github" / "workflows" / "pulumi-up.yml")
    job = document["jobs"]["up"]
    assert job["environment"] == "${{ inputs.stack }}"
    names = [s.get("name", "") for s in job["steps"]]
    review = next(i for i, n in enumerate(names) if "review" in n.lower())
    up = next(
        i for i, s in enumerate(job["steps"]) if s.get("uses", "").startswith("pulumi/actions@")
    )
    assert review < up, "the offline review must run before pulumi up"
