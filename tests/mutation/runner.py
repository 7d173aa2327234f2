"""Apply one source mutation to a throwaway copy of the repository and ask plan + review.

The copy is made once (`make_base`): every file git tracks, as it is in the working tree
(uncommitted edits included), committed in a fresh repository so `review --policy-from HEAD`
judges with the unmutated policy. Each mutation then gets its own clone of that base, the one
edit left uncommitted, `python -m infra plan`, and the review of every plan. The verdict says
how it was caught: by named rules (in which stacks), by the plan refusing to build, or not at
all. Nothing here touches the repository the copy was made from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.mutation.mutations import Mutation

ROOT = Path(__file__).resolve().parents[2]
# The regeneration a Rego edit needs: a PR that weakens src.rego regenerates template.yaml too,
# or `constraints-complete` catches the stale file and the mutation proves nothing new.
_REGENERATE = "from components.gatekeeper_policy import write_rendered_templates as w; w()"
_GIT_IDENTITY = (
    "-c",
    "user.name=mutation",
    "-c",
    "user.email=mutation@localhost",
    "-c",
    "commit.gpgsign=false",
)
_TAIL = 400


class StaleMutation(ValueError):
    """A mutation's `old` text no longer occurs exactly once in its file."""


@dataclass(frozen=True)
class Verdict:
    """What plan + review said about one mutated tree."""

    mutation: Mutation
    # "rules": the review failed named rules; "plan-error": the program refused to build;
    # "review-error": the review refused the plans (exit 2); "survived": everything passed;
    # "stale": the mutation did not apply.
    kind: str
    # rule name -> stacks whose plan failed it
    rules: dict[str, tuple[str, ...]] = field(default_factory=dict)
    detail: str = ""
    seconds: float = 0.0
    policy_from: bool = False

    @property
    def caught(self) -> bool:
        return self.kind in ("rules", "plan-error", "review-error")

    def line(self) -> str:
        """One progress line: id, step, and what caught it (or SURVIVED)."""
        head = f"{self.mutation.id:<34} step {self.mutation.step:>2}  "
        if self.kind == "rules":
            named = ", ".join(f"{r} ({'/'.join(s)})" for r, s in sorted(self.rules.items()))
            return f"{head}caught by {named}  [{self.seconds:.0f}s]"
        if self.kind == "survived":
            return f"{head}SURVIVED: {self.mutation.why}  [{self.seconds:.0f}s]"
        if self.kind == "stale":
            return f"{head}STALE: {self.detail}"
        return f"{head}caught by {self.kind}: {self.detail}  [{self.seconds:.0f}s]"


def tracked_files(source: Path) -> list[str]:
    """Every path git tracks under `source` that exists in its working tree."""
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=source, capture_output=True, check=True
    ).stdout.decode()
    return [p for p in out.split("\0") if p and (source / p).is_file()]


def _git(tree: Path, *args: str) -> None:
    subprocess.run(["git", *_GIT_IDENTITY, *args], cwd=tree, capture_output=True, check=True)


def make_base(source: Path, dest: Path) -> Path:
    """A committed copy of `source`'s tracked files (working-tree content) at `dest`."""
    dest.mkdir(parents=True)
    for rel in tracked_files(source):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target)
    _git(dest, "init", "--quiet")
    _git(dest, "add", "--all")
    _git(dest, "commit", "--quiet", "--no-verify", "-m", "base for mutation testing")
    return dest


def _replace_once(text: str, old: str, new: str, path: str) -> str:
    count = text.count(old)
    if count != 1:
        raise StaleMutation(f"{path}: `old` occurs {count} times, expected exactly once")
    return text.replace(old, new)


def apply(mutation: Mutation, tree: Path) -> None:
    """Make the edits, refusing loudly when an `old` does not occur exactly once."""
    for edit in mutation.edits:
        path = tree / edit.path
        if not path.is_file():
            raise StaleMutation(f"{edit.path}: no such file")
        text = path.read_text(encoding="utf-8")
        path.write_text(_replace_once(text, edit.old, edit.new, edit.path), encoding="utf-8")


def check_applies(mutation: Mutation, source: Path = ROOT) -> None:
    """The mutation would apply to `source` (nothing is written)."""
    texts: dict[str, str] = {}
    for edit in mutation.edits:
        if edit.path not in texts:
            path = source / edit.path
            if not path.is_file():
                raise StaleMutation(f"{edit.path}: no such file")
            texts[edit.path] = path.read_text(encoding="utf-8")
        texts[edit.path] = _replace_once(texts[edit.path], edit.old, edit.new, edit.path)


def _run(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, check=False
    )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else "(no output)")[:_TAIL]


