"""The Open Inference Protocol routes of the real app, behind the real gate (in process).

The same loaded demo model answers `/predict` and `/v2/.../infer`; token, rate limit,
body cap and 4xx errors apply to the v2 routes as to the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import test_harness_api
from harness_testlib import SEED_REVIEWS

from harness.app import Limits

make_api = test_harness_api.make_api  # the same fixture: the real app behind the real gate
INFER = "/v2/models/sentiment-en/infer"


def _text_request(texts: list[str]) -> dict[str, Any]:
    return {"inputs": [{"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": texts}]}


def test_v2_needs_the_token_like_everything_else(make_api):
    api = make_api()
    for path in ("/v2/health/live", "/v2/health/ready", "/v2/models/sentiment-en"):
        assert api.client.get(path).status_code == 401
        assert api.client.get(path, headers=api.auth()).status_code == 200
    response = api.client.post(INFER, json=_text_request(["great"]))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_v2_metadata_is_the_graph_signature(make_api):
    api = make_api()
    meta = api.client.get("/v2/models/sentiment-en", headers=api.auth()).json()
    assert meta["name"] == "sentiment-en" and meta["platform"] == "onnx_onnxv1"
    assert [(t["name"], t["datatype"]) for t in meta["inputs"]] == [("text", "BYTES")]
    assert [t["name"] for t in meta["outputs"]] == ["score"]
    ready = api.client.get("/v2/models/sentiment-en/versions/2/ready", headers=api.auth())
    assert ready.json() == {"name": "sentiment-en", "ready": True}


def test_v2_server_metadata_names_the_server_and_no_extension_it_lacks(make_api):
    api = make_api()
    assert api.client.get("/v2").status_code == 401
    response = api.client.get("/v2", headers=api.auth())
    assert response.status_code == 200, response.text
    meta = response.json()
    assert meta == {"name": "gke-sandbox-harness", "version": meta["version"], "extensions": []}
    assert meta["version"] == api.client.get("/openapi.json").json()["info"]["version"] != ""


_V2_PATHS = {
    "/v2": "get",
    "/v2/health/live": "get",
    "/v2/health/ready": "get",
    "/v2/models/{name}": "get",
    "/v2/models/{name}/versions/{version}": "get",
    "/v2/models/{name}/ready": "get",
    "/v2/models/{name}/versions/{version}/ready": "get",
    "/v2/models/{name}/infer": "post",
    "/v2/models/{name}/versions/{version}/infer": "post",
}


def test_openapi_lists_every_v2_route_as_a_path_without_query_parameters(make_api):
    paths = make_api().client.get("/openapi.json").json()["paths"]
    v2 = {path: sorted(ops) for path, ops in paths.items() if path.startswith("/v2")}
    assert v2 == {path: [method] for path, method in _V2_PATHS.items()}
    for path, method in _V2_PATHS.items():
        parameters = paths[path][method].get("parameters", [])
        assert all(p["in"] == "path" for p in parameters), (path, parameters)
        names = sorted(p["name"] for p in parameters)
        assert names == sorted(n for n in ("name", "version") if "{" + n + "}" in path), path


def test_v2_tensor_data_must_match_its_shape(make_api):
    """Flat row-major, or nested exactly as the shape says; anything else is 400 naming the input."""
    api = make_api()
    ragged = {
        "inputs": [{"name": "text", "shape": [3], "datatype": "BYTES", "data": [["a", "b"], ["c"]]}]
    }
    response = api.client.post(INFER, json=ragged, headers=api.auth())
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("input 'text': ")
    nested = {
        "inputs": [{"name": "text", "shape": [3], "datatype": "BYTES", "data": list(SEED_REVIEWS)}]
    }
    assert api.client.post(INFER, json=nested, headers=api.auth()).status_code == 200


def test_v2_infer_and_predict_give_the_same_scores(make_api, loaded_model):
    api = make_api()
    response = api.client.post(INFER, json=_text_request(list(SEED_REVIEWS)), headers=api.auth())
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["model_name"] == "sentiment-en" and out["model_version"] == "2"
    (score,) = out["outputs"]
    assert score["name"] == "score" and score["datatype"] == "FP32"
    column = np.array(score["data"], dtype=np.float32).reshape(score["shape"])[:, 0]
    predicted = api.predict({"reviews": list(SEED_REVIEWS)}).json()
    assert column[0] > column[1] > column[2]
    assert [[round(float(v), 7)] for v in column] == predicted
    direct = loaded_model.model.run({"text": np.array(list(SEED_REVIEWS), object)}, ["score"])
    np.testing.assert_array_equal(np.array(score["data"], np.float32), direct[0].ravel())


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/v2/models/other", 404, "no model named 'other'"),
        ("/v2/models/sentiment-en/versions/9", 404, "has no version '9'"),
        ("/v2/models/other/ready", 404, "this server serves 'sentiment-en'"),
    ],
)
def test_v2_unknown_model_or_version_is_404(make_api, path, status, fragment):
    api = make_api()
    response = api.client.get(path, headers=api.auth())
    assert response.status_code == status
    assert fragment in response.json()["error"]


def test_v2_bad_requests_are_clear_4xx(make_api):
    api = make_api()
    post = api.client.post
    auth = api.auth()
    binary = post(
        INFER,
        content=b"{}",
        headers={
            **auth,
            "Content-Type": "application/json",
            "Inference-Header-Content-Length": "2",
        },
    )
    assert binary.status_code == 415 and "binary tensor data extension" in binary.json()["error"]
    text = post(INFER, content=b"hello", headers={**auth, "Content-Type": "text/plain"})
    assert (
        text.status_code == 415 and "'text/plain' is not application/json" in text.json()["error"]
    )
    broken = post(INFER, content=b"{nope", headers={**auth, "Content-Type": "application/json"})
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]
    wrong = _text_request(["great"])
    wrong["inputs"][0]["datatype"] = "FP32"
    bad_type = post(INFER, json=wrong, headers=auth)
    assert bad_type.status_code == 422
    assert bad_type.json()["error"] == "input 'text': datatype 'FP32', the model expects BYTES"
    too_big = post(
        INFER,
        content=b"[" + b"1," * 40_000 + b"1]",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert too_big.status_code == 413


def test_v2_element_and_string_limits(make_api):
    api = make_api(limits=Limits(64 * 1024, 8, 20, max_elements=2))
    many = api.client.post(INFER, json=_text_request(["a", "b", "c"]), headers=api.auth())
    assert many.status_code == 413 and "over the request limit of 2" in many.json()["error"]
    long = api.client.post(INFER, json=_text_request(["x" * 21]), headers=api.auth())
    assert long.status_code == 413 and "has 21 characters, limit 20" in long.json()["error"]


def test_v2_not_loaded_is_503_and_rate_limit_applies(make_api):
    api = make_api(loaded=False)
    response = api.client.get("/v2/health/ready", headers=api.auth())
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    limited = make_api(rate_limit=2)
    codes = [
        limited.client.get("/v2/health/live", headers=limited.auth()).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_v2_metric_labels_are_route_templates(make_api):
    api = make_api()
    api.client.post(INFER, json=_text_request(["fine"]), headers=api.auth())
    api.client.get("/v2/models/zzz-made-up/versions/77/ready", headers=api.auth())
    text = api.client.get("/metrics", headers=api.auth()).text
    assert 'path="/v2/models/{name}/infer"' in text
    assert 'path="/v2/models/{name}/ready"' in text
    assert "zzz-made-up" not in text
