"""The HTTP API in-process: auth and rotation, rate limit, every bad input, probes, docs."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from harness_testlib import SEED_REVIEWS, new_token

with warnings.catch_warnings():
    # starlette 1.x suggests httpx2 for its TestClient; httpx is what is pinned here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from harness.app import Limits, ModelState, create_app
from harness.auth import TokenStore
from harness.ratelimit import RateLimiter

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

LIMITS = Limits(max_body_bytes=64 * 1024, max_batch=8, max_review_chars=500)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    client: TestClient
    token: str
    token_path: Path
    state: ModelState
    clock: Clock
    make_client: Callable[[tuple[str, int]], TestClient]

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def predict(
        self, body: Any = None, *, raw: bytes | None = None, headers: dict[str, str] | None = None
    ):
        content = raw if raw is not None else json.dumps(body).encode()
        return self.client.post(
            "/predict",
            content=content,
            headers={"Content-Type": "application/json", **self.auth(), **(headers or {})},
        )

    def still_serves(self) -> None:
        response = self.predict({"reviews": SEED_REVIEWS})
        assert response.status_code == 200, response.text
        assert len(response.json()) == 3


def write_token(path: Path, *tokens: str) -> None:
    """Replace the file the way Kubernetes does: a new inode swapped in atomically."""
    tmp = path.with_name(path.name + ".new")
    tmp.write_text("\n".join(tokens) + "\n")
    os.replace(tmp, path)


@pytest.fixture
def make_api(tmp_path, loaded_model) -> Iterator[Callable[..., Api]]:
    clients: list[TestClient] = []

    def _make(rate_limit: int = 0, loaded: bool = True, limits: Limits = LIMITS) -> Api:
        token = new_token()
        token_path = tmp_path / f"token-{len(clients)}"
        write_token(token_path, token)
        tokens = TokenStore(token_path)
        tokens.load()
        state = ModelState()
        if loaded:
            state.set_loaded(loaded_model)
        clock = Clock()
        app = create_app(
            state=state, tokens=tokens, limiter=RateLimiter(rate_limit, clock=clock), limits=limits
        )

        def client_for(address: tuple[str, int]) -> TestClient:
            client = TestClient(app, base_url="https://harness.test", client=address)
            clients.append(client)
            return client

        return Api(client_for(("10.0.0.1", 40000)), token, token_path, state, clock, client_for)

    yield _make
    for client in clients:
        client.close()


# probes, public pages, auth ------------------------------------------------------------


def test_probes_need_no_token(make_api):
    api = make_api()
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").status_code == 200
    loading = make_api(loaded=False)
    assert loading.client.get("/healthz").status_code == 200
    response = loading.client.get("/readyz")
    assert response.status_code == 503 and response.json() == {"status": "loading"}


@pytest.mark.parametrize("path", ["/check", "/metrics"])
def test_missing_token_is_401_with_bearer_challenge(make_api, path):
    api = make_api()
    response = api.client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong-token-but-long-enough",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "bearer ",
        "Token abc",
        "Bearer caf\u00e9-token-long-enough".encode("latin-1"),
    ],
)
def test_wrong_credentials_are_401(make_api, header):
    api = make_api()
    response = api.client.get("/check", headers={"Authorization": header})
    assert response.status_code == 401
    assert "Bearer" in response.headers["www-authenticate"]
    api.still_serves()


def test_invalid_token_challenge_says_invalid_token(make_api):
    api = make_api()
    response = api.client.get("/check", headers=api.auth("x" * 32))
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert api.predict({"reviews": ["x"]}, headers=api.auth("x" * 32)).status_code == 401


def test_scheme_is_case_insensitive(make_api):
    api = make_api()
    assert (
        api.client.get("/check", headers={"Authorization": f"bEaReR {api.token}"}).status_code
        == 200
    )


@pytest.mark.parametrize("path", ["/", "/ui.js", "/ui.css", "/openapi.json"])
def test_public_pages_need_no_token(make_api, path):
    assert make_api().client.get(path).status_code == 200


def test_token_rotation_without_restart(make_api):
    api = make_api()
    assert api.client.get("/check", headers=api.auth()).status_code == 200
    rotated = new_token()
    write_token(api.token_path, rotated)
    assert api.client.get("/check", headers=api.auth()).status_code == 401
    assert api.client.get("/check", headers=api.auth(rotated)).status_code == 200
    # overlap: both old and new valid while clients move over
    third = new_token()
    write_token(api.token_path, rotated, third)
    assert api.client.get("/check", headers=api.auth(rotated)).status_code == 200
    assert api.client.get("/check", headers=api.auth(third)).status_code == 200


def test_token_file_problems_fail_closed(make_api):
    api = make_api()
    api.token_path.unlink()
    assert api.client.get("/check", headers=api.auth()).status_code == 401
    write_token(api.token_path, "short")
    assert api.client.get("/check", headers=api.auth("short")).status_code == 401
    fresh = new_token()
    write_token(api.token_path, fresh)
    assert api.client.get("/check", headers=api.auth(fresh)).status_code == 200


# rate limit ------------------------------------------------------------------------------


def test_rate_limit_per_client_with_retry_after(make_api):
    api = make_api(rate_limit=3)
    for _ in range(3):
        assert api.client.get("/check", headers=api.auth()).status_code == 200
    limited = api.client.get("/check", headers=api.auth())
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "20"  # 3/min -> one token per 20 s
    assert limited.json()["error"] == "rate_limited"
    other = api.make_client(("10.0.0.2", 40000))
    assert other.get("/check", headers=api.auth()).status_code == 200
    # probes are never limited: the kubelet must always get an answer
    assert all(api.client.get("/readyz").status_code == 200 for _ in range(5))
    api.clock.now += 20
    assert api.client.get("/check", headers=api.auth()).status_code == 200
    assert api.client.get("/check", headers=api.auth()).status_code == 429


def test_rate_limit_also_stops_token_guessing(make_api):
    api = make_api(rate_limit=2)
    for _ in range(2):
        assert api.client.get("/check", headers=api.auth("g" * 30)).status_code == 401
    assert api.client.get("/check", headers=api.auth()).status_code == 429


# predict ---------------------------------------------------------------------------------


def test_predict_matches_the_seed_shape_and_order(make_api):
    api = make_api()
    response = api.predict({"reviews": SEED_REVIEWS})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    scores = response.json()
    assert [len(row) for row in scores] == [1, 1, 1]
    great, okay, terrible = (row[0] for row in scores)
    assert 1 >= great > okay > terrible >= 0
    again = api.predict({"reviews": [SEED_REVIEWS[2], SEED_REVIEWS[0]]}).json()
    assert again == [[terrible], [great]]


def test_full_batch_and_edge_texts_are_accepted(make_api):
    api = make_api()
    reviews = [
        "",
        "   ",
        "!!!",
        "\u00e9\u00e8 \U0001f600",
        "x" * LIMITS.max_review_chars,
        "a\nb",
        "<script>",
        "null",
    ]
    response = api.predict({"reviews": reviews})
    assert response.status_code == 200 and len(response.json()) == LIMITS.max_batch
    assert all(0.0 <= row[0] <= 1.0 for row in response.json())


@pytest.mark.parametrize(
    ("raw", "status", "code", "message"),
    [
        (b'{"reviews": [', 400, "malformed_json", "malformed JSON"),
        (b"not json", 400, "malformed_json", "malformed JSON"),
        (b'{"reviews": ["caf\xe9"]}', 400, "invalid_utf8", "not valid UTF-8"),
        (b"\xff\xfe\x00\x00", 400, "invalid_utf8", "not valid UTF-8"),
        (b"", 400, "empty_body", "empty body"),
        (b"   ", 400, "empty_body", "empty body"),
        (
            b"[" * 50_000,
            400,
            "malformed_json",
            "malformed JSON",
        ),  # deep nesting, under the size cap
        (b'["The movie was great!"]', 422, "invalid_request", "body is a JSON array"),
        (b'"text"', 422, "invalid_request", "body is a JSON string"),
        (b"{}", 422, "invalid_request", "'reviews' is missing"),
        (b'{"reviews": "text"}', 422, "invalid_request", "must be an array of strings, got string"),
        (b'{"reviews": null}', 422, "invalid_request", "got null"),
        (b'{"reviews": NaN}', 422, "invalid_request", "got number"),
        (b'{"reviews": {"a": 1}}', 422, "invalid_request", "got object"),
        (
            b'{"reviews": ["ok", 3]}',
            422,
            "invalid_request",
            r"reviews\[1\] must be a string, got number",
        ),
        (b'{"reviews": [true]}', 422, "invalid_request", "got boolean"),
        (b'{"reviews": [["nested"]]}', 422, "invalid_request", "got array"),
        (b'{"reviews": [null]}', 422, "invalid_request", "got null"),
        (b'{"reviews": []}', 422, "invalid_request", "is empty"),
        (b'{"reviews": ["a"], "extra": 1}', 422, "invalid_request", "unexpected field 'extra'"),
        (b'{"review": ["a"]}', 422, "invalid_request", "unexpected field 'review'"),
        (b'{"reviews": ["\\ud800"]}', 422, "invalid_request", "surrogate"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_the_server_keeps_serving(
    make_api, raw, status, code, message
):
    api = make_api()
    response = api.predict(raw=raw)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    assert re.search(message, body["message"]), body["message"]
    api.still_serves()


def test_oversize_batch_and_long_review(make_api):
    api = make_api()
    response = api.predict({"reviews": ["a"] * (LIMITS.max_batch + 1)})
    assert response.status_code == 422 and "at most 8 per request" in response.json()["message"]
    response = api.predict({"reviews": ["ok", "x" * (LIMITS.max_review_chars + 1)]})
    assert (
        response.status_code == 422 and "reviews[1] is 501 characters" in response.json()["message"]
    )
    api.still_serves()


def test_huge_body_with_content_length_is_refused_before_reading(make_api):
    api = make_api()
    response = api.predict(raw=b"x" * (LIMITS.max_body_bytes + 1))
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert str(LIMITS.max_body_bytes + 1) in response.json()["message"]
    api.still_serves()


def test_huge_chunked_body_is_cut_off(make_api):
    api = make_api()
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(100):  # 100 x 4 KiB, well past the 64 KiB cap
            sent.append(1)
            yield b"[" + b"0," * 2047 + b"0]"

    response = api.client.post(
        "/predict", content=chunks(), headers={"Content-Type": "application/json", **api.auth()}
    )
    assert response.status_code == 413
    assert "exceeds the limit" in response.json()["message"]
    api.still_serves()


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_non_json_content_type_is_415(make_api, content_type):
    api = make_api()
    response = api.client.post(
        "/predict",
        content=json.dumps({"reviews": ["a"]}),
        headers={"Content-Type": content_type, **api.auth()},
    )
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"
    api.still_serves()


def test_a_missing_content_type_is_415_on_every_json_route(make_api):
    """No Content-Type is not JSON: /predict and /v2 infer both refuse it, and say so."""
    api = make_api()
    body = json.dumps({"reviews": ["a"]}).encode()
    for path in ("/predict", "/v2/models/sentiment-en/infer"):
        request = api.client.build_request("POST", path, content=body, headers=api.auth())
        request.headers.pop("content-type", None)  # httpx adds none for bytes; make sure
        response = api.client.send(request)
        assert response.status_code == 415, (path, response.text)
        assert "Content-Type is missing" in response.text, path
    described = api.client.get("/openapi.json").json()["paths"]
    for path in ("/predict", "/v2/models/{name}/infer"):
        assert "application/json" in described[path]["post"]["requestBody"]["content"]
        assert "+json" in described[path]["post"]["responses"]["415"]["description"], path
    api.still_serves()


def test_json_content_type_variants_are_accepted(make_api):
    api = make_api()
    for content_type in (
        "application/json; charset=utf-8",
        "application/vnd.api+json",
        "APPLICATION/JSON",
    ):
        response = api.predict({"reviews": ["fine"]}, headers={"Content-Type": content_type})
        assert response.status_code == 200, content_type


def test_unknown_path_and_method_are_json_4xx(make_api):
    api = make_api()
    missing = api.client.get("/nope", headers=api.auth())
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong_method = api.client.get("/predict", headers=api.auth())
    assert wrong_method.status_code == 405 and wrong_method.json()["error"] == "method_not_allowed"
    assert api.client.get("/nope").status_code == 401  # no probing without a token


def test_not_ready_answers_503_not_500(make_api):
    api = make_api(loaded=False)
    assert api.client.get("/check", headers=api.auth()).status_code == 503
    response = api.predict({"reviews": ["a"]})
    assert response.status_code == 503 and response.json()["error"] == "not_ready"
    assert api.predict({"reviews": 5}).status_code == 422  # input is still judged first


# check, metrics, docs, page ----------------------------------------------------------------


def test_check_reports_the_loaded_model(make_api, loaded_model):
    api = make_api()
    body = api.client.get("/check", headers=api.auth()).json()
    assert body["status"] == "ready"
    assert body["sha256"] == loaded_model.info["sha256"]
    assert body["model"]["name"] == "sentiment-en"


def test_metrics_count_requests_and_failures(make_api):
    api = make_api()
    api.predict({"reviews": SEED_REVIEWS})
    api.client.get("/check")
    for _ in range(4):
        api.client.get("/check", headers=api.auth())
    text = api.client.get("/metrics", headers=api.auth()).text
    assert 'harness_http_requests_total{code="200",method="POST",path="/predict"} 1.0' in text
    assert 'harness_auth_failures_total{reason="missing"} 1.0' in text
    assert "harness_reviews_scored_total 3.0" in text
    assert "harness_model_ready 1.0" in text
    assert "harness_rate_limited_total 0.0" in text


def test_rate_limited_counter_moves(make_api):
    api = make_api(rate_limit=1)
    api.client.get("/healthz")
    api.client.get("/check", headers=api.auth())
    assert api.client.get("/check", headers=api.auth()).status_code == 429
    api.clock.now += 60
    text = api.client.get("/metrics", headers=api.auth()).text
    assert "harness_rate_limited_total 1.0" in text


def test_openapi_documents_the_api_and_its_security(make_api):
    schema = make_api().client.get("/openapi.json").json()
    predict = schema["paths"]["/predict"]["post"]
    body_schema = predict["requestBody"]["content"]["application/json"]["schema"]
    assert body_schema["properties"]["reviews"]["maxItems"] == LIMITS.max_batch
    assert body_schema["additionalProperties"] is False
    assert predict["security"] == [{"bearer": []}]
    assert schema["paths"]["/check"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_page_has_buttons_and_a_strict_csp(make_api):
    api = make_api()
    page = api.client.get("/")
    assert "Check()" in page.text and "Predict()" in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in page.text  # no inline script, only src=
    assert api.client.get("/ui.js").headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in api.client.get("/ui.js").text


def test_security_headers_on_every_response(make_api):
    api = make_api()
    for response in (api.client.get("/healthz"), api.client.get("/check"), api.predict(raw=b"{")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "max-age" in response.headers["strict-transport-security"]
