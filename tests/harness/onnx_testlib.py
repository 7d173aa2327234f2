"""Helpers for the ONNX tests: a tiny numeric MLP built with `onnx.helper`, model directories
as in-memory tars (the shape the harness sees after decryption), and the model card."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

MLP_CARD: dict[str, Any] = {
    "format": "gke-sandbox/model-card/v1",
    "name": "tiny-mlp",
    "version": "3",
    "inputs": ["x"],
    "outputs": ["y"],
}


def mlp_model(seed: int = 7) -> Any:
    """x FP32 [N, 8] -> relu(x W1 + b1) W2 + b2 -> y FP32 [N, 3]; W1/W2 large enough to externalize."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = rng.standard_normal((8, 16), dtype=np.float32)
    b1 = rng.standard_normal(16, dtype=np.float32)
    w2 = rng.standard_normal((16, 3), dtype=np.float32)
    b2 = np.array([0.5, -0.25, 0.0], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h0"]),
            helper.make_node("Add", ["h0", "b1"], ["h1"]),
            helper.make_node("Relu", ["h1"], ["h2"]),
            helper.make_node("MatMul", ["h2", "w2"], ["y0"]),
            helper.make_node("Add", ["y0", "b2"], ["y"]),
        ],
        "tiny_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [
            numpy_helper.from_array(a, n)
            for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def write_mlp_dir(out: Path, card: dict[str, Any] | None = None) -> Path:
    """The MLP laid out by `infra.model.onnx_pack` (w1, w2 external) plus its card."""
    from infra.model.onnx_pack import externalize

    externalize(mlp_model(), out, threshold=128)
    (out / "model.json").write_text(json.dumps(card or MLP_CARD))
    return out


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            tar.addfile(info, io.BytesIO(files[name]))
    return buf.getvalue()


def in_memory(
    directory: Path, extra: dict[str, bytes] | None = None
) -> tuple[Any, dict[str, memoryview]]:
    """(buffer, files): the directory tarred into private anonymous memory and sliced in place."""
    from harness.sealed import allocate_plaintext
    from harness.tarview import list_members

    files = {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}
    files.update(extra or {})
    raw = tar_bytes(files)
    buf = allocate_plaintext(len(raw))
    buf[:] = raw
    view = memoryview(buf)
    members = list_members(buf)
    return buf, {m.name: view[m.offset : m.offset + m.size] for m in members.values()}
