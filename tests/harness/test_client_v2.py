"""`python -m harness.client` against a real harness: /v2 mode, a model without the review
API, and a refused token that says where the right one is."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from harness_testlib import REPO_ROOT, harness_env, run_harness, wait_for
from onnx_testlib import write_mlp_dir

from harness.client import HarnessClient
from infra.local.gcs import free_port


def _client(server, tls, token_file: Path, *args: str, stdin: str | None = None):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.client",
            "--url",
            server.url,
            "--ca",
            str(tls.ca),
            "--token-file",
            str(token_file),
            *args,
        ],
        cwd=REPO_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def serving(emulators, tls, token_file, seal, tmp_path):
    """serving(source=None) -> a running harness for that model (the demo model by default)."""
    import contextlib

    stack = contextlib.ExitStack()

    def start(source: Path | None = None):
        sealed = seal(source=source)
        env = harness_env(emulators, tls, token_file, free_port(), sealed.dest)
        server = stack.enter_context(run_harness(env, tmp_path / f"harness-{id(sealed)}.log"))
        ready = HarnessClient(server.url, tls.ca, None, timeout=2)
        assert wait_for(ready.ready, timeout=90), server.output()
        return server

    with stack:
        yield start


def test_v2_prints_the_signature_and_infers_from_stdin_or_a_file(
    serving, tls, token_file, tmp_path
):
    server = serving()
    shown = _client(server, tls, token_file, "--v2")
    assert shown.returncode == 0, shown.stderr
    assert "model sentiment-en (GET /v2/models/sentiment-en): versions 2" in shown.stdout
    assert re.search(r"^  input\s+text\s+BYTES\s+\[-1\]$", shown.stdout, re.M)
    assert re.search(r"^  output\s+score\s+FP32\s+\[-1, 1\]$", shown.stdout, re.M)

    short = _client(
        server,
        tls,
        token_file,
        "--v2",
        "--input",
        "-",
        stdin='{"text": ["The movie was great!", "The movie was terrible..."]}',
    )
    assert short.returncode == 0, short.stderr
    line = re.search(r"^  score\s+FP32\s+\[2, 1\]\s+(\S+), (\S+)$", short.stdout, re.M)
    assert line, short.stdout
    assert float(line.group(1)) > 0.65 > 0.35 > float(line.group(2))

    full = tmp_path / "request.json"
    full.write_text(
        json.dumps(
            {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["fine"]}]}
        )
    )
    raw = _client(server, tls, token_file, "--v2", "--input", str(full), "--json")
    assert raw.returncode == 0, raw.stderr
    assert json.loads(raw.stdout)["infer"]["outputs"][0]["shape"] == [1, 1]

    wrong = _client(server, tls, token_file, "--v2", "--input", "-", stdin='{"words": ["x"]}')
    assert wrong.returncode == 2
    assert "unknown input(s) ['words']; the model takes ['text']" in wrong.stderr


def test_a_model_without_the_review_api_shows_its_v2_signature(serving, tls, token_file, tmp_path):
    server = serving(write_mlp_dir(tmp_path / "mlp"))
    default = _client(server, tls, token_file)
    assert default.returncode == 0, default.stderr
    # as a status on its own (a generation number may hold the digits 404)
    assert not re.search(r"\b404\b", default.stdout + default.stderr)
    assert "model tiny-mlp has no review API (/predict)" in default.stdout
    assert re.search(r"^  input\s+x\s+FP32\s+\[-1, 8\]$", default.stdout, re.M)
    assert "add --v2 --input FILE" in default.stdout

    answer = _client(
        server, tls, token_file, "--v2", "--input", "-", stdin=json.dumps({"x": [[0.0] * 8]})
    )
    assert answer.returncode == 0, answer.stderr
    assert re.search(r"^  y\s+FP32\s+\[1, 3\]\s+\S+, \S+, \S+$", answer.stdout, re.M)


def test_a_refused_token_says_where_the_right_one_is(serving, tls, tmp_path):
    server = serving()
    stale = tmp_path / "old-token"
    stale.write_text("a-token-from-an-earlier-run\n")
    refused = _client(server, tls, stale)
    assert refused.returncode == 1
    assert "HTTP 401" in refused.stderr
    assert f"the server refused the bearer token in {stale}" in refused.stderr
    assert "token= on the READY line of `make serve`" in refused.stderr
    assert "a-token-from-an-earlier-run" not in refused.stderr
