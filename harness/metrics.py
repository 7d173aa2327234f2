"""Prometheus series of the harness, with labels drawn from fixed sets only, summed over workers.

A label value is never taken from the request as sent: an unknown method is `other`, an
unknown path is `other`, a status outside the ones the harness answers is `other`. So a
client cannot create series (issue 12: `FOOBAR1 /healthz` used to add one per method),
and the number of series has a fixed upper bound.

Because that bound is fixed, every counter and histogram value has a fixed place in one
table of float64s in shared anonymous memory (`SharedTable`), created before the workers
are forked, with one row per process (the loading parent, then each worker slot; a
replacement worker continues its slot's row). A process only ever adds to its own row, and
`/metrics`, whichever worker answers it, reports the sum of the rows: a scrape sees the
whole pod, never one worker, and nothing is written to a file. The gauges (model ready,
size, load time) describe the one shared model and are set by the scraping process.

Each app has its own `Metrics` (and registry) so several apps can coexist in tests.
"""

from __future__ import annotations

import bisect
import mmap
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from harness.auth import AuthResult
from harness.contract import OPENAPI_PATH, PROBE_PATHS

ROUTE_PATHS: frozenset[str] = frozenset(
    {*PROBE_PATHS, "/check", "/predict", "/metrics", "/", "/ui.js", "/ui.css", OPENAPI_PATH}
)
# Open Inference Protocol routes: one label per route, never the model name or version sent.
V2_FIXED = frozenset({"/v2/health/live", "/v2/health/ready"})
_V2_MODEL = re.compile(r"/v2/models/[^/]+(?:/versions/[^/]+)?(/ready|/infer)?")


def v2_label(path: str) -> str:
    """`/v2/models/{name}[/versions/{v}][/ready|/infer]` -> its route template, else `other`."""
    if path in V2_FIXED:
        return path
    match = _V2_MODEL.fullmatch(path)
    return "/v2/models/{name}" + (match.group(1) or "") if match else OTHER


METHODS: frozenset[str] = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CODES: frozenset[int] = frozenset({200, 400, 401, 403, 404, 405, 408, 413, 415, 422, 429, 500, 503})
OTHER = "other"
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def path_label(path: str) -> str:
    if path in ROUTE_PATHS:
        return path
    return v2_label(path) if path.startswith("/v2/") else OTHER


def method_label(method: str) -> str:
    return method if method in METHODS else OTHER


# Every path label a series can carry (ROUTE_PATHS, the v2 route templates, `other`).
PATH_LABELS: tuple[str, ...] = (
    *sorted(ROUTE_PATHS),
    *sorted(V2_FIXED),
    "/v2/models/{name}",
    "/v2/models/{name}/ready",
    "/v2/models/{name}/infer",
    OTHER,
)
METHOD_LABELS: tuple[str, ...] = (*sorted(METHODS), OTHER)
CODE_LABELS: tuple[str, ...] = (*(str(c) for c in sorted(CODES)), OTHER)
# Why a request was refused by the bearer check: every AuthResult but OK.
AUTH_REASONS: tuple[str, ...] = tuple(r.value for r in AuthResult if r is not AuthResult.OK)


