"""harness.inference_protocol over real ONNX sessions: a numeric MLP and the demo text model.

Outputs are compared with onnxruntime called in process on the same bytes, exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from onnx_testlib import in_memory, write_mlp_dir

from harness.inference_protocol import (
    InferenceError,
    Limits,
    infer,
    model_metadata,
    model_ready,
    server_live,
    server_ready,
)
from harness.onnx_runtime import ServedModel, load_model_dir, session_options

X = [[0.25 * i - 1.0 for i in range(8)], [0.5, -0.5, 1.5, 0.0, 2.0, -1.0, 0.125, 3.0]]


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> tuple[ServedModel, Path, Any]:
    directory = write_mlp_dir(tmp_path_factory.mktemp("mlp"))
    buf, files = in_memory(directory)
    return load_model_dir(files), directory, buf


def _request(data: Any = X, **changes: Any) -> dict[str, Any]:
    item = {"name": "x", "shape": [2, 8], "datatype": "FP32", "data": data}
    item.update(changes)
    return {"id": "r1", "inputs": [item]}


def test_health_and_readiness(mlp: tuple[ServedModel, Path, Any]) -> None:
    served = mlp[0]
    assert server_live() == {"live": True}
    assert server_ready(served) == {"ready": True}
    assert model_ready(served, "tiny-mlp") == {"name": "tiny-mlp", "ready": True}
    with pytest.raises(InferenceError) as err:
        server_ready(None)
    assert err.value.status == 503 and err.value.body() == {"error": "the model is not loaded yet"}


def test_metadata_is_the_real_signature(mlp: tuple[ServedModel, Path, Any]) -> None:
    assert model_metadata(mlp[0], "tiny-mlp") == {
        "name": "tiny-mlp",
        "versions": ["3"],
        "platform": "onnx_onnxv1",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 8]}],
        "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3]}],
    }
    assert model_metadata(mlp[0], "tiny-mlp", "3")["name"] == "tiny-mlp"


def test_infer_equals_onnxruntime_in_process(mlp: tuple[ServedModel, Path, Any]) -> None:
    served, directory, _buf = mlp
    reference = ort.InferenceSession(
        str(directory / "model.onnx"),
        sess_options=session_options(1),
        providers=["CPUExecutionProvider"],
    )
    expected = reference.run(None, {"x": np.array(X, dtype=np.float32)})[0]
    response = infer(served, "tiny-mlp", _request())
    assert response["model_name"] == "tiny-mlp" and response["model_version"] == "3"
    assert response["id"] == "r1"
    [out] = response["outputs"]
    assert (out["name"], out["datatype"], out["shape"]) == ("y", "FP32", [2, 3])
    got = np.array(out["data"], dtype=np.float32).reshape(2, 3)
    assert np.array_equal(got, expected)  # bit for bit: JSON carries float32 exactly


def test_model_name_in_the_body_is_accepted_when_it_matches(
    mlp: tuple[ServedModel, Path, Any],
) -> None:
    body = dict(_request(), model_name="tiny-mlp", model_version="3")
    assert infer(mlp[0], "tiny-mlp", body) == infer(mlp[0], "tiny-mlp", _request())


def test_flat_and_nested_data_are_the_same(mlp: tuple[ServedModel, Path, Any]) -> None:
    flat = [v for row in X for v in row]
    assert infer(mlp[0], "tiny-mlp", _request(flat)) == infer(mlp[0], "tiny-mlp", _request())


def test_requested_outputs(mlp: tuple[ServedModel, Path, Any]) -> None:
    body = dict(_request(), outputs=[{"name": "y"}])
    assert [o["name"] for o in infer(mlp[0], "tiny-mlp", body)["outputs"]] == ["y"]
    body = dict(_request(), outputs=[{"name": "h2"}])
    with _refused(422, r"outputs \['h2'\] are not among \['y'\]"):
        infer(mlp[0], "tiny-mlp", body)


class _refused:
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        self._raises = pytest.raises(InferenceError, match=message)

    def __enter__(self) -> Any:
        self._info = self._raises.__enter__()
        return self._info

    def __exit__(self, *exc: Any) -> bool:
        handled = self._raises.__exit__(*exc)
        assert self._info.value.status == self.status
        return bool(handled)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (_request(datatype="FP64"), 422, r"input 'x': datatype 'FP64', the model expects FP32"),
        (_request(shape=[16]), 422, r"input 'x': shape \[16\] does not fit the model's \[-1, 8\]"),
        (_request(shape=[2, 7]), 422, r"input 'x': shape \[2, 7\] does not fit"),
        (
            _request(shape=[3, 8]),
            400,
            r"input 'x': data has 2 rows at depth 0, shape \[3, 8\] needs 3",
        ),
        (
            _request(shape=[3, 8], data=[*X[0], *X[1]]),
            400,
            r"input 'x': shape \[3, 8\] needs 24 elements, flat data has 16",
        ),
        (_request(shape=[-2, 8]), 422, r"input 'x': shape \[-2, 8\] has a negative dimension"),
        (_request(name="z"), 422, r"input 'z' is not one of \['x'\]"),
        (_request([[True] * 8, [0.0] * 8]), 422, r"input 'x': data\[0\] = True is not valid FP32"),
        (_request([["a"] * 8, [0.0] * 8]), 422, r"data\[0\] = 'a' is not valid FP32"),
        ({"inputs": []}, 422, r"inputs: List should have at least 1 item"),
        ({"inputs": [{"name": "x"}]}, 422, r"inputs\.0\.shape: Field required"),
        (
            {"inputs": [{"name": "x", "shape": ["2"], "datatype": "FP32", "data": []}]},
            422,
            r"inputs\.0\.shape\.0: Input should be a valid integer",
        ),
        (dict(_request(), extra=1), 422, r"extra: Extra inputs are not permitted"),
        (
            dict(_request(), model_name="other"),
            422,
            r"model_name: 'other' in the body, but the URL names 'tiny-mlp'",
        ),
        (
            dict(_request(), model_version="4"),
            422,
            r"model_version: '4' in the body, but the URL names '3'",
        ),
        ([], 422, r"body: Input should be a valid dictionary"),
        (
            {"inputs": [_request()["inputs"][0], _request()["inputs"][0]]},
            422,
            r"input 'x' is given twice",
        ),
    ],
)
def test_bad_requests_are_clear_4xx(
    mlp: tuple[ServedModel, Path, Any], body: Any, status: int, message: str
) -> None:
    with _refused(status, message):
        infer(mlp[0], "tiny-mlp", body)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([X[0], X[1][:7]], r"input 'x': data\[1\] has 7 items, shape \[2, 8\] needs 8"),
        (
            [X[0][:4], X[0][4:], X[1][:4], X[1][4:]],
            r"data has 4 rows at depth 0, shape \[2, 8\] needs 2",
        ),
        (
            [X[0], [[v] for v in X[1]]],
            r"input 'x': data\[1\]\[0\] is a list deeper than shape \[2, 8\]",
        ),
        ([*X[0], X[1]], r"input 'x': data mixes lists and values at depth 0"),
        ([X], r"input 'x': data has 1 rows at depth 0, shape \[2, 8\] needs 2"),
    ],
    ids=["short-row", "wrong-nesting", "too-deep", "mixed", "extra-level"],
)
def test_data_that_contradicts_its_shape_is_400(
    mlp: tuple[ServedModel, Path, Any], data: Any, message: str
) -> None:
    with _refused(400, message):
        infer(mlp[0], "tiny-mlp", _request(data=data))


def test_flat_and_exactly_nested_data_give_the_same_result(
    mlp: tuple[ServedModel, Path, Any],
) -> None:
    nested = infer(mlp[0], "tiny-mlp", _request())
    flat = infer(mlp[0], "tiny-mlp", _request(data=[*X[0], *X[1]]))
    assert nested == flat


def test_chunked_runs_are_onnxruntime_on_each_chunk(mlp: tuple[ServedModel, Path, Any]) -> None:
    """Exactly onnxruntime on each chunk of rows; within float rounding of one whole run (a
    different batch size may pick a different matrix kernel, which changes the last bits)."""
    served, directory, _buf = mlp
    reference = ort.InferenceSession(
        str(directory / "model.onnx"),
        sess_options=session_options(1),
        providers=["CPUExecutionProvider"],
    )
    rows = np.array([[0.1 * r + c for c in range(8)] for r in range(7)], dtype=np.float32)
    body = _request(data=rows.tolist(), shape=[7, 8])
    whole = np.array(infer(served, "tiny-mlp", body, Limits(chunk_rows=64))["outputs"][0]["data"])
    for size in (1, 2, 3):
        got = infer(served, "tiny-mlp", body, Limits(chunk_rows=size))["outputs"][0]
        expected = np.concatenate(
            [reference.run(None, {"x": rows[a : a + size]})[0] for a in range(0, 7, size)]
        )
        assert got["shape"] == [7, 3]
        np.testing.assert_array_equal(np.array(got["data"], dtype=np.float32), expected.ravel())
        np.testing.assert_allclose(got["data"], whole, rtol=1e-6)


def test_an_output_that_is_not_per_row_is_run_whole(mlp: tuple[ServedModel, Path, Any]) -> None:
    """A model that reduces over the batch cannot be chunked: the server runs it whole."""
    from harness.inference_protocol import TensorSpec

    class Total:
        name, version = "total", "1"
        inputs = (TensorSpec("x", "FP32", (-1,)),)
        outputs = (TensorSpec("s", "FP32", (-1,)),)
        calls: list[int] = []

        def run(self, feeds: Any, outputs: Any) -> list[Any]:
            self.calls.append(len(feeds["x"]))
            return [np.array([feeds["x"].sum()], dtype=np.float32)]

    model = Total()
    body = {"inputs": [{"name": "x", "shape": [5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}
    out = infer(model, "total", body, Limits(chunk_rows=2))
    assert out["outputs"][0]["data"] == [15.0]
    assert model.calls == [2, 2, 1, 5]


def test_limits_are_413(mlp: tuple[ServedModel, Path, Any]) -> None:
    with _refused(413, r"input 'x': 16 elements, over the request limit of 10"):
        infer(mlp[0], "tiny-mlp", _request(), Limits(max_elements=10))
    # data longer than its (small) shape is refused by the shape, before any element is read
    with _refused(400, r"input 'x': data has 20 rows at depth 0, shape \[1, 8\] needs 1"):
        infer(
            mlp[0],
            "tiny-mlp",
            _request(shape=[1, 8], data=[[0.0] * 8] * 20),
            Limits(max_elements=10),
        )


def test_unknown_model_version_and_not_loaded(mlp: tuple[ServedModel, Path, Any]) -> None:
    with _refused(404, r"no model named 'other'; this server serves 'tiny-mlp'"):
        infer(mlp[0], "other", _request())
    with _refused(404, r"model 'tiny-mlp' has no version '9'; it has '3'"):
        model_metadata(mlp[0], "tiny-mlp", "9")
    with _refused(503, r"the model is not loaded yet"):
        infer(None, "tiny-mlp", _request())


def test_runtime_refusal_is_422_without_graph_internals(mlp: tuple[ServedModel, Path, Any]) -> None:
    class Broken:
        name, version = "tiny-mlp", "3"
        inputs, outputs = mlp[0].inputs, mlp[0].outputs

        def run(self, feeds: Any, outputs: Any) -> Any:
            raise RuntimeError("node MatMul_secret_17 failed")

    with _refused(422, r"the model could not run on this input") as info:
        infer(Broken(), "tiny-mlp", _request())
    assert "secret" not in info.value.message and "MatMul_secret_17" in info.value.detail


def test_integer_and_string_inputs(tmp_path: Path) -> None:
    """INT64 range checks and BYTES through an Identity/Cast graph."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["ids"], ["ids_out"]),
            helper.make_node("Identity", ["words"], ["words_out"]),
        ],
        "io",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT8, [None]),
            helper.make_tensor_value_info("words", TensorProto.STRING, [None]),
        ],
        [
            helper.make_tensor_value_info("ids_out", TensorProto.INT8, [None]),
            helper.make_tensor_value_info("words_out", TensorProto.STRING, [None]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    directory = tmp_path / "io"
    directory.mkdir()
    (directory / "model.onnx").write_bytes(model.SerializeToString())
    card = '{"format": "gke-sandbox/model-card/v1", "name": "io", "version": "1", "inputs": ["ids", "words"], "outputs": ["ids_out", "words_out"]}'
    (directory / "model.json").write_text(card)
    _buf, files = in_memory(directory)
    served = load_model_dir(files)
    body = {
        "inputs": [
            {"name": "ids", "shape": [3], "datatype": "INT8", "data": [-128, 0, 127]},
            {"name": "words", "shape": [2], "datatype": "BYTES", "data": ["héllo", "x"]},
        ]
    }
    out = {o["name"]: o for o in infer(served, "io", body)["outputs"]}
    assert out["ids_out"] == {
        "name": "ids_out",
        "shape": [3],
        "datatype": "INT8",
        "data": [-128, 0, 127],
    }
    assert out["words_out"] == {
        "name": "words_out",
        "shape": [2],
        "datatype": "BYTES",
        "data": ["héllo", "x"],
    }
    body["inputs"][0]["data"] = [-129, 0, 1]
    with _refused(
        422, r"input 'ids': data\[0\] = -129 is not valid INT8 \(integers in \[-128, 127\]\)"
    ):
        infer(served, "io", body)
    body["inputs"][0]["data"] = [1, 0, 1]
    body["inputs"][1]["data"] = ["ok", 5]
    with _refused(422, r"input 'words': data\[1\] is int, BYTES needs strings"):
        infer(served, "io", body)
    body["inputs"][1]["data"] = ["ok", "y" * 11]
    with _refused(413, r"input 'words': data\[1\] has 11 characters, limit 10"):
        infer(served, "io", body, Limits(max_string_chars=10))
    body["inputs"] = body["inputs"][:1]
    with _refused(422, r"inputs \['words'\] are missing"):
        infer(served, "io", body)
