"""The one ASGI gate in front of the routes: framing, client address, limits, auth, body.

In order, for every HTTP request:
1. ambiguous framing (both `Content-Length` and `Transfer-Encoding`, RFC 9112 6.1) is
   refused with 400 and `Connection: close`, so a smuggled second request is never read;
2. probes (`/healthz`, `/readyz`) pass untouched: the kubelet has no token;
3. the client address is the TCP peer, or, only when the peer is a trusted proxy
   (`HARNESS_TRUSTED_PROXIES`), the rightmost untrusted `X-Forwarded-For` hop;
4. per-client rate limit (429 + Retry-After), then the bearer token (401);
5. the body is read up to the cap (413) and handed to the route in the scope.
Only responses actually sent are counted in the metrics, with fixed labels; a client
that disconnects or sends a broken body is not a 500.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.auth import AuthResult, TokenStore
from harness.config import DEFAULT_MAX_ELEMENTS
from harness.contract import PROBE_PATHS
from harness.metrics import Metrics
from harness.ratelimit import RateLimiter

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

BODY_KEY = "harness.body"
"""Where the gate leaves the request body it read (bytes) for the route."""
PUBLIC_PATHS = frozenset({"/", "/ui.js", "/ui.css", "/openapi.json"})
_PROBES = frozenset(PROBE_PATHS)
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=31536000"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_CHALLENGE = {
    AuthResult.MISSING: (
        b'Bearer realm="harness"',
        "missing bearer token: send Authorization: Bearer <token>",
    ),
    AuthResult.INVALID: (
        b'Bearer realm="harness", error="invalid_token"',
        "invalid bearer token",
    ),
}
access_log = logging.getLogger("harness.access")


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    max_batch: int
    max_review_chars: int
    max_elements: int = DEFAULT_MAX_ELEMENTS  # tensor elements per /v2 infer request


def not_json(content_type: str | None) -> str | None:
    """Why a JSON route refuses this Content-Type (415), or None for `application/json` and
    `+json` types (RFC 6839), parameters such as `charset` allowed. A missing one is refused
    too: the body's type is the sender's to state, not the server's to guess."""
    if content_type is None or not content_type.strip():
        return "Content-Type is missing; send application/json"
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return None
    return f"Content-Type {media[:80]!r} is not application/json"


def error_bytes(code: str, message: str) -> bytes:
    return json.dumps({"error": code, "message": message}).encode("utf-8")


async def send_error(
    send: Send, status: int, code: str, message: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = error_bytes(code, message)
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


class ClientAddress:
    """Who the client is, believing `X-Forwarded-For` only from trusted proxies.

    Proxies append the address they received from, so the list is read from the right:
    trusted hops are skipped and the first untrusted address is the client. Anything to
    its left was written by the client and is ignored. An unparsable hop stops the walk
    at the last trusted address (never a client-chosen string).
    """

    def __init__(self, trusted: Sequence[Network]) -> None:
        self.trusted = tuple(trusted)

    def is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def resolve(self, peer: str, forwarded_for: bytes | None) -> str:
        if not self.trusted or forwarded_for is None or not self.is_trusted(peer):
            return peer
        client = peer
        for hop in reversed(forwarded_for.decode("latin-1").split(",")):
            hop = hop.strip()
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return client
            client = hop
            if not self.is_trusted(hop):
                return hop
        return client


class Gate:
    """Pure-ASGI middleware; `app` is the routes application behind it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: TokenStore,
        limiter: RateLimiter,
        limits: Limits,
        metrics: Metrics,
        trusted_proxies: Sequence[Network] = (),
        fast_predict: Callable[[Scope, bytes, Send], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.fast_predict = fast_predict
        self.tokens = tokens
        self.limiter = limiter
        self.limits = limits
        self.metrics = metrics
        self.clients = ClientAddress(trusted_proxies)
        self._limit_message = (
            f"more than {limiter.per_minute} requests per minute from this client; retry later"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent: list[int] = []

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *SECURITY_HEADERS]
                await send(message)
                sent.append(message["status"])  # after: a failed send was not a response
                return
            await send(message)

        try:
            await self._handle(scope, receive, send_wrapped)
        finally:
            if sent:  # a response that never left (client gone, broken body) is not counted
                path, method = scope["path"], scope["method"]
                elapsed = time.perf_counter() - started
                self.metrics.observe(path, method, sent[0], elapsed)
                if access_log.isEnabledFor(logging.DEBUG):
                    access_log.debug(
                        '"%s %s" %d %.1fms', method[:16], path[:200], sent[0], elapsed * 1000
                    )

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = content_length = forwarded = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"content-length":
                content_length = value
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"x-forwarded-for":
                forwarded = value if forwarded is None else forwarded + b"," + value
        if chunked and content_length is not None:
            self.metrics.refused_framing.inc()
            message = "Content-Length and Transfer-Encoding together are ambiguous (RFC 9112 6.1)"
            await send_error(send, 400, "ambiguous_framing", message, [(b"connection", b"close")])
            return
        path = scope["path"]
        if path in _PROBES:
            await self.app(scope, receive, send)
            return
        if self.limiter.enabled:
            peer = (scope.get("client") or ("unknown", 0))[0]
            wait = self.limiter.acquire(self.clients.resolve(peer, forwarded))
            if wait > 0:
                self.metrics.rate_limited.inc()
                retry = [(b"retry-after", RateLimiter.retry_after(wait).encode())]
                await send_error(send, 429, "rate_limited", self._limit_message, retry)
                return
        if path not in PUBLIC_PATHS:
            verdict = self.tokens.check(
                None if authorization is None else authorization.decode("latin-1")
            )
            if verdict is not AuthResult.OK:
                self.metrics.auth_failures.labels(verdict.value).inc()
                challenge, message = _CHALLENGE[verdict]
                await send_error(
                    send, 401, "unauthorized", message, [(b"www-authenticate", challenge)]
                )
                return
        if scope["method"] in _BODY_METHODS:
            body = await self._read_body(receive, send, content_length)
            if body is None:
                return
            if self.fast_predict is not None and path == "/predict" and scope["method"] == "POST":
                await self.fast_predict(scope, body, send)  # the hot path skips the router
                return
            scope[BODY_KEY] = body
        await self.app(scope, receive, send)

    async def _read_body(
        self, receive: Receive, send: Send, content_length: bytes | None
    ) -> bytes | None:
        """The whole body within the cap; None if a 4xx was sent or the client left."""
        limit = self.limits.max_body_bytes
        if content_length is not None:
            try:
                declared = int(content_length)
            except ValueError:
                await send_error(send, 400, "bad_request", "Content-Length is not an integer")
                return None
            if declared > limit:
                message = f"request body is {declared} bytes; the limit is {limit} bytes"
                await send_error(send, 413, "payload_too_large", message)
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
                text = f"request body exceeds the limit of {limit} bytes"
                await send_error(send, 413, "payload_too_large", text)
                return None
            chunks.append(body)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
