"""harness.model_card: one valid card, then one change per failing case, asserting the message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness.model_card import ModelCardError, check_signature, dump_card, parse_card

VALID: dict[str, Any] = {
    "format": "gke-sandbox/model-card/v1",
    "name": "sentiment-en",
    "version": "2",
    "inputs": ["text"],
    "outputs": ["score"],
    "labels": ["negative", "neutral", "positive"],
    "thresholds": {"negative_below": 0.35, "positive_above": 0.65},
    "seed_api": {"input": "text", "output": "score", "index": 0},
    "build": {"seed": 1},
}


def _parse(**changes: Any) -> Any:
    card = {k: v for k, v in {**VALID, **changes}.items() if v is not _DROP}
    return parse_card(json.dumps(card).encode())


_DROP = object()


def test_valid_card() -> None:
    card = parse_card(dump_card(VALID))
    assert (card.name, card.version, card.model_file) == ("sentiment-en", "2", "model.onnx")
    assert card.inputs == ("text",) and card.outputs == ("score",)
    assert card.thresholds is not None and card.thresholds.label(0.9) == "positive"
    assert card.thresholds.label(0.5) == "neutral" and card.thresholds.label(0.1) == "negative"
    assert card.seed_api is not None and (card.seed_api.input, card.seed_api.index) == ("text", 0)
    assert card.describe()["labels"] == {"negative_below": 0.35, "positive_above": 0.65}


def test_minimal_numeric_card_has_no_seed_api() -> None:
    card = _parse(labels=_DROP, thresholds=_DROP, seed_api=_DROP, build=_DROP)
    assert card.seed_api is None and card.thresholds is None


def test_dump_is_canonical_and_refuses_invalid() -> None:
    assert dump_card(VALID) == dump_card(dict(reversed(list(VALID.items()))))
    with pytest.raises(ModelCardError, match=r"model\.json: missing key 'name'"):
        dump_card({k: v for k, v in VALID.items() if k != "name"})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"format": "gke-sandbox.hashed-logreg"},
            r"model\.json\.format: 'gke-sandbox\.hashed-logreg' is not supported; expected 'gke-sandbox/model-card/v1'",
        ),
        ({"name": _DROP}, r"model\.json: missing key 'name'"),
        ({"name": "has space"}, r"model\.json\.name: 'has space' is not 1-64 characters"),
        ({"name": 7}, r"model\.json\.name: expected str, got int 7"),
        ({"version": ""}, r"model\.json\.version: '' is not 1-64 characters"),
        ({"inputs": []}, r"model\.json\.inputs: expected at least one tensor name"),
        ({"inputs": ["text", "text"]}, r"model\.json\.inputs: names repeat"),
        ({"outputs": [3]}, r"model\.json\.outputs\[0\]: expected a non-empty string, got int"),
        (
            {"model_file": "../model.onnx"},
            r"model\.json\.model_file: '\.\./model\.onnx' is not a relative path ending in \.onnx",
        ),
        (
            {"labels": ["bad", "good"]},
            r"model\.json\.labels: \['bad', 'good'\], expected \['negative', 'neutral', 'positive'\]",
        ),
        (
            {"thresholds": {"negative_below": 0.7, "positive_above": 0.3}},
            r"negative_below 0\.7 is above positive_above 0\.3",
        ),
        (
            {"thresholds": {"negative_below": -0.1, "positive_above": 0.3}},
            r"thresholds\.negative_below: -0\.1 is not in \[0, 1\]",
        ),
        (
            {"thresholds": {"negative_below": True, "positive_above": 0.3}},
            r"thresholds\.negative_below: expected int or float, got bool",
        ),
        (
            {"thresholds": {"negative_below": 0.1, "positive_above": 0.3, "x": 1}},
            r"thresholds: unknown keys \['x'\]",
        ),
        (
            {"seed_api": {"input": "txt", "output": "score"}},
            r"seed_api\.input: 'txt' is not one of inputs \['text'\]",
        ),
        (
            {"seed_api": {"input": "text", "output": "label"}},
            r"seed_api\.output: 'label' is not one of outputs \['score'\]",
        ),
        (
            {"seed_api": {"input": "text", "output": "score", "index": -1}},
            r"seed_api\.index: expected a non-negative integer",
        ),
        ({"thresholds": _DROP}, r"seed_api: needs thresholds"),
        ({"extra": 1}, r"model\.json: unknown keys \['extra'\]"),
        ({"build": []}, r"model\.json\.build: expected an object, got list"),
    ],
)
def test_each_invalid_card_names_the_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelCardError, match=message):
        _parse(**changes)


def test_not_json_not_object_too_big() -> None:
    with pytest.raises(ModelCardError, match=r"model\.json: not valid UTF-8 JSON"):
        parse_card(b"\xff{")
    with pytest.raises(ModelCardError, match=r"model\.json: expected a JSON object, got list"):
        parse_card(b"[]")
    with pytest.raises(ModelCardError, match=r"model\.json: 70000 bytes, limit is 65536"):
        parse_card(b" " * 70000)


def test_signature_must_match_the_graph() -> None:
    card = parse_card(dump_card(VALID))
    check_signature(card, ["text"], ["score"])
    with pytest.raises(
        ModelCardError, match=r"model\.json\.inputs: \['text'\] but model\.onnx has \['input'\]"
    ):
        check_signature(card, ["input"], ["score"])
