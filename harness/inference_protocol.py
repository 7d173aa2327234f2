"""Open Inference Protocol (KServe V2) over REST: schema and pure handlers, no web framework.

Spec: https://github.com/kserve/open-inference-protocol (`inference_rest.md`), also served by
Triton and MLServer. Only JSON tensors (no binary tensor extension). The handlers take a
`ServableModel` (its real input/output signature plus `run`) and return plain dicts or
raise `InferenceError` carrying the HTTP status, so any app can mount them:

| endpoint | handler |
|---|---|
| `GET /v2` | `server_metadata(version)` |
| `GET /v2/health/live` | `server_live()` |
| `GET /v2/health/ready` | `server_ready(model)` |
| `GET /v2/models/{name}[/versions/{v}]` | `model_metadata(model, name, v)` |
| `GET /v2/models/{name}[/versions/{v}]/ready` | `model_ready(model, name, v)` |
| `POST /v2/models/{name}[/versions/{v}]/infer` | `infer(model, name, body, limits, v)` |

Errors: 400 tensor `data` that contradicts its own `shape` (the request is malformed), 404
unknown model or version, 413 too many elements or too long a string (a valid request larger
than this server takes, RFC 9110 15.5.14), 422 a request the model cannot take (schema,
unknown or missing input, datatype, shape, values out of range), 503 not loaded. Their JSON body, per the spec, is `{"error": "<message>"}`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

# OIP datatype -> numpy dtype (BYTES: numpy object array of str, which onnxruntime takes
# for tensor(string)). Source: the spec's "Tensor Data Types" table.
DATATYPES: dict[str, str] = {
    "BOOL": "?",
    "UINT8": "u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
    "BYTES": "O",
}
# onnxruntime's NodeArg.type strings -> OIP datatype.
ORT_TYPES: dict[str, str] = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}
PLATFORM = "onnx_onnxv1"
"""The protocol's platform name for "an ONNX model encoded for ONNX Runtime" (spec, Platforms:
https://github.com/kserve/open-inference-protocol/blob/main/specification/protocol/inference_grpc.md).
Triton reports `onnxruntime_onnx`, its own backend name, which the spec does not list."""
SERVER_NAME = "gke-sandbox-harness"
EXTENSIONS: tuple[str, ...] = ()
"""Protocol extensions this server implements: none. It does not do binary tensor data (415),
classification, sequences, statistics, shared memory or a model repository API, and it
accepts but ignores request `parameters`; the spec defines no standard extension, so listing
one it does not do would send a client (Triton's, which reads this list) down a dead end."""


class InferenceError(Exception):
    """A request the server refuses; `status` is the HTTP status, the message says why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = ""  # for the server log only (may name graph internals)

    def body(self) -> dict[str, str]:
        """The spec's error object."""
        return {"error": self.message}


# --------------------------------------------------------------------------- schema
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RequestInput(_Strict):
    name: str = Field(min_length=1, max_length=256)
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: list[Any]


class RequestOutput(_Strict):
    name: str = Field(min_length=1, max_length=256)
    parameters: dict[str, Any] | None = None


class InferenceRequest(_Strict):
    id: str | None = Field(default=None, max_length=256)
    # Not in the spec's $inference_request, but kserve's InferenceRESTClient sends them
    # (InferRequest.to_rest, kserve 0.21); accepted and checked against the URL.
    model_name: str | None = Field(default=None, max_length=256)
    model_version: str | None = Field(default=None, max_length=256)
    parameters: dict[str, Any] | None = None
    inputs: list[RequestInput] = Field(min_length=1, max_length=64)
    outputs: list[RequestOutput] | None = Field(default=None, max_length=64)


class ResponseOutput(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: list[Any]


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[ResponseOutput]


class MetadataTensor(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class MetadataModelResponse(BaseModel):
    name: str
    versions: list[str]
    platform: str
    inputs: list[MetadataTensor]
    outputs: list[MetadataTensor]
    parameters: dict[str, Any] | None = None


# --------------------------------------------------------------------------- model
@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: OIP datatype and shape (-1 = any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]


class ServableModel(Protocol):
    name: str
    version: str
    inputs: Sequence[TensorSpec]
    outputs: Sequence[TensorSpec]

    def run(self, feeds: Mapping[str, np.ndarray], outputs: Sequence[str]) -> list[np.ndarray]: ...


def specs_from_ort(args: Sequence[Any]) -> tuple[TensorSpec, ...]:
    """TensorSpecs from onnxruntime NodeArgs (`.name`, `.type`, `.shape`), duck-typed.

    Symbolic or unknown dimensions (`"N"`, `None`) become -1, as the spec writes them.
    """
    specs = []
    for arg in args:
        datatype = ORT_TYPES.get(arg.type)
        if datatype is None:
            raise ValueError(
                f"tensor {arg.name!r}: type {arg.type} has no Open Inference Protocol datatype"
            )
        shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in (arg.shape or ()))
        specs.append(TensorSpec(arg.name, datatype, shape))
    return tuple(specs)


@dataclass(frozen=True)
class Limits:
    """Per-request bounds on top of the body-size limit the app already enforces.

    `max_elements`: tensor elements in one request, all inputs together; past it 413 (RFC
    9110 15.5.14: the request is valid but more than this server is willing to process; 422
    is kept for what the model cannot take). `chunk_rows`: a batch larger than this is run
    through the model this many rows at a time, so one large request never holds an
    inference thread for longer than one chunk while others wait.
    """

    max_elements: int = 16384
    max_string_chars: int = 10_000
    chunk_rows: int = 64

    def parameters(self) -> dict[str, int]:
        """The bounds as the model metadata's `parameters`, for clients to read."""
        return {"max_elements": self.max_elements, "chunk_rows": self.chunk_rows}


# --------------------------------------------------------------------------- handlers
def server_metadata(version: str) -> dict[str, Any]:
    """`GET /v2`: the spec's `$metadata_server_response`."""
    return {"name": SERVER_NAME, "version": version, "extensions": list(EXTENSIONS)}


def server_live() -> dict[str, bool]:
    return {"live": True}


def server_ready(model: ServableModel | None) -> dict[str, bool]:
    if model is None:
        raise InferenceError(503, "not_ready", "the model is not loaded yet")
    return {"ready": True}


def _find(model: ServableModel | None, name: str, version: str | None) -> ServableModel:
    if model is None:
        raise InferenceError(503, "not_ready", "the model is not loaded yet")
    if name != model.name:
        raise InferenceError(
            404, "unknown_model", f"no model named {name[:80]!r}; this server serves {model.name!r}"
        )
    if version is not None and version != model.version:
        raise InferenceError(
            404,
            "unknown_version",
            f"model {name!r} has no version {version[:80]!r}; it has {model.version!r}",
        )
    return model


def model_metadata(
    model: ServableModel | None,
    name: str,
    version: str | None = None,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """The model's metadata from its real graph signature (and the request bounds, if given)."""
    found = _find(model, name, version)
    return MetadataModelResponse(
        name=found.name,
        versions=[found.version],
        platform=PLATFORM,
        inputs=[
            MetadataTensor(name=t.name, datatype=t.datatype, shape=list(t.shape))
            for t in found.inputs
        ],
        outputs=[
            MetadataTensor(name=t.name, datatype=t.datatype, shape=list(t.shape))
            for t in found.outputs
        ],
        parameters=None if limits is None else limits.parameters(),
    ).model_dump(exclude_none=True)


def model_ready(
    model: ServableModel | None, name: str, version: str | None = None
) -> dict[str, Any]:
    found = _find(model, name, version)
    return {"name": found.name, "ready": True}


def _mismatch(where: str, message: str) -> InferenceError:
    return InferenceError(400, "shape_mismatch", f"{where}: {message}")


def _elements(data: list[Any], shape: list[int], count: int, where: str) -> list[Any]:
    """The elements of `data` in row-major order, if `data` is exactly its `shape`.

    The spec allows the flat row-major list or the nesting the shape describes
    (https://github.com/kserve/open-inference-protocol, `inference_rest.md`, Tensor Data);
    anything else (ragged rows, another nesting, mixed lists and values) contradicts the
    declared shape and is a 400. Lengths are checked level by level before descending, so
    no more than `count` items are ever visited.
    """
    lists = sum(isinstance(item, list) for item in data)
    if lists == 0:
        if len(data) != count:
            raise _mismatch(
                where, f"shape {shape} needs {count} elements, flat data has {len(data)}"
            )
        return data
    if lists != len(data):
        raise _mismatch(where, "data mixes lists and values at depth 0")
    if not shape:
        raise _mismatch(where, "data is nested but shape [] is a single value")
    if len(data) != shape[0]:
        raise _mismatch(
            where, f"data has {len(data)} rows at depth 0, shape {shape} needs {shape[0]}"
        )
    out: list[Any] = []
    last = len(shape) - 1

    def walk(node: list[Any], depth: int, path: str) -> None:
        for i, item in enumerate(node):
            here = f"{path}[{i}]"
            if depth == last:
                if isinstance(item, list):
                    raise _mismatch(where, f"{here} is a list deeper than shape {shape}")
                out.append(item)
            elif not isinstance(item, list):
                raise _mismatch(
                    where,
                    f"{here} is a value where shape {shape} needs a list of {shape[depth + 1]}",
                )
            elif len(item) != shape[depth + 1]:
                raise _mismatch(
                    where, f"{here} has {len(item)} items, shape {shape} needs {shape[depth + 1]}"
                )
            else:
                walk(item, depth + 1, here)

    walk(data, 0, "data")
    return out


def _check_values(values: list[Any], datatype: str, where: str, limits: Limits) -> np.ndarray:
    """Elements of the declared datatype, in range, as a numpy array (no silent casts)."""
    if datatype == "BYTES":
        for i, value in enumerate(values):
            if not isinstance(value, str):
                raise InferenceError(
                    422,
                    "bad_data",
                    f"{where}: data[{i}] is {type(value).__name__}, BYTES needs strings",
                )
            if len(value) > limits.max_string_chars:
                raise InferenceError(
                    413,
                    "too_large",
                    f"{where}: data[{i}] has {len(value)} characters, limit {limits.max_string_chars}",
                )
        return np.array(values, dtype=object)
    dtype = np.dtype(DATATYPES[datatype])
    if datatype == "BOOL":
        ok: Callable[[Any], bool] = lambda v: isinstance(v, bool)  # noqa: E731
        wanted = "true/false"
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        ok = lambda v: isinstance(v, int) and not isinstance(v, bool) and info.min <= v <= info.max  # noqa: E731
        wanted = f"integers in [{info.min}, {info.max}]"
    else:
        ok = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)  # noqa: E731
        wanted = "finite numbers"
    for i, value in enumerate(values):
        if not ok(value):
            raise InferenceError(
                422,
                "bad_data",
                f"{where}: data[{i}] = {value!r:.40} is not valid {datatype} ({wanted})",
            )
    with np.errstate(over="raise"):
        try:
            return np.array(values, dtype=dtype)
        except FloatingPointError:
            raise InferenceError(
                422, "bad_data", f"{where}: a value overflows {datatype}"
            ) from None


def _decode_input(spec: TensorSpec, item: RequestInput, limits: Limits, budget: int) -> np.ndarray:
    where = f"input {item.name!r}"
    if item.datatype != spec.datatype:
        raise InferenceError(
            422,
            "bad_datatype",
            f"{where}: datatype {item.datatype[:20]!r}, the model expects {spec.datatype}",
        )
    if any(d < 0 for d in item.shape):
        raise InferenceError(
            422, "bad_shape", f"{where}: shape {item.shape} has a negative dimension"
        )
    if len(item.shape) != len(spec.shape) or any(
        want >= 0 and got != want for got, want in zip(item.shape, spec.shape, strict=True)
    ):
        raise InferenceError(
            422,
            "bad_shape",
            f"{where}: shape {item.shape} does not fit the model's {list(spec.shape)} (-1 = any)",
        )
    count = math.prod(item.shape)
    if count > budget:
        raise InferenceError(
            413,
            "too_large",
            f"{where}: {count} elements, over the request limit of {limits.max_elements}",
        )
    values = _elements(item.data, item.shape, count, where)
    return _check_values(values, spec.datatype, where, limits).reshape(item.shape)


def _encode_output(name: str, array: np.ndarray, spec: TensorSpec | None) -> ResponseOutput:
    array = np.asarray(array)
    if array.dtype.kind in "OUS":
        datatype = "BYTES"
        data = [
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in array.ravel()
        ]
    else:
        datatype = next((k for k, v in DATATYPES.items() if np.dtype(v) == array.dtype), None) or (
            spec.datatype if spec else "FP64"
        )
        if array.dtype.kind == "f" and not bool(np.isfinite(array).all()):
            raise InferenceError(
                422,
                "non_finite_output",
                f"output {name!r} contains NaN or infinity, which JSON cannot carry",
            )
        data = array.ravel().tolist()
    return ResponseOutput(name=name, shape=list(array.shape), datatype=datatype, data=data)


def _feeds(
    model: ServableModel, request: InferenceRequest, limits: Limits
) -> dict[str, np.ndarray]:
    """Every model input decoded from the request, exactly once, within the element budget."""
    specs = {t.name: t for t in model.inputs}
    feeds: dict[str, np.ndarray] = {}
    budget = limits.max_elements
    for item in request.inputs:
        spec = specs.get(item.name)
        if spec is None:
            raise InferenceError(
                422, "unknown_input", f"input {item.name[:80]!r} is not one of {sorted(specs)}"
            )
        if item.name in feeds:
            raise InferenceError(422, "duplicate_input", f"input {item.name!r} is given twice")
        feeds[item.name] = _decode_input(spec, item, limits, budget)
        budget -= feeds[item.name].size
    missing = sorted(set(specs) - set(feeds))
    if missing:
        raise InferenceError(422, "missing_input", f"inputs {missing} are missing")
    return feeds


def parse_request(body: Any) -> InferenceRequest:
    """The request body (already parsed JSON) as an `InferenceRequest`, or a 422 naming the field."""
    try:
        return InferenceRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise InferenceError(422, "bad_request", f"{where}: {first['msg']}") from None


def parse_json(raw: bytes) -> Any:
    """The request body as JSON, or a 400 saying why not."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InferenceError(400, "bad_encoding", "the body is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        message = f"the body is not valid JSON: {str(exc)[:120]}"
        raise InferenceError(400, "bad_json", message) from None


def _refused(exc: Exception) -> InferenceError:
    """The runtime refused these values (e.g. a shape the graph cannot take). Its own message
    names graph nodes: kept in `detail` for the caller's log, never returned."""
    error = InferenceError(
        422,
        "model_refused",
        "the model could not run on this input (a shape or value its graph cannot take)",
    )
    error.detail = f"{type(exc).__name__}: {exc}"
    return error


@dataclass
class Prepared:
    """A checked request, ready to run whole or in chunks of rows (`chunks`)."""

    model: ServableModel
    request: InferenceRequest
    feeds: dict[str, np.ndarray]
    wanted: list[str]
    chunks: list[tuple[int, int]]

    def run(self, start: int | None = None, stop: int | None = None) -> list[np.ndarray]:
        """The model on rows [start, stop) of every input (all rows by default)."""
        feeds = self.feeds
        if start is not None:
            feeds = {k: v[start:stop] for k, v in feeds.items()}
        try:
            return [np.asarray(r) for r in self.model.run(feeds, self.wanted)]
        except InferenceError:
            raise
        except Exception as exc:
            raise _refused(exc) from None

    def join(self, parts: list[list[np.ndarray]]) -> list[np.ndarray] | None:
        """The chunks' outputs stacked back into one batch; None if an output is not per
        row (its first dimension is not the chunk's rows), when only a whole run is right."""
        for (start, stop), outputs in zip(self.chunks, parts, strict=True):
            if any(out.ndim == 0 or out.shape[0] != stop - start for out in outputs):
                return None
        return [np.concatenate(column, axis=0) for column in zip(*parts, strict=True)]

    def respond(self, results: list[np.ndarray]) -> dict[str, Any]:
        out_specs = {t.name: t for t in self.model.outputs}
        response = InferenceResponse(
            model_name=self.model.name,
            model_version=self.model.version,
            id=self.request.id,
            outputs=[
                _encode_output(n, r, out_specs.get(n))
                for n, r in zip(self.wanted, results, strict=True)
            ],
        )
        return response.model_dump(exclude_none=True)


def _chunks(
    model: ServableModel, feeds: Mapping[str, np.ndarray], rows: int
) -> list[tuple[int, int]]:
    """Row ranges for a batch larger than `rows`, or [] to run it whole.

    Only when every input and output of the model has a variable first (batch) dimension
    and every input of the request has the same number of rows: then rows are independent
    samples and running them in chunks gives the same result.
    """
    specs = (*model.inputs, *model.outputs)
    if rows < 1 or not feeds or any(not t.shape or t.shape[0] != -1 for t in specs):
        return []
    counts = {array.shape[0] for array in feeds.values() if array.ndim}
    if len(counts) != 1 or any(array.ndim == 0 for array in feeds.values()):
        return []
    (total,) = counts
    if total <= rows:
        return []
    return [(start, min(start + rows, total)) for start in range(0, total, rows)]


def prepare(
    model: ServableModel | None,
    name: str,
    body: Any,
    limits: Limits = Limits(),
    version: str | None = None,
) -> Prepared:
    """Check one inference request (parsed JSON) and decode its tensors, without running it."""
    found = _find(model, name, version)
    request = parse_request(body)
    for key, given, expected in (
        ("model_name", request.model_name, found.name),
        ("model_version", request.model_version, found.version),
    ):
        if given is not None and given != expected:
            raise InferenceError(
                422,
                "bad_request",
                f"{key}: {given[:80]!r} in the body, but the URL names {expected!r}",
            )
    feeds = _feeds(found, request, limits)
    out_specs = {t.name: t for t in found.outputs}
    wanted = [o.name for o in request.outputs] if request.outputs else list(out_specs)
    unknown = [w for w in wanted if w not in out_specs]
    if unknown:
        raise InferenceError(
            422, "unknown_output", f"outputs {unknown} are not among {sorted(out_specs)}"
        )
    return Prepared(found, request, feeds, wanted, _chunks(found, feeds, limits.chunk_rows))


def infer(
    model: ServableModel | None,
    name: str,
    body: Any,
    limits: Limits = Limits(),
    version: str | None = None,
) -> dict[str, Any]:
    """Run one inference request (parsed JSON) and return the response object (in one thread;
    the server runs `Prepared`'s chunks one at a time instead, see harness/v2routes.py)."""
    prepared = prepare(model, name, body, limits, version)
    results = None
    if prepared.chunks:
        results = prepared.join([prepared.run(a, b) for a, b in prepared.chunks])
    return prepared.respond(prepared.run() if results is None else results)
