"""The harness HTTP API (FastAPI): /healthz, /readyz, /check, /predict, /metrics, page, docs.

One pure-ASGI gate in front of the routes does, in order: probes pass untouched (kubelet
has no token), per-client rate limit (429 + Retry-After), bearer token (401 +
WWW-Authenticate), and the request-size cap (413 from Content-Length before reading, or
as soon as a chunked body passes the cap). Every error is a JSON object
`{"error": <code>, "message": <what was wrong>}` with a 4xx status; bad input never
reaches a 5xx. Inference runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from harness import __version__
from harness.auth import AuthResult, TokenStore
from harness.loader import LoadedModel
from harness.ratelimit import RateLimiter
from harness.ui import INDEX_HTML, PAGE_CSP, UI_CSS, UI_JS

log = logging.getLogger("harness.http")
access_log = logging.getLogger("harness.access")

PROBE_PATHS = frozenset({"/healthz", "/readyz"})
PUBLIC_PATHS = frozenset({"/", "/ui.js", "/ui.css", "/docs", "/openapi.json"})
KNOWN_PATHS = PROBE_PATHS | PUBLIC_PATHS | {"/check", "/predict", "/metrics"}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=31536000"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
SEED_EXAMPLE = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    max_batch: int
    max_review_chars: int


class ModelState:
    """Loading -> ready (a verified model) or failed; set from the loader thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loaded: LoadedModel | None = None
        self.failure: str | None = None

    def set_loaded(self, loaded: LoadedModel) -> None:
        with self._lock:
            self.loaded = loaded

    def set_failed(self, reason: str) -> None:
        with self._lock:
            self.failure = reason

    @property
    def status(self) -> str:
        if self.loaded is not None:
            return "ready"
        return "failed" if self.failure else "loading"


class Metrics:
    """Prometheus series of one app (own registry, so several apps can coexist in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "harness_http_requests",
            "HTTP requests by path, method and status code",
            ["path", "method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "harness_http_request_duration_seconds",
            "Request latency by path",
            ["path"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.reviews = Counter(
            "harness_reviews_scored", "Reviews scored by /predict", registry=self.registry
        )
        self.auth_failures = Counter(
            "harness_auth_failures",
            "Requests refused for a missing or invalid token",
            ["reason"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "harness_rate_limited", "Requests refused by the rate limit", registry=self.registry
        )
        self.model_ready = Gauge(
            "harness_model_ready",
            "1 once the model is decrypted and verified",
            registry=self.registry,
        )
        self.model_bytes = Gauge(
            "harness_model_plaintext_bytes", "Size of the loaded plaintext", registry=self.registry
        )
        self.load_seconds = Gauge(
            "harness_model_load_seconds",
            "Seconds from start of load to verified",
            registry=self.registry,
        )


def error_body(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


async def _send_json(
    send: Send, status: int, code: str, message: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps({"error": code, "message": message}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class Gate:
    """Rate limit, auth, body cap, security headers, metrics and access log (pure ASGI)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: TokenStore,
        limiter: RateLimiter,
        limits: Limits,
        metrics: Metrics,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.limiter = limiter
        self.limits = limits
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path: str = scope["path"]
        method: str = scope["method"]
        status_holder = [500]

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = int(message["status"])
                message["headers"] = list(message.get("headers", [])) + _SECURITY_HEADERS
            await send(message)

        try:
            await self._handle(scope, receive, send_wrapped, path, method)
        finally:
            label = path if path in KNOWN_PATHS else "other"
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(label, method, str(status_holder[0])).inc()
            self.metrics.latency.labels(label).observe(elapsed)
            client = (scope.get("client") or ("-", 0))[0]
            level = logging.DEBUG if path in PROBE_PATHS else logging.INFO
            if access_log.isEnabledFor(level):
                access_log.log(
                    level,
                    '%s "%s %s" %d %.1fms',
                    client,
                    method,
                    label,
                    status_holder[0],
                    elapsed * 1000,
                )

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, path: str, method: str
    ) -> None:
        if path in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.limiter.acquire(client)
        if wait > 0:
            self.metrics.rate_limited.inc()
            await _send_json(
                send,
                429,
                "rate_limited",
                f"more than {self.limiter.per_minute} requests per minute from this client; retry later",
                [(b"retry-after", RateLimiter.retry_after(wait).encode())],
            )
            return
        if path not in PUBLIC_PATHS:
            authorization = None
            for name, value in scope.get("headers", []):
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                    break
            verdict = self.tokens.check(authorization)
            if verdict is not AuthResult.OK:
                self.metrics.auth_failures.labels(verdict.value).inc()
                challenge = b'Bearer realm="harness"'
                message = "missing bearer token: send Authorization: Bearer <token>"
                if verdict is AuthResult.INVALID:
                    challenge = b'Bearer realm="harness", error="invalid_token"'
                    message = "invalid bearer token"
                await _send_json(
                    send, 401, "unauthorized", message, [(b"www-authenticate", challenge)]
                )
                return
        if method in _BODY_METHODS:
            receive = await self._capped_body(scope, receive, send)
            if receive is None:
                return
        await self.app(scope, receive, send)

    async def _capped_body(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """Read the body up to the cap, then replay it; None if a 413 was sent."""
        limit = self.limits.max_body_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, "bad_request", "Content-Length is not an integer")
                    return None
                if declared > limit:
                    await _send_json(
                        send,
                        413,
                        "payload_too_large",
                        f"request body is {declared} bytes; the limit is {limit} bytes",
                    )
                    return None
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body = message.get("body", b"")
            total += len(body)
            if total > limit:
                await _send_json(
                    send,
                    413,
                    "payload_too_large",
                    f"request body exceeds the limit of {limit} bytes",
                )
                return None
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return replayed
            return await receive()

        return replay


