"""The demo model's data: synthetic reviews from the shipped lexicon, and the hand-written eval set.

Nothing is downloaded. Reviews are composed from `infra/model/data/sentiment_lexicon.json` by a
seeded generator (stdlib Mersenne Twister: same seed, same reviews on every platform), each
with a soft score in [0, 1] (1 = positive): clauses, negation ("not great"), intensifiers,
"but" contrasts where the second clause weighs more. `infra/model/data/eval_reviews.tsv` holds
hand-written reviews that are never trained on. Moved from `infra/modelbuild.py` (the
home-made model format goes; this generator is what the ONNX demo model trains on).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
LEXICON = DATA_DIR / "sentiment_lexicon.json"
EVAL_SET = DATA_DIR / "eval_reviews.tsv"
SEED_REVIEWS: tuple[str, str, str] = (
    "The movie was great!",
    "The movie was okay.",
    "The movie was terrible...",
)
"""Seed 003's reviews, positive > neutral > negative; excluded from training on purpose."""


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
