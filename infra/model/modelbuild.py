"""Build the demo sentiment model: generate reviews, train, evaluate, export plain arrays.

Nothing is downloaded. The training set is composed from the hand-written lexicon in
`infra/model/data/sentiment_lexicon.json` by a seeded generator, so a build is reproducible
(same seed, same machine -> same bytes -> same SHA-256). The model is logistic regression
over hashed word/bigram/negation features (`harness.model`), trained with full-batch Adam
in numpy, and exported as `model.json` + raw float32 weights that the harness maps
zero-copy. The three reviews of seed 003 are excluded from training on purpose: their
ordering (positive > neutral > negative) is a test of generalisation, not a lookup.

Run: `python -m infra.model.modelbuild --out build/local/model` (about two seconds).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.model import (
    Thresholds,
    export_model,
    featurize,
    load_model,
    sigmoid,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
LEXICON = DATA_DIR / "sentiment_lexicon.json"
EVAL_SET = DATA_DIR / "eval_reviews.tsv"
SEED_REVIEWS: tuple[str, str, str] = (
    "The movie was great!",
    "The movie was okay.",
    "The movie was terrible...",
)
DEFAULT_FEATURES_LOG2 = 20
DEFAULT_SAMPLES = 24_000
DEFAULT_SEED = 20240304
DEFAULT_EPOCHS = 250
THRESHOLDS = Thresholds(negative_below=0.35, positive_above=0.65)

_CLASS_SCORE = {
    "positive_strong": 0.95,
    "positive_mild": 0.80,
    "neutral": 0.50,
    "negative_mild": 0.20,
    "negative_strong": 0.05,
}
# "not great" is mildly negative, "not terrible" about neutral-to-mild-positive.
_NEGATED_SCORE = {
    "positive_strong": 0.30,
    "positive_mild": 0.25,
    "neutral": 0.35,
    "negative_mild": 0.60,
    "negative_strong": 0.55,
}
_CLASSES = tuple(_CLASS_SCORE)
_NORMALISE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


@dataclass(frozen=True)
class BuildReport:
    """What a build produced; printed by the CLI and shown by the demo."""

    out_dir: str
    n_features: int
    weights_bytes: int
    model_bytes: int
    train_samples: int
    holdout_mae: float
    eval_accuracy_3class: float
    eval_accuracy_polar: float
    seed_scores: dict[str, float]
    seconds: float


def _normalised(text: str) -> str:
    return " ".join(_NORMALISE.findall(text.lower()))


def load_lexicon(path: Path = LEXICON) -> dict[str, Any]:
    """The shipped lexicon; a missing or malformed file is a clear error, not a KeyError."""
    try:
        lex = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read lexicon {path}: {exc}") from None
    for key in ("subjects", "verbs", "openers", "adjectives", "phrases", "connectors", "endings"):
        if key not in lex:
            raise ValueError(f"lexicon {path}: missing key {key!r}")
    for group in ("adjectives", "phrases"):
        missing = [c for c in _CLASSES if not lex[group].get(c)]
        if missing:
            raise ValueError(f"lexicon {path}: {group} lacks classes {missing}")
    return lex


def load_eval_set(path: Path = EVAL_SET) -> list[tuple[str, str]]:
    """(label, text) pairs from the hand-written TSV; comments and blank lines skipped."""
    rows: list[tuple[str, str]] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in ("positive", "neutral", "negative") or not text.strip():
            raise ValueError(f"{path}:{lineno}: expected '<positive|neutral|negative>\\t<text>'")
        rows.append((label, text))
    return rows


class ReviewGenerator:
    """Composes labelled reviews from the lexicon: clauses, negation, intensity, contrast."""

    def __init__(self, lexicon: dict[str, Any], rng: random.Random) -> None:
        self.lex = lexicon
        self.rng = rng  # stdlib Mersenne Twister: fast scalar draws, stable across platforms

    def _pick(self, items: Sequence[str]) -> str:
        return self.rng.choice(items)

    def clause(self) -> tuple[str, float]:
        """One clause and its score in [0, 1]."""
        cls = self.rng.choice(_CLASSES)
        if self.rng.random() < 0.3:
            return self._pick(self.lex["phrases"][cls]), _CLASS_SCORE[cls]
        subject = self._pick(self.lex["subjects"])
        verb = self._pick(self.lex["verbs"])
        adjective = self._pick(self.lex["adjectives"][cls])
        score = _CLASS_SCORE[cls]
        simple_adj = " " not in adjective
        roll = self.rng.random()
        if roll < 0.2:
            contractions = self.lex.get("contractions", {})
            if verb in contractions and self.rng.random() < 0.5:
                return f"{subject} {contractions[verb]} {adjective}", _NEGATED_SCORE[cls]
            negation = self._pick(self.lex.get("negations", ["not"]))
            return f"{subject} {verb} {negation} {adjective}", _NEGATED_SCORE[cls]
        if simple_adj and cls != "neutral" and roll < 0.45:
            intensifier = self._pick(self.lex["intensifiers_strong"])
            score = score + (1.0 - score if score > 0.5 else -score) * 0.25
            return f"{subject} {verb} {intensifier} {adjective}", score
        if simple_adj and cls != "neutral" and roll < 0.6:
            intensifier = self._pick(self.lex["intensifiers_mild"])
            score = score + (0.5 - score) * 0.25
            return f"{subject} {verb} {intensifier} {adjective}", score
        return f"{subject} {verb} {adjective}", score

    def review(self) -> tuple[str, float]:
        """One to three clauses joined by 'and' (mean), 'but' (the second weighs more) or a full stop."""
        text, score = self.clause()
        opener = self._pick(self.lex["openers"])
        if opener:
            text = f"{opener} {text}"
        n_more = self.rng.choice((0, 0, 0, 1, 1, 2))
        connectors = self.lex["connectors"]
        for _ in range(n_more):
            nxt, nscore = self.clause()
            kind = self._pick(["and", "but", "sentence"])
            if kind == "but":
                text = f"{text}, {self._pick(connectors['but'])} {nxt}"
                score = 0.35 * score + 0.65 * nscore
            elif kind == "and":
                text = f"{text} {self._pick(connectors['and'])} {nxt}"
                score = (score + nscore) / 2
            else:
                text = f"{text}{self._pick(connectors['sentence'])}{nxt}"
                score = (score + nscore) / 2
        text = text + self._pick(self.lex["endings"])
        if self.rng.random() < 0.7:
            text = text[:1].upper() + text[1:]
        return text, score

    def dataset(self, n: int, exclude: Sequence[str] = ()) -> tuple[list[str], np.ndarray]:
        banned = {_normalised(t) for t in exclude}
        texts: list[str] = []
        scores: list[float] = []
        while len(texts) < n:
            text, score = self.review()
            if _normalised(text) in banned:
                continue
            texts.append(text)
            scores.append(score)
        return texts, np.asarray(scores, dtype=np.float64)


def train(
    texts: Sequence[str],
    targets: np.ndarray,
    n_features: int,
    *,
    epochs: int = DEFAULT_EPOCHS,
    lr: float = 0.05,
    l2: float = 1e-5,
) -> tuple[np.ndarray, float]:
    """Full-batch Adam on soft-label cross-entropy; returns (weights[n_features], bias).

    Only the hashed columns that occur are trained (a compact copy), then scattered back
    into the full weight vector: the untouched buckets stay exactly zero.
    """
    idx, val, offsets = featurize(texts, n_features)
    cols, inverse = np.unique(idx, return_inverse=True)
    rows = np.repeat(np.arange(len(texts)), np.diff(offsets))
    n = len(texts)
    w = np.zeros(len(cols), dtype=np.float64)
    b = 0.0
    m_w = np.zeros_like(w)
    v_w = np.zeros_like(w)
    m_b = v_b = 0.0
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    val64 = val.astype(np.float64)
    for step in range(1, epochs + 1):
        logits = np.bincount(rows, weights=w[inverse] * val64, minlength=n) + b
        err = (sigmoid(logits) - targets) / n
        g_w = np.bincount(inverse, weights=err[rows] * val64, minlength=len(cols)) + l2 * w
        g_b = float(err.sum())
        m_w = beta1 * m_w + (1 - beta1) * g_w
        v_w = beta2 * v_w + (1 - beta2) * g_w * g_w
        m_b = beta1 * m_b + (1 - beta1) * g_b
        v_b = beta2 * v_b + (1 - beta2) * g_b * g_b
        c1 = 1 - beta1**step
        c2 = 1 - beta2**step
        w -= lr * (m_w / c1) / (np.sqrt(v_w / c2) + eps)
        b -= lr * (m_b / c1) / (np.sqrt(v_b / c2) + eps)
    full = np.zeros(n_features, dtype=np.float32)
    full[cols] = w.astype(np.float32)
    return full, float(b)


def _eval_accuracy(model_predict: Any, rows: list[tuple[str, str]]) -> tuple[float, float]:
    """(3-class accuracy with the thresholds, accuracy on the polar rows by 0.5)."""
    scores = model_predict([text for _, text in rows])
    three = sum(
        THRESHOLDS.label(float(s)) == label for s, (label, _) in zip(scores, rows, strict=True)
    )
    polar = [(s, label) for s, (label, _) in zip(scores, rows, strict=True) if label != "neutral"]
    polar_ok = sum((s > 0.5) == (label == "positive") for s, label in polar)
    return three / len(rows), polar_ok / max(1, len(polar))


def build(
    out_dir: Path,
    *,
    features_log2: int = DEFAULT_FEATURES_LOG2,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    epochs: int = DEFAULT_EPOCHS,
) -> BuildReport:
    """Generate, train, export to `out_dir`, reload the export and evaluate it."""
    if not 4 <= features_log2 <= 26:
        raise ValueError(f"features_log2: {features_log2} is outside [4, 26]")
    if samples < 100:
        raise ValueError(f"samples: {samples} is too few (need >= 100)")
    started = time.perf_counter()
    generator = ReviewGenerator(load_lexicon(), random.Random(seed))  # noqa: S311 - data, not secrets
    texts, targets = generator.dataset(samples, exclude=SEED_REVIEWS)
    split = int(len(texts) * 0.9)
    n_features = 1 << features_log2
    weights, bias = train(texts[:split], targets[:split], n_features, epochs=epochs)
    eval_rows = load_eval_set()
    extra = {
        "generator_seed": seed,
        "train_samples": split,
        "epochs": epochs,
        "data": ["infra/model/data/sentiment_lexicon.json"],
    }
    export_model(
        out_dir, name="sentiment-en", weights=weights, bias=bias, thresholds=THRESHOLDS, extra=extra
    )
    # Evaluate the exported bytes through the harness loader, exactly as served.
    header_raw = (out_dir / "model.json").read_bytes()
    weights_raw = bytearray((out_dir / "weights.bin").read_bytes())
    model = load_model(header_raw, weights_raw)
    holdout = model.predict(texts[split:])
    holdout_mae = float(np.mean(np.abs(holdout - targets[split:])))
    acc3, acc_polar = _eval_accuracy(model.predict, eval_rows)
    seed_scores = {
        t: round(float(s), 4)
        for t, s in zip(SEED_REVIEWS, model.predict(SEED_REVIEWS), strict=True)
    }
    return BuildReport(
        out_dir=str(out_dir),
        n_features=n_features,
        weights_bytes=model.nbytes,
        model_bytes=len(header_raw) + model.nbytes,
        train_samples=split,
        holdout_mae=round(holdout_mae, 4),
        eval_accuracy_3class=round(acc3, 4),
        eval_accuracy_polar=round(acc_polar, 4),
        seed_scores=seed_scores,
        seconds=round(time.perf_counter() - started, 2),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.model.modelbuild", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--out", type=Path, default=Path("build/local/model"), help="output directory"
    )
    parser.add_argument(
        "--features-log2", type=int, default=DEFAULT_FEATURES_LOG2, help="log2 of hashed buckets"
    )
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES, help="generated reviews")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    parser.add_argument(
        "--epochs", type=int, default=DEFAULT_EPOCHS, help="Adam steps (full batch)"
    )
    args = parser.parse_args(argv)
    try:
        report = build(
            args.out,
            features_log2=args.features_log2,
            samples=args.samples,
            seed=args.seed,
            epochs=args.epochs,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
