"""The model card (`model.json`): what the harness needs to know about a sealed ONNX model.

Plain JSON data, validated strictly; every error names the key, the value and what was
expected. Required: `format`, `name`, `version`, `inputs`, `outputs` (names in the graph;
checked against the session by `check_signature`). Optional: `model_file` (default
`model.onnx`), `labels` + `thresholds` (how a score is named negative/neutral/positive),
`seed_api` (which input takes the reviews of seed 003's `/predict` and which output column
is the score; without it the model is served through the Open Inference Protocol only),
`description`, `build` (free-form provenance, an object). Unknown keys are refused (a typo
must not silently drop a setting).

    {"format": "gke-sandbox/model-card/v1", "name": "sentiment-en", "version": "2",
     "inputs": ["text"], "outputs": ["score"],
     "labels": ["negative", "neutral", "positive"],
     "thresholds": {"negative_below": 0.35, "positive_above": 0.65},
     "seed_api": {"input": "text", "output": "score", "index": 0}}
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

CARD_FILE = "model.json"
CARD_FORMAT = "gke-sandbox/model-card/v1"
MAX_CARD_BYTES = 64 * 1024
# A name or version appears in URLs (`/v2/models/{name}/versions/{version}`) and logs.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KEYS = {
    "format",
    "name",
    "version",
    "model_file",
    "inputs",
    "outputs",
    "labels",
    "thresholds",
    "seed_api",
    "description",
    "build",
}
_SEED_LABELS = ("negative", "neutral", "positive")


class ModelCardError(ValueError):
    """`model.json` is not a valid model card (the message names the key)."""


@dataclass(frozen=True)
class Thresholds:
    """Score cut-offs that name a score (the API returns the score itself)."""

    negative_below: float
    positive_above: float

    def label(self, score: float) -> str:
        if score < self.negative_below:
            return "negative"
        if score > self.positive_above:
            return "positive"
        return "neutral"


@dataclass(frozen=True)
class SeedApi:
    """How seed 003's `/predict` maps onto the graph: reviews -> `input`, `output[:, index]`."""

    input: str
    output: str
    index: int


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    model_file: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    labels: tuple[str, ...]
    thresholds: Thresholds | None
    seed_api: SeedApi | None
    description: str
    build: dict[str, Any]

    def describe(self) -> dict[str, Any]:
        """What /check may say about the model: identity and interface, not internals."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "format": "onnx",
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
        }
        if self.thresholds is not None:
            out["labels"] = {
                "negative_below": self.thresholds.negative_below,
                "positive_above": self.thresholds.positive_above,
            }
        return out


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise ModelCardError(f"{where}: missing key {key!r}")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ModelCardError(
            f"{where}.{key}: expected {expected}, got {_kind(value)} {value!r:.60}"
        )
    return value


def _identifier(obj: dict[str, Any], key: str) -> str:
    value = _get(obj, key, str, CARD_FILE)
    if not NAME_PATTERN.fullmatch(value):
        raise ModelCardError(
            f"{CARD_FILE}.{key}: {value!r:.80} is not 1-64 characters of letters, digits, "
            "'.', '_', '-' starting with a letter or digit"
        )
    return value


def _names(obj: dict[str, Any], key: str) -> tuple[str, ...]:
    items = _get(obj, key, list, CARD_FILE)
    if not items:
        raise ModelCardError(f"{CARD_FILE}.{key}: expected at least one tensor name")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise ModelCardError(
                f"{CARD_FILE}.{key}[{i}]: expected a non-empty string, got {_kind(item)}"
            )
    if len(set(items)) != len(items):
        raise ModelCardError(f"{CARD_FILE}.{key}: names repeat in {items}")
    return tuple(items)


def _probability(obj: dict[str, Any], key: str) -> float:
    value = float(_get(obj, key, (int, float), f"{CARD_FILE}.thresholds"))
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ModelCardError(f"{CARD_FILE}.thresholds.{key}: {value} is not in [0, 1]")
    return value


def _thresholds(card: dict[str, Any]) -> Thresholds | None:
    if "thresholds" not in card:
        return None
    raw = _get(card, "thresholds", dict, CARD_FILE)
    extra = set(raw) - {"negative_below", "positive_above"}
    if extra:
        raise ModelCardError(f"{CARD_FILE}.thresholds: unknown keys {sorted(extra)}")
    lo, hi = _probability(raw, "negative_below"), _probability(raw, "positive_above")
    if lo > hi:
        raise ModelCardError(
            f"{CARD_FILE}.thresholds: negative_below {lo} is above positive_above {hi}"
        )
    return Thresholds(lo, hi)


def _seed_api(card: dict[str, Any], inputs: Sequence[str], outputs: Sequence[str]) -> SeedApi:
    raw = _get(card, "seed_api", dict, CARD_FILE)
    where = f"{CARD_FILE}.seed_api"
    extra = set(raw) - {"input", "output", "index"}
    if extra:
        raise ModelCardError(f"{where}: unknown keys {sorted(extra)}")
    name_in = _get(raw, "input", str, where)
    name_out = _get(raw, "output", str, where)
    index = raw.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ModelCardError(f"{where}.index: expected a non-negative integer, got {index!r:.40}")
    if name_in not in inputs:
        raise ModelCardError(f"{where}.input: {name_in!r} is not one of inputs {list(inputs)}")
    if name_out not in outputs:
        raise ModelCardError(f"{where}.output: {name_out!r} is not one of outputs {list(outputs)}")
    if "thresholds" not in card:
        raise ModelCardError(
            f"{where}: needs thresholds to name scores (negative_below, positive_above)"
        )
    return SeedApi(name_in, name_out, index)


def validate_card(card: Any) -> ModelCard:
    """A checked `ModelCard` from the parsed JSON value; `ModelCardError` names what is wrong."""
    if not isinstance(card, dict):
        raise ModelCardError(f"{CARD_FILE}: expected a JSON object, got {_kind(card)}")
    unknown = sorted(set(card) - _KEYS)
    if unknown:
        raise ModelCardError(
            f"{CARD_FILE}: unknown keys {unknown}; expected some of {sorted(_KEYS)}"
        )
    fmt = _get(card, "format", str, CARD_FILE)
    if fmt != CARD_FORMAT:
        raise ModelCardError(
            f"{CARD_FILE}.format: {fmt!r:.80} is not supported; expected {CARD_FORMAT!r}"
        )
    model_file = card.get("model_file", "model.onnx")
    if (
        not isinstance(model_file, str)
        or not model_file.endswith(".onnx")
        or model_file.startswith("/")
        or ".." in model_file.split("/")
    ):
        raise ModelCardError(
            f"{CARD_FILE}.model_file: {model_file!r:.80} is not a relative path ending in .onnx"
        )
    inputs, outputs = _names(card, "inputs"), _names(card, "outputs")
    labels: tuple[str, ...] = ()
    if "labels" in card:
        labels = _names(card, "labels")
        if labels != _SEED_LABELS:
            raise ModelCardError(
                f"{CARD_FILE}.labels: {list(labels)}, expected {list(_SEED_LABELS)}"
            )
    description = card.get("description", "")
    if not isinstance(description, str) or len(description) > 1000:
        raise ModelCardError(
            f"{CARD_FILE}.description: expected a string of at most 1000 characters"
        )
    build = card.get("build", {})
    if not isinstance(build, dict):
        raise ModelCardError(f"{CARD_FILE}.build: expected an object, got {_kind(build)}")
    return ModelCard(
        name=_identifier(card, "name"),
        version=_identifier(card, "version"),
        model_file=model_file,
        inputs=inputs,
        outputs=outputs,
        labels=labels,
        thresholds=_thresholds(card),
        seed_api=_seed_api(card, inputs, outputs) if "seed_api" in card else None,
        description=description,
        build=build,
    )


def parse_card(raw: bytes | memoryview) -> ModelCard:
    """Parse and validate `model.json` bytes (UTF-8 JSON, at most 64 KiB)."""
    if len(raw) > MAX_CARD_BYTES:
        raise ModelCardError(f"{CARD_FILE}: {len(raw)} bytes, limit is {MAX_CARD_BYTES}")
    try:
        value = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelCardError(f"{CARD_FILE}: not valid UTF-8 JSON ({exc})") from None
    return validate_card(value)


def dump_card(card: dict[str, Any]) -> bytes:
    """Canonical bytes of a card (sorted keys, 2-space indent); refuses an invalid card."""
    validate_card(card)
    return json.dumps(card, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def check_signature(
    card: ModelCard, graph_inputs: Sequence[str], graph_outputs: Sequence[str]
) -> None:
    """The card's tensor names must be exactly the graph's (order free)."""
    for key, named, real in (
        ("inputs", card.inputs, graph_inputs),
        ("outputs", card.outputs, graph_outputs),
    ):
        if set(named) != set(real):
            raise ModelCardError(
                f"{CARD_FILE}.{key}: {sorted(named)} but {card.model_file} has {sorted(real)}"
            )
