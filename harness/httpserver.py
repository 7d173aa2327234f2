"""The HTTP server under the gate: uvicorn with a strict parser, deadlines and a cap.

- Parser: httptools (llhttp) when installed, h11 otherwise. Either way the gate refuses
  `Content-Length` with `Transfer-Encoding` (400 and close).
- Head bounds, the same on both parsers (numbers in harness/config.py): a request target
  over `HTTP_MAX_TARGET_BYTES` is 414, more than `HTTP_MAX_HEADER_FIELDS` fields or a head
  over `HTTP_MAX_HEAD_BYTES` is 431, answered and the connection closed (`HeadBounds`).
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
import contextlib
import json
import logging
import socket
import ssl
import time
from typing import Any

import uvicorn

from harness.config import HTTP_MAX_HEAD_BYTES, HTTP_MAX_HEADER_FIELDS, HTTP_MAX_TARGET_BYTES

log = logging.getLogger("harness.http")

PARSERS: dict[str, type] = {}
"""Parser name -> uvicorn's protocol class, for each parser installed."""
try:  # pragma: no cover - both are pinned in the image; h11 is the fallback
    import httptools  # noqa: F401
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    PARSERS["httptools"] = HttpToolsProtocol
except ImportError:  # pragma: no cover
    pass
try:  # pragma: no cover
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    PARSERS["h11"] = H11Protocol
except ImportError:  # pragma: no cover
    h11 = None  # type: ignore[assignment]
HTTP_IMPL = "httptools" if "httptools" in PARSERS else "h11"
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


class GuardedProtocol:
    """Mixed into uvicorn's HTTP protocol: the connection cap and header/body deadlines."""

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


class HeadRefused(Exception):
    """Raised from a parser callback to stop parsing a head past a bound (answered 414/431)."""


_REASONS = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}


class HeadBounds:
    """The request head's bounds, shared by both parsers' protocols (see harness/config.py).

    The head is the request line, every header line and the blank line that ends them,
    CRLFs included. The target is checked first (414), then the number of header fields and
    the head's size (431). Sizes are measured from what the parser reports, which never
    exceeds the bytes received, so a request within the bounds is never refused.
    """

    max_target = HTTP_MAX_TARGET_BYTES
    max_headers = HTTP_MAX_HEADER_FIELDS
    max_head = HTTP_MAX_HEAD_BYTES

    def _reset_head(self) -> None:
        self._refusal: tuple[int, str, str] | None = None
        self._head_count = 0
        self._head_size = 0

    def _check_target(self, size: int) -> None:
        if size > self.max_target:
            self._stop(414, "uri_too_long", f"the request target is over {self.max_target} bytes")

    def _count_header(self, name: bytes, value: bytes) -> None:
        self._head_count += 1
        self._head_size += len(name) + len(value) + 4  # ": " and CRLF
        if self._head_count > self.max_headers:
            self._stop(
                431,
                "header_fields_too_large",
                f"more than {self.max_headers} header fields in the request",
            )
        self._check_head(self._head_size)

    def _check_head(self, size: int) -> None:
        if size > self.max_head:
            self._stop(
                431,
                "header_fields_too_large",
                f"the request line and header block are over {self.max_head} bytes",
            )

    def _request_line(self, method: bytes, target: bytes, version: bytes) -> int:
        return len(method) + len(target) + len(version) + 9  # 2 spaces, "HTTP/", CRLF

    def _stop(self, status: int, code: str, message: str) -> None:
        self._refusal = (status, code, message)
        raise HeadRefused(message)

    def _send_refusal(self) -> bool:
        """Answer the recorded refusal and close; False if there is none."""
        if self._refusal is None:
            return False
        status, code, message = self._refusal
        body = json.dumps({"error": code, "message": message}).encode()
        head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % (
            status,
            _REASONS[status],
            len(body),
        )
        self.transport.write(head + b"connection: close\r\n\r\n" + body)  # type: ignore[attr-defined]
        self.transport.close()  # type: ignore[attr-defined]
        return True

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error; a bound's own refusal when one was hit."""
        if not self._send_refusal():
            super().send_400_response(msg)  # type: ignore[misc]