class SharedTable:
    """Rows of float64 columns in shared anonymous memory, one row per process.

    Created before `fork`, so every worker maps the same pages. A process adds only to its
    own row (`row`), under a lock of its own (the event loop and the inference threads);
    readers sum a column over all rows. A torn read is impossible for an aligned 8-byte
    value on the platforms the image runs on, and a sum that misses an add in flight is
    just a scrape taken a microsecond earlier."""

    def __init__(self, rows: int, columns: int) -> None:
        if rows < 1 or columns < 1:
            raise ValueError(f"a table needs rows and columns, got {rows} x {columns}")
        self.rows, self.columns = rows, columns
        self._memory = mmap.mmap(-1, rows * columns * 8, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        self._cells = memoryview(self._memory).cast("d")
        self._lock = threading.Lock()
        self.row = 0

    def use_row(self, row: int) -> None:
        """Write to `row` from now on (each worker after fork; a replacement continues it)."""
        if not 0 <= row < self.rows:
            raise ValueError(f"row {row} outside 0..{self.rows - 1}")
        self.row = row

    def add(self, column: int, amount: float = 1.0) -> None:
        index = self.row * self.columns + column
        with self._lock:
            self._cells[index] += amount

    def add_one_each(self, first: int, second: int, column: int, amount: float) -> None:
        """One request's three adds under one lock: +1, +1, and `amount` to `column`."""
        base = self.row * self.columns
        cells = self._cells
        with self._lock:
            cells[base + first] += 1.0
            cells[base + second] += 1.0
            cells[base + column] += amount

    def total(self, column: int) -> float:
        return sum(self._cells[column :: self.columns])


class _Counter:
    """A counter (optionally with one fixed-set label) whose values live in a SharedTable."""

    def __init__(self, table: SharedTable, column: int, labels: Sequence[str] = ()) -> None:
        self._table, self._column = table, column
        self._index = {value: column + i for i, value in enumerate(labels)}

    def inc(self, amount: float = 1.0) -> None:
        self._table.add(self._column, amount)

    def labels(self, value: str) -> _Counter:
        return _Counter(self._table, self._index[value])


class Metrics:
    """The harness's series; `observe` records one response that was actually sent."""

    # Column layout of the shared table (fixed by the label sets above).
    _REQUESTS = 0
    _N_REQUESTS = len(PATH_LABELS) * len(METHOD_LABELS) * len(CODE_LABELS)
    _LATENCY = _REQUESTS + _N_REQUESTS  # per path: one count per bucket, +Inf, then the sum
    _PER_PATH = len(_BUCKETS) + 2
    _REVIEWS = _LATENCY + len(PATH_LABELS) * _PER_PATH
    _AUTH = _REVIEWS + 1
    _RATE_LIMITED = _AUTH + len(AUTH_REASONS)
    _FRAMING = _RATE_LIMITED + 1
    COLUMNS = _FRAMING + 1

    def __init__(self, table: SharedTable | None = None) -> None:
        """`table`: shared with the other processes of the pod; default one private row."""
        self.table = table or SharedTable(1, self.COLUMNS)
        if self.table.columns != self.COLUMNS:
            raise ValueError(f"the table has {self.table.columns} columns, not {self.COLUMNS}")
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.reviews = _Counter(self.table, self._REVIEWS)
        self.auth_failures = _Counter(self.table, self._AUTH, AUTH_REASONS)
        self.rate_limited = _Counter(self.table, self._RATE_LIMITED)
        self.refused_framing = _Counter(self.table, self._FRAMING)
        self.model_ready = Gauge(
            "harness_model_ready", "1 once the model is decrypted and verified", registry=r
        )
        self.model_bytes = Gauge(
            "harness_model_plaintext_bytes", "Size of the loaded plaintext", registry=r
        )
        self.load_seconds = Gauge(
            "harness_model_load_seconds", "Seconds from start of load to verified", registry=r
        )
        r.register(_PodCollector(self))
        self._columns: dict[tuple[str, str, int], tuple[int, int]] = {}

    def observe(self, path: str, method: str, status: int, seconds: float) -> None:
        key = (path, method, status)
        pair = self._columns.get(key)
        if pair is None:
            p = PATH_LABELS.index(path_label(path))
            m = METHOD_LABELS.index(method_label(method))
            c = CODE_LABELS.index(str(status) if status in CODES else OTHER)
            pair = (
                self._REQUESTS + (p * len(METHOD_LABELS) + m) * len(CODE_LABELS) + c,
                self._LATENCY + p * self._PER_PATH,
            )
            if path in ROUTE_PATHS and method in METHODS:
                self._columns[key] = pair  # bounded: fixed paths x methods x codes
        requests, latency = pair
        # the first bucket whose upper bound holds `seconds` (le is inclusive), else +Inf
        bucket = bisect.bisect_left(_BUCKETS, seconds)
        self.table.add_one_each(requests, latency + bucket, latency + len(_BUCKETS) + 1, seconds)

    def families(self) -> Iterator[Any]:
        """The counters and the histogram, summed over every process's row."""
        total = self.table.total
        requests = CounterMetricFamily(
            "harness_http_requests",
            "HTTP responses sent, by path, method and status code",
            labels=["path", "method", "code"],
        )
        column = self._REQUESTS
        for path in PATH_LABELS:
            for method in METHOD_LABELS:
                for code in CODE_LABELS:
                    value = total(column)
                    if value:
                        requests.add_metric([path, method, code], value)
                    column += 1
        yield requests
        latency = HistogramMetricFamily(
            "harness_http_request_duration_seconds", "Request latency by path", labels=["path"]
        )
        for i, path in enumerate(PATH_LABELS):
            base = self._LATENCY + i * self._PER_PATH
            counts = [total(base + b) for b in range(len(_BUCKETS) + 1)]
            if not any(counts):
                continue
            cumulative, running = [], 0.0
            for le, count in zip((*_BUCKETS, float("inf")), counts, strict=True):
                running += count
                cumulative.append((floatToGoString(le), running))
            latency.add_metric([path], cumulative, total(base + len(_BUCKETS) + 1))
        yield latency
        yield _counter("harness_reviews_scored", "Reviews scored by /predict", total(self._REVIEWS))
        auth = CounterMetricFamily(
            "harness_auth_failures",
            "Requests refused for a missing or invalid token",
            labels=["reason"],
        )
        for i, reason in enumerate(AUTH_REASONS):
            auth.add_metric([reason], total(self._AUTH + i))
        yield auth
        yield _counter(
            "harness_rate_limited", "Requests refused by the rate limit", total(self._RATE_LIMITED)
        )
        yield _counter(
            "harness_refused_framing",
            "Requests refused for ambiguous framing (Content-Length and Transfer-Encoding)",
            total(self._FRAMING),
        )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


class _PodCollector:
    """Registry collector for the shared series (prometheus_client's custom-collector API)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Any]:
        return self._metrics.families()

    def describe(self) -> list[Any]:
        return []  # not known ahead: collected at scrape time
