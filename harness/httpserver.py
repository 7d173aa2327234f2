"""The HTTP server under the gate: uvicorn with a strict parser, deadlines and a cap.

- Parser: httptools (llhttp) when installed, h11 otherwise. Either way the gate refuses
  `Content-Length` with `Transfer-Encoding` (400 and close).
- Forwarded headers: uvicorn's own handling is off (`proxy_headers=False`), so neither
  its default trust of 127.0.0.1 nor `FORWARDED_ALLOW_IPS` applies; the gate reads
  `X-Forwarded-For` from `HARNESS_TRUSTED_PROXIES` only.
- Deadlines: a request's headers must arrive within `HARNESS_HEADER_TIMEOUT` seconds of
  the connection (or of the previous response), its body within `HARNESS_BODY_TIMEOUT`
  of the headers; otherwise the connection is closed. Not reset by each byte, so a
  client sending one byte a second is dropped too. TLS handshakes time out after 60 s
  (asyncio's default).
- Cap: a process holds at most `HARNESS_MAX_CONNECTIONS`; one more is closed at once.
- Logs: warnings and errors from the server (malformed requests...) are rate limited,
  since anyone can trigger them without a token.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from typing import Any

import uvicorn

log = logging.getLogger("harness.http")

try:  # pragma: no cover - both are pinned in the image; h11 is the fallback
    import httptools  # noqa: F401
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _BaseProtocol

    HTTP_IMPL = "httptools"
except ImportError:  # pragma: no cover
    from uvicorn.protocols.http.h11_impl import H11Protocol as _BaseProtocol

    HTTP_IMPL = "h11"
try:  # pragma: no cover
    import uvloop  # noqa: F401

    LOOP_IMPL = "uvloop"
except ImportError:  # pragma: no cover
    LOOP_IMPL = "asyncio"


class LogLimiter(logging.Filter):
    """Let through at most `per_minute` records, then one summary of what was dropped."""

    def __init__(self, per_minute: int = 20, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.per_minute = per_minute
        self._clock = clock
        self._window = clock()
        self._count = 0
        self._dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._clock()
        if now - self._window >= 60:
            if self._dropped:
                record.msg = f"{record.getMessage()} ({self._dropped} similar messages dropped)"
                record.args = ()
            self._window, self._count, self._dropped = now, 0, 0
        self._count += 1
        if self._count > self.per_minute:
            self._dropped += 1
            return False
        record.exc_info = None  # a client's malformed request is not worth a stack trace
        record.exc_text = None
        return True


def limit_server_logs(per_minute: int = 20) -> None:
    """Rate limit what unauthenticated traffic can make the server log."""
    for name in ("uvicorn.error", "uvicorn", "harness.http"):
        logger = logging.getLogger(name)
        logger.filters[:] = [f for f in logger.filters if not isinstance(f, LogLimiter)]
        logger.addFilter(LogLimiter(per_minute))


class GuardedProtocol(_BaseProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol plus the connection cap and header/body deadlines."""

    header_timeout = 10.0
    body_timeout = 30.0
    max_connections = 256

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._phase = ""
        self._seen: Any = None
        super().connection_made(transport)
        if len(self.server_state.connections) > self.max_connections:
            log.warning("connection cap %d reached; closing a new one", self.max_connections)
            transport.abort()  # not close(): a TLS close waits up to 30 s for the peer
            return
        self._arm("head", self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        cycle = self.cycle
        if cycle is None or cycle is self._seen:
            if self._phase == "body" and cycle is not None and not cycle.more_body:
                self._disarm()
            return
        self._seen = cycle  # a new request's headers are complete
        if cycle.more_body and not cycle.response_complete:
            self._arm("body", self.body_timeout)
        else:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self._arm("head", self.header_timeout)

    def _arm(self, phase: str, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._phase = None, ""

    def _expire(self) -> None:
        self._deadline, self._phase = None, ""
        if not self.transport.is_closing():
            self.transport.abort()  # a silent or slow client gets no graceful TLS close


def guarded_protocol(header_timeout: float, body_timeout: float, max_connections: int) -> type:
    """A protocol class with these limits (a subclass: the limits are per server)."""
    return type(
        "Guarded",
        (GuardedProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_connections": max_connections,
        },
    )


def listen(bind: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket, made once by the parent and shared by every worker."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bind, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def _tls_context(_cfg: uvicorn.Config, default: Any) -> ssl.SSLContext:
    context = default()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def server_for(app: Any, config: Any) -> uvicorn.Server:
    """A uvicorn server for `app` with the harness's TLS, parser and limits."""
    return uvicorn.Server(
        uvicorn.Config(
            app,
            ssl_certfile=str(config.tls_cert),
            ssl_keyfile=str(config.tls_key),
            ssl_context_factory=_tls_context,
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            lifespan="off",
            timeout_graceful_shutdown=10,
            http=guarded_protocol(
                config.header_timeout, config.body_timeout, config.max_connections
            ),
            loop=LOOP_IMPL,
        )
    )
