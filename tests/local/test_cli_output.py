"""What the offline commands print to a person: summaries first, the same counts everywhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _infra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Every stack planned once (dev is last and plans the others first anyway)."""
    out = tmp_path_factory.mktemp("build")
    done = _infra("plan", "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out / "plan", done.stdout


def test_plan_prints_one_summary_line_per_stack_and_counts_what_review_counts(planned):
    plan_dir, stdout = planned
    lines = stdout.strip().splitlines()
    stacks = sorted(p.stem for p in plan_dir.glob("*.json"))
    assert sorted(line.split(":")[0] for line in lines) == stacks  # no tree by default
    for line in lines:
        stack = line.split(":")[0]
        total, custom, components = map(
            int,
            re.search(
                r"(\d+) resources \((\d+) cloud/Kubernetes \+ (\d+) components\)", line
            ).groups(),
        )
        assert custom + components == total
        review = _infra("review", str(plan_dir / f"{stack}.json"))
        assert f"stack {stack}, part " in review.stdout
        assert re.search(rf"part \w+, {total} resources", review.stdout), (
            line,
            review.stdout[:200],
        )


def test_plan_verbose_prints_the_tree(tmp_path):
    done = _infra("plan", "--out", str(tmp_path), "--verbose", "model")
    assert "== stack model (part model) ==" in done.stdout
    assert "+ pulumi:pulumi:Stack  gke-sandbox-model" in done.stdout


def test_access_text_has_no_markdown_and_its_notes_once(planned):
    plan_dir, _ = planned
    plans = sorted(str(p) for p in plan_dir.glob("*.json"))
    text = _infra("access", "--format", "text", *plans).stdout
    assert "<br>" not in text and "|---" not in text and "**" not in text
    assert "Who can read or decrypt the model: dev" in text
    assert "       verdict: only the approved harness can run as this identity" in text
    assert text.count("Only what the plan declares is analysed") == 1
    assert text.count("Notes:") == 1


def test_access_to_a_pipe_stays_markdown_for_pr_comments(planned):
    plan_dir, _ = planned
    plans = sorted(str(p) for p in plan_dir.glob("*.json"))
    markdown = _infra("access", *plans).stdout  # stdout is a pipe here, as in the workflows
    assert "| # | who | chain | verdict |" in markdown and "<br>" in markdown
    assert markdown.count("Only what the plan declares is analysed") == 1


def test_access_on_a_terminal_is_text(planned):
    """A pseudo-terminal as stdout, as when a person types the command."""
    import os
    import pty

    plan_dir, _ = planned
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "infra", "access", str(plan_dir / "dev.json")],
            cwd=ROOT,
            stdout=follower,
            stderr=subprocess.PIPE,
            check=False,
            timeout=120,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    shown = b"".join(chunks).decode()
    assert done.returncode == 0, done.stderr
    assert "<br>" not in shown and "verdict: only the approved harness" in shown