class _HttpToolsBounds(HeadBounds):
    """llhttp has no limits of its own: the callbacks count, and whole reads are measured.

    A header line still incomplete at the end of a read is buffered inside httptools where
    no callback sees it, so every read that arrives while a head is open counts whole; at
    most one read (the first) goes uncounted, and it is bounded by the transport's buffer.
    """

    def connection_made(self, transport: Any) -> None:
        self._reset_head()
        self._in_head = False
        self._message_open = False
        self._begun = 0
        self._raw_head = 0
        super().connection_made(transport)  # type: ignore[misc]

    def data_received(self, data: bytes) -> None:
        fresh, in_head, begun = not self._message_open, self._in_head, self._begun
        super().data_received(data)  # type: ignore[misc]
        if not self._in_head or self.transport.is_closing():  # type: ignore[attr-defined]
            return
        started = self._begun - begun
        if (in_head and started == 0) or (fresh and started == 1):
            self._raw_head += len(data)  # every byte of this read belongs to the open head
            try:
                self._check_head(self._raw_head)
            except HeadRefused:
                log.warning("request refused: %s", self._refusal[2] if self._refusal else "")
                self._send_refusal()

    def on_message_begin(self) -> None:
        self._reset_head()
        self._in_head = self._message_open = True
        self._begun += 1
        self._raw_head = 0
        super().on_message_begin()  # type: ignore[misc]

    def on_url(self, url: bytes) -> None:
        super().on_url(url)  # type: ignore[misc]
        self._check_target(len(self.url))  # type: ignore[attr-defined]

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_header(name, value)
        super().on_header(name, value)  # type: ignore[misc]

    def on_headers_complete(self) -> None:
        parser = self.parser  # type: ignore[attr-defined]
        line = self._request_line(
            parser.get_method(),
            self.url,
            parser.get_http_version().encode(),  # type: ignore[attr-defined]
        )
        self._check_head(line + self._head_size + 2)  # before the request is started
        self._in_head = False
        super().on_headers_complete()  # type: ignore[misc]

    def on_message_complete(self) -> None:
        self._message_open = False
        super().on_message_complete()  # type: ignore[misc]


class _H11Bounds(HeadBounds):
    """h11 refuses an incomplete head past `max_incomplete_event_size` (set to the head bound)
    but parses a complete one of any size: a complete head is measured from its `Request`."""

    def connection_made(self, transport: Any) -> None:
        self._reset_head()
        bounds = self
        base = type(self.conn)  # type: ignore[has-type]

        class BoundedConnection(base):  # type: ignore[misc,valid-type]
            def next_event(self) -> Any:
                try:
                    event = super().next_event()
                except h11.RemoteProtocolError:
                    pending, _closed = self.trailing_data
                    if len(pending) > bounds.max_head:  # h11's own bound: an incomplete head
                        with contextlib.suppress(HeadRefused):
                            if b"\n" not in pending:
                                bounds._check_target(len(pending))
                            bounds._check_head(len(pending))
                    raise
                if isinstance(event, h11.Request):
                    bounds._reset_head()
                    try:
                        bounds._check_target(len(event.target))
                        for name, value in event.headers.raw_items():
                            bounds._count_header(name, value)
                        line = bounds._request_line(event.method, event.target, event.http_version)
                        bounds._check_head(line + bounds._head_size + 2)
                    except HeadRefused as exc:
                        raise h11.RemoteProtocolError(str(exc)) from None
                return event

        self.conn = BoundedConnection(h11.SERVER, max_incomplete_event_size=self.max_head)
        super().connection_made(transport)  # type: ignore[misc]


_BOUNDS = {"httptools": _HttpToolsBounds, "h11": _H11Bounds}


def guarded_protocol(
    header_timeout: float, body_timeout: float, max_connections: int, parser: str = HTTP_IMPL
) -> type:
    """A protocol class with these limits (a subclass: the limits are per server)."""
    return type(
        "Guarded",
        (GuardedProtocol, _BOUNDS[parser], PARSERS[parser]),
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
