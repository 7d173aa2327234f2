"""Lay an ONNX model out the way the harness loads it: a small graph plus aligned weights.

`model.onnx` keeps the graph and the small tensors; every initializer of at least
`threshold` bytes moves to `model.onnx.data`, each at an offset aligned to `ALIGN` bytes,
so the harness can view it over the decrypted buffer (`harness.onnx_runtime`) instead of
letting ONNX Runtime copy it. Tar members start on 512-byte boundaries and `ALIGN` is a
multiple of 512, so the alignment holds inside the sealed archive too. Deterministic:
same model in, same bytes out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
ALIGN = 4096
DEFAULT_THRESHOLD = 1024


def _main_initializers(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    return list(model.graph.initializer)


def externalize(
    model: onnx.ModelProto,
    out_dir: Path,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    data_file: str = DATA_FILE,
) -> tuple[Path, Path | None]:
    """Write `out_dir/model.onnx` (+ `data_file` when any tensor is large); returns both paths.

    `model` must have its weights loaded (`onnx.load` does that for external data on disk);
    it is modified in place.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    data_path = out_dir / data_file
    offset = 0
    moved = 0
    with data_path.open("wb") as data:
        for tensor in _main_initializers(model):
            if tensor.data_type == onnx.TensorProto.STRING:
                continue
            raw = numpy_helper.to_array(tensor)
            blob = np.ascontiguousarray(raw).astype(raw.dtype.newbyteorder("<"), copy=False)
            nbytes = blob.nbytes
            if nbytes < threshold:
                continue
            pad = (-offset) % ALIGN
            data.write(b"\0" * pad)
            offset += pad
            data.write(blob.tobytes())
            dims = list(tensor.dims)
            name = tensor.name
            tensor.Clear()
            tensor.name = name
            tensor.dims.extend(dims)
            tensor.data_type = onnx.helper.np_dtype_to_tensor_dtype(raw.dtype)
            tensor.data_location = onnx.TensorProto.EXTERNAL
            for key, value in (
                ("location", data_file),
                ("offset", str(offset)),
                ("length", str(nbytes)),
            ):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            offset += nbytes
            moved += 1
    if not moved:
        data_path.unlink()
    model_path = out_dir / MODEL_FILE
    model_path.write_bytes(model.SerializeToString(deterministic=True))
    return model_path, (data_path if moved else None)


def _graph_names(model: onnx.ModelProto) -> tuple[list[str], list[str]]:
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initializers]
    return inputs, [o.name for o in model.graph.output]


def _card_bytes(
    model_path: Path,
    card_path: Path | None,
    inputs: list[str],
    outputs: list[str],
    *,
    name: str | None,
    version: str,
) -> bytes:
    """The given card, or one naming the graph's real inputs and outputs; checked against it."""
    from harness.model_card import (
        CARD_FORMAT,
        ModelCardError,
        check_signature,
        dump_card,
        parse_card,
    )

    try:
        if card_path is not None and card_path.is_file():
            raw = card_path.read_bytes()
            card = parse_card(raw)
            if card.model_file != MODEL_FILE:
                raise ValueError(
                    f"{card_path}: model_file must be {MODEL_FILE!r} for a packed model"
                )
        else:
            stem = name or model_path.stem
            raw = dump_card(
                {
                    "format": CARD_FORMAT,
                    "name": stem,
                    "version": version,
                    "inputs": inputs,
                    "outputs": outputs,
                }
            )
            card = parse_card(raw)
        check_signature(card, inputs, outputs)
    except ModelCardError as exc:
        raise ValueError(str(exc)) from None
    return raw


def prepare(
    source: Path,
    out_dir: Path,
    *,
    name: str | None = None,
    version: str = "1",
    threshold: int = DEFAULT_THRESHOLD,
) -> Path:
    """Turn a `.onnx` file or a model directory into what the harness loads (`out_dir`).

    A directory must hold `model.onnx` (external data beside it is read) and may hold a
    `model.json`; a lone `.onnx` file gets a card naming its real inputs and outputs (name:
    the file stem, or `name`). Weights are re-laid out by `externalize`; the card is checked
    against the graph. Raises ValueError naming the file and the problem.
    """
    from harness.model_card import CARD_FILE

    if source.is_dir():
        model_path, card_path = source / MODEL_FILE, source / CARD_FILE
        if not model_path.is_file():
            raise ValueError(f"{source}: no {MODEL_FILE} in the model directory")
    elif source.is_file() and source.suffix == ".onnx":
        model_path, card_path = source, None
    else:
        raise ValueError(f"{source}: expected a .onnx file or a model directory")
    try:
        model = onnx.load(str(model_path))  # reads external data relative to the file
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises DecodeError, ValidationError, OSError...
        raise ValueError(
            f"{model_path}: not a valid ONNX model ({type(exc).__name__}: {exc})"
        ) from None
    inputs, outputs = _graph_names(model)
    raw = _card_bytes(model_path, card_path, inputs, outputs, name=name, version=version)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (out_dir / MODEL_FILE, out_dir / DATA_FILE, out_dir / CARD_FILE):
        stale.unlink(missing_ok=True)
    externalize(model, out_dir, threshold=threshold)
    (out_dir / CARD_FILE).write_bytes(raw)
    return out_dir
