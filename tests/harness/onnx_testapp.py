"""A minimal FastAPI app mounting `harness.inference_protocol` for the HTTP client tests.

Not the harness app (its rewrite mounts the same handlers behind its TLS, token, rate-limit
and size gates); here only a bearer token check, so a real client can be tested over HTTP.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from harness import inference_protocol as oip


def create_app(model: Any, token: str, limits: oip.Limits = oip.Limits()) -> FastAPI:  # noqa: B008
    app = FastAPI()

    @app.middleware("http")
    async def bearer(request: Request, call_next: Any) -> Any:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
        return await call_next(request)

    def answer(call: Any, *args: Any) -> JSONResponse:
        try:
            return JSONResponse(call(*args))
        except oip.InferenceError as exc:
            return JSONResponse(exc.body(), status_code=exc.status)

    @app.get("/v2")
    def server_metadata() -> JSONResponse:
        return answer(oip.server_metadata, "test")

    @app.get("/v2/health/live")
    def live() -> JSONResponse:
        return answer(oip.server_live)

    @app.get("/v2/health/ready")
    def ready() -> JSONResponse:
        return answer(oip.server_ready, model)

    @app.get("/v2/models/{name}")
    def metadata(name: str) -> JSONResponse:
        return answer(oip.model_metadata, model, name)

    @app.get("/v2/models/{name}/ready")
    def model_ready(name: str) -> JSONResponse:
        return answer(oip.model_ready, model, name)

    @app.post("/v2/models/{name}/infer")
    async def infer(name: str, request: Request) -> JSONResponse:
        if "inference-header-content-length" in request.headers:
            return JSONResponse(
                {"error": "binary tensor data is not supported; send JSON tensors"}, status_code=415
            )
        try:
            body = json.loads(await request.body())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        return answer(oip.infer, model, name, body, limits)

    return app
