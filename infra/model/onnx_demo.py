"""Build the demo sentiment model as ONNX: text in, probability of "positive" out, in the graph.

    python -m infra.model.onnx_demo --out build/local/model     # prints a JSON report

A scikit-learn pipeline (`TfidfVectorizer` over words and bigrams -> `LogisticRegression`)
is trained on reviews composed from the shipped lexicon (`infra.model.reviews`, seeded, so
a build is reproducible: same inputs, same bytes) and converted with `skl2onnx`. The text
vectorizer becomes ONNX string operators (StringNormalizer, Tokenizer, TfIdfVectorizer),
so the harness needs no featurizer code: `text` (a string tensor [N]) goes in and `score`
(float [N, 1], seed 003's `[[score], ...]` shape) comes out. The soft training targets are
fitted exactly by giving each review twice, as positive with weight `score` and as
negative with weight `1 - score` (cross-entropy against a soft label).

Writes a model directory: `model.onnx` + `model.json` (the model card read by
`harness.model_card`). Evaluates the written files through `harness.onnx_runtime`, as
served. Seed 003's reviews are excluded from training: their order is a test.

`build_cached` keeps one build per content hash of its inputs (this code, the lexicon and
evaluation data, the card code, the library versions, the sample count and seed), so
`make serve` and `make demo` train once and reuse the model while nothing changed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infra.model.reviews import (
    SEED_REVIEWS,
    ReviewGenerator,
    load_eval_set,
    load_lexicon,
)

NAME = "sentiment-en"
VERSION = "2"
DEFAULT_SAMPLES = 24_000
DEFAULT_SEED = 20240304
INPUT = "text"
OUTPUT = "score"
THRESHOLDS = {"negative_below": 0.35, "positive_above": 0.65}
# ASCII on both sides: scikit-learn's `re` and onnxruntime's RE2 agree on this pattern
# (they disagree on what `\w` means), and the graph lowercases first.
TOKEN_PATTERN = r"[a-z0-9]+(?:'[a-z0-9]+)?"
# StringNormalizer needs a locale for lowercasing; "C" exists everywhere, including the
# distroless image, while skl2onnx's default en_US.UTF-8 fails there ("Failed to construct
# locale") and on this machine.
LOCALE = "C"
OPSETS = {"": 17, "ai.onnx.ml": 3}


@dataclass(frozen=True)
class DemoReport:
    """What a build produced; printed by the CLI and shown by the demo."""

    out_dir: str
    model_bytes: int
    vocabulary: int
    train_samples: int
    eval_accuracy_3class: float
    eval_accuracy_polar: float
    seed_scores: dict[str, float]
    seconds: float


def train_pipeline(texts: list[str], targets: np.ndarray) -> Any:
    """TF-IDF (words + bigrams, sublinear tf) -> logistic regression on soft targets."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    pipe = Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    lowercase=True,
                    token_pattern=TOKEN_PATTERN,
                    ngram_range=(1, 2),
                    min_df=2,
                    sublinear_tf=True,
                    dtype=np.float32,
                ),
            ),
            ("clf", LogisticRegression(C=10.0, solver="lbfgs", max_iter=3000, tol=1e-6)),
        ]
    )
    n = len(texts)
    labels = np.r_[np.ones(n), np.zeros(n)]
    weights = np.r_[targets, 1.0 - targets]
    pipe.fit(texts + texts, labels, clf__sample_weight=weights)
    return pipe


def to_onnx(pipe: Any) -> Any:
    """The pipeline as an ONNX model with one string input and one [N, 1] score output."""
    from onnx import helper, numpy_helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import StringTensorType

    tfidf, clf = pipe.named_steps["tfidf"], pipe.named_steps["clf"]
    model = convert_sklearn(
        pipe,
        name=NAME,
        initial_types=[(INPUT, StringTensorType([None]))],
        options={
            id(clf): {"zipmap": False},
            id(tfidf): {"tokenexp": TOKEN_PATTERN, "locale": LOCALE},
        },
        target_opset=OPSETS,
    )
    graph = model.graph
    probabilities = next(o.name for o in graph.output if o.name != "label")
    # Column 1 is P(positive) (classes_ = [0., 1.]); keep it as a [N, 1] output.
    graph.initializer.extend(
        [
            numpy_helper.from_array(np.array([1], dtype=np.int64), "score_start"),
            numpy_helper.from_array(np.array([2], dtype=np.int64), "score_end"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "score_axis"),
        ]
    )
    graph.node.append(
        helper.make_node(
            "Slice", [probabilities, "score_start", "score_end", "score_axis"], [OUTPUT]
        )
    )
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(OUTPUT, 1, [None, 1]))
    model.doc_string = "gke-sandbox demo sentiment model: text -> P(positive)"
    # skl2onnx collects opsets in a set, so their order changes with PYTHONHASHSEED; sorted,
    # the same training run serializes to the same bytes in every process.
    opsets = sorted((o.domain, o.version) for o in model.opset_import)
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(domain, version) for domain, version in opsets)
    return model


