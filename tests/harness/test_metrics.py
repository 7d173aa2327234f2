"""The metrics table: shared across fork, one row per process, summed at scrape; fixed labels."""

from __future__ import annotations

import os

import pytest
from prometheus_client import generate_latest

from harness.metrics import Metrics, SharedTable


def _scrape(metrics: Metrics) -> dict[str, float]:
    """`name{labels}` -> value of every sample line."""
    out = {}
    for line in generate_latest(metrics.registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


PREDICT_OK = 'harness_http_requests_total{code="200",method="POST",path="/predict"}'


def test_a_forked_process_adds_to_the_same_table() -> None:
    metrics = Metrics(SharedTable(2, Metrics.COLUMNS))
    pid = os.fork()
    if pid == 0:  # the "worker": its own row, then gone
        try:
            metrics.table.use_row(1)
            for _ in range(3):
                metrics.observe("/predict", "POST", 200, 0.002)
            metrics.reviews.inc(9)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    metrics.observe("/predict", "POST", 200, 0.002)  # the parent, row 0
    scraped = _scrape(metrics)
    assert scraped[PREDICT_OK] == 4.0
    assert scraped["harness_reviews_scored_total"] == 9.0
    assert scraped['harness_http_request_duration_seconds_count{path="/predict"}'] == 4.0


def test_buckets_are_inclusive_and_cumulative() -> None:
    metrics = Metrics()
    for seconds in (0.0005, 0.0006, 3.0):
        metrics.observe("/predict", "POST", 200, seconds)
    scraped = _scrape(metrics)

    def bucket(le: str) -> float:
        return scraped[f'harness_http_request_duration_seconds_bucket{{le="{le}",path="/predict"}}']

    assert bucket("0.0005") == 1.0  # le is an upper bound that includes its value
    assert bucket("0.001") == 2.0
    assert bucket("2.5") == 2.0
    assert bucket("+Inf") == 3.0
    assert scraped['harness_http_request_duration_seconds_sum{path="/predict"}'] == pytest.approx(
        3.0011
    )


def test_labels_come_from_fixed_sets() -> None:
    metrics = Metrics()
    metrics.observe("/no-such-path", "FOOBAR1", 418, 0.001)
    metrics.observe("/v2/models/secret-name/versions/7/infer", "POST", 200, 0.001)
    metrics.auth_failures.labels("invalid").inc()
    scraped = _scrape(metrics)
    assert scraped['harness_http_requests_total{code="other",method="other",path="other"}'] == 1.0
    assert (
        scraped[
            'harness_http_requests_total{code="200",method="POST",path="/v2/models/{name}/infer"}'
        ]
        == 1.0
    )
    assert not any("secret-name" in name or "FOOBAR" in name for name in scraped)
    assert scraped['harness_auth_failures_total{reason="invalid"}'] == 1.0
    assert scraped['harness_auth_failures_total{reason="missing"}'] == 0.0


def test_a_row_outside_the_table_is_refused() -> None:
    table = SharedTable(3, Metrics.COLUMNS)
    with pytest.raises(ValueError, match=r"row 3 outside 0\.\.2"):
        table.use_row(3)
    with pytest.raises(ValueError, match="columns"):
        Metrics(SharedTable(1, 5))
