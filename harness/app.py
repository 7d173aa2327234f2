"""The harness HTTP application: the gate (harness/gate.py) in front of the routes.

`create_app` wires them: `gate.app` is the FastAPI application of harness/routes.py
plus the Open Inference Protocol routes of harness/v2routes.py,
metrics are harness/metrics.py, the request schema harness/schema.py. Every error is a
JSON object `{"error": <code>, "message": <what was wrong>}` with a 4xx status; bad
input never reaches a 5xx.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence

from harness import inference_protocol as oip
from harness.auth import TokenStore
from harness.gate import Gate, Limits
from harness.metrics import Metrics
from harness.ratelimit import RateLimiter
from harness.routes import Predictor, build_routes
from harness.schema import SEED_EXAMPLE
from harness.state import ModelState
from harness.v2routes import add_v2_routes

__all__ = ["SEED_EXAMPLE", "Gate", "Limits", "Metrics", "ModelState", "create_app"]


def create_app(
    *,
    state: ModelState,
    tokens: TokenStore,
    limiter: RateLimiter,
    limits: Limits,
    metrics: Metrics | None = None,
    infer_threads: int | None = None,
    trusted_proxies: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
) -> Gate:
    """Build the app behind its gate; the caller owns loading the model into `state`."""
    metrics = metrics or Metrics()
    threads = infer_threads or max(1, min(4, os.cpu_count() or 1))
    predictor = Predictor(state, limits, metrics, threads)
    routes = build_routes(state, predictor)
    v2_limits = oip.Limits(
        max_elements=limits.max_elements,
        max_string_chars=limits.max_review_chars,
        chunk_rows=limits.max_batch,
    )
    add_v2_routes(routes, state, v2_limits, threads)
    return Gate(
        routes,
        fast_predict=predictor.asgi,
        tokens=tokens,
        limiter=limiter,
        limits=limits,
        metrics=metrics,
        trusted_proxies=trusted_proxies,
    )
