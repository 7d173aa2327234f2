"""(d) /predict throughput and latency over TLS, against the raw model called in process.

Harness: the real harness process serving the ONNX demo model on 127.0.0.1 (TLS, bearer
token, `HARNESS_RATE_LIMIT=0`, default `HARNESS_WORKERS` set explicitly, default log level).
Load: asyncio in this process with a minimal HTTP/1.1 client over TLS (`_Connection`),
keep-alive, one connection per client;
each of C clients sends seed 003's request (`{"reviews": [3 reviews]}`) and waits for the
answer before sending the next. Every client first sends 2 unmeasured requests (TLS
handshakes, warm caches). Then the measured phase stops at `max_requests` requests or
`max_seconds`, whichever comes first. rps = completed requests / wall seconds of the
measured phase; p50/p99 are nearest-rank percentiles of per-request latency (send to
full response read). Client and server share the same 2 cores, so the client's own CPU
time is part of what limits the numbers.

Raw model: the served model's `score_reviews` on the same 3 reviews, called in this process
in a loop (no HTTP, no JSON, no TLS): calls/s and per-call latency. The harness's overhead at
C clients = raw calls/s / harness rps (how many times more requests the bare model would
answer per second) and harness p50 / raw p50. No target.

Floor (issue 12, `harness.throughput`): `wrk -t1` at 1 and 16 connections against the
harness and against a bare uvicorn + Starlette app on the same TLS certificate that checks
the token, parses the JSON and scores it with the same ONNX session, in as many worker
processes as the harness; alternating runs of 3 s, best of 3 each; ratio = harness / bare,
target >= 0.8. Then the same against the bare app returning constants (no model): that ratio
shows the model's share of a request, not the harness's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.bench.common import compare, percentile, rnd
from infra.errors import UserError

SEED_REVIEWS = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]
WARMUP_PER_CLIENT = 2
FLOOR_TARGET = {
    "value": 0.8,
    "comparison": ">=",
    "description": "harness at >= 80% of the bare app's req/s at 16 connections (issue 12)",
}
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


def raw_model(model_dir: Path, *, max_calls: int, max_seconds: float) -> dict[str, Any]:
    """The bare ONNX session's score of seed 003's reviews, in a loop (what /predict wraps)."""
    from harness.onnx_runtime import load_model_dir, read_model_dir

    model = load_model_dir(read_model_dir(model_dir), workers=1)
    for _ in range(20):
        model.score_reviews(SEED_REVIEWS)
    latencies: list[float] = []
    started = time.perf_counter()
    while len(latencies) < max_calls and time.perf_counter() - started < max_seconds:
        t0 = time.perf_counter()
        model.score_reviews(SEED_REVIEWS)
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - started
    return {
        "calls": len(latencies),
        "seconds": rnd(wall, 4),
        "calls_per_second": rnd(len(latencies) / wall),
        "reviews_per_second": rnd(len(latencies) * len(SEED_REVIEWS) / wall),
        "p50_ms": rnd(percentile(latencies, 50) * 1000),
        "p99_ms": rnd(percentile(latencies, 99) * 1000),
    }


class _Connection:
    """One keep-alive HTTP/1.1 connection over TLS speaking just enough of the protocol.

    A hand-rolled client because the load generator shares the 2 cores with the harness:
    httpx costs ~2 ms of CPU per request here (more than the harness itself) and its pool
    slows down further with 64 connections, so it measured httpx rather than the harness.
    Every response is read completely (Content-Length, which the harness always sends).
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int, context: ssl.SSLContext) -> _Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        match = _CONTENT_LENGTH.search(head)
        if match is None:
            raise UserError(f"response without Content-Length: {head[:200]!r}")
        body = await self.reader.readexactly(int(match.group(1)))
        return status, body

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await self.writer.wait_closed()


def predict_request(port: int, token: str) -> bytes:
    body = json.dumps({"reviews": SEED_REVIEWS}).encode()
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _load(
    port: int,
    context: ssl.SSLContext,
    token: str,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
) -> dict[str, Any]:
    request = predict_request(port, token)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    issued = 0
    started = 0.0
    connections = [await _Connection.open(port, context) for _ in range(concurrency)]
    try:
        status, body = await connections[0].exchange(request)
        scores = json.loads(body) if status == 200 else None
        if not (isinstance(scores, list) and len(scores) == len(SEED_REVIEWS)):
            raise UserError(f"/predict answered {status}: {body[:200]!r}")

        async def warm(conn: _Connection) -> None:
            for _ in range(WARMUP_PER_CLIENT):
                status, _ = await conn.exchange(request)
                if status != 200:
                    raise UserError(f"/predict answered {status} during warm-up")

        async def worker(conn: _Connection) -> None:
            nonlocal issued
            while issued < max_requests and time.perf_counter() - started < max_seconds:
                issued += 1
                t0 = time.perf_counter()
                status, _ = await conn.exchange(request)
                latencies.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1

        await asyncio.gather(*(warm(c) for c in connections))
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        wall = time.perf_counter() - started
    finally:
        for conn in connections:
            await conn.close()
    ok = statuses.get(200, 0)
    return {
        "concurrency": concurrency,
        "requests": len(latencies),
        "ok": ok,
        "errors": len(latencies) - ok,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "seconds": rnd(wall, 4),
        "rps": rnd(len(latencies) / wall),
        "p50_ms": rnd(percentile(latencies, 50) * 1000),
        "p99_ms": rnd(percentile(latencies, 99) * 1000),
    }


def load_levels(
    port: int,
    ca_cert: Path,
    token: str,
    *,
    levels: tuple[int, ...],
    max_requests: int,
    max_seconds: float,
    say: Callable[[str], None],
) -> list[dict[str, Any]]:
    context = ssl.create_default_context(cafile=str(ca_cert))
    rows = []
    for concurrency in levels:
        row = asyncio.run(_load(port, context, token, concurrency, max_requests, max_seconds))
        rows.append(row)
        say(
            f"(d) {concurrency} client(s): {row['rps']:.0f} req/s, p50 {row['p50_ms']:.2f} ms, "
            f"p99 {row['p99_ms']:.2f} ms ({row['requests']} requests, {row['errors']} errors)"
        )
    return rows


def summarize(
    raw: dict[str, Any], rows: list[dict[str, Any]], model: str, versus_bare: dict[str, Any]
) -> dict[str, Any]:
    """The section. Its judged figure is the floor at the most connections measured (16)."""
    for row in rows:
        row["overhead_ratio"] = rnd(raw["calls_per_second"] / row["rps"]) if row["rps"] else None
        row["latency_ratio_p50"] = rnd(row["p50_ms"] / raw["p50_ms"])
    floor = versus_bare.get("by_connections") or {}
    most = max(floor, key=int, default=None)
    value = floor[most]["ratio"] if most is not None else None
    return {
        "title": "/predict over TLS vs the raw model in process, and the harness's floor",
        "definition": __doc__,
        "model": model,
        "request": {"reviews": SEED_REVIEWS},
        "raw_model": raw,
        "rows": rows,
        "throughput_vs_bare": versus_bare,
        "figure": {
            "description": (
                "harness req/s / bare app req/s (same ONNX session, same workers, wrk), "
                f"at {most} connection(s)"
            ),
            "unit": "ratio",
            "values": {f"{n} connections": r["ratio"] for n, r in floor.items()},
            "aggregate": f"at {most} connections",
            "value": value,
        },
        "target": FLOOR_TARGET,
        # None without wrk: no number, no verdict
        "meets_target": None
        if value is None
        else compare(value, FLOOR_TARGET["comparison"], FLOOR_TARGET["value"]),
    }
