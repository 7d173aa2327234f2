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
