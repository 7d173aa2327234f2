"""infra.model.onnx_pack: bring-your-own ONNX files and directories, laid out for the harness."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from harness.onnx_runtime import load_model_dir
from infra.model.onnx_pack import prepare
from tests.harness.onnx_testlib import in_memory, mlp_model

X = np.linspace(-1, 1, 24, dtype=np.float32).reshape(3, 8)


def test_a_lone_onnx_file_gets_a_card_and_the_same_answers(tmp_path: Path) -> None:
    source = tmp_path / "my-mlp.onnx"
    onnx.save(mlp_model(), str(source))  # weights embedded, as exporters write small models
    out = prepare(source, tmp_path / "packed", version="7", threshold=128)
    card = json.loads((out / "model.json").read_text())
    assert (card["name"], card["version"], card["inputs"], card["outputs"]) == (
        "my-mlp",
        "7",
        ["x"],
        ["y"],
    )
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model.onnx", "model.onnx.data"]
    _buf, files = in_memory(out)
    served = load_model_dir(files)
    expected = ort.InferenceSession(str(source)).run(None, {"x": X})[0]
    np.testing.assert_allclose(served.run({"x": X}, ["y"])[0], expected, rtol=1e-6, atol=1e-6)


def test_a_directory_with_external_data_and_its_own_card(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    onnx.save(
        mlp_model(),
        str(source / "model.onnx"),
        save_as_external_data=True,
        location="weights.bin",
        size_threshold=0,
    )
    card = {
        "format": "gke-sandbox/model-card/v1",
        "name": "alice-mlp",
        "version": "1",
        "inputs": ["x"],
        "outputs": ["y"],
    }
    (source / "model.json").write_text(json.dumps(card))
    out = prepare(source, tmp_path / "packed")
    assert json.loads((out / "model.json").read_text())["name"] == "alice-mlp"
    _buf, files = in_memory(out)
    assert load_model_dir(files).name == "alice-mlp"


def test_card_that_does_not_match_the_graph_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    onnx.save(mlp_model(), str(source / "model.onnx"))
    card = {
        "format": "gke-sandbox/model-card/v1",
        "name": "m",
        "version": "1",
        "inputs": ["input"],
        "outputs": ["y"],
    }
    (source / "model.json").write_text(json.dumps(card))
    with pytest.raises(
        ValueError, match=r"model\.json\.inputs: \['input'\] but model\.onnx has \['x'\]"
    ):
        prepare(source, tmp_path / "packed")


def test_not_a_model_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not protobuf at all")
    with pytest.raises(ValueError, match=r"bad\.onnx: not a valid ONNX model"):
        prepare(bad, tmp_path / "out")
    with pytest.raises(ValueError, match=r"expected a \.onnx file or a model directory"):
        prepare(tmp_path / "missing.pt", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"empty: no model\.onnx in the model directory"):
        prepare(tmp_path / "empty", tmp_path / "out")
