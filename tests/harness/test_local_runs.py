"""Local runs side by side: own directories, a lock, a busy port, MODEL messages, the cache."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness_testlib import REPO_ROOT, SEED_REVIEWS, seed_demo_cache

from harness.client import HarnessClient, read_token
from infra.errors import UserError
from infra.local.gcs import free_port

pytestmark = pytest.mark.e2e


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HARNESS_", "STORAGE_EMULATOR", "KMS_EMULATOR"))
    }
    env.update(extra)
    return env


def _infra(*args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        cwd=REPO_ROOT,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_demo_while_serve_runs_keeps_the_servers_token_and_certificate(tmp_path, model_dir):
    """`make serve` in one terminal, `make demo` in another: the server stays usable."""
    local = tmp_path / "build" / "local"
    seed_demo_cache(local / "cache", model_dir)
    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "infra", "serve", "--root", str(local / "serve")],
        cwd=REPO_ROOT,
        env=_env(HARNESS_PORT=str(port), HARNESS_WORKERS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = serve.stdout.readline()
        match = re.fullmatch(r"READY (\S+) token=(\S+) ca=(\S+) model=sentiment-en\n", line)
        assert match, line + (serve.stderr.read() if serve.poll() is not None else "")
        url, token_file, ca = match.group(1), Path(match.group(2)), Path(match.group(3))
        token = read_token(token_file)

        # a second serve on the same directory is refused, naming the first
        again = _infra("serve", "--root", str(local / "serve"), HARNESS_PORT=str(free_port()))
        assert again.returncode == 2
        assert f"is in use by another local run (pid {serve.pid}: python -m infra serve)" in (
            again.stderr
        )

        demo = _infra("demo", "--root", str(local / "demo"))
        assert demo.returncode == 0, demo.stdout + demo.stderr
        # the summary: the seven steps, then the answer last
        lines = demo.stdout.strip().splitlines()
        assert len(lines) < 30, demo.stdout
        assert lines[-1].startswith("demo ok: positive ")
        assert any(re.match(r"\s+0\.\d{4}\s+positive\s+The movie was great!$", x) for x in lines)

        # the server still answers with the token and CA it printed
        assert read_token(token_file) == token
        client = HarnessClient(url, ca, token)
        great, okay, terrible = client.predict(SEED_REVIEWS)
        assert great > okay > terrible
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=60) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()


def test_a_busy_port_is_reported_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        started = time.monotonic()
        done = _infra("serve", "--root", str(tmp_path / "serve"), HARNESS_PORT=str(port))
        elapsed = time.monotonic() - started
    assert done.returncode == 2
    assert f"error: port {port} on 127.0.0.1 is already in use" in done.stderr
    assert f"HARNESS_PORT={port + 1} make serve" in done.stderr
    assert "listening on" not in done.stderr  # no emulator was started
    assert done.stdout == ""
    print(f"refused after {elapsed:.1f}s")  # informative only; never a timed assertion


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("dir", "has no model.onnx (a model.json card is optional beside it); expected a .onnx"),
        ("py", "is not a model: expected a .onnx file, a directory holding model.onnx"),
        ("missing", "no such file or directory; expected a .onnx file"),
    ],
)
def test_model_messages_say_what_is_expected(tmp_path, kind, expected):
    if kind == "dir":
        model = tmp_path / "mymodel"
        model.mkdir()
        (model / "weights.bin").write_bytes(b"\0" * 8)
    elif kind == "py":
        model = tmp_path / "train.py"
        model.write_text("print('not a model')\n")
    else:
        model = tmp_path / "nothing-here"
    done = _infra("serve", "--root", str(tmp_path / "serve"), "--model", str(model))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: MODEL={model}: ") and expected in done.stderr
    assert "model.json" not in done.stderr.split("(")[0]  # never "has no model.json" first
    assert "Traceback" not in done.stderr


def test_the_run_lock_names_the_holder_and_is_released(tmp_path):
    from infra.local.stack import LocalStack

    with LocalStack(tmp_path / "run") as first:
        first.claim("serve")
        with LocalStack(tmp_path / "run") as second, pytest.raises(UserError) as refused:
            second.claim("demo")
        assert f"(pid {os.getpid()}: python -m infra serve)" in str(refused.value)
        assert "--root DIR" in str(refused.value)
    with LocalStack(tmp_path / "run") as third:
        third.claim("demo")  # the first run is over: its lock went with it


def test_demo_and_serve_default_to_their_own_directories():
    from infra.__main__ import build_parser

    demo = build_parser("demo").parse_args(["demo"]).root
    serve = build_parser("serve").parse_args(["serve"]).root
    assert (demo.as_posix(), serve.as_posix()) == ("build/local/demo", "build/local/serve")


def test_the_demo_model_is_built_once_per_content_of_its_inputs(tmp_path, monkeypatch):
    from infra.model import onnx_demo

    builds: list[Path] = []

    def fake_build(out_dir: Path, **_kw: object) -> onnx_demo.DemoReport:
        builds.append(out_dir)
        out_dir.mkdir(parents=True)
        (out_dir / "model.onnx").write_bytes(b"graph")
        return onnx_demo.DemoReport(str(out_dir), 5, 1, 100, 0.9, 0.9, {}, 0.1)

    lexicon = tmp_path / "lexicon.json"
    lexicon.write_text("{}")
    monkeypatch.setattr(onnx_demo, "build", fake_build)
    monkeypatch.setattr(onnx_demo, "cache_inputs", lambda: [lexicon])
    monkeypatch.setattr(onnx_demo, "_HERE", tmp_path / "infra" / "model")
    first, _, reused_first = onnx_demo.build_cached(tmp_path / "cache")
    second, _, reused_second = onnx_demo.build_cached(tmp_path / "cache")
    assert (reused_first, reused_second, len(builds)) == (False, True, 1)
    assert first == second and (first / "model.onnx").read_bytes() == b"graph"
    lexicon.write_text('{"great": 1}')  # an input changed: built again, elsewhere
    third, _, reused_third = onnx_demo.build_cached(tmp_path / "cache")
    assert (reused_third, len(builds)) == (False, 2) and third != first
    assert sorted(p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")) == []


def test_the_digest_follows_the_real_inputs():
    from infra.model import onnx_demo

    names = {p.relative_to(REPO_ROOT).as_posix() for p in onnx_demo.cache_inputs()}
    assert {
        "infra/model/onnx_demo.py",
        "infra/model/reviews.py",
        "infra/model/data/sentiment_lexicon.json",
        "infra/model/data/eval_reviews.tsv",
        "harness/model_card.py",
    } <= names
    assert re.fullmatch(r"[0-9a-f]{16}", onnx_demo.inputs_digest())
    assert onnx_demo.inputs_digest(samples=100) != onnx_demo.inputs_digest()
