"""Build an ONNX Runtime session from a model directory held in memory, without copying weights.

The decrypted plaintext is a tar of the model directory (`model.onnx`, its external data
files, `model.json`), sliced in place by `harness.tarview`. The large weights live in the
external data files. By default ONNX Runtime copies them while building a session; here:

1. the initializer table of `model.onnx` is read with a minimal protobuf wire reader (the
   harness image does not ship the `onnx` package) to find every external initializer
   (name, type, shape, file, offset, length) and check it lies inside a file of the
   archive;
2. those files are handed over as in-memory buffers
   (`SessionOptions.add_external_initializers_from_files_in_memory`) with the session
   config key `session.use_external_initializer_file_buffers_directly` = 1, so the
   session's weights point into the decrypted buffer instead of copies of it;
3. weight pre-packing is off (`session.disable_prepacking`), which would otherwise keep a
   packed copy of every MatMul/Gemm weight.

Measured with onnxruntime 1.32.0 (`python -m infra.model.onnx_rss --mib 256`): peak RSS
growth 1.003 x the plaintext at 256 MiB and 1.001 at 1 GiB (private memory; 1.035 and
1.009 counting shared-library code paged in),
against 2.0 with `add_external_initializers` + OrtValues, 2.9 at peak with the in-memory
files but without the config key, and 2.0 with pre-packing on.
Nothing touches disk: a reference to a file that is not in the archive is refused before
the session is built. The buffer must outlive the session (`OnnxModel.keepalive`).
"""

from __future__ import annotations

import contextlib
import math
import os
import posixpath
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.inference_protocol import specs_from_ort
from harness.model_card import CARD_FILE, ModelCard, ModelCardError, check_signature, parse_card

# onnxruntime (1.32 Linux wheels) starts its OneDS telemetry on import: it writes
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} and ~/.ses, which
# breaks "the harness writes nothing" (read-only root filesystem) and has no business in a
# sandbox. The library reads ORT_DISABLE_TELEMETRY (a string in the binary; verified here: with
# it set before the import, nothing is written). Set before any `import onnxruntime` below.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
# With ORT_LOAD_CONFIG_FROM_MODEL=1 a model's `ort_config` metadata overrides the session
# options (profiling on writes onnxruntime_profile__*.json into the working directory); the
# library reads the variable itself at session creation, so it is pinned off here.
os.environ["ORT_LOAD_CONFIG_FROM_MODEL"] = "0"

MODEL_FILE = "model.onnx"
# The model proto itself is copied once (InferenceSession takes `bytes`); weights belong in
# external data files. Above this size the seal tool should have externalized them.
MAX_EMBEDDED_MODEL_BYTES = 64 << 20

# ONNX TensorProto.DataType -> (Open Inference Protocol datatype, numpy dtype or None).
# Source: onnx/onnx.proto3 `enum DataType`; OIP datatypes: KServe "Open Inference Protocol
# (V2 Inference Protocol)", "Tensor Data Types".
ONNX_TYPES: dict[int, tuple[str, str | None]] = {
    1: ("FP32", "<f4"),
    2: ("UINT8", "u1"),
    3: ("INT8", "i1"),
    4: ("UINT16", "<u2"),
    5: ("INT16", "<i2"),
    6: ("INT32", "<i4"),
    7: ("INT64", "<i8"),
    8: ("BYTES", None),
    9: ("BOOL", "?"),
    10: ("FP16", "<f2"),
    11: ("FP64", "<f8"),
    12: ("UINT32", "<u4"),
    13: ("UINT64", "<u8"),
}
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


class OnnxModelError(ValueError):
    """The model directory cannot be served; the message names the file and the problem."""


