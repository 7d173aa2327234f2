"""The harness HTTP application: the gate (harness/gate.py) in front of the routes.

`create_app` wires them: `gate.app` is the FastAPI application of harness/routes.py,
metrics are harness/metrics.py, the request schema harness/schema.py. Every error is a
JSON object `{"error": <code>, "message": <what was wrong>}` with a 4xx status; bad
input never reaches a 5xx.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence

from harness.auth import TokenStore
from harness.gate import Gate, Limits
from harness.metrics import Metrics
from harness.ratelimit import RateLimiter
from harness.routes import Predictor, build_routes
from harness.schema import SEED_EXAMPLE
from harness.state import ModelState

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
    return Gate(
        build_routes(state, predictor),
        fast_predict=predictor.asgi,
        tokens=tokens,
        limiter=limiter,
        limits=limits,
        metrics=metrics,
        trusted_proxies=trusted_proxies,
    )
