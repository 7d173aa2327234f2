"""The GitHub workflows: valid YAML, actions pinned by commit SHA on a Node 24 major, least
permissions, secrets only behind environments and passed by name, the policy pack's own virtualenv
created before `--policy-pack`, the Pulumi CLI pinned to the SDK's version, and every script, make
target, CLI command, stack and path they reference exists."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import kubeconfig
from infra.__main__ import COMMANDS
from infra.plan.writer import discover
from infra.program import BUILD_ORDER

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((ROOT / ".github" / "actions").glob("*/action.yml"))
PACK_VENV_ACTION = "./.github/actions/policy-pack-venv"
# Pull-request workflows check the PR's base commit out here and judge with it: a checkout of
# this same repository, so its paths are this repository's.
TRUSTED = "trusted/"
BASE_SHA = "${{ github.event.pull_request.base.sha }}"
PR_WORKFLOWS = ("preview.yml", "offline.yml")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
PINNED_LINE = re.compile(r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})(?:\s*#\s*v(\d+)[\w.]*)?")
# The first major of each action whose action.yml says `using: node24` (read in each action's
# repository at the tags: checkout v4.3.1 node20 / v5.0.0 node24, setup-python v5.6.0 / v6.0.0,
# upload-artifact v5.0.0 / v6.0.0, auth v2.1.13 / v3.0.0, setup-gcloud v2.2.1 / v3.0.0,
# pulumi/actions 6.6.1 / 7.0.0). GitHub runners stop running Node 20 actions.
FIRST_NODE24_MAJOR = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "actions/upload-artifact": 6,
    "google-github-actions/auth": 3,
    "google-github-actions/setup-gcloud": 3,
    "pulumi/actions": 7,
}
EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
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


def action_steps(path: Path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text())["runs"].get("steps", [])


def requirement_pins(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements file, names lower-cased."""
    pins = {}
    for line in path.read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line.strip())
        if found:
            pins[found[1].lower()] = found[2]
    return pins


def pulumi_steps(document: dict[str, Any]):
    for job_name, job, step in steps(document):
        if step.get("uses", "").startswith("pulumi/actions@"):
            yield job_name, job, step


def secrets_read(value: Any) -> set[str]:
    """Names of `secrets.X` an expression anywhere inside `value` reads."""
    text = yaml.safe_dump(value)
    return set(re.findall(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)", text)) - {"GITHUB_TOKEN"}


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"offline.yml", "preview.yml", "deploy.yml", "pulumi-up.yml"} <= names, names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_yaml_loads_with_triggers_and_jobs(path):
    document = load(path)
    assert document.get("on"), f"{path.name}: no triggers"
    assert document.get("jobs"), f"{path.name}: no jobs"


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_action_is_pinned_by_commit_sha(path):
    if path in ACTIONS:
        uses = [step["uses"] for step in action_steps(path) if "uses" in step]
    else:
        document = load(path)
        uses = [step["uses"] for _, _, step in steps(document) if "uses" in step]
        uses += [job["uses"] for job in document["jobs"].values() if "uses" in job]
    for ref in uses:
        if ref.startswith("./"):
            target = ROOT / ref.removeprefix("./").removeprefix(TRUSTED)
            assert target.is_file() or (target / "action.yml").is_file(), (
                f"{path.name}: local workflow or action {ref} does not exist"
            )
            continue
        assert PINNED.match(ref), (
            f"{path.name}: {ref} is referenced by tag or branch, not by commit SHA"
        )


