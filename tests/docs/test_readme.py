"""The README works for a newcomer: its offline commands run on a fresh clone, and it points
at nothing outside the repository.

A fenced shell block is run by this test when the line right before its fence is the
marker `<!-- offline -->` (invisible on GitHub). All marked blocks run in order in one
bash session (`set -euo pipefail`), as a person pasting them into one terminal would:
variables and background jobs carry over. The session runs at the root of a `git clone` of
this repository (the committed state, not uncommitted edits) with the project's existing
.venv linked in and the demo model cache copied when present, so no package is
installed and no model trained twice; whatever the blocks leave running is stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = "<!-- offline -->"
FENCE = re.compile(r"^```(?:sh|bash|shell)\s*$")
# Paths a reader cannot follow from a clone: relative ones leaving the repository, or
# absolute ones on somebody's machine.
UP = re.compile(r"(?<![\w.])((?:\.\./)+[\w./-]*)")
MACHINE = re.compile(r"(?<![\w/.:~-])/(?:work|home|root|tmp|Users|opt|srv)/")
ISSUE = re.compile(r"\bissues? #?\d+|#\d{1,4}\b", re.IGNORECASE)
SEED = re.compile(r"\bseeds?\b(?:/|\s+0?\d{2,3}\b|_)", re.IGNORECASE)
LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)\s#]+)(?:#[^)]*)?\)")


def offline_blocks(text: str) -> list[str]:
    """The bodies of the shell blocks marked offline, in order."""
    lines = text.splitlines()
    blocks: list[str] = []
    for index, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        fence = index + 1
        if fence >= len(lines) or not FENCE.match(lines[fence]):
            raise AssertionError(
                f"README line {index + 1}: {MARKER} must sit right above a ```sh fence"
            )
        body = []
        for inner in lines[fence + 1 :]:
            if inner.startswith("```"):
                break
            body.append(inner)
        else:
            raise AssertionError(f"README line {fence + 1}: the marked block is never closed")
        blocks.append("\n".join(body))
    return blocks


def test_marker_parsing_takes_only_marked_shell_blocks():
    text = (
        "intro\n<!-- offline -->\n```sh\necho one\n```\n"
        "```sh\necho not-marked\n```\n<!-- offline -->\n```bash\necho two\necho three\n```\n"
    )
    assert offline_blocks(text) == ["echo one", "echo two\necho three"]
    with pytest.raises(AssertionError, match="must sit right above"):
        offline_blocks("<!-- offline -->\n\n```sh\necho x\n```\n")


def _docs() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", _docs(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_point_at_nothing_outside_the_repository(path: Path):
    text = path.read_text()
    outside = [m.group(0) for m in MACHINE.finditer(text)] + [
        m.group(1)
        for m in UP.finditer(text)
        if not (path.parent / m.group(1)).resolve().is_relative_to(ROOT)
    ]
    assert outside == [], f"{path.name} names paths outside the repository: {outside}"
    for target in LINK.findall(text):
        assert (path.parent / target).resolve().is_relative_to(ROOT), target
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


@pytest.mark.parametrize("path", _docs(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_name_no_issue_numbers_or_seed_files(path: Path):
    text = path.read_text()
    assert [m.group(0) for m in ISSUE.finditer(text)] == []
    assert [m.group(0) for m in SEED.finditer(text)] == []


def test_the_checks_catch_what_they_are_for():
    assert MACHINE.search("in /work/main/x") and not MACHINE.search("https://x/home/y")
    assert not MACHINE.search("build/local/serve/token/token and https://x/y")
    assert UP.search("see ../shared/DESIGN.md").group(1) == "../shared/DESIGN.md"
    assert not (ROOT / "../shared/DESIGN.md").resolve().is_relative_to(ROOT)
    assert ISSUE.search("fixed in issue 12") and ISSUE.search("see #15")
    assert SEED.search("seed 003's reviews") and SEED.search("../shared/seeds/003_x.txt")
    assert not SEED.search("seeded, so a build is reproducible")


def _fresh_clone(tmp_path: Path) -> Path:
    clone = tmp_path / "gke-sandbox"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        check=True,
        timeout=300,
    )
    (clone / ".venv").symlink_to((ROOT / ".venv").resolve())
    cache = ROOT / "build" / "local" / "cache"
    if cache.is_dir():
        shutil.copytree(cache, clone / "build" / "local" / "cache", symlinks=True)
    return clone


@pytest.mark.e2e
def test_readme_offline_commands_run_on_a_fresh_clone(tmp_path):
    blocks = offline_blocks(README.read_text())
    assert blocks, f"README.md has no shell block marked {MARKER}"
    clone = _fresh_clone(tmp_path)
    # The clone reuses this checkout's .venv: tell make it is installed (no pip, no network).
    stamp = tmp_path / "venv-installed"
    stamp.touch()
    script = tmp_path / "readme.sh"
    script.write_text("set -euo pipefail\n" + "\n".join(blocks) + "\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HARNESS_", "STORAGE_EMULATOR", "KMS_EMULATOR", "MAKE"))
    }
    env["MAKEFLAGS"] = f"STAMP={stamp}"
    env["HARNESS_PORT"] = str(_free_port())  # 8443 may be taken on a shared machine
    log = tmp_path / "readme.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            ["bash", str(script)],
            cwd=clone,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: background jobs are stopped below
        )
        try:
            code = proc.wait(timeout=900)
        finally:
            with_group_stopped(proc.pid)
    output = log.read_text(errors="replace")
    assert code == 0, f"the README's offline commands failed (exit {code}):\n{output[-6000:]}"
    for seen in (
        "demo ok: positive",  # the quick start's answer
        "predictions (POST /predict; 1 = positive)",  # the client against `serve`
        "<title>Sealed model harness</title>",  # the page
        '"inputs":[{"name":"text","datatype":"BYTES","shape":[-1]}]',  # your model's signature
        '"outputs":[{"name":"score","shape":[2,1],"datatype":"FP32"',  # and its answer
    ):
        assert seen in output, f"{seen!r} not in the README run's output:\n{output[-4000:]}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_group_stopped(pgid: int) -> None:
    """SIGTERM whatever the README left running (a `make serve &`), then SIGKILL stragglers."""
    import time

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        time.sleep(2)