# --------------------------------------------------------------------------- protobuf wire
def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise OnnxModelError(f"{MODEL_FILE}: truncated or malformed protobuf varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message: ints, or a memoryview for bytes."""
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise OnnxModelError(f"{MODEL_FILE}: protobuf field {number} overruns its message")
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 1:
            value, pos = None, pos + 8
        elif wire == 5:
            value, pos = None, pos + 4
        else:
            raise OnnxModelError(f"{MODEL_FILE}: unsupported protobuf wire type {wire}")
        if pos > end:
            raise OnnxModelError(f"{MODEL_FILE}: truncated protobuf message")
        yield number, wire, value


def _packed_ints(value: Any, wire: int) -> list[int]:
    if wire == 0:
        return [value]
    out: list[int] = []
    pos = 0
    while pos < len(value):
        item, pos = _varint(value, pos)
        out.append(item)
    return out


@dataclass(frozen=True)
class ExternalTensor:
    """One initializer whose bytes live in an external data file of the model directory."""

    name: str
    data_type: int
    dims: tuple[int, ...]
    location: str
    offset: int
    length: int


def _text(value: memoryview, what: str) -> str:
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise OnnxModelError(f"{MODEL_FILE}: {what} is not UTF-8") from None


def _tensor(buf: memoryview) -> ExternalTensor | None:
    """TensorProto: dims=1, data_type=2, name=8, external_data=13, data_location=14."""
    dims: list[int] = []
    data_type = 0
    name = ""
    location = 0
    external: dict[str, str] = {}
    for number, wire, value in _fields(buf):
        if number == 1:
            dims.extend(_packed_ints(value, wire))
        elif number == 2 and wire == 0:
            data_type = value
        elif number == 8 and wire == 2:
            name = _text(value, "an initializer name")
        elif number == 13 and wire == 2:
            entry = {n: _text(v, "external_data") for n, w, v in _fields(value) if w == 2}
            external[entry.get(1, "")] = entry.get(2, "")
        elif number == 14 and wire == 0:
            location = value
    if location != _EXTERNAL:
        return None
    where = f"{MODEL_FILE}: initializer {name!r}"
    try:
        offset = int(external.get("offset", "0"))
        length = int(external["length"]) if "length" in external else -1
    except ValueError:
        raise OnnxModelError(f"{where}: external_data offset/length are not integers") from None
    return ExternalTensor(
        name=name,
        data_type=data_type,
        dims=tuple(dims),
        location=external.get("location", ""),
        offset=offset,
        length=length,
    )


def external_tensors(model: memoryview | bytes) -> list[ExternalTensor]:
    """Every main-graph initializer stored outside `model.onnx` (ModelProto.graph=7, initializer=5)."""
    found: list[ExternalTensor] = []
    for number, wire, graph in _fields(memoryview(model).cast("B")):
        if number != 7 or wire != 2:
            continue
        for gnum, gwire, value in _fields(graph):
            if gnum == 5 and gwire == 2:
                tensor = _tensor(value)
                if tensor is not None:
                    found.append(tensor)
    return found


# --------------------------------------------------------------------------- threads
def _cgroup_cpus(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU limit of this container from cgroup v2 `cpu.max` (or v1 CFS quota), if any."""
    with contextlib.suppress(OSError, ValueError):
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
        return None
    with contextlib.suppress(OSError, ValueError):
        quota_us = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period_us = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        if quota_us > 0 and period_us > 0:
            return quota_us / period_us
    return None


def available_cpus(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """Cores this process may really use: CPU affinity, capped by the cgroup CPU limit.

    `os.cpu_count()` is the node's count; a pod with `limits.cpu: 2` on a 32-core node
    would otherwise start 32 threads and be throttled by CFS.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    limit = _cgroup_cpus(cgroup_root)
    if limit is not None:
        cpus = min(cpus, max(1, math.ceil(limit)))
    return max(1, cpus)


def intra_op_threads(workers: int, cpus: int | None = None) -> int:
    """Threads per session so that `workers` processes never run more threads than cores."""
    if workers < 1:
        raise ValueError(f"workers: {workers}, expected at least 1")
    total = available_cpus() if cpus is None else cpus
    return max(1, total // workers)


def session_options(threads: int) -> Any:
    """Options for a serving session: bounded threads, no spinning, no weight copies."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # Idle pool threads sleep instead of spinning: the cores are shared with the event loop.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Pre-packing keeps a second, packed copy of every MatMul/Gemm weight (2.0x the model
    # measured); the budget is 1.1x, so it stays off. The price, measured on a 256 MiB
    # MatMul, 1 thread: batch 1 36 ms (51 with pre-packing), batch 32 349 ms (95).
    opts.add_session_config_entry("session.disable_prepacking", "1")
    opts.log_severity_level = 3  # warnings from ORT would go to stderr unstructured
    opts.enable_profiling = False  # a profile is a JSON file in the working directory
    return opts


# --------------------------------------------------------------------------- session
@dataclass
class OnnxModel:
    """A built session and the decrypted buffers it reads its weights from."""

    session: Any
    threads: int
    external_bytes: int
    misaligned: tuple[str, ...]
    keepalive: list[Any] = field(default_factory=list, repr=False)

    def run(self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str] | None = None) -> list:
        return self.session.run(list(outputs) if outputs else None, dict(feeds))


def _resolve(base: str, tensor: ExternalTensor, files: Mapping[str, memoryview]) -> str:
    location = tensor.location
    if not location or location.startswith("/") or ".." in location.split("/"):
        raise OnnxModelError(
            f"{MODEL_FILE}: initializer {tensor.name!r} has external location {location!r}; "
            "expected a relative file name inside the model directory"
        )
    path = posixpath.join(base, location) if base else location
    if path not in files:
        raise OnnxModelError(
            f"{MODEL_FILE}: initializer {tensor.name!r} needs {location!r}, which is not in "
            "the model archive (weights are never read from disk)"
        )
    return path


def _check_extent(tensor: ExternalTensor, data: memoryview) -> bool:
    """Whether the tensor's bytes lie inside `data`; returns whether they are 64-byte aligned."""
    where = f"{MODEL_FILE}: initializer {tensor.name!r}"
    kind = ONNX_TYPES.get(tensor.data_type)
    if kind is None or kind[1] is None:
        raise OnnxModelError(f"{where}: data type {tensor.data_type} cannot be external")
    if any(d < 0 for d in tensor.dims):
        raise OnnxModelError(f"{where}: negative dimension in {tensor.dims}")
    nbytes = math.prod(tensor.dims) * np.dtype(kind[1]).itemsize
    if tensor.length not in (-1, nbytes):
        raise OnnxModelError(
            f"{where}: external length {tensor.length} != {nbytes} ({tensor.dims} x {kind[0]})"
        )
    if tensor.offset < 0 or tensor.offset + nbytes > len(data):
        raise OnnxModelError(
            f"{where}: bytes [{tensor.offset}, {tensor.offset + nbytes}) overrun "
            f"{tensor.location!r} ({len(data)} bytes)"
        )
    address = np.frombuffer(data, dtype=np.uint8, count=0).ctypes.data
    return (address + tensor.offset) % 64 == 0


def _external_files(
    model_view: memoryview, model_path: str, files: Mapping[str, memoryview]
) -> tuple[dict[str, memoryview], list[str], int]:
    """(location -> view, misaligned tensor names, external bytes) for the graph's initializers."""
    base = posixpath.dirname(model_path)
    used: dict[str, memoryview] = {}
    misaligned: list[str] = []
    external_bytes = 0
    for tensor in external_tensors(model_view):
        path = _resolve(base, tensor, files)
        if not _check_extent(tensor, files[path]):
            misaligned.append(tensor.name)
        used[tensor.location] = files[path]
        external_bytes += max(tensor.length, 0)
    return used, misaligned, external_bytes


def build_session(
    files: Mapping[str, memoryview],
    *,
    model_path: str = MODEL_FILE,
    threads: int = 1,
) -> OnnxModel:
    """An InferenceSession over `files` (archive path -> view of the decrypted buffer).

    `files[model_path]` is the graph; its external data files are handed to onnxruntime as
    in-memory buffers with `session.use_external_initializer_file_buffers_directly` (a
    session config key of onnxruntime >= 1.2x, `onnxruntime_session_options_config_keys.h`),
    so the session's initializers point into the decrypted buffer: measured zero-copy in
    onnxruntime 1.32.0, where `add_external_initializers` (OrtValues) still copied every
    weight once and the in-memory files without the key copied twice at peak. Raises
    `OnnxModelError` naming the file; ORT's own refusal is reported the same way.
    """
    import onnxruntime as ort

    if model_path not in files:
        raise OnnxModelError(f"the model archive has no {model_path}")
    model_view = files[model_path]
    if len(model_view) > MAX_EMBEDDED_MODEL_BYTES:
        raise OnnxModelError(
            f"{model_path}: {len(model_view)} bytes with weights embedded; seal it with "
            "`python -m infra seal`, which moves weights to an external data file "
            f"(limit {MAX_EMBEDDED_MODEL_BYTES} bytes for the graph itself)"
        )
    used, misaligned, external_bytes = _external_files(model_view, model_path, files)
    opts = session_options(threads)
    if used:
        opts.add_session_config_entry("session.use_external_initializer_file_buffers_directly", "1")
        buffers = [np.frombuffer(view, dtype=np.uint8) for view in used.values()]
        opts.add_external_initializers_from_files_in_memory(
            list(used), buffers, [b.nbytes for b in buffers]
        )
    else:
        buffers = []
    model_bytes = bytes(model_view)  # small: the graph without its weights
    try:
        # read_config_from_model=0: the model's `ort_config` never overrides these options.
        session = ort.InferenceSession(
            model_bytes,
            sess_options=opts,
            providers=["CPUExecutionProvider"],
            read_config_from_model=0,
        )
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise OnnxModelError(f"{model_path}: onnxruntime refused the model: {exc}") from None
    finally:
        del model_bytes
    return OnnxModel(
        session=session,
        threads=threads,
        external_bytes=external_bytes,
        misaligned=tuple(misaligned),
        keepalive=[opts, buffers],
    )


# --------------------------------------------------------------------------- served model
class ServedModel:
    """A session plus its card: the `ServableModel` of `harness.inference_protocol`."""

    def __init__(self, model: OnnxModel, card: ModelCard) -> None:
        self.onnx = model
        self.card = card
        self.name = card.name
        self.version = card.version
        self.inputs = specs_from_ort(model.session.get_inputs())
        self.outputs = specs_from_ort(model.session.get_outputs())
        check_signature(card, [t.name for t in self.inputs], [t.name for t in self.outputs])

    def run(self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]) -> list[np.ndarray]:
        return self.onnx.run(feeds, outputs)

    def score_reviews(self, reviews: Sequence[str]) -> list[list[float]]:
        """Seed 003's `/predict`: one `[score]` per review, through the card's `seed_api`."""
        api = self.card.seed_api
        if api is None:
            raise OnnxModelError(
                f"model {self.name!r} has no seed_api in its card; use /v2 instead"
            )
        if not reviews:
            return []
        spec = next(t for t in self.inputs if t.name == api.input)
        texts = np.array(list(reviews), dtype=object)
        if len(spec.shape) == 2:
            texts = texts.reshape(-1, 1)
        out = np.asarray(self.run({api.input: texts}, [api.output])[0])
        column = out.reshape(len(reviews), -1)[:, api.index]
        return [[float(v)] for v in column]


def read_model_dir(directory: Path) -> dict[str, memoryview]:
    """A plaintext model directory's files in memory, as `load_model_dir` takes them (tools
    and benchmarks; the server gets them from the decrypted archive instead)."""
    return {p.name: memoryview(p.read_bytes()) for p in sorted(directory.iterdir()) if p.is_file()}


def load_model_dir(files: Mapping[str, memoryview], *, workers: int = 1) -> ServedModel:
    """Card + session from the archive's files (paths relative to the model directory)."""
    if CARD_FILE not in files:
        raise OnnxModelError(f"the model archive has no {CARD_FILE} at its top level")
    try:
        card = parse_card(files[CARD_FILE])
        return ServedModel(
            build_session(files, model_path=card.model_file, threads=intra_op_threads(workers)),
            card,
        )
    except ModelCardError as exc:
        raise OnnxModelError(str(exc)) from None
