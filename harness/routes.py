"""The routes behind the gate: probes, /check, /predict, /metrics, the page, OpenAPI JSON.

The gate has already done framing, rate limit, auth and read the body (in the scope
under `BODY_KEY`). No HTML docs are served: Swagger UI would run third-party script on
the API's origin, where its Authorize dialog holds the token (issue 12); the OpenAPI
document stays at /openapi.json. Small batches are scored on the event loop (tens of
microseconds, less than a hop to a thread); large ones in a worker thread.
"""

from __future__ import annotations

import json
import math
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from harness import __version__
from harness.contract import LIVENESS_PATH, OPENAPI_PATH, PROBE_PATHS, READINESS_PATH
from harness.gate import BODY_KEY, PUBLIC_PATHS, Limits, error_bytes, not_json
from harness.metrics import Metrics
from harness.schema import Invalid, parse_reviews, predict_request_model
from harness.state import ModelState
from harness.ui import INDEX_HTML, PAGE_CSP, UI_CSS, UI_JS

INLINE_CHARS = 4096
"""Batches up to this many characters are scored inline (~50 us), larger ones in a thread."""
_NOT_READY = error_bytes("not_ready", "the model is not loaded yet")
_PREDICT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "one single-element array per review, in order",
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number"}, "minItems": 1},
                },
                "example": [[0.8659], [0.4849], [0.1102]],
            }
        },
    },
    400: {"description": "empty body, not UTF-8, malformed JSON, or ambiguous framing"},
    413: {"description": "body larger than the limit"},
    415: {"description": "Content-Type missing or not JSON (application/json or a +json type)"},
    422: {"description": "JSON of the wrong shape, empty or oversize batch, review too long"},
}


def error_response(status: int, code: str, message: str, headers: Any = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def _json(data: bytes, status: int = 200, headers: Any = None) -> Response:
    return Response(data, status, headers, media_type="application/json")


def build_routes(state: ModelState, predictor: Predictor) -> FastAPI:
    """The FastAPI application (without the gate)."""
    app = FastAPI(
        title="Sealed model harness",
        version=__version__,
        description=(
            "Serves a model that was decrypted in memory and verified. Every endpoint except "
            "/healthz, /readyz, this document and the page at / needs "
            "`Authorization: Bearer <token>`."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url=OPENAPI_PATH,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.model_state = state
    app.state.metrics = predictor.metrics
    _add_error_handlers(app)
    _add_probe_and_page_routes(app, state)
    _add_model_routes(app, state, predictor)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        code = codes.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(422, "invalid_request", f"{where}: {first.get('msg')}")


def _add_probe_and_page_routes(app: FastAPI, state: ModelState) -> None:
    @app.get(LIVENESS_PATH, tags=["probes"], summary="Liveness: the process answers (no token)")
    async def healthz() -> Response:
        return _json(b'{"status":"ok"}')

    @app.get(
        READINESS_PATH,
        tags=["probes"],
        summary="Readiness: 200 only once the model is decrypted and verified (no token)",
        responses={503: {"description": "still loading"}},
    )
    async def readyz() -> JSONResponse:
        status = state.status
        return JSONResponse({"status": status}, status_code=200 if status == "ready" else 503)

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(INDEX_HTML, headers={"content-security-policy": PAGE_CSP})

    @app.get("/ui.js", include_in_schema=False)
    async def ui_js() -> Response:
        return Response(UI_JS, media_type="text/javascript")

    @app.get("/ui.css", include_in_schema=False)
    async def ui_css() -> Response:
        return Response(UI_CSS, media_type="text/css")


class Predictor:
    """`/predict` itself: media type, body -> reviews, scores; (status, JSON bytes, headers).

    The gate calls it directly for `POST /predict` (no router, no Request object: this is
    the hot path); the FastAPI route calls the same object, so both answer alike.
    """

    def __init__(self, state: ModelState, limits: Limits, metrics: Metrics, threads: int) -> None:
        self.state = state
        self.limits = limits
        self.metrics = metrics
        self.threads = threads
        self.request_model = predict_request_model(limits)
        self._pool: anyio.CapacityLimiter | None = None  # created inside the event loop

    async def __call__(self, body: bytes, content_type: str | None) -> tuple[int, bytes, Any]:
        problem = not_json(content_type)
        if problem:
            return 415, error_bytes("unsupported_media_type", problem), None
        reviews = parse_reviews(self.request_model, body, self.limits)
        if isinstance(reviews, Invalid):
            return reviews.status, error_bytes(reviews.code, reviews.message), None
        loaded = self.state.loaded
        if loaded is None:
            return 503, _NOT_READY, {"retry-after": "1"}
        served = loaded.model
        if served.card.seed_api is None:
            message = (
                f"model {served.name!r} has no seed_api in its card, so /predict cannot map "
                f"reviews to it; use POST /v2/models/{served.name}/infer"
            )
            return 404, error_bytes("no_seed_api", message), None
        if sum(map(len, reviews)) <= INLINE_CHARS:
            scores = served.score_reviews(reviews)
        else:
            if self._pool is None:
                self._pool = anyio.CapacityLimiter(self.threads)
            scores = await anyio.to_thread.run_sync(
                served.score_reviews, reviews, limiter=self._pool
            )
        self.metrics.reviews.inc(len(reviews))
        payload = [[round(s[0], 7) if math.isfinite(s[0]) else 0.5] for s in scores]
        return 200, json.dumps(payload, separators=(",", ":")).encode(), None

    async def asgi(self, scope: dict[str, Any], body: bytes, send: Any) -> None:
        """Answer straight on the ASGI connection (the gate's fast path)."""
        content_type = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
                break
        status, data, extra = await self(body, content_type)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
        if extra:
            headers += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


def _add_model_routes(app: FastAPI, state: ModelState, predictor: Predictor) -> None:
    metrics = predictor.metrics

    @app.get(
        "/check",
        tags=["model"],
        summary="What was loaded: object, generation, digest, key version, load time",
    )
    async def check() -> Response:
        loaded = state.loaded
        if loaded is None:
            return _json(_NOT_READY, 503, {"retry-after": "1"})
        return JSONResponse({"status": "ready", **loaded.info})

    @app.post(
        "/predict",
        tags=["model"],
        summary="Score reviews: one [score] per review, 1 = positive (seed 003's shape)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": predictor.request_model.model_json_schema()}
                },
            }
        },
        responses=_PREDICT_RESPONSES,
    )
    async def predict(request: Request) -> Response:
        body = request.scope.get(BODY_KEY)
        status, data, extra = await predictor(
            await request.body() if body is None else body, request.headers.get("content-type")
        )
        return _json(data, status, extra)

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    async def prometheus_metrics() -> Response:
        loaded = state.loaded
        metrics.model_ready.set(1 if loaded is not None else 0)
        if loaded is not None:
            metrics.model_bytes.set(loaded.info["plaintext_bytes"])
            metrics.load_seconds.set(loaded.info["load_seconds"])
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "token from the Secret"}
    }
    for path, operations in schema.get("paths", {}).items():
        if path in PROBE_PATHS or path in PUBLIC_PATHS:
            continue
        for operation in operations.values():
            operation["security"] = [{"bearer": []}]
            operation.setdefault("responses", {}).update(
                {
                    "401": {"description": "missing or invalid bearer token"},
                    "429": {"description": "rate limited"},
                }
            )
    app.openapi_schema = schema
    return schema
