"""The request head's bounds (target length, header count, header block size), on both parsers.

Each bound is probed at its edge (the limit itself is served, one more is refused with 431 or
414 and the connection closed) over plain TCP against the guarded protocol class the harness
builds for that parser, with a trivial ASGI app behind it, so the parser is the only variable.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from harness.httpserver import PARSERS, guarded_protocol

# The bounds, written out: a test compares with literals, never with the constant under test.
TARGET_BYTES = 8192
HEADER_COUNT = 100
HEAD_BYTES = 16384


async def _ok(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]}
    )
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture(scope="module", params=sorted(PARSERS))
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        _ok,
        log_config=None,
        access_log=False,
        lifespan="off",
        http=guarded_protocol(10, 30, 64, parser=request.param),
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield request.param, sock.getsockname()[1]
    srv.should_exit = True
    thread.join(10)
    sock.close()


def _exchange(port: int, pieces: list[bytes], pause: float = 0.0) -> tuple[int, bytes, bool]:
    """Send the pieces (pausing between them); (status, raw response, closed by the server)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        try:
            for piece in pieces:
                conn.sendall(piece)
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before everything was sent: the response is read below
        data = b""
        closed = False
        while True:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
            if b"connection: close" not in data.lower() and data.endswith(b"ok"):
                break
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data, closed


def _request(target: bytes = b"/", headers: list[bytes] | None = None) -> bytes:
    lines = [b"GET " + target + b" HTTP/1.1", b"Host: x", *(headers or [])]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_a_target_at_the_limit_is_served_one_more_byte_is_414(server) -> None:
    parser, port = server
    at_limit = b"/" + b"a" * (TARGET_BYTES - 1)
    assert _exchange(port, [_request(at_limit)])[0] == 200, parser
    status, data, closed = _exchange(port, [_request(at_limit + b"a")])
    assert (status, closed) == (414, True), (parser, data[:300])
    assert b"request target" in data


def test_a_100_kb_target_is_414_even_in_pieces(server) -> None:
    parser, port = server
    head = _request(b"/" + b"a" * 100_000)
    pieces = [head[i : i + 4096] for i in range(0, len(head), 4096)]
    status, data, closed = _exchange(port, pieces, pause=0.001)
    assert (status, closed) == (414, True), (parser, data[:300])


def test_header_count_at_the_limit_is_served_one_more_is_431(server) -> None:
    parser, port = server
    # Host is one of them
    fields = [b"x-%d: 1" % i for i in range(HEADER_COUNT - 1)]
    assert _exchange(port, [_request(headers=fields)])[0] == 200, parser
    status, data, closed = _exchange(port, [_request(headers=[*fields, b"x-last: 1"])])
    assert (status, closed) == (431, True), (parser, data[:300])
    assert b"header fields" in data


def test_twenty_thousand_tiny_headers_are_431(server) -> None:
    parser, port = server
    status, data, closed = _exchange(port, [_request(headers=[b"a: b"] * 20_000)])
    assert (status, closed) == (431, True), (parser, data[:300])


def test_head_size_at_the_limit_is_served_one_more_byte_is_431(server) -> None:
    parser, port = server
    # the head is the request line and every header line with their CRLFs, plus the blank line
    base = _request(headers=[b"x-fill: "])
    filler = b"v" * (HEAD_BYTES - len(base))
    exact = _request(headers=[b"x-fill: " + filler])
    assert len(exact) == HEAD_BYTES
    assert _exchange(port, [exact])[0] == 200, parser
    status, data, closed = _exchange(port, [_request(headers=[b"x-fill: " + filler + b"v"])])
    assert (status, closed) == (431, True), (parser, data[:300])
    assert b"header block" in data


def test_a_64_kib_header_line_is_431_at_once_or_in_pieces(server) -> None:
    parser, port = server
    head = _request(headers=[b"x-big: " + b"v" * 65536])
    assert _exchange(port, [head])[0] == 431, parser
    pieces = [head[i : i + 1024] for i in range(0, len(head), 1024)]
    status, data, closed = _exchange(port, pieces, pause=0.001)
    assert (status, closed) == (431, True), (parser, data[:300])


def test_a_header_line_that_never_ends_is_refused_before_it_is_all_sent(server) -> None:
    """The server answers 431 while the client is still sending: it does not buffer it all."""
    parser, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nx-endless: ")
        answered = b""
        for _ in range(1000):  # up to ~1 MB, never the end of the line
            try:
                conn.sendall(b"v" * 1024)
            except (BrokenPipeError, ConnectionResetError):
                break
            conn.settimeout(0.001)
            with contextlib.suppress(TimeoutError):
                answered += conn.recv(4096)
            if answered:
                break
        conn.settimeout(5)
        try:
            while chunk := conn.recv(4096):
                answered += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert answered.startswith(b"HTTP/1.1 431 "), (parser, answered[:200])


def test_after_the_refusals_the_server_still_serves(server) -> None:
    parser, port = server
    assert _exchange(port, [_request()])[0] == 200, parser
