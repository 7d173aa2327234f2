"""The throughput floor's bare app does the work the harness does, and no more (issue 12).

The floor is a ratio, so it is only as honest as its denominator: these tests pin what the
bare app answers (the model's own scores, behind the same bearer check) and how `compare`
turns wrk's runs into a ratio.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from harness import throughput

TOKEN = "t" * 43
REVIEWS = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]


def _post(app: object, token: str = TOKEN) -> tuple[int, object]:
    with TestClient(app) as client:  # type: ignore[arg-type]
        response = client.post(
            "/predict", json={"reviews": REVIEWS}, headers={"authorization": f"Bearer {token}"}
        )
    return response.status_code, response.json()


def test_bare_app_scores_with_the_served_model(model_dir: Path, loaded_model: object) -> None:
    status, body = _post(throughput.bare_app(TOKEN, model_dir))
    assert status == 200
    expected = loaded_model.model.score_reviews(REVIEWS)  # type: ignore[attr-defined]
    assert [row[0] for row in body] == pytest.approx([row[0] for row in expected], abs=1e-6)
    # the demo model orders the seed reviews; constants would not
    assert body[0][0] > body[1][0] > body[2][0]


def test_bare_app_without_a_model_returns_constants() -> None:
    assert _post(throughput.bare_app(TOKEN)) == (200, [[0.5], [0.5], [0.5]])


def test_bare_app_checks_the_token(model_dir: Path) -> None:
    status, body = _post(throughput.bare_app(TOKEN, model_dir), token="x" * 43)
    assert (status, body) == (401, {"error": "unauthorized"})


def test_compare_takes_the_best_run_of_each(monkeypatch: pytest.MonkeyPatch) -> None:
    rates = {"https://h": iter([900.0, 1000.0, 950.0]), "https://b": iter([1250.0, 1100.0, 1200.0])}
    monkeypatch.setattr(throughput, "wrk_rate", lambda url, *_: next(rates[url]))
    result = throughput.compare("https://h", "https://b", TOKEN, connections=(16,), repeats=3)
    assert result["16"]["harness"] == 1000.0
    assert result["16"]["bare"] == 1250.0
    assert result["16"]["ratio"] == 0.8
    assert result["16"]["runs"] == {
        "harness": [900.0, 1000.0, 950.0],
        "bare": [1250.0, 1100.0, 1200.0],
    }


def test_compare_without_wrk_reports_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throughput, "wrk_rate", lambda *_: None)
    result = throughput.compare("https://h", "https://b", TOKEN, connections=(1,), repeats=2)
    assert result["1"] == {
        "harness": None,
        "bare": None,
        "ratio": None,
        "runs": {"harness": [], "bare": []},
    }
