"""A real Open Inference Protocol client (kserve's `InferenceRESTClient`) against the v2
handlers over HTTP on 127.0.0.1, for a numeric MLP and the text demo model.

kserve 0.21.0 cannot share the main environment (it needs protobuf >= 6; pulumi-policy pins
5.29), so it lives in its own venv: `$KSERVE_PYTHON` if set, else `build/venv-kserve`,
created on first use from `kserve-client-requirements.txt` (PyPI, about a minute). `make test`
builds that venv as a prerequisite and sets `KSERVE_PYTHON`, so there (and under CI) a missing
client fails. The same client against the real harness process over TLS, with Triton's:
test_oip_clients.py.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import uvicorn
from harness_testlib import client_python
from onnx_testapp import create_app
from onnx_testlib import in_memory, write_mlp_dir

from harness.onnx_runtime import load_model_dir, session_options

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TOKEN = "kserve-test-token-0123456789"


@pytest.fixture(scope="module")
def kserve_python() -> str:
    return client_python(
        "KSERVE_PYTHON", "venv-kserve", HERE / "kserve-client-requirements.txt", "kserve"
    )


def _serve(model: Any, *, wrap: bool = True) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(model, TOKEN) if wrap else model
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def _client(
    python: str, url: str, model: str, name: str, datatype: str, data: Any
) -> dict[str, Any]:
    shape = list(np.array(data, dtype=object).shape)
    done = subprocess.run(
        [
            python,
            str(HERE / "kserve_client_check.py"),
            url,
            TOKEN,
            model,
            name,
            datatype,
            json.dumps(shape),
            json.dumps(data),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_kserve_client_against_a_numeric_mlp(kserve_python: str, tmp_path: Path) -> None:
    directory = write_mlp_dir(tmp_path / "mlp")
    _buf, files = in_memory(directory)
    served = load_model_dir(files)
    x = [[0.1 * i for i in range(8)], [-0.3 * i for i in range(8)], [1.0] * 8]
    reference = ort.InferenceSession(str(directory / "model.onnx"), sess_options=session_options(1))
    expected = reference.run(None, {"x": np.array(x, dtype=np.float32)})[0]
    for url in _serve(served):
        got = _client(kserve_python, url, "tiny-mlp", "x", "FP32", x)
    assert (got["live"], got["ready"], got["model_ready"], got["id"]) == (True, True, True, "k1")
    assert got["outputs"]["y"]["shape"] == [3, 3] and got["outputs"]["y"]["datatype"] == "FP32"
    assert np.array_equal(np.array(got["outputs"]["y"]["data"], dtype=np.float32), expected.ravel())
    assert got["unknown_model_status"] == 404


def test_kserve_client_sends_text_to_the_demo_model(kserve_python: str, tmp_path: Path) -> None:
    from infra.model.onnx_demo import build

    build(tmp_path / "demo", samples=1500)
    files = {p.name: memoryview(p.read_bytes()) for p in (tmp_path / "demo").iterdir()}
    served = load_model_dir(files)
    reviews = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]
    for url in _serve(served):
        got = _client(kserve_python, url, "sentiment-en", "text", "BYTES", reviews)
    scores = got["outputs"]["score"]["data"]
    assert got["outputs"]["score"]["shape"] == [3, 1]
    assert np.array_equal(
        np.array(scores, dtype=np.float32),
        np.array(served.score_reviews(reviews), dtype=np.float32).ravel(),
    )


def test_wrong_token_is_refused_to_the_client(kserve_python: str, tmp_path: Path) -> None:
    _buf, files = in_memory(write_mlp_dir(tmp_path / "mlp"))
    for url in _serve(load_model_dir(files)):
        done = subprocess.run(
            [
                kserve_python,
                str(HERE / "kserve_client_check.py"),
                url,
                "wrong-token-000000000",
                "tiny-mlp",
                "x",
                "FP32",
                "[1, 8]",
                json.dumps([[0.0] * 8]),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0 and "401" in done.stderr


def test_kserve_client_against_the_real_harness_app(
    kserve_python: str, tmp_path: Path, loaded_model: Any
) -> None:
    """The harness's own app (gate: token, rate limit, body cap) answers the real client."""
    from harness.app import Limits, ModelState
    from harness.app import create_app as create_harness_app
    from harness.auth import TokenStore
    from harness.ratelimit import RateLimiter
    from infra.local.tls import write_token

    token_path = write_token(tmp_path / "token", TOKEN)
    tokens = TokenStore(token_path)
    tokens.load()
    state = ModelState()
    state.set_loaded(loaded_model)
    app = create_harness_app(
        state=state,
        tokens=tokens,
        limiter=RateLimiter(0),
        limits=Limits(max_body_bytes=1 << 20, max_batch=8, max_review_chars=500),
    )
    reviews = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]
    for url in _serve(app, wrap=False):
        got = _client(kserve_python, url, "sentiment-en", "text", "BYTES", reviews)
    assert (got["live"], got["ready"], got["model_ready"]) == (True, True, True)
    expected = [s for (s,) in loaded_model.model.score_reviews(reviews)]
    assert np.array_equal(
        np.array(got["outputs"]["score"]["data"], dtype=np.float32),
        np.array(expected, dtype=np.float32),
    )
    assert got["unknown_model_status"] == 404
