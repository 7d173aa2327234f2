"""The Open Inference Protocol (KServe V2) REST routes, mounted behind the same gate.

The gate has already done TLS, rate limit, bearer token and the body cap, exactly as for
`/predict`; these routes only translate HTTP to the framework-free handlers of
`harness.inference_protocol` and back. Paths (spec `inference_rest.md`,
https://github.com/kserve/open-inference-protocol):

    GET  /v2                      server metadata: name, version, extensions (none)
    GET  /v2/health/live          GET /v2/health/ready
    GET  /v2/models/{name}[/versions/{v}]
    GET  /v2/models/{name}[/versions/{v}]/ready
    POST /v2/models/{name}[/versions/{v}]/infer      JSON tensors; BYTES for text

Errors answer the handler's status with the spec's `{"error": "<message>"}`; what the
runtime said (it may name graph internals) goes to the log only, rate limited. The binary
tensor extension (`Inference-Header-Content-Length`) is refused with 415, and so is a body
whose Content-Type is missing or not JSON. Parsing and inference run in worker threads, at
most `threads` at once per process; a batch over `chunk_rows` rows runs one chunk per hop.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from harness import __version__
from harness import inference_protocol as oip
from harness.gate import BODY_KEY, not_json
from harness.state import ModelState

log = logging.getLogger("harness.v2")
BINARY_HEADER = "inference-header-content-length"
_LOG_BUDGET = 20  # runtime refusals logged per minute and process


class _LogBudget:
    """At most `per_minute` lines a minute: a client cannot flood the log with bad tensors."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.window = 0.0
        self.used = 0

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self.window >= 60:
            self.window, self.used = now, 0
        self.used += 1
        return self.used <= self.per_minute


def _answer(status: int, body: Any) -> Response:
    return JSONResponse(body, status_code=status)


def _error(exc: oip.InferenceError) -> Response:
    headers = {"retry-after": "1"} if exc.status == 503 else None
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _raw_body(request: Request) -> bytes:
    """The body the gate read, once its headers are acceptable; 415/400 as `InferenceError`s.
    Parsing it is left to a worker thread: a large body takes milliseconds."""
    if request.headers.get(BINARY_HEADER) is not None:
        raise oip.InferenceError(
            415,
            "binary_unsupported",
            "the binary tensor data extension (Inference-Header-Content-Length) is not "
            "supported; send JSON tensors",
        )
    problem = not_json(request.headers.get("content-type"))
    if problem:
        raise oip.InferenceError(415, "unsupported_media_type", problem)
    raw = request.scope.get(BODY_KEY, b"")
    if not raw:
        raise oip.InferenceError(400, "empty_body", "the request body is empty")
    return raw


def _start(
    model: Any, name: str, raw: bytes, limits: oip.Limits, version: str | None
) -> tuple[oip.Prepared, dict[str, Any] | None]:
    """In a worker thread: parse and check the request; answer it at once unless it runs in
    chunks (one hop to a thread for an ordinary request)."""
    prepared = oip.prepare(model, name, oip.parse_json(raw), limits, version)
    if prepared.chunks:
        return prepared, None
    return prepared, prepared.respond(prepared.run())


def _whole(prepared: oip.Prepared) -> dict[str, Any]:
    return prepared.respond(prepared.run())


INFER_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": oip.InferenceRequest.model_json_schema()}},
    }
}
INFER_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the spec's $inference_response"},
    400: {
        "description": "empty body, not UTF-8, malformed JSON, or tensor data that contradicts "
        "its shape (neither flat row-major nor nested exactly as the shape)"
    },
    404: {"description": "unknown model or version"},
    413: {"description": "body over the byte limit, or more tensor elements than the limit"},
    415: {
        "description": "Content-Type missing or not JSON (application/json or a +json type), "
        "or the binary tensor data extension"
    },
    422: {"description": "a request the model cannot take: input names, datatypes, shapes, values"},
    503: {"description": "the model is not loaded yet"},
}


