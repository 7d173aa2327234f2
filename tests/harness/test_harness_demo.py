"""`python -m infra demo` and `python -m infra serve` end to end, as `make demo/serve` run them."""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from harness_testlib import REPO_ROOT, SEED_REVIEWS, seed_demo_cache, wait_for

from harness.client import HarnessClient, read_token
from infra.local.gcs import free_port

pytestmark = pytest.mark.e2e


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HARNESS_", "STORAGE_EMULATOR", "KMS_EMULATOR"))
    }
    env.update(extra)
    return env


def test_demo_end_to_end(tmp_path, model_dir):
    root = tmp_path / "local"
    seed_demo_cache(tmp_path / "cache", model_dir)
    result = subprocess.run(
        [sys.executable, "-m", "infra", "demo", "--root", str(root), "--verbose"],
        cwd=REPO_ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for step in range(1, 8):
        assert f"[{step}/7]" in out
    # the client's readable output: the check and one line per seed review
    assert "model check (GET /check)" in out and "(verified, pinned)" in out
    scores = {}
    for review in SEED_REVIEWS:
        match = re.search(rf"^\s+([01]\.\d{{4}})\s+(\w+)\s+{re.escape(review)}$", out, re.M)
        assert match, f"no prediction line for {review!r}"
        scores[review] = (float(match.group(1)), match.group(2))
    great, okay, terrible = (scores[r] for r in SEED_REVIEWS)
    assert great[0] > okay[0] > terrible[0]
    assert (great[1], okay[1], terrible[1]) == ("positive", "neutral", "negative")
    assert "demo ok: positive" in out
    # secrets stay in 0600 files and never reach the output
    token_file = root / "token" / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "tls" / "tls.key").stat().st_mode) == 0o600
    assert read_token(token_file) not in out + result.stderr
    # everything it started is stopped
    ports = [int(p) for p in re.findall(r"listening on (?:http://)?127\.0\.0\.1:(\d+)", out)]
    ports += [
        int(p) for p in re.findall(r"starting the harness on https://127\.0\.0\.1:(\d+)", out)
    ]
    assert len(ports) == 3
    assert all(_closed(port) for port in ports)


def test_serve_prints_one_ready_line_and_stops_on_ctrl_c(tmp_path, model_dir):
    root = tmp_path / "local"
    seed_demo_cache(tmp_path / "cache", model_dir)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra", "serve", "--root", str(root)],
        cwd=REPO_ROOT,
        env=_env(HARNESS_PORT=str(port), HARNESS_WORKERS="2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # blocks until the READY line (or exit)
        match = re.fullmatch(
            r"READY https://127\.0\.0\.1:(\d+) token=(\S+) ca=(\S+) model=sentiment-en\n", line
        )
        assert match, line + (proc.stderr.read() if proc.poll() is not None else "")
        assert int(match.group(1)) == port
        token_file, ca = Path(match.group(2)), Path(match.group(3))
        assert token_file.is_absolute() and ca.is_absolute()
        client = HarnessClient(f"https://127.0.0.1:{port}", ca, read_token(token_file))
        great, okay, terrible = client.predict(SEED_REVIEWS)
        assert great > okay > terrible
        assert client.check()["sha256_pinned"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        rest = proc.stdout.read()
        assert rest == "", "stdout carries only the READY line"
        stderr = proc.stderr.read()
        assert "stopped the harness and the emulators" in stderr
        # the loading server's uvicorn shutdown is announced as the hand-over to the workers,
        # and the last line says the stop was clean
        handover = stderr.index("handing over to 2 worker processes")
        assert handover < stderr.index('"Shutting down"')
        assert stderr.rstrip().splitlines()[-1].endswith("this clean stop, not a crash")
        assert "ONNX model reused from" in stderr
        assert read_token(token_file) not in stderr
        assert wait_for(lambda: _closed(port), timeout=10)
        emulator_ports = [
            int(p) for p in re.findall(r"listening on (?:http://)?127\.0\.0\.1:(\d+)", stderr)
        ]
        assert len(emulator_ports) == 2 and all(_closed(p) for p in emulator_ports)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_a_model_never_seen_through_both_apis(tmp_path):
    """`make serve MODEL=x.onnx`: a numeric MLP, v2 answers equal onnxruntime in process."""
    import json
    import ssl
    import urllib.request

    import numpy as np
    import onnxruntime as ort
    from onnx_testlib import mlp_model

    exported = tmp_path / "numbers.onnx"
    exported.write_bytes(mlp_model(seed=11).SerializeToString())
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra",
            "serve",
            "--root",
            str(tmp_path / "local"),
            "--model",
            str(exported),
        ],
        cwd=REPO_ROOT,
        env=_env(HARNESS_PORT=str(port), HARNESS_RATE_LIMIT="0", HARNESS_WORKERS="2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"READY (\S+) token=(\S+) ca=(\S+) model=numbers\n", line)
        assert match, line + (proc.stderr.read() if proc.poll() is not None else "")
        url, token = match.group(1), read_token(Path(match.group(2)))
        context = ssl.create_default_context(cafile=match.group(3))
        x = np.random.default_rng(5).standard_normal((3, 8), dtype=np.float32)
        body = {"inputs": [{"name": "x", "shape": [3, 8], "datatype": "FP32", "data": x.tolist()}]}
        request = urllib.request.Request(  # noqa: S310 - our own loopback harness
            f"{url}/v2/models/numbers/infer",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=context, timeout=30) as response:  # noqa: S310
            (out,) = json.load(response)["outputs"]
        served = np.array(out["data"], dtype=np.float32).reshape(out["shape"])
        session = ort.InferenceSession(exported.read_bytes(), providers=["CPUExecutionProvider"])
        np.testing.assert_array_equal(served, session.run(["y"], {"x": x})[0])
        client = HarnessClient(url, Path(match.group(3)), token)
        assert client.check()["model"]["inputs"] == ["x"]
        with pytest.raises(Exception, match="no seed_api"):  # the seed API needs a text model
            client.predict(["a review"])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_refuses_a_bad_harness_setting(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "infra", "serve", "--root", str(tmp_path)],
        cwd=REPO_ROOT,
        env=_env(HARNESS_RATE_LIMIT="lots"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "HARNESS_RATE_LIMIT='lots': expected a whole number" in result.stderr


def test_serve_refuses_a_bad_port(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "infra", "serve", "--root", str(tmp_path)],
        cwd=REPO_ROOT,
        env=_env(HARNESS_PORT="eighty"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "error: HARNESS_PORT='eighty': expected a port number in [1, 65535]"
    )
    assert result.stdout == ""


def test_client_cli_errors_are_clear(tmp_path):
    token = tmp_path / "token"
    token.write_text("t" * 20)
    from infra.local.tls import generate

    ca = generate(tmp_path / "tls").ca_cert
    port = free_port()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.client",
            "--url",
            f"https://127.0.0.1:{port}",
            "--ca",
            str(ca),
            "--token-file",
            str(token),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1 and "cannot reach" in result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.client",
            "--url",
            "http://x",
            "--ca",
            str(ca),
            "--token-file",
            str(token),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "only speaks HTTPS" in result.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.client",
            "--url",
            "https://x",
            "--ca",
            str(ca),
            "--token-file",
            str(tmp_path / "missing"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "cannot read token file" in result.stderr
