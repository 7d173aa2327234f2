"""Two real Open Inference Protocol clients against the harness process, as `make serve` runs it.

NVIDIA Triton's `tritonclient[http]` (JSON mode) and kserve's `InferenceRESTClient`, each in
its own pinned venv (`TRITON_PYTHON`, `KSERVE_PYTHON`; `make test` builds both), call the
real harness over TLS with its bearer token: server metadata, model metadata, readiness and
inference, for the text demo model (BYTES in) and a numeric MLP (FP32 in). Every output must
equal onnxruntime run in this process on the same plaintext model file, exactly.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from harness_testlib import (
    SEED_REVIEWS,
    Emulators,
    HarnessProcess,
    client_python,
    harness_env,
    new_token,
    run_harness,
    wait_for,
)
from onnx_testlib import write_mlp_dir

from harness.client import HarnessClient
from harness.onnx_runtime import session_options
from infra.local.gcs import free_port

HERE = Path(__file__).resolve().parent
MLP_X = [[0.125 * i - 0.5 for i in range(8)], [1.5, -0.5, 0.25, 0.0, 2.0, -1.0, 0.75, 3.0]]


@pytest.fixture(scope="module")
def triton_python() -> str:
    return client_python(
        "TRITON_PYTHON", "venv-triton", HERE / "triton-client-requirements.txt", "tritonclient.http"
    )


@pytest.fixture(scope="module")
def kserve_python() -> str:
    return client_python(
        "KSERVE_PYTHON", "venv-kserve", HERE / "kserve-client-requirements.txt", "kserve"
    )


class Served:
    def __init__(self, proc: HarnessProcess, token: str, directory: Path) -> None:
        self.proc, self.token, self.directory = proc, token, directory
        self.host_port = proc.url.removeprefix("https://")

    def onnxruntime(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        session = ort.InferenceSession(
            str(self.directory / "model.onnx"),
            sess_options=session_options(1),
            providers=["CPUExecutionProvider"],
        )
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(None, feeds), strict=True))


@pytest.fixture(scope="module")
def serve(emulators: Emulators, seal, tls, tmp_path_factory) -> Iterator[Any]:
    """serve(model_dir) -> the harness process serving that model, sealed, over TLS."""
    import contextlib

    stack = contextlib.ExitStack()

    def _serve(directory: Path) -> Served:
        report = seal(source=directory)
        root = tmp_path_factory.mktemp("oip")
        token = new_token()
        (root / "token").write_text(token)
        env = harness_env(
            emulators, tls, root / "token", free_port(), report.dest, HARNESS_RATE_LIMIT="0"
        )
        proc = stack.enter_context(run_harness(env, root / "harness.log"))
        probe = HarnessClient(proc.url, tls.ca, None, timeout=10)
        assert wait_for(lambda: probe.ready() or proc.proc.poll() is not None), proc.output()
        assert proc.proc.poll() is None, proc.output()
        return Served(proc, token, directory)

    with stack:
        yield _serve


@pytest.fixture(scope="module")
def text_served(serve, model_dir: Path) -> Served:
    return serve(model_dir)


@pytest.fixture(scope="module")
def mlp_served(serve, tmp_path_factory) -> Served:
    return serve(write_mlp_dir(tmp_path_factory.mktemp("mlp") / "mlp"))


def _run(python: str, script: str, args: list[str], env: dict[str, str] | None = None) -> Any:
    done = subprocess.run(
        [python, str(HERE / script), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _triton(python: str, served: Served, tls, model: str, name: str, dtype: str, data: Any) -> Any:
    shape = list(np.array(data, dtype=object).shape)
    args = [served.host_port, str(tls.ca), served.token, model, name, dtype]
    return _run(python, "triton_client_check.py", [*args, json.dumps(shape), json.dumps(data)])


def _kserve(python: str, served: Served, tls, model: str, name: str, dtype: str, data: Any) -> Any:
    import os

    shape = list(np.array(data, dtype=object).shape)
    args = [served.proc.url, served.token, model, name, dtype, json.dumps(shape), json.dumps(data)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CLIENT_CA": str(tls.ca)}
    return _run(python, "kserve_client_check.py", args, env)


def _server_metadata_ok(meta: dict[str, Any]) -> None:
    assert meta["name"] == "gke-sandbox-harness" and meta["extensions"] == []
    assert meta["version"]


def test_triton_client_against_the_text_model(triton_python, text_served, tls) -> None:
    got = _triton(triton_python, text_served, tls, "sentiment-en", "text", "BYTES", SEED_REVIEWS)
    _server_metadata_ok(got["server"])
    meta = got["metadata"]
    assert meta["platform"] == "onnx_onnxv1" and meta["name"] == "sentiment-en"
    assert [(t["name"], t["datatype"]) for t in meta["inputs"]] == [("text", "BYTES")]
    assert meta["parameters"]["max_elements"] == 16384
    assert (got["server_ready"], got["model_ready"], got["id"]) == (True, True, "t1")
    expected = text_served.onnxruntime({"text": np.array(SEED_REVIEWS, dtype=object)})
    score = got["outputs"]["score"]
    assert score["shape"] == list(expected["score"].shape)
    np.testing.assert_array_equal(np.array(score["data"], np.float32), expected["score"].ravel())
    assert got["untyped_infer"]["status"] == "415"
    assert "Content-Type is missing" in got["untyped_infer"]["message"]
    assert got["unknown_model_status"] == "404"


def test_triton_client_against_a_numeric_mlp(triton_python, mlp_served, tls) -> None:
    got = _triton(triton_python, mlp_served, tls, "tiny-mlp", "x", "FP32", MLP_X)
    _server_metadata_ok(got["server"])
    assert got["metadata"]["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 8]}]
    assert (got["server_ready"], got["model_ready"]) == (True, True)
    expected = mlp_served.onnxruntime({"x": np.array(MLP_X, dtype=np.float32)})["y"]
    y = got["outputs"]["y"]
    assert y["shape"] == [2, 3] and y["datatype"] == "FP32"
    np.testing.assert_array_equal(np.array(y["data"], np.float32), expected.ravel())


def test_kserve_client_against_the_text_model(kserve_python, text_served, tls) -> None:
    got = _kserve(kserve_python, text_served, tls, "sentiment-en", "text", "BYTES", SEED_REVIEWS)
    _server_metadata_ok(got["server"])
    assert got["metadata"]["platform"] == "onnx_onnxv1"
    assert got["metadata"]["outputs"] == [{"name": "score", "datatype": "FP32", "shape": [-1, 1]}]
    assert (got["live"], got["ready"], got["model_ready"], got["id"]) == (True, True, True, "k1")
    expected = text_served.onnxruntime({"text": np.array(SEED_REVIEWS, dtype=object)})["score"]
    score = got["outputs"]["score"]
    assert score["shape"] == [3, 1]
    np.testing.assert_array_equal(np.array(score["data"], np.float32), expected.ravel())
    assert got["unknown_model_status"] == 404


def test_kserve_client_against_a_numeric_mlp(kserve_python, mlp_served, tls) -> None:
    got = _kserve(kserve_python, mlp_served, tls, "tiny-mlp", "x", "FP32", MLP_X)
    _server_metadata_ok(got["server"])
    assert got["metadata"]["name"] == "tiny-mlp" and got["metadata"]["versions"] == ["3"]
    expected = mlp_served.onnxruntime({"x": np.array(MLP_X, dtype=np.float32)})["y"]
    y = got["outputs"]["y"]
    assert y["shape"] == [2, 3]
    np.testing.assert_array_equal(np.array(y["data"], np.float32), expected.ravel())


def test_a_missing_client_venv_fails_and_is_never_skipped(monkeypatch, tmp_path) -> None:
    requirements = HERE / "triton-client-requirements.txt"
    monkeypatch.setenv("TRITON_PYTHON", str(tmp_path / "no-such-python"))
    with pytest.raises(pytest.fail.Exception, match=r"cannot import tritonclient\.http"):
        client_python("TRITON_PYTHON", "venv-triton", requirements, "tritonclient.http")
    monkeypatch.delenv("TRITON_PYTHON")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="TRITON_PYTHON is not set"):
        client_python("TRITON_PYTHON", "venv-triton", requirements, "tritonclient.http")