def test_pins_are_on_node24_majors_and_consistent():
    """Each SHA carries its `# vX.Y.Z` comment, every action is at or past its first Node 24
    major, and one action is pinned to one SHA and one tag everywhere."""
    seen: dict[str, tuple[str, str]] = {}
    for path in WORKFLOWS + ACTIONS:
        for line in path.read_text().splitlines():
            if not re.search(r"uses:\s*[\w.-]+/[\w./-]+@", line):
                continue
            found = PINNED_LINE.search(line)
            assert found and found[3], f"{path.name}: {line.strip()} has no SHA with a # vN comment"
            action, sha, major = found[1], found[2], int(found[3])
            assert action in FIRST_NODE24_MAJOR, (
                f"{path.name}: {action} is new here: look up its first Node 24 major and add it"
            )
            assert major >= FIRST_NODE24_MAJOR[action], (
                f"{path.name}: {action} v{major} runs on Node 20; "
                f"v{FIRST_NODE24_MAJOR[action]} or later runs on Node 24"
            )
            tag = line.split("#", 1)[1].strip()
            assert seen.setdefault(action, (sha, tag)) == (sha, tag), (
                f"{path.name}: {action}@{sha} ({tag}) differs from {seen[action]} elsewhere"
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


def test_no_workflow_inherits_secrets():
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            assert job.get("secrets") != "inherit", (
                f"{path.name}:{name} hands every secret to the called workflow; pass them by name"
            )


def test_called_workflows_get_exactly_the_secrets_they_declare():
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if "uses" not in job or not job["uses"].startswith("./"):
                continue
            called = load(ROOT / job["uses"])
            declared = called["on"]["workflow_call"].get("secrets") or {}
            passed = job.get("secrets") or {}
            assert set(passed) == set(declared), (
                f"{path.name}:{name} passes {sorted(passed)}, {job['uses']} declares {sorted(declared)}"
            )
            for secret, spec in declared.items():
                # An environment secret the caller forgot to pass is an empty string, not an error.
                assert spec.get("required") is True, f"{job['uses']}: secret {secret} is optional"
                assert passed[secret] == f"${{{{ secrets.{secret} }}}}", (
                    f"{path.name}:{name} passes {secret} under another secret's name"
                )


def test_every_secret_is_read_behind_an_environment():
    """A repository secret is readable from any branch's edited workflow; an environment's only
    after its protection rules pass. So every job that reads a secret names an environment."""
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if "uses" in job:
                continue  # a caller only forwards by name; the called job's environment resolves it
            read = secrets_read(job.get("steps", [])) | secrets_read(job.get("env", {}))
            if read:
                assert job.get("environment"), (
                    f"{path.name}:{name} reads {read} with no environment"
                )


def test_preview_uses_its_own_token_not_the_deploy_token():
    preview = load(ROOT / ".github" / "workflows" / "preview.yml")
    up = load(ROOT / ".github" / "workflows" / "pulumi-up.yml")
    preview_tokens = {step["env"]["PULUMI_ACCESS_TOKEN"] for _, _, step in pulumi_steps(preview)}
    up_tokens = {step["env"]["PULUMI_ACCESS_TOKEN"] for _, _, step in pulumi_steps(up)}
    assert preview_tokens and up_tokens
    assert preview_tokens.isdisjoint(up_tokens), (
        f"preview reads the deploy token {preview_tokens & up_tokens}"
    )
    for name, job, _ in pulumi_steps(preview):
        assert job.get("environment") == "preview", f"preview.yml:{name} is not behind `preview`"


def test_pulumi_cli_is_pinned_to_the_sdk_version():
    """The CLI and the Python SDK share version numbers; a floating CLI runs a program whose SDK
    was tested against another engine."""
    sdk = requirement_pins(ROOT / "requirements.txt")["pulumi"]
    for path in WORKFLOWS:
        for name, _, step in pulumi_steps(load(path)):
            version = str(step.get("with", {}).get("pulumi-version", ""))
            assert version == sdk, (
                f"{path.name}:{name} installs Pulumi CLI {version!r}, SDK is {sdk}"
            )


def test_policy_pack_venv_is_created_before_every_policy_pack_run():
    for path in WORKFLOWS:
        document = load(path)
        for name, job in document["jobs"].items():
            created: set[str] = set()
            for step in job.get("steps", []) or []:
                if step.get("uses") in (PACK_VENV_ACTION, f"./{TRUSTED}{PACK_VENV_ACTION[2:]}"):
                    created.add(step.get("with", {}).get("policy-pack", "policy"))
                pack = step.get("with", {}).get("policyPacks")
                if pack:
                    assert pack in created, (
                        f"{path.name}:{name} runs --policy-pack {pack} before creating its virtualenv"
                    )


def test_policy_pack_venv_action_creates_the_virtualenv_pulumi_runs(tmp_path):
    """Runs the action's script with a stand-in `python`: it must create the directory
    PulumiPolicy.yaml names and install the pack's requirements into it."""
    policy_project = yaml.safe_load((ROOT / "policy" / "PulumiPolicy.yaml").read_text())
    venv_name = policy_project["runtime"]["options"]["virtualenv"]
    (step,) = [s for s in action_steps(ROOT / PACK_VENV_ACTION / "action.yml") if "run" in s]
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$0 $*" >> "{log}"\n'
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then\n'
        '  mkdir -p "$3/bin" && cp "$0" "$3/bin/python"\n'
        "fi\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "pack").mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PACK": "pack"}
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, check=True)
    venv_python = f"pack/{venv_name}/bin/python"
    assert (tmp_path / venv_python).is_file()
    calls = log.read_text().splitlines()
    assert any(
        c.startswith(venv_python) and "-m pip install" in c and "-r pack/requirements.txt" in c
        for c in calls
    ), calls


def test_policy_pack_requirements_match_the_project_pins():
    pack = requirement_pins(ROOT / "policy" / "requirements.txt")
    project = requirement_pins(ROOT / "requirements.txt")
    assert {"pulumi", "pulumi-policy"} <= set(pack), pack
    for name, version in pack.items():
        assert project.get(name) == version, (
            f"policy/requirements.txt pins {name}=={version}, requirements.txt {project.get(name)}"
        )