def _validate_reviews(doc: Any, limits: Limits) -> tuple[list[str] | None, str]:
    """The body must be exactly {"reviews": [str, ...]} within the limits."""
    example = 'expected a JSON object {"reviews": ["text", ...]}'
    if not isinstance(doc, dict):
        return None, f"body is a JSON {_json_type(doc)}; {example}"
    extra = sorted(k for k in doc if k != "reviews")
    if extra:
        return None, f"unexpected field {extra[0]!r}; only 'reviews' is accepted"
    if "reviews" not in doc:
        return None, f"field 'reviews' is missing; {example}"
    reviews = doc["reviews"]
    if not isinstance(reviews, list):
        return None, f"'reviews' must be an array of strings, got {_json_type(reviews)}"
    if not reviews:
        return None, f"'reviews' is empty; send 1 to {limits.max_batch} reviews"
    if len(reviews) > limits.max_batch:
        return None, f"'reviews' has {len(reviews)} items; at most {limits.max_batch} per request"
    for i, review in enumerate(reviews):
        if not isinstance(review, str):
            return None, f"reviews[{i}] must be a string, got {_json_type(review)}"
        if len(review) > limits.max_review_chars:
            return (
                None,
                f"reviews[{i}] is {len(review)} characters; at most {limits.max_review_chars}",
            )
        try:
            review.encode("utf-8")
        except UnicodeEncodeError:
            return None, f"reviews[{i}] contains an unpaired UTF-16 surrogate escape"
    return reviews, ""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def create_app(
    *,
    state: ModelState,
    tokens: TokenStore,
    limiter: RateLimiter,
    limits: Limits,
    metrics: Metrics | None = None,
    infer_threads: int | None = None,
) -> Gate:
    """Build the app behind its gate; the caller owns loading the model into `state`.

    The FastAPI application is `gate.app` (its `state.model_state` is `state`).
    """
    metrics = metrics or Metrics()
    threads = infer_threads or max(1, min(4, os.cpu_count() or 1))
    limiter_holder: list[anyio.CapacityLimiter] = []

    app = FastAPI(
        title="Sealed model harness",
        version=__version__,
        description=(
            "Serves a model that was decrypted in memory and verified. Every endpoint except "
            "/healthz, /readyz, this documentation and the page at / needs "
            "`Authorization: Bearer <token>`."
        ),
        docs_url="/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
    )
    app.state.model_state = state
    app.state.metrics = metrics

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return error_body(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            dict(exc.headers or {}),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_body(422, "invalid_request", f"{where}: {first.get('msg')}")

    @app.get("/healthz", tags=["probes"], summary="Liveness: the process answers (no token)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["probes"],
        summary="Readiness: 200 only once the model is decrypted and verified (no token)",
        responses={503: {"description": "still loading"}},
    )
    async def readyz() -> JSONResponse:
        status = state.status
        return JSONResponse({"status": status}, status_code=200 if status == "ready" else 503)

    @app.get(
        "/check",
        tags=["model"],
        summary="What was loaded: object, generation, digest, key version, load time",
    )
    async def check() -> JSONResponse:
        loaded = state.loaded
        if loaded is None:
            return error_body(503, "not_ready", "the model is not loaded yet", {"retry-after": "1"})
        return JSONResponse({"status": "ready", **loaded.info})

    predict_schema = {
        "type": "object",
        "required": ["reviews"],
        "additionalProperties": False,
        "properties": {
            "reviews": {
                "type": "array",
                "minItems": 1,
                "maxItems": limits.max_batch,
                "items": {"type": "string", "maxLength": limits.max_review_chars},
            }
        },
        "example": {"reviews": SEED_EXAMPLE},
    }

    @app.post(
        "/predict",
        tags=["model"],
        summary="Score reviews: one [score] per review, 1 = positive (seed 003's request and response)",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": predict_schema}},
            }
        },
        responses={
            200: {
                "description": "one single-element array per review, in order",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "array",
                            "items": {
                                "type": "array",
                                "items": {"type": "number"},
                                "minItems": 1,
                                "maxItems": 1,
                            },
                        },
                        "example": [[0.8659], [0.4849], [0.1102]],
                    }
                },
            },
            400: {"description": "empty body, not UTF-8, or malformed JSON"},
            413: {"description": "body larger than the limit"},
            415: {"description": "Content-Type is not JSON"},
            422: {
                "description": "JSON of the wrong shape, empty or oversize batch, review too long"
            },
        },
    )
    async def predict(request: Request) -> Response:
        content_type = request.headers.get("content-type")
        if content_type is not None:
            media = content_type.split(";", 1)[0].strip().lower()
            if media != "application/json" and not media.endswith("+json"):
                return error_body(
                    415, "unsupported_media_type", f"Content-Type {media!r} is not application/json"
                )
        body = await request.body()
        if not body.strip():
            return error_body(
                400, "empty_body", 'empty body; expected JSON {"reviews": ["text", ...]}'
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            return error_body(400, "invalid_utf8", f"body is not valid UTF-8 (byte {exc.start})")
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            return error_body(
                400,
                "malformed_json",
                f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            )
        except (RecursionError, ValueError):
            return error_body(
                400, "malformed_json", "malformed JSON: nested too deeply or not representable"
            )
        reviews, problem = _validate_reviews(doc, limits)
        if reviews is None:
            return error_body(422, "invalid_request", problem)
        loaded = state.loaded
        if loaded is None:
            return error_body(503, "not_ready", "the model is not loaded yet", {"retry-after": "1"})
        if not limiter_holder:
            limiter_holder.append(anyio.CapacityLimiter(threads))
        scores = await anyio.to_thread.run_sync(
            loaded.model.predict, reviews, limiter=limiter_holder[0]
        )
        metrics.reviews.inc(len(reviews))
        payload = [[round(float(s), 7) if math.isfinite(s) else 0.5] for s in scores]
        return Response(json.dumps(payload, separators=(",", ":")), media_type="application/json")

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics")
    async def prometheus_metrics() -> Response:
        loaded = state.loaded
        metrics.model_ready.set(1 if loaded is not None else 0)
        if loaded is not None:
            metrics.model_bytes.set(loaded.info["plaintext_bytes"])
            metrics.load_seconds.set(loaded.info["load_seconds"])
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(INDEX_HTML, headers={"content-security-policy": PAGE_CSP})

    @app.get("/ui.js", include_in_schema=False)
    async def ui_js() -> Response:
        return Response(UI_JS, media_type="text/javascript")

    @app.get("/ui.css", include_in_schema=False)
    async def ui_css() -> Response:
        return Response(UI_CSS, media_type="text/css")

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {})["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "token from the mounted Secret",
            }
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

    app.openapi = openapi  # type: ignore[method-assign]
    return Gate(app, tokens=tokens, limiter=limiter, limits=limits, metrics=metrics)
