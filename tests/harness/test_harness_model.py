"""The sentiment model: featurizer, training quality, export format, zero-copy loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from harness_testlib import SEED_REVIEWS

from harness.model import (
    ModelFormatError,
    Thresholds,
    export_model,
    feature_names,
    featurize,
    load_model,
    parse_header,
)
from infra.model import modelbuild


def test_seed_reviews_order_positive_neutral_negative(loaded_model):
    great, okay, terrible = loaded_model.model.predict(SEED_REVIEWS)
    assert great > okay > terrible
    labels = [loaded_model.model.thresholds.label(s) for s in (great, okay, terrible)]
    assert labels == ["positive", "neutral", "negative"]


def test_seed_reviews_are_not_in_the_training_data():
    """The ordering above is generalisation, not a memorised sentence."""
    import random

    rng = random.Random(modelbuild.DEFAULT_SEED)  # noqa: S311 - the training data generator
    generator = modelbuild.ReviewGenerator(modelbuild.load_lexicon(), rng)
    texts, _ = generator.dataset(modelbuild.DEFAULT_SAMPLES, exclude=modelbuild.SEED_REVIEWS)
    normalised = {modelbuild._normalised(t) for t in texts}
    for review in SEED_REVIEWS:
        assert modelbuild._normalised(review) not in normalised


def test_accuracy_on_hand_written_reviews(loaded_model):
    rows = modelbuild.load_eval_set()
    assert len(rows) >= 40
    acc3, polar = modelbuild._eval_accuracy(loaded_model.model.predict, rows)
    assert polar >= 0.9, f"positive/negative accuracy {polar:.2f}"
    assert acc3 >= 0.8, f"3-class accuracy {acc3:.2f}"


def test_negation_flips_the_sense(loaded_model):
    good, not_good = loaded_model.model.predict(["the plot was good", "the plot was not good"])
    bad, not_bad = loaded_model.model.predict(["the plot was bad", "the plot was not bad"])
    assert not_good < good
    assert not_bad > bad


def test_featurizer_marks_negation_scope_and_clauses():
    feats = feature_names("Not good. Great, but boring!")
    assert "u:not" in feats and "n:good" in feats and "u:good" not in feats
    assert "u:great" in feats and "u:boring" in feats
    assert feature_names("") == ["e:<empty>"]
    assert feature_names("It\u2019s fine") == feature_names("It's fine")


def test_featurize_rows_are_unit_length_and_deterministic():
    idx, val, offsets = featurize(["a b c", "great movie"], 1 << 12)
    assert offsets.tolist()[0] == 0 and len(offsets) == 3
    for row in range(2):
        segment = val[offsets[row] : offsets[row + 1]]
        assert np.isclose(float(np.sum(segment.astype(np.float64) ** 2)), 1.0, atol=1e-5)
    again = featurize(["a b c", "great movie"], 1 << 12)
    assert np.array_equal(idx, again[0]) and np.array_equal(val, again[1])
    assert idx.max() < 1 << 12


def test_build_is_reproducible_and_size_documented(tmp_path):
    small = {"features_log2": 12, "samples": 400, "epochs": 20}
    first = modelbuild.build(tmp_path / "a", **small)
    second = modelbuild.build(tmp_path / "b", **small)
    for name in ("model.json", "weights.bin"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first.weights_bytes == (1 << 12) * 4 == (tmp_path / "a" / "weights.bin").stat().st_size
    assert first.model_bytes == second.model_bytes


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"features_log2": 2}, "features_log2"), ({"samples": 5}, "samples")],
)
def test_build_rejects_bad_parameters(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        modelbuild.build(tmp_path, **kwargs)


def test_modelbuild_cli(tmp_path, capsys):
    code = modelbuild.main(
        ["--out", str(tmp_path / "m"), "--features-log2", "10", "--samples", "300", "--epochs", "5"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_features"] == 1024 and (tmp_path / "m" / "model.json").exists()


def _export(tmp_path: Path, n: int = 64) -> Path:
    weights = np.linspace(-1, 1, n).astype(np.float32)
    return export_model(
        tmp_path / "m", name="t", weights=weights, bias=0.25, thresholds=Thresholds(0.3, 0.7)
    )


def test_load_is_zero_copy_and_read_only(tmp_path):
    out = _export(tmp_path)
    buf = bytearray((out / "weights.bin").read_bytes())
    model = load_model((out / "model.json").read_bytes(), memoryview(buf))
    assert np.shares_memory(model.weights, np.frombuffer(buf, dtype=np.uint8))
    assert not model.weights.flags.writeable
    assert model.weights.dtype == np.dtype("<f4") and model.bias == 0.25


def _header(tmp_path: Path) -> dict:
    return json.loads((_export(tmp_path) / "model.json").read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h: h.update(format="pickle"), "not supported"),
        (lambda h: h.update(format_version=2), "not supported"),
        (lambda h: h.pop("name"), "missing field 'name'"),
        (lambda h: h["featurizer"].update(name="regex"), "featurizer"),
        (lambda h: h["featurizer"].update(n_features=100), "power of two"),
        (lambda h: h["weights"].update(dtype="<f8"), "dtype"),
        (lambda h: h["weights"].update(file="../etc/passwd"), "weights.file"),
        (lambda h: h["weights"].update(count=5), "weights.count"),
        (lambda h: h.update(bias="0.1"), "bias"),
        (lambda h: h.update(bias=float("nan")), "not finite"),
        (lambda h: h["labels"].update(negative_below=0.9), "labels"),
        (lambda h: h["featurizer"].update(version=True), "featurizer"),
    ],
)
def test_header_validation_names_the_field(tmp_path, mutate, message):
    header = _header(tmp_path)
    mutate(header)
    raw = json.dumps(header).encode()
    with pytest.raises(ModelFormatError, match=message):
        parse_header(raw)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe", "UTF-8 JSON"),
        (b"[1, 2]", "JSON object"),
        (b"{" * 10, "UTF-8 JSON"),
        (b" " * 70000, "limit"),
    ],
)
def test_header_must_be_a_small_json_object(raw, message):
    with pytest.raises(ModelFormatError, match=message):
        parse_header(raw)


def test_weights_size_and_values_are_checked(tmp_path):
    out = _export(tmp_path)
    header = (out / "model.json").read_bytes()
    weights = bytearray((out / "weights.bin").read_bytes())
    with pytest.raises(ModelFormatError, match="expected 256"):
        load_model(header, weights[:-4])
    weights[8:12] = np.float32(np.inf).tobytes()
    with pytest.raises(ModelFormatError, match="NaN or infinite"):
        load_model(header, weights)


def test_predict_small_gives_the_same_scores_as_predict(loaded_model):
    model = loaded_model.model
    eval_file = Path(modelbuild.__file__).parent / "data" / "eval_reviews.tsv"
    texts = [line.split("\t")[-1] for line in eval_file.read_text().splitlines()[1:]]
    texts += ["", "!!!", "not bad at all, but boring", *SEED_REVIEWS]
    batch = model.predict(texts)
    one_by_one = [model.predict_small([text])[0] for text in texts]
    assert np.max(np.abs(batch - np.array(model.predict_small(texts)))) < 1e-12
    assert np.round(batch, 7).tolist() == np.round(one_by_one, 7).tolist()
    assert model.predict_small(SEED_REVIEWS)[0] > 0.8 > 0.2 > model.predict_small(SEED_REVIEWS)[2]