def add_v2_routes(app: FastAPI, state: ModelState, limits: oip.Limits, threads: int) -> None:
    """Mount the five routes (and their `/versions/{v}` forms) on `app`."""
    budget = _LogBudget(_LOG_BUDGET)
    pool: list[anyio.CapacityLimiter] = []  # created inside the event loop

    def model() -> Any:
        loaded = state.loaded
        return None if loaded is None else loaded.model

    def run(call: Any, *args: Any) -> Response:
        try:
            return _answer(200, call(*args))
        except oip.InferenceError as exc:
            return _error(exc)

    @app.get(
        "/v2",
        tags=["v2"],
        summary="Open Inference Protocol: server metadata (name, version, extensions)",
    )
    async def server_metadata() -> Response:
        return _answer(200, oip.server_metadata(__version__))

    @app.get("/v2/health/live", tags=["v2"], summary="Open Inference Protocol: server live")
    async def live() -> Response:
        return _answer(200, oip.server_live())

    @app.get("/v2/health/ready", tags=["v2"], summary="Open Inference Protocol: server ready")
    async def ready() -> Response:
        return run(oip.server_ready, model())

    # Each route has its own handler, so `version` is a path parameter where the path has it
    # and absent elsewhere (one handler for both would document it as a query parameter).
    @app.get("/v2/models/{name}", tags=["v2"], summary="Model metadata (its real signature)")
    async def metadata(name: str) -> Response:
        return run(oip.model_metadata, model(), name, None, limits)

    @app.get(
        "/v2/models/{name}/versions/{version}",
        tags=["v2"],
        summary="Model metadata of one version",
    )
    async def version_metadata(name: str, version: str) -> Response:
        return run(oip.model_metadata, model(), name, version, limits)

    @app.get("/v2/models/{name}/ready", tags=["v2"], summary="Model ready")
    async def model_ready(name: str) -> Response:
        return run(oip.model_ready, model(), name, None)

    @app.get(
        "/v2/models/{name}/versions/{version}/ready",
        tags=["v2"],
        summary="Model ready, one version",
    )
    async def version_ready(name: str, version: str) -> Response:
        return run(oip.model_ready, model(), name, version)

    async def infer(request: Request, name: str, version: str | None) -> Response:
        """Parse, check and run in worker threads; a large batch one chunk per hop, so that
        between two chunks every request already waiting for a thread gets one first (the
        limiter is first come, first served) and the event loop answers the rest."""
        try:
            raw = _raw_body(request)
            if not pool:
                pool.append(anyio.CapacityLimiter(threads))
            limiter = pool[0]
            prepared, result = await anyio.to_thread.run_sync(
                _start, model(), name, raw, limits, version, limiter=limiter
            )
            if result is None:
                parts = [
                    await anyio.to_thread.run_sync(prepared.run, a, b, limiter=limiter)
                    for a, b in prepared.chunks
                ]
                joined = prepared.join(parts)
                if joined is None:  # an output that is not per row: only a whole run is right
                    result = await anyio.to_thread.run_sync(_whole, prepared, limiter=limiter)
                else:
                    result = await anyio.to_thread.run_sync(
                        prepared.respond, joined, limiter=limiter
                    )
        except oip.InferenceError as exc:
            if exc.detail and budget.allow():
                log.warning("inference refused (%d %s): %s", exc.status, exc.code, exc.detail[:500])
            return _error(exc)
        return _answer(200, result)

    described = {"openapi_extra": INFER_BODY, "responses": INFER_RESPONSES, "tags": ["v2"]}

    @app.post("/v2/models/{name}/infer", summary="Inference on JSON tensors", **described)
    async def model_infer(request: Request, name: str) -> Response:
        return await infer(request, name, None)

    @app.post(
        "/v2/models/{name}/versions/{version}/infer",
        summary="Inference on JSON tensors, one version",
        **described,
    )
    async def version_infer(request: Request, name: str, version: str) -> Response:
        return await infer(request, name, version)
