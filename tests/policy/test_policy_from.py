"""`review --policy-from REF`: a change cannot weaken the rules it is judged by.

Each case works on a throwaway copy of the repository (git init + one commit), makes an
*uncommitted* weakening of the policy as a pull request would, and shows that the working
tree's own review lets it through while the review of the committed ref fails it. Also: the
"policy changed" section, the temporary worktree always removed, clear errors, and an older
ref whose review has no JSON output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import policy_diff, trusted
from infra.__main__ import main

REPO = Path(__file__).resolve().parents[2]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return done.stdout


def infra(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files of this working tree (but git-ignored ones), committed in a fresh repository (branch main)."""
    root = tmp_path_factory.mktemp("pristine") / "repo"
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in listed.split("\0"):
        source = REPO / name
        if name and source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "trusted")
    return root


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Iterator[Path]:
    """A clone of the pristine copy this test may change freely."""
    clone = tmp_path / "repo"
    git(pristine, "clone", "--quiet", str(pristine), str(clone))
    yield clone


def worktrees(repo: Path) -> list[str]:
    return [
        line
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: {old!r} not found exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_weakened_fact_passes_its_own_review_but_fails_the_trusted_one(repo: Path) -> None:
    # A year-long rotation: the config reader and the rule both read the bound, so the stack
    # may now ask for 365 days and the working tree's rule expects no better.
    replace(
        repo / "policy/facts.py",
        "MAX_KEY_ROTATION_SECONDS = 90 * 24 * 3600",
        "MAX_KEY_ROTATION_SECONDS = 365 * 24 * 3600",
    )
    replace(repo / "Pulumi.model.yaml", "rotationPeriod: 90d", "rotationPeriod: 365d")
    planned = infra(repo, "plan", "model", "--quiet")
    assert planned.returncode == 0, planned.stderr
    plan = json.loads((repo / "build/plan/model.json").read_text())
    key = next(r for r in plan["resources"] if r["name"] == "model-key")
    assert key["inputs"]["rotationPeriod"] == "31536000s"

    own = infra(repo, "review", "build/plan/model.json")
    assert own.returncode == 0, own.stdout

    judged = infra(repo, "review", "--policy-from", "HEAD", "build/plan/model.json")
    assert judged.returncode == 1, judged.stdout + judged.stderr
    assert "FAIL  kms-key-rotation" in judged.stdout
    assert 'rotationPeriod is "31536000s"' in judged.stdout
    assert judged.stdout.startswith("policy from HEAD (")
    assert "policy changed since HEAD" in judged.stdout
    assert "    MAX_KEY_ROTATION_SECONDS changed" in judged.stdout.splitlines()
    assert judged.stderr.startswith("review: judging 1 plan(s) with the policy of HEAD (")
    assert len(worktrees(repo)) == 1, "the temporary worktree is removed"

    as_json = json.loads(
        infra(
            repo, "review", "--policy-from", "HEAD", "--format", "json", "build/plan/model.json"
        ).stdout
    )
    assert as_json["ok"] is False
    assert as_json["plans"][0]["file"] == "build/plan/model.json"
    assert as_json["policyFrom"]["ref"] == "HEAD"
    assert as_json["policyChanged"]["changed"] is True
    assert as_json["policyChanged"]["facts"] == [
        {"name": "MAX_KEY_ROTATION_SECONDS", "change": "changed"}
    ]


def _regenerate_templates(repo: Path) -> None:
    regenerate = subprocess.run(
        [
            sys.executable,
            "-c",
            "from components.gatekeeper_policy import write_rendered_templates as w; w()",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert regenerate.returncode == 0, regenerate.stderr


def _failed(stdout: str) -> set[str]:
    return {line.split()[1] for line in stdout.splitlines() if line.split()[:1] == ["FAIL"]}


def test_weakened_rego_regenerated_fails_the_corpus_and_the_trusted_review(repo: Path) -> None:
    # Deny only Localhost profiles (Unconfined and none pass), regenerate template.yaml as the
    # gatekeeper README says: the repository's own guard is satisfied, its corpus is not.
    replace(
        repo / "policy/gatekeeper/sandbox-seccomp/src.rego",
        't != "RuntimeDefault"',
        't == "Localhost"',
    )
    _regenerate_templates(repo)
    assert git(repo, "status", "--porcelain").split() == [
        "M",
        "policy/gatekeeper/sandbox-seccomp/src.rego",
        "M",
        "policy/gatekeeper/sandbox-seccomp/template.yaml",
    ]
    assert infra(repo, "plan", "sandbox", "--quiet").returncode == 0
    own = infra(repo, "review", "build/plan/sandbox.json")
    assert own.returncode == 1, own.stdout
    assert _failed(own.stdout) == {"constraints-deny-corpus"}

    judged = infra(repo, "review", "--policy-from", "HEAD", "build/plan/sandbox.json")
    assert judged.returncode == 1, judged.stdout + judged.stderr
    assert _failed(judged.stdout) == {"constraints-complete", "constraints-deny-corpus"}
    lines = judged.stdout.splitlines()
    assert "    sandbox-seccomp changed (src.rego changed, template.yaml changed)" in lines
    assert len(worktrees(repo)) == 1


def test_weakened_rego_with_its_corpus_emptied_passes_its_own_review_only(repo: Path) -> None:
    # The change also turns the seccomp samples' disallowed cases into allowed ones and drops
    # the generated cases: the working tree's review now has nothing left to catch it with.
    replace(
        repo / "policy/gatekeeper/sandbox-seccomp/src.rego",
        't != "RuntimeDefault"',
        't == "Localhost"',
    )
    suite = repo / "policy/gatekeeper/sandbox-seccomp/suite.yaml"
    suite.write_text(suite.read_text().replace("violations: 1", "violations: 'no'"))
    replace(repo / "policy/corpus.py", "for kind in POD_CREATING_KINDS:", "for kind in ():")
    _regenerate_templates(repo)
    assert infra(repo, "plan", "sandbox", "--quiet").returncode == 0
    own = infra(repo, "review", "build/plan/sandbox.json")
    assert own.returncode == 0, own.stdout

    judged = infra(repo, "review", "--policy-from", "HEAD", "build/plan/sandbox.json")
    assert judged.returncode == 1, judged.stdout + judged.stderr
    assert _failed(judged.stdout) == {"constraints-complete", "constraints-deny-corpus"}
    assert (
        "ConstraintTemplate sandboxseccomp admits the known-bad Deployment ns1/harness "
        "(sandbox-seccomp/samples/seccomp/example_disallowed_unconfined.yaml)" in judged.stdout
    )
    lines = judged.stdout.splitlines()
    assert "    policy/corpus.py changed (rules: constraints-deny-corpus)" in lines
    assert len(worktrees(repo)) == 1


def test_unchanged_policy_says_so(repo: Path) -> None:
    assert infra(repo, "plan", "harness", "--quiet").returncode == 0
    judged = infra(repo, "review", "--policy-from", "main", "build/plan/harness.json")
    assert judged.returncode == 0, judged.stdout + judged.stderr
    assert judged.stdout.splitlines()[-1] == "policy unchanged since main"


def test_older_ref_without_json_output_gives_its_own_text_report(repo: Path) -> None:
    git(repo, "checkout", "--quiet", "-b", "old")
    replace(
        repo / "infra/review.py",
        '        "--format",\n',
        '        "--style",\n        dest="format",\n',
    )
    git(repo, "commit", "--quiet", "-am", "a review without --format")
    git(repo, "checkout", "--quiet", "main")
    assert infra(repo, "plan", "harness", "--quiet").returncode == 0
    judged = infra(repo, "review", "--policy-from", "old", "build/plan/harness.json")
    assert judged.returncode == 0, judged.stdout + judged.stderr
    assert (
        "note: the review at old has no --format json; its own text report follows" in judged.stderr
    )
    assert "summary: PASS, 1 plan(s)" in judged.stdout
    assert judged.stdout.splitlines()[-1] == "policy unchanged since old"
    assert len(worktrees(repo)) == 1


def test_unknown_ref(repo: Path) -> None:
    (repo / "p.json").write_text("{}")
    done = infra(repo, "review", "--policy-from", "no-such-branch", "p.json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("error: --policy-from: unknown git ref 'no-such-branch' in ")


def test_not_a_git_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "p.json").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert main(["review", "--policy-from", "HEAD", "p.json"]) == 2
    assert capsys.readouterr().err == (
        f"error: --policy-from: {tmp_path} is not inside a git repository; run the review from "
        "a clone of the repository\n"
    )


def test_git_missing(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "p.json").write_text("{}")
    monkeypatch.chdir(repo)
    monkeypatch.setenv("PATH", str(repo / "no-bin"))
    assert main(["review", "--policy-from", "HEAD", "p.json"]) == 2
    assert capsys.readouterr().err == "error: --policy-from needs git, which is not on PATH\n"


def test_missing_plan_is_reported_before_any_checkout(repo: Path) -> None:
    done = infra(repo, "review", "--policy-from", "HEAD", "build/plan/none.json")
    assert done.returncode == 2
    assert done.stderr == (
        "error: build/plan/none.json: no such plan file; run `python -m infra plan` first\n"
    )


def test_a_plan_the_trusted_review_refuses_is_a_clear_error_and_leaves_no_worktree(
    repo: Path,
) -> None:
    (repo / "p.json").write_text('{"stack": "dev"}')
    done = infra(repo, "review", "--policy-from", "HEAD", "p.json")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1].startswith(
        "error: the review at HEAD cannot judge these plans: "
    )
    assert "not a plan file" in done.stderr
    assert len(worktrees(repo)) == 1


def test_the_worktree_is_removed_on_ctrl_c(repo: Path) -> None:
    commit = trusted.resolve(repo, "HEAD")
    seen: list[Path] = []
    with pytest.raises(KeyboardInterrupt), trusted.checkout(repo, commit) as tree:
        seen.append(tree)
        assert (tree / "policy/facts.py").is_file()
        assert len(worktrees(repo)) == 2
        raise KeyboardInterrupt
    assert not seen[0].exists() and not seen[0].parent.exists()
    assert len(worktrees(repo)) == 1


def test_policy_changes_name_facts_rules_modules_and_templates() -> None:
    before = {
        "policy/facts.py": "import re\nA = 1\nB = re.compile('x')\ndef f():\n    return 1\n",
        "policy/rules/catalogue.py": (
            "from . import data, gke\nfrom .table import properties\n"
            "RULES = (Rule(name='one', check=data.c), Rule(name='two', check=properties('two')),"
            " Rule(name='three', check=gke.g))\n"
        ),
        "policy/rules/data.py": "X = 1\n",
        "policy/rules/table.py": "Y = 1\n",
        "policy/gatekeeper/sandbox-a/src.rego": "package a\n",
        "policy/gatekeeper/sandbox-gone/src.rego": "package g\n",
        "policy/README.md": "old",
        "policy/gatekeeper/README.md": "old",
    }
    after = {
        **before,
        # a comment and formatting do not count; a value does
        "policy/facts.py": "import re\nA = 1  # same\nB = re.compile('y')\ndef g():\n    return 1\n",
        "policy/rules/catalogue.py": before["policy/rules/catalogue.py"].replace(
            "Rule(name='three', check=gke.g)", "Rule(name='four', check=gke.g)"
        ),
        "policy/rules/data.py": "X = 2\n",
        "policy/rules/table.py": "Y = 2\n",
        "policy/gatekeeper/sandbox-a/src.rego": "package a\nweaker\n",
        "policy/gatekeeper/sandbox-new/src.rego": "package n\n",
        "policy/README.md": "new",
        "policy/gatekeeper/README.md": "new",
    }
    del after["policy/gatekeeper/sandbox-gone/src.rego"]
    changes = policy_diff.compare_files(before, after)
    doc = policy_diff.to_json(changes)
    assert doc["facts"] == [
        {"name": "B", "change": "changed"},
        {"name": "f", "change": "removed"},
        {"name": "g", "change": "added"},
    ]
    assert doc["rules"] == [
        {"name": "four", "change": "added"},
        {"name": "three", "change": "removed"},
    ]
    assert doc["modules"] == [
        {"name": "policy/rules/catalogue.py", "change": "changed", "rules": []},
        {"name": "policy/rules/data.py", "change": "changed", "rules": ["one"]},
        {"name": "policy/rules/table.py", "change": "changed", "rules": ["two"]},
    ]
    assert doc["templates"] == [
        {"name": "sandbox-a", "change": "changed", "files": ["src.rego changed"]},
        {"name": "sandbox-gone", "change": "removed", "files": ["src.rego removed"]},
        {"name": "sandbox-new", "change": "added", "files": ["src.rego added"]},
    ]
    assert doc["files"] == [
        {"name": "policy/README.md", "change": "changed"},
        {"name": "policy/gatekeeper/README.md", "change": "changed"},
    ]
    text = policy_diff.render_text(changes, "origin/main").splitlines()
    assert text[0].startswith("policy changed since origin/main: ")
    assert "    policy/rules/data.py changed (rules: one)" in text
    assert policy_diff.render_text(policy_diff.compare_files(before, before), "x") == (
        "policy unchanged since x"
    )


def test_the_worktree_is_removed_on_sigterm(repo: Path) -> None:
    """A cancelled CI job or `timeout` sends SIGTERM: the checkout unwinds like Ctrl-C."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from infra import trusted\n"
        "repo = Path(sys.argv[1])\n"
        "try:\n"
        "    with trusted.checkout(repo, trusted.resolve(repo, 'HEAD')) as tree:\n"
        "        print(tree, flush=True)\n"
        "        time.sleep(60)\n"
        "except trusted.Terminated:\n"
        "    sys.exit(143)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(repo)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    tree = Path(child.stdout.readline().strip())
    assert (tree / "policy/facts.py").is_file()
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 143
    assert not tree.exists() and not tree.parent.exists()
    assert len(worktrees(repo)) == 1