def supports_policy_from(tree: Path) -> bool:
    """Whether this tree's review takes `--policy-from` (judging with the committed policy)."""
    review = tree / "infra" / "review.py"
    return review.is_file() and "--policy-from" in review.read_text(encoding="utf-8")


def judge(tree: Path, mutation: Mutation) -> Verdict:
    """Plan and review `tree` (already mutated); the verdict with the failing rules."""
    start = time.monotonic()
    trusted = supports_policy_from(tree)

    def verdict(kind: str, **kwargs: object) -> Verdict:
        return Verdict(
            mutation, kind, seconds=time.monotonic() - start, policy_from=trusted, **kwargs
        )

    if any(p.startswith("policy/gatekeeper/") and p.endswith(".rego") for p in mutation.paths):
        regen = _run(tree, "-c", _REGENERATE)
        if regen.returncode != 0:
            return verdict("plan-error", detail=f"regenerate: {_last_line(regen.stderr)}")
    plan = _run(tree, "-m", "infra", "plan", "--quiet")
    if plan.returncode != 0:
        return verdict("plan-error", detail=_last_line(plan.stderr or plan.stdout))
    plans = sorted(str(p.relative_to(tree)) for p in (tree / "build" / "plan").glob("*.json"))
    if not plans:
        return verdict("plan-error", detail="the plan wrote no build/plan/*.json")
    policy = ["--policy-from", "HEAD"] if trusted else []
    review = _run(tree, "-m", "infra", "review", "--format", "json", *policy, *plans)
    if review.returncode == 0:
        return verdict("survived")
    if review.returncode != 1:
        return verdict("review-error", detail=_last_line(review.stderr or review.stdout))
    try:
        report = json.loads(review.stdout)
    except json.JSONDecodeError:
        return verdict("review-error", detail=f"no JSON report: {_last_line(review.stdout)}")
    failed: dict[str, list[str]] = {}
    for entry in report.get("plans", []):
        for rule in entry.get("rules", []):
            if rule.get("status") == "fail":
                failed.setdefault(str(rule.get("name")), []).append(str(entry.get("stack")))
    if not failed:
        return verdict("review-error", detail="exit 1 without a failing rule")
    return verdict("rules", rules={name: tuple(sorted(s)) for name, s in failed.items()})


def run_one(mutation: Mutation, base: Path, scratch: Path) -> Verdict:
    """Clone the base, apply `mutation`, judge it, remove the clone."""
    tree = scratch / mutation.id
    try:
        subprocess.run(
            ["git", "clone", "--quiet", str(base), str(tree)], capture_output=True, check=True
        )
        venv = ROOT / ".venv"
        if venv.exists():
            (tree / ".venv").symlink_to(venv)
        try:
            apply(mutation, tree)
        except StaleMutation as exc:
            return Verdict(mutation, "stale", detail=str(exc))
        return judge(tree, mutation)
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def run_all(
    mutations: Sequence[Mutation],
    *,
    workers: int = 2,
    source: Path = ROOT,
    report: Callable[[Verdict], None] | None = None,
) -> list[Verdict]:
    """Every mutation against one base copy of `source`, `workers` at a time (at most 2)."""
    with tempfile.TemporaryDirectory(prefix="gke-sandbox-mutate-") as tmp:
        scratch = Path(tmp)
        base = make_base(source, scratch / "base")
        with ThreadPoolExecutor(max_workers=max(1, min(workers, 2))) as pool:
            futures = [pool.submit(run_one, m, base, scratch) for m in mutations]
            verdicts = []
            for future in futures:
                verdict = future.result()
                if report is not None:
                    report(verdict)
                verdicts.append(verdict)
    return verdicts


def tally(verdicts: Iterable[Verdict]) -> str:
    """`N mutations: a caught by rules, b by the plan, c survived, d stale` and the survivors."""
    verdicts = list(verdicts)
    by_kind: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_kind.setdefault(v.kind, []).append(v)
    counts = {k: len(by_kind.get(k, [])) for k in ("rules", "plan-error", "review-error")}
    survivors = by_kind.get("survived", [])
    stale = by_kind.get("stale", [])
    trusted = "with --policy-from HEAD" if any(v.policy_from for v in verdicts) else "plain review"
    lines = [
        f"{len(verdicts)} mutations ({trusted}): {counts['rules']} caught by review rules, "
        f"{counts['plan-error']} by the plan refusing to build, {counts['review-error']} by the "
        f"review refusing the plans, {len(survivors)} survived, {len(stale)} stale"
    ]
    lines += [f"  survivor {v.mutation.id} (step {v.mutation.step})" for v in survivors]
    lines += [f"  stale {v.mutation.id}: {v.detail}" for v in stale]
    return "\n".join(lines)
