"""Judge the working tree's plans with the policy of a trusted git ref (`review --policy-from`).

A pull request may change the code, the rules, `policy/facts.py` and the Rego at once, so the
gate must not be loaded from the change it judges. The ref is checked out into a temporary,
detached `git worktree` and *its own* `python -m infra review --format json` runs there, in a
separate interpreter whose import path is that checkout only: nothing under the working tree's
`policy/` (or `infra/`, `harness/`) is imported. The worktree is removed afterwards, also on an
error or Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from infra import policy_diff
from infra.errors import UserError

_MAX_ERROR = 800


@dataclass(frozen=True)
class TrustedRun:
    """What the trusted review printed: its JSON report, or (an older ref without `--format
    json`) its own text report, plus a note saying which fallback was used."""

    ref: str
    commit: str
    exit_code: int
    report: dict[str, Any] | None
    changes: policy_diff.PolicyChanges
    text: str | None = None
    note: str | None = None


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", *args],  # noqa: S607 - git from PATH, as CI has it
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise UserError("--policy-from needs git, which is not on PATH") from None
    if check and result.returncode != 0:
        raise UserError(f"git {' '.join(args)} failed: {result.stderr.strip()[:_MAX_ERROR]}")
    return result


def repo_root(start: Path) -> Path:
    """The top of the git working tree holding `start`, or a UserError saying it is none."""
    if shutil.which("git") is None:
        raise UserError("--policy-from needs git, which is not on PATH")
    found = _git(start, "rev-parse", "--show-toplevel", check=False)
    if found.returncode != 0:
        raise UserError(
            f"--policy-from: {start} is not inside a git repository; run the review from a "
            "clone of the repository"
        )
    return Path(found.stdout.strip())


def resolve(repo: Path, ref: str) -> str:
    """The commit `ref` names, or a UserError naming the ref."""
    if not ref or ref.startswith("-"):
        raise UserError(f"--policy-from: {ref!r} is not a git ref")
    found = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if found.returncode != 0 or not found.stdout.strip():
        raise UserError(
            f"--policy-from: unknown git ref {ref!r} in {repo}; give a branch, tag or commit "
            "that exists locally (in CI, fetch the base commit first)"
        )
    return found.stdout.strip()


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI job cancelled, `timeout`) while a worktree exists: unwinds like Ctrl-C so
    the worktree is removed."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextmanager
def checkout(repo: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of `commit` in a temporary directory, removed on the way out (also
    on an error, Ctrl-C or SIGTERM; SIGKILL cannot be caught)."""
    parent = Path(tempfile.mkdtemp(prefix="gke-sandbox-policy-"))
    tree = parent / "tree"
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main else None
    try:
        _git(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        if tree.exists():
            _git(repo, "worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(parent, ignore_errors=True)
        _git(repo, "worktree", "prune", check=False)
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _usage_error(result: subprocess.CompletedProcess[str]) -> bool:
    """argparse's refusal of an option or command this ref's review does not know."""
    return result.returncode == 2 and "usage:" in result.stderr


def _run_review(tree: Path, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    # Only the trusted checkout on the import path: cwd (what `-m` puts first) and PYTHONPATH.
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONHOME", None)
    return subprocess.run(  # noqa: S603 - our own interpreter, the trusted checkout's module
        [sys.executable, "-m", "infra", "review", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _refused(ref: str, result: subprocess.CompletedProcess[str]) -> UserError:
    detail = result.stderr.strip().removeprefix("error: ")[:_MAX_ERROR] or "(no message)"
    return UserError(f"the review at {ref} cannot judge these plans: {detail}")


def review_with(
    ref: str, plans: Sequence[Path], rules: Sequence[str] | None, *, start: Path | None = None
) -> TrustedRun:
    """Run the review of `ref` over `plans` (the working tree's files)."""
    repo = repo_root(start or Path.cwd())
    commit = resolve(repo, ref)
    absolute = [str(p.resolve()) for p in plans]
    selected = [arg for name in rules or () for arg in ("--rule", name)]
    print(
        f"review: judging {len(plans)} plan(s) with the policy of {ref} ({commit[:12]})",
        file=sys.stderr,
    )
    with checkout(repo, commit) as tree:
        changes = policy_diff.compare(repo, tree)
        result = _run_review(tree, ["--format", "json", *selected, *absolute])
        if _usage_error(result) and "--format" in result.stderr:
            # An older review without JSON output: its own text report is the verdict.
            text_result = _run_review(tree, [*selected, *absolute])
            if text_result.returncode not in (0, 1):
                raise _refused(ref, text_result)
            return TrustedRun(
                ref,
                commit,
                text_result.returncode,
                None,
                changes,
                text=text_result.stdout,
                note=f"the review at {ref} has no --format json; its own text report follows",
            )
    if result.returncode not in (0, 1):
        raise _refused(ref, result)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"the review at {ref} printed no JSON report ({exc.msg}): {result.stdout[:200]!r}"
        ) from None
    if not isinstance(report, dict) or not isinstance(report.get("plans"), list):
        raise UserError(
            f"the review at {ref} printed an unexpected report: {result.stdout[:200]!r}"
        )
    # The trusted review saw absolute paths; show the user's own.
    for entry, path in zip(report["plans"], plans, strict=False):
        if isinstance(entry, dict):
            entry["file"] = str(path)
    return TrustedRun(ref, commit, result.returncode, report, changes)
