"""infra.model.onnx_demo: text in, probability out of the graph; ordered seed scores; same bytes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.inference_protocol import infer, model_metadata
from harness.model_card import parse_card
from harness.onnx_runtime import load_model_dir
from infra.model.onnx_demo import build

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("demo")
    return out, build(out)


def _served(directory: Path):
    files = {p.name: memoryview(p.read_bytes()) for p in directory.iterdir()}
    return load_model_dir(files)


def test_seed_reviews_keep_their_order(demo: tuple[Path, object]) -> None:
    served = _served(demo[0])
    great, okay, terrible = (
        s[0]
        for s in served.score_reviews(
            ["The movie was great!", "The movie was okay.", "The movie was terrible..."]
        )
    )
    assert great > okay > terrible
    labels = served.card.thresholds
    assert labels is not None
    assert (labels.label(great), labels.label(okay), labels.label(terrible)) == (
        "positive",
        "neutral",
        "negative",
    )


def test_eval_accuracy_is_reported_from_the_served_graph(demo: tuple[Path, object]) -> None:
    report = demo[1]
    assert report.eval_accuracy_3class >= 0.85  # 0.94 when built here
    assert report.eval_accuracy_polar >= 0.9
    assert list(report.seed_scores) == [
        "The movie was great!",
        "The movie was okay.",
        "The movie was terrible...",
    ]


def test_the_featurizer_is_in_the_graph(demo: tuple[Path, object]) -> None:
    """A string tensor goes in: tokenizing and TF-IDF are ONNX operators, not harness code."""
    import onnx

    model = onnx.load(str(demo[0] / "model.onnx"))
    ops = {node.op_type for node in model.graph.node}
    assert {"StringNormalizer", "Tokenizer", "TfIdfVectorizer"} <= ops
    meta = model_metadata(_served(demo[0]), "sentiment-en")
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert meta["outputs"] == [{"name": "score", "datatype": "FP32", "shape": [-1, 1]}]


def test_card_is_valid_and_names_the_seed_api(demo: tuple[Path, object]) -> None:
    card = parse_card((demo[0] / "model.json").read_bytes())
    assert (card.name, card.inputs, card.outputs) == ("sentiment-en", ("text",), ("score",))
    assert card.seed_api is not None and (card.seed_api.input, card.seed_api.output) == (
        "text",
        "score",
    )
    assert json.loads((demo[0] / "model.json").read_text())["build"]["train_samples"] == 24000


def test_both_apis_give_the_same_scores(demo: tuple[Path, object]) -> None:
    served = _served(demo[0])
    reviews = ["not good at all", "A wonderful film.", ""]
    body = {"inputs": [{"name": "text", "shape": [3], "datatype": "BYTES", "data": reviews}]}
    v2 = infer(served, "sentiment-en", body)["outputs"][0]
    assert v2["shape"] == [3, 1]
    assert served.score_reviews([]) == []
    assert np.array_equal(
        np.array(v2["data"], dtype=np.float32),
        np.array(served.score_reviews(reviews), dtype=np.float32).ravel(),
    )


def _build_in_child(out: Path, hashseed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=hashseed)
    subprocess.run(
        [sys.executable, "-m", "infra.model.onnx_demo", "--out", str(out), "--samples", "1500"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return "".join(
        hashlib.sha256((out / n).read_bytes()).hexdigest() for n in ("model.onnx", "model.json")
    )


def test_same_inputs_same_bytes_in_any_process(tmp_path: Path, demo: tuple[Path, object]) -> None:
    """Two processes with different hash seeds (skl2onnx iterates sets) write identical files,
    and other training data (1,500 reviews instead of 24,000) gives other bytes."""
    first = _build_in_child(tmp_path / "a", "1")
    assert first == _build_in_child(tmp_path / "b", "2")
    assert (tmp_path / "a" / "model.onnx").read_bytes() != (demo[0] / "model.onnx").read_bytes()


def test_too_few_samples_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"samples: 10 is too few \(need >= 100\)"):
        build(tmp_path, samples=10)
