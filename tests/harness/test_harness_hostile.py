"""Issue 12: the harness against a hostile client, over TLS against the real process.

One test (or group) per finding: request smuggling, forwarded-for spoofing, unbounded
metric labels, phantom 5xx, connections held forever, third-party script on /docs. Each
ends by checking that the server still serves.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness_testlib import (
    SEED_REVIEWS,
    Emulators,
    HarnessProcess,
    harness_env,
    new_token,
    run_harness,
    wait_for,
)

from harness.client import HarnessClient
from infra.local.gcs import free_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


class Served:
    def __init__(self, proc: HarnessProcess, token: str, tls) -> None:
        self.proc = proc
        self.token = token
        self.tls = tls
        host, port = proc.url.removeprefix("https://").split(":")
        self.host, self.port = host, int(port)

    def client(self, token: str | None = None) -> HarnessClient:
        return HarnessClient(self.proc.url, self.tls.ca, token or self.token, timeout=10)

    def connect(self, timeout: float = 10.0) -> ssl.SSLSocket:
        context = ssl.create_default_context(cafile=str(self.tls.ca))
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        return context.wrap_socket(sock, server_hostname=self.host)

    def exchange(self, request: bytes, *, wait: float = 4.0) -> tuple[bytes, bool]:
        """Send raw bytes; read until the server closes or `wait` passes: (bytes, closed)."""
        with self.connect(timeout=wait) as conn:
            conn.sendall(request)
            return read_until_closed(conn)

    def still_serves(self) -> None:
        great, okay, terrible = self.client().predict(SEED_REVIEWS)
        assert great > okay > terrible

    def metrics(self) -> str:
        status, body, _ = self.client().request("GET", "/metrics")
        assert status == 200
        return str(body)


def read_until_closed(conn: ssl.SSLSocket) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        try:
            data = conn.recv(65536)
        except TimeoutError:
            return b"".join(chunks), False
        except (ConnectionResetError, ssl.SSLError, OSError):
            return b"".join(chunks), True
        if not data:
            return b"".join(chunks), True
        chunks.append(data)


@pytest.fixture(scope="module")
def start(emulators: Emulators, seal, tls, tmp_path_factory) -> Iterator[Callable[..., Served]]:
    """start(**env) -> a running harness with extra HARNESS_* settings; stopped at the end."""
    report = seal()
    stack = contextlib.ExitStack()

    def _start(**extra: str) -> Served:
        root = tmp_path_factory.mktemp("hostile")
        token = new_token()
        (root / "token").write_text(token)
        env = harness_env(emulators, tls, root / "token", free_port(), report.dest, **extra)
        proc = stack.enter_context(run_harness(env, root / "harness.log"))
        served = Served(proc, token, tls)
        probe = served.client()
        assert wait_for(lambda: probe.ready() or proc.proc.poll() is not None), proc.output()
        assert proc.proc.poll() is None, proc.output()
        return served

    with stack:
        yield _start


@pytest.fixture(scope="module")
def served(start) -> Served:
    return start(HARNESS_RATE_LIMIT="0")


# 1. request smuggling ---------------------------------------------------------------------

_TE_SPELLINGS = [
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: CHUNKED\r\n",
    b"Transfer-Encoding:\tchunked\r\n",
    b"Transfer-Encoding: chunked \r\n",
    b"Transfer-Encoding:\r\n chunked\r\n",  # obs-fold
]


@pytest.mark.parametrize("te", _TE_SPELLINGS, ids=["plain", "upper", "tab", "trailing", "fold"])
def test_content_length_with_transfer_encoding_is_refused_and_closed(served, te):
    hidden = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    chunked = b"0\r\n\r\n" + hidden
    request = (
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Authorization: Bearer {served.token}\r\n".encode()
        + f"Content-Length: {len(chunked)}\r\n".encode()
        + te
        + b"\r\n"
        + chunked
    )
    raw, closed = served.exchange(request)
    assert raw.startswith(b"HTTP/1.1 400"), raw[:200]
    assert raw.count(b"HTTP/1.1 ") == 1, raw  # the hidden request is never answered
    assert closed, "the connection must be closed after ambiguous framing"
    served.still_serves()


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 65536 + b"\r\n\r\n", 431),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"A: b\r\n" * 20_000 + b"\r\n", 431),
        (b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ],
    ids=["64-kib-header-line", "20000-headers", "100-kb-target"],
)
def test_oversized_request_heads_are_refused_and_closed_over_tls(served, request_head, status):
    raw, closed = served.exchange(request_head)
    assert raw.startswith(b"HTTP/1.1 %d " % status), raw[:200]
    assert closed, "the connection must be closed after an oversized head"
    served.still_serves()


# 2. X-Forwarded-For -------------------------------------------------------------------------


def _check(served: Served, forwarded: str) -> int:
    return served.client().request("GET", "/check", headers={"X-Forwarded-For": forwarded})[0]


def test_forwarded_for_from_an_untrusted_peer_does_not_reset_the_limit(start):
    served = start(HARNESS_RATE_LIMIT="3")
    statuses = [_check(served, f"198.51.100.{i}") for i in range(6)]
    assert 429 in statuses, statuses
    served.client().request("GET", "/healthz")  # probes are never limited


def test_trusted_proxy_hops_give_each_client_its_own_bucket(start):
    served = start(HARNESS_RATE_LIMIT="3", HARNESS_TRUSTED_PROXIES="127.0.0.0/8, 10.1.0.0/16")
    # the rightmost untrusted address is the client; a spoofed left part changes nothing
    assert [_check(served, f"203.0.113.{i}, 10.1.2.3") for i in range(5)] == [200] * 5
    same = [_check(served, f"192.0.2.{i}, 198.51.100.7, 10.1.0.9") for i in range(5)]
    assert same[:3] == [200] * 3 and 429 in same[3:], same
    served.still_serves()


# 4. phantom 5xx ---------------------------------------------------------------------------


def test_broken_bodies_are_not_counted_as_500s_and_probes_do_not_log_errors(served):
    auth = f"Authorization: Bearer {served.token}\r\n".encode()
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth
    served.exchange(head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n", wait=2)
    with served.connect() as conn:  # disconnects mid-body
        conn.sendall(head + b"Content-Length: 1000\r\n\r\n" + b'{"reviews": ["')
        time.sleep(0.3)
    for path in (b"/healthz", b"/readyz"):
        served.exchange(
            b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            wait=2,
        )
    time.sleep(0.5)
    text = served.metrics()
    assert not re.search(r'code="500"', text), [
        line for line in text.splitlines() if 'code="500"' in line
    ]
    log = served.proc.output()
    assert '"severity": "ERROR"' not in log and "Traceback" not in log, log[-3000:]
    served.still_serves()


# 5. connections held forever ----------------------------------------------------------------


def test_silent_and_slow_clients_are_dropped(start):
    served = start(HARNESS_HEADER_TIMEOUT="1", HARNESS_BODY_TIMEOUT="1")
    started = time.monotonic()
    with served.connect(timeout=8) as conn:  # TLS done, then nothing
        _, closed = read_until_closed(conn)
    assert closed and time.monotonic() - started < 6
    started = time.monotonic()
    with served.connect(timeout=8) as conn:  # headers one byte at a time
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
            try:
                conn.sendall(bytes([byte]))
                conn.settimeout(0.1)
                closed = conn.recv(1) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
            if closed:
                break
    assert closed and time.monotonic() - started < 8
    with served.connect(timeout=8) as conn:  # a body that never finishes
        conn.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {served.token}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"rev'
        )
        _, closed = read_until_closed(conn)
    assert closed
    served.still_serves()


def test_connections_beyond_the_cap_are_closed(start):
    # 2 workers x 2 connections: of 6 idle connections at most 4 stay open
    served = start(HARNESS_MAX_CONNECTIONS="2", HARNESS_HEADER_TIMEOUT="60", HARNESS_WORKERS="2")
    held, closed = [], 0
    try:
        for _ in range(6):
            conn = served.connect(timeout=5)
            conn.settimeout(0.5)
            try:
                gone = conn.recv(1) == b""
            except TimeoutError:
                gone = False
            except OSError:
                gone = True
            if gone:
                closed += 1
                conn.close()
            else:
                held.append(conn)
        assert len(held) <= 4 and closed >= 2, (len(held), closed)
    finally:
        for conn in held:
            conn.close()
    assert wait_for(lambda: served.client().request("GET", "/healthz")[0] == 200, timeout=10)
    served.still_serves()


# 3 and 6, in process ------------------------------------------------------------------------


@pytest.fixture
def api(tmp_path, loaded_model) -> Iterator[tuple[TestClient, str]]:
    from harness.app import Limits, ModelState, create_app
    from harness.auth import TokenStore
    from harness.ratelimit import RateLimiter

    token = new_token()
    path = Path(tmp_path / "token")
    path.write_text(token)
    tokens = TokenStore(path)
    tokens.load()
    state = ModelState()
    state.set_loaded(loaded_model)
    app = create_app(
        state=state, tokens=tokens, limiter=RateLimiter(0), limits=Limits(65536, 8, 500)
    )
    with TestClient(app, base_url="https://harness.test") as client:
        yield client, token


def test_metric_labels_come_from_fixed_sets(api):
    client, token = api
    for i in range(20):
        client.request(f"FOOBAR{i}", "/healthz")
        client.get(f"/no-such-path-{i}")
    text = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).text
    assert "FOOBAR" not in text and "no-such-path" not in text
    assert 'method="other"' in text and 'path="other"' in text
    series = [line for line in text.splitlines() if line.startswith("harness_http_requests_total")]
    assert len(series) <= 4, series


def test_no_third_party_script_and_the_openapi_json_stays(api):
    client, token = api
    assert client.get("/docs", headers={"Authorization": f"Bearer {token}"}).status_code == 404
    for path in ("/", "/ui.js", "/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200
        assert "cdn." not in response.text and "<script>" not in response.text
    assert "/predict" in client.get("/openapi.json").json()["paths"]


# workers: one decryption, then fork -------------------------------------------------------


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_workers_share_one_decryption_and_are_replaced(start):
    served = start(HARNESS_WORKERS="2")
    parent = served.proc.proc.pid
    assert wait_for(lambda: len(_children(parent)) == 2, timeout=10), served.proc.output()
    first = _children(parent)
    os.kill(first[0], signal.SIGKILL)
    assert wait_for(
        lambda: len(_children(parent)) == 2 and first[0] not in _children(parent), timeout=15
    )
    for _ in range(6):  # new connections reach both the old and the new worker
        served.still_serves()
    log = served.proc.output()
    assert log.count("keyset unwrapped") == 1, log  # KMS was asked once: no second decryption
    assert "forking a replacement from the loaded model" in log


def _predictions_counted(text: str) -> float:
    prefix = 'harness_http_requests_total{code="200",method="POST",path="/predict"} '
    line = next((line for line in text.splitlines() if line.startswith(prefix)), prefix + "0")
    return float(line.removeprefix(prefix))


def test_metrics_count_every_worker_whichever_answers_the_scrape(start):
    served = start(HARNESS_WORKERS="2")
    parent = served.proc.proc.pid
    assert wait_for(lambda: len(_children(parent)) == 2, timeout=10), served.proc.output()
    before = _predictions_counted(served.metrics())
    for _ in range(6):  # new connections: the two workers share them
        served.still_serves()
    # every scrape, answered by either worker, reports the pod's total
    seen = [_predictions_counted(served.metrics()) for _ in range(5)]
    assert seen == [before + 6] * 5, seen
