"""The `/predict` request, written once: the pydantic model validates and documents it.

`predict_request_model(limits)` builds the model for the configured batch and review
limits; `model_validate_json` parses and validates in one pass (pydantic-core, in Rust),
and `model_json_schema()` is the OpenAPI request body. Pydantic's errors are translated
into the harness's own messages, which say which field, what was there and what was
expected. Malformed JSON is 400; well-formed JSON of the wrong shape is 422.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.gate import Limits

SEED_EXAMPLE = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]
_EXAMPLE = 'expected a JSON object {"reviews": ["text", ...]}'


@dataclass(frozen=True)
class Invalid:
    """Why a body was refused: HTTP status, error code, message."""

    status: int
    code: str
    message: str


def predict_request_model(limits: Limits) -> type[BaseModel]:
    """The request model for these limits (one per app; limits are configuration)."""
    review = Annotated[str, Field(max_length=limits.max_review_chars)]

    class PredictRequest(BaseModel):
        """Seed 003's request: the reviews to score, in order."""

        model_config = ConfigDict(
            extra="forbid",
            strict=True,
            json_schema_extra={"example": {"reviews": SEED_EXAMPLE}},
        )
        reviews: Annotated[list[review], Field(min_length=1, max_length=limits.max_batch)]

    return PredictRequest


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def parse_reviews(model: type[BaseModel], body: bytes, limits: Limits) -> list[str] | Invalid:
    """The validated reviews, or why the body is refused."""
    if not body.strip():
        return Invalid(400, "empty_body", 'empty body; expected JSON {"reviews": ["text", ...]}')
    try:
        return model.model_validate_json(body).reviews  # type: ignore[attr-defined,no-any-return]
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        extra = [e for e in errors if e["type"] == "extra_forbidden"]
        return _explain((extra or errors)[0], body, limits)


def _explain(error: Any, body: bytes, limits: Limits) -> Invalid:
    kind, loc, value = error["type"], error["loc"], error.get("input")
    if kind == "json_invalid":
        return _malformed(body, error["ctx"]["error"])
    if kind == "model_type":
        message = f"body is a JSON {json_type(value)}; {_EXAMPLE}"
    elif kind == "extra_forbidden":
        message = f"unexpected field {loc[0]!r}; only 'reviews' is accepted"
    elif kind == "missing":
        message = f"field 'reviews' is missing; {_EXAMPLE}"
    elif kind == "list_type":
        message = f"'reviews' must be an array of strings, got {json_type(value)}"
    elif kind == "too_short":
        message = f"'reviews' is empty; send 1 to {limits.max_batch} reviews"
    elif kind == "too_long":
        message = f"'reviews' has {len(value)} items; at most {limits.max_batch} per request"
    elif kind == "string_type":
        message = f"reviews[{loc[1]}] must be a string, got {json_type(value)}"
    elif kind == "string_too_long":
        message = f"reviews[{loc[1]}] is {len(value)} characters; at most {limits.max_review_chars}"
    else:  # pragma: no cover - every constraint of the model is listed above
        message = f"{'.'.join(str(p) for p in loc)}: {error['msg']}"
    return Invalid(422, "invalid_request", message)


def _malformed(body: bytes, reason: str) -> Invalid:
    """Tell bad bytes, bad JSON and a lone surrogate escape apart (the error path only)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Invalid(400, "invalid_utf8", f"body is not valid UTF-8 (byte {exc.start})")
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return Invalid(400, "malformed_json", f"malformed JSON: {reason}")
    # the standard parser accepts it, pydantic does not: an unpaired \uD800-\uDFFF escape
    return Invalid(422, "invalid_request", "a review contains an unpaired UTF-16 surrogate escape")
