"""Prometheus series of the harness, with labels drawn from fixed sets only.

A label value is never taken from the request as sent: an unknown method is `other`, an
unknown path is `other`, a status outside the ones the harness answers is `other`. So a
client cannot create series (issue 12: `FOOBAR1 /healthz` used to add one per method),
and the number of series has a fixed upper bound. Each app has its own registry so
several apps can coexist in tests. Label children are bound once and cached: the hot
path does one dict lookup instead of `labels()` (a lock and a tuple per call).
"""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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


class Metrics:
    """The harness's series; `observe` records one response that was actually sent."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "harness_http_requests",
            "HTTP responses sent, by path, method and status code",
            ["path", "method", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "harness_http_request_duration_seconds",
            "Request latency by path",
            ["path"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.reviews = Counter("harness_reviews_scored", "Reviews scored by /predict", registry=r)
        self.auth_failures = Counter(
            "harness_auth_failures",
            "Requests refused for a missing or invalid token",
            ["reason"],
            registry=r,
        )
        self.rate_limited = Counter(
            "harness_rate_limited", "Requests refused by the rate limit", registry=r
        )
        self.refused_framing = Counter(
            "harness_refused_framing",
            "Requests refused for ambiguous framing (Content-Length and Transfer-Encoding)",
            registry=r,
        )
        self.model_ready = Gauge(
            "harness_model_ready", "1 once the model is decrypted and verified", registry=r
        )
        self.model_bytes = Gauge(
            "harness_model_plaintext_bytes", "Size of the loaded plaintext", registry=r
        )
        self.load_seconds = Gauge(
            "harness_model_load_seconds", "Seconds from start of load to verified", registry=r
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, path: str, method: str, status: int, seconds: float) -> None:
        key = (path, method, status)
        pair = self._children.get(key)
        if pair is None:
            plabel = path_label(path)
            code = str(status) if status in CODES else OTHER
            pair = (
                self.requests.labels(plabel, method_label(method), code),
                self.latency.labels(plabel),
            )
            if path in ROUTE_PATHS and method in METHODS:
                self._children[key] = pair  # bounded: fixed paths x methods x codes
        pair[0].inc()
        pair[1].observe(seconds)