def model_card(report_build: dict[str, Any]) -> dict[str, Any]:
    """The `model.json` of the demo model."""
    return {
        "format": "gke-sandbox/model-card/v1",
        "name": NAME,
        "version": VERSION,
        "model_file": "model.onnx",
        "inputs": [INPUT],
        "outputs": [OUTPUT],
        "labels": ["negative", "neutral", "positive"],
        "thresholds": dict(THRESHOLDS),
        "seed_api": {"input": INPUT, "output": OUTPUT, "index": 0},
        "build": report_build,
    }


def _label(score: float) -> str:
    if score < THRESHOLDS["negative_below"]:
        return "negative"
    if score > THRESHOLDS["positive_above"]:
        return "positive"
    return "neutral"


def _scores(model: Any, texts: list[str]) -> np.ndarray:
    return model.run({INPUT: np.array(texts, dtype=object)})[0][:, 0]


def build(out_dir: Path, *, samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> DemoReport:
    """Generate, train, convert, write `out_dir`, then evaluate the written files as served."""
    from harness.model_card import dump_card
    from harness.onnx_runtime import build_session, read_model_dir

    if samples < 100:
        raise ValueError(f"samples: {samples} is too few (need >= 100)")
    started = time.perf_counter()
    generator = ReviewGenerator(load_lexicon(), random.Random(seed))  # noqa: S311 - data, not secrets
    texts, targets = generator.dataset(samples, exclude=SEED_REVIEWS)
    pipe = train_pipeline(texts, targets)
    onnx_model = to_onnx(pipe)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.onnx").write_bytes(onnx_model.SerializeToString(deterministic=True))
    build_info = {
        "generator_seed": seed,
        "train_samples": samples,
        "data": ["infra/model/data/sentiment_lexicon.json"],
        "pipeline": "TfidfVectorizer(1-2 grams) -> LogisticRegression, skl2onnx",
    }
    (out_dir / "model.json").write_bytes(dump_card(model_card(build_info)))
    files = read_model_dir(out_dir)
    served = build_session(files)
    eval_rows = load_eval_set()
    scores = _scores(served, [text for _, text in eval_rows])
    acc3 = np.mean(
        [_label(float(s)) == label for s, (label, _) in zip(scores, eval_rows, strict=True)]
    )
    polar = [(s, lab) for s, (lab, _) in zip(scores, eval_rows, strict=True) if lab != "neutral"]
    acc_polar = np.mean([(s > 0.5) == (lab == "positive") for s, lab in polar])
    seed_scores = _scores(served, list(SEED_REVIEWS))
    return DemoReport(
        out_dir=str(out_dir),
        model_bytes=len(files["model.onnx"]),
        vocabulary=len(pipe.named_steps["tfidf"].vocabulary_),
        train_samples=samples,
        eval_accuracy_3class=round(float(acc3), 4),
        eval_accuracy_polar=round(float(acc_polar), 4),
        seed_scores={t: round(float(s), 4) for t, s in zip(SEED_REVIEWS, seed_scores, strict=True)},
        seconds=round(time.perf_counter() - started, 2),
    )


_HERE = Path(__file__).resolve().parent
CACHE_LIBRARIES = ("numpy", "scikit-learn", "skl2onnx", "onnx", "onnxruntime")


def cache_inputs() -> list[Path]:
    """The files a demo build depends on (besides the library versions)."""
    harness_dir = _HERE.parents[1] / "harness"
    data = sorted(p for p in (_HERE / "data").rglob("*") if p.is_file())
    return [_HERE / "onnx_demo.py", _HERE / "reviews.py", harness_dir / "model_card.py", *data]


def inputs_digest(samples: int = DEFAULT_SAMPLES, seed: int = DEFAULT_SEED) -> str:
    """A content hash of everything that decides the built model's bytes."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"samples={samples} seed={seed}\n".encode())
    for path in cache_inputs():
        digest.update(f"{path.relative_to(_HERE.parents[1]).as_posix()}\n".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for library in CACHE_LIBRARIES:
        digest.update(f"{library}=={version(library)}\n".encode())
    return digest.hexdigest()[:16]


def build_cached(cache_root: Path) -> tuple[Path, DemoReport, bool]:
    """(model directory, its build report, reused?): build only when no build of the same
    inputs exists under `cache_root`. A build goes to a temporary directory first and is
    renamed into place, so a half-written model is never reused and two runs may race."""
    target = cache_root / f"demo-model-{inputs_digest()}"
    report_file = target / "report.json"
    if report_file.is_file() and (target / "model" / "model.onnx").is_file():
        return target / "model", DemoReport(**json.loads(report_file.read_text())), True
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_root))
    try:
        built = build(staging / "model")
        report = DemoReport(**{**asdict(built), "out_dir": str(target / "model")})
        (staging / "report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
        with contextlib.suppress(OSError):  # another run finished the same build first
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / "model", report, False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.model.onnx_demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=Path("build/local/model"))
    parser.add_argument("--samples", type=int, default=DEFAULT_SAMPLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    try:
        report = build(args.out, samples=args.samples, seed=args.seed)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(asdict(report), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
