"""The Open Inference Protocol (KServe V2) REST routes, mounted behind the same gate.

The gate has already done TLS, rate limit, bearer token and the body cap, exactly as for
`/predict`; these routes only translate HTTP to the framework-free handlers of
`harness.inference_protocol` and back. Paths (spec `inference_rest.md`,
https://github.com/kserve/open-inference-protocol):

    GET  /v2/health/live          GET /v2/health/ready
    GET  /v2/models/{name}[/versions/{v}]
    GET  /v2/models/{name}[/versions/{v}]/ready
    POST /v2/models/{name}[/versions/{v}]/infer      JSON tensors; BYTES for text

Errors answer the handler's status with the spec's `{"error": "<message>"}`; what the
runtime said (it may name graph internals) goes to the log only, rate limited. The binary
tensor extension (`Inference-Header-Content-Length`) is refused with 415. Inference runs in
a worker thread, at most `threads` at once per process.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from harness import inference_protocol as oip
from harness.gate import BODY_KEY
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


def _json_body(request: Request) -> Any:
    """The body the gate read, as JSON; 415/400 as `InferenceError`s."""
    if request.headers.get(BINARY_HEADER) is not None:
        raise oip.InferenceError(
            415,
            "binary_unsupported",
            "the binary tensor data extension (Inference-Header-Content-Length) is not "
            "supported; send JSON tensors",
        )
    media = (request.headers.get("content-type") or "application/json").split(";", 1)[0]
    media = media.strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise oip.InferenceError(
            415, "unsupported_media_type", f"Content-Type {media!r} is not application/json"
        )
    raw = request.scope.get(BODY_KEY, b"")
    if not raw:
        raise oip.InferenceError(400, "empty_body", "the request body is empty")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise oip.InferenceError(400, "bad_encoding", "the body is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        message = f"the body is not valid JSON: {str(exc)[:120]}"
        raise oip.InferenceError(400, "bad_json", message) from None


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

    @app.get("/v2/health/live", tags=["v2"], summary="Open Inference Protocol: server live")
    async def live() -> Response:
        return _answer(200, oip.server_live())

    @app.get("/v2/health/ready", tags=["v2"], summary="Open Inference Protocol: server ready")
    async def ready() -> Response:
        return run(oip.server_ready, model())

    @app.get("/v2/models/{name}", tags=["v2"], summary="Model metadata (its real signature)")
    @app.get("/v2/models/{name}/versions/{version}", tags=["v2"], include_in_schema=False)
    async def metadata(name: str, version: str | None = None) -> Response:
        return run(oip.model_metadata, model(), name, version)

    @app.get("/v2/models/{name}/ready", tags=["v2"], summary="Model ready")
    @app.get("/v2/models/{name}/versions/{version}/ready", tags=["v2"], include_in_schema=False)
    async def model_ready(name: str, version: str | None = None) -> Response:
        return run(oip.model_ready, model(), name, version)

    @app.post("/v2/models/{name}/infer", tags=["v2"], summary="Inference on JSON tensors")
    @app.post("/v2/models/{name}/versions/{version}/infer", tags=["v2"], include_in_schema=False)
    async def infer(request: Request, name: str, version: str | None = None) -> Response:
        try:
            body = _json_body(request)
            if not pool:
                pool.append(anyio.CapacityLimiter(threads))
            result = await anyio.to_thread.run_sync(
                oip.infer, model(), name, body, limits, version, limiter=pool[0]
            )
        except oip.InferenceError as exc:
            if exc.detail and budget.allow():
                log.warning("inference refused (%d %s): %s", exc.status, exc.code, exc.detail[:500])
            return _error(exc)
        return _answer(200, result)