def test_jobs_running_pulumi_install_the_kubeconfig_auth_plugin():
    """The Kubernetes stacks' kubeconfig execs a credential plugin the runner image lacks."""
    rendered = yaml.safe_load(kubeconfig.render("c", "203.0.113.1", "Q0E="))
    plugin = rendered["users"][0]["user"]["exec"]["command"]
    for path in WORKFLOWS:
        for name, job, _ in pulumi_steps(load(path)):
            setups = [
                s
                for s in job["steps"]
                if s.get("uses", "").startswith("google-github-actions/setup-gcloud@")
            ]
            assert setups, f"{path.name}:{name} runs pulumi without setup-gcloud"
            components = str(setups[0].get("with", {}).get("install_components", ""))
            assert plugin in components.split(","), f"{path.name}:{name} lacks {plugin}"
            version = str(setups[0]["with"].get("version", "latest"))
            assert EXACT_VERSION.match(version), f"{path.name}:{name} gcloud floats: {version}"


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
                assert (ROOT / pack.removeprefix(TRUSTED) / "PulumiPolicy.yaml").is_file(), (
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


def _trusted_checkouts(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        step
        for step in job.get("steps", []) or []
        if step.get("uses", "").startswith("actions/checkout@")
        and step.get("with", {}).get("path") == TRUSTED.rstrip("/")
    ]


def _judging_commands(script: str) -> list[str]:
    """The lines of a script that run the review."""
    return [
        line.strip()
        for line in script.splitlines()
        if re.search(r"-m infra review\b", line) or re.search(r"\bmake review\b", line)
    ]


TRUSTED_PYTHON = "PYTHONPATH=trusted .venv/bin/python -P -m infra "


@pytest.mark.parametrize("name", PR_WORKFLOWS)
def test_pull_requests_are_judged_by_the_base_commit(name: str) -> None:
    """What judges a pull request is the base commit's: the pack, its virtualenv action and the
    review (with --policy-from the base); the PR's own infra/ is kept off the import path of
    the review (`python -P`, PYTHONPATH=trusted)."""
    document = load(ROOT / ".github" / "workflows" / name)
    assert "pull_request" in document["on"]
    trusted_reviews = 0
    for job_name, job in document["jobs"].items():
        job_steps = job.get("steps", []) or []
        checkouts = _trusted_checkouts(job)
        for step in job_steps:
            uses = step.get("uses", "")
            pack = step.get("with", {}).get("policyPacks")
            judging = [line for line in _judging_commands(step.get("run", ""))]
            if not (pack or judging or uses.endswith("policy-pack-venv")):
                continue
            where = f"{name}:{job_name}"
            assert len(checkouts) == 1, f"{where} judges without checking out the base commit"
            (checkout,) = checkouts
            assert checkout["with"]["ref"] == BASE_SHA, f"{where} checks out {checkout['with']}"
            assert checkout["with"]["persist-credentials"] is False
            assert job_steps.index(checkout) < job_steps.index(step)
            if pack:
                assert pack == "trusted/policy", f"{where} runs the PR's own pack {pack}"
            if uses.endswith("policy-pack-venv"):
                assert uses == "./trusted/.github/actions/policy-pack-venv", where
                assert step["with"]["policy-pack"] == "trusted/policy", where
            for line in judging:
                if line == "make review":
                    continue  # the PR's own verdict, shown beside the trusted one
                assert TRUSTED_PYTHON in line, f"{where} runs the PR's own code: {line}"
                if '-m infra review --policy-from "$BASE_SHA"' in line:
                    # (a base from before --policy-from runs its own review as is instead)
                    assert step["env"]["BASE_SHA"] == BASE_SHA, where
                    trusted_reviews += 1
                    # the review worktree of the base needs its commit in the PR's clone
                    head = next(
                        s
                        for s in job_steps
                        if s.get("uses", "").startswith("actions/checkout@") and s is not checkout
                    )
                    assert head["with"].get("fetch-depth") == 0, where
    assert trusted_reviews >= 1, f"{name} never reviews with the base commit's policy"


def test_no_expression_is_expanded_inside_a_script():
    """`${{ }}` in `run:` is template injection (zizmor); values arrive through env."""
    for path in [*WORKFLOWS, *ACTIONS]:
        document = (
            load(path) if path in WORKFLOWS else {"jobs": {"a": {"steps": action_steps(path)}}}
        )
        for script in run_scripts(document):
            assert "${{" not in script, f"{path.name}: {script}"


def test_trusted_checkout_is_ignored_by_git_and_linters():
    assert "trusted/" in (ROOT / ".gitignore").read_text().splitlines()
    assert '"trusted"' in (ROOT / "pyproject.toml").read_text()


def test_codeowners_give_policy_and_workflows_to_the_model_owner():
    """Later rules win in CODEOWNERS, so each guarded path's last matching line must name the
    model owner's team (the placeholder the file documents)."""
    lines = [
        line.split()
        for line in (ROOT / ".github" / "CODEOWNERS").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]

    def owners(path: str) -> list[str]:
        found: list[str] = []
        for pattern, *names in lines:
            anchored = pattern.lstrip("/")
            if path == anchored or (anchored.endswith("/") and path.startswith(anchored)):
                found = names
        return found

    for path in (
        "policy/facts.py",
        "policy/gatekeeper/sandbox-seccomp/src.rego",
        ".github/workflows/preview.yml",
        ".github/actions/policy-pack-venv/action.yml",
        ".github/CODEOWNERS",
    ):
        assert owners(path) == ["@example-org/model-owner"], path
