"""The sentiment model: a hashed word/bigram featurizer and a logistic regression over it.

The exported format is plain data so that loading a decrypted model never executes code:
a directory holding `model.json` (a small header) and a raw little-endian float32 weight
file. The harness views the weights with `np.frombuffer` over the decrypted buffer, so
loading makes no second copy. The featurizer is fixed in code (the header only names it
and gives numeric parameters): a header can never smuggle in a regex or a callable.
"""

from __future__ import annotations

import json
import math
import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "gke-sandbox.hashed-logreg"
FORMAT_VERSION = 1
FEATURIZER = "words-bigrams-negation-crc32"
FEATURIZER_VERSION = 1
HEADER_FILE = "model.json"
WEIGHTS_FILE = "weights.bin"
WEIGHTS_DTYPE = "<f4"
MAX_HEADER_BYTES = 64 * 1024
MIN_FEATURES_LOG2 = 4
MAX_FEATURES_LOG2 = 30

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_CLAUSE_BREAK = re.compile(r"[.!?;:,()\[\]\"]+|\s[-\u2013\u2014]+\s")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'"})
# A negator flips the meaning of the next few words of its clause ("not good").
NEGATORS = frozenset(
    (
        "not", "no", "never", "nothing", "nobody", "none", "nowhere", "hardly", "barely",
        "neither", "nor", "without", "cannot", "isn't", "wasn't", "aren't", "weren't",
        "don't", "doesn't", "didn't", "can't", "couldn't", "won't", "wouldn't", "shouldn't",
        "ain't", "hasn't", "haven't", "hadn't",
    )
)  # fmt: skip
NEGATION_SCOPE = 3
# "good but boring": contrast words end a negation scope.
_SCOPE_ENDERS = frozenset({"but", "however", "though", "although", "yet", "except"})


_F32 = struct.Struct("f")


class ModelFormatError(ValueError):
    """The model bytes do not form a valid model of this format (names the field)."""


def feature_names(text: str) -> list[str]:
    """Turn one review into feature strings: unigrams (negated within scope) and bigrams.

    Why this shape: bigrams capture "not good" / "not bad", and marking the words after a
    negator keeps "good" in "not good at all" from counting as praise.
    """
    lowered = text.lower().translate(_APOSTROPHES)
    feats: list[str] = []
    for clause in _CLAUSE_BREAK.split(lowered):
        words = _WORD.findall(clause)
        if not words:
            continue
        prev = "<c>"
        negated = 0
        for word in words:
            if word in _SCOPE_ENDERS:
                negated = 0
            if negated:
                feats.append("n:" + word)
                negated -= 1
            else:
                feats.append("u:" + word)
            feats.append("b:" + prev + " " + word)
            if word in NEGATORS:
                negated = NEGATION_SCOPE
            prev = word
        feats.append("b:" + prev + " </c>")
    if not feats:
        feats.append("e:<empty>")
    return feats


def featurize(texts: Sequence[str], n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch as a CSR-like triple (indices, values, row offsets); rows are L2-normalised.

    Signed hashing trick: index = low bits of CRC-32, sign = its top bit. CRC-32 is stable
    across processes and platforms (unlike `hash()`), and the sign makes collisions cancel
    on average instead of piling up. Plain lists first, one conversion at the end: this
    loop is the per-request hot path.
    """
    mask = n_features - 1
    crc32 = zlib.crc32
    idx: list[int] = []
    val: list[float] = []
    offsets = [0]
    for text in texts:
        names = feature_names(text)
        weight = 1.0 / math.sqrt(len(names))
        for name in names:
            h = crc32(name.encode("utf-8"))
            idx.append(h & mask)
            val.append(-weight if h & 0x80000000 else weight)
        offsets.append(len(idx))
    return (
        np.array(idx, dtype=np.int64),
        np.array(val, dtype=np.float32),
        np.array(offsets, dtype=np.int64),
    )


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function: 1/(1+e^-z) = (1 + tanh(z/2)) / 2.

    tanh never overflows, and it is three array operations instead of six masked ones:
    it matters on the per-request path, where the arrays are a few elements long.
    """
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass(frozen=True)
class Thresholds:
    """Score cut-offs used to name a score (the API returns the score itself)."""

    negative_below: float
    positive_above: float

    def label(self, score: float) -> str:
        if score < self.negative_below:
            return "negative"
        if score > self.positive_above:
            return "positive"
        return "neutral"


class SentimentModel:
    """Scores reviews in [0, 1] (1 = positive). Holds a read-only view of its weights."""

    def __init__(self, header: dict[str, Any], weights: np.ndarray) -> None:
        self.header = header
        self.name = str(header["name"])
        self.n_features = int(header["featurizer"]["n_features"])
        self.bias = float(header["bias"])
        labels = header["labels"]
        self.thresholds = Thresholds(
            float(labels["negative_below"]), float(labels["positive_above"])
        )
        weights.flags.writeable = False
        self.weights = weights
        # the same bytes as native float32 for scalar reads from Python (no copy)
        self._scalar_weights = memoryview(weights).cast("B").cast("f")

    @property
    def nbytes(self) -> int:
        return int(self.weights.nbytes)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """One probability-of-positive per text, as float64."""
        idx, val, offsets = featurize(texts, self.n_features)
        if not texts:
            return np.empty(0, dtype=np.float64)
        contrib = self.weights[idx].astype(np.float64) * val
        logits = np.add.reduceat(contrib, offsets[:-1]) + self.bias
        return sigmoid(logits)

    def predict_small(self, texts: Sequence[str]) -> list[float]:
        """`predict` for a handful of short reviews, in plain Python: same numbers.

        Why: for seed-sized requests, numpy's per-call overhead (array conversions, fancy
        indexing, reduceat, tanh: ~10 calls) costs more than the arithmetic. The sum runs in
        the same order, in float64, over the same float32 weights and float32-rounded
        values, so the scores equal `predict`'s (a test checks it on the evaluation set).
        """
        mask = self.n_features - 1
        crc32 = zlib.crc32
        weights = self._scalar_weights
        to_f32 = _F32.pack
        from_f32 = _F32.unpack
        scores = []
        for text in texts:
            names = feature_names(text)
            weight = from_f32(to_f32(1.0 / math.sqrt(len(names))))[0]
            total = 0.0
            for name in names:
                h = crc32(name.encode("utf-8"))
                total += weights[h & mask] * (-weight if h & 0x80000000 else weight)
            scores.append(0.5 * (1.0 + math.tanh(0.5 * (total + self.bias))))
        return scores

    def describe(self) -> dict[str, Any]:
        """What /check may say about the model: identity, not internals."""
        return {
            "name": self.name,
            "format": f"{FORMAT}/v{FORMAT_VERSION}",
            "featurizer": f"{FEATURIZER}/v{FEATURIZER_VERSION}",
            "weights_bytes": self.nbytes,
            "labels": {
                "negative_below": self.thresholds.negative_below,
                "positive_above": self.thresholds.positive_above,
            },
        }


def _require(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in obj:
        raise ModelFormatError(f"{where}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ModelFormatError(f"{where}.{key}: expected {kind}, got {type(value).__name__}")
    return value


def parse_header(raw: bytes | memoryview) -> dict[str, Any]:
    """Validate `model.json` strictly: the only thing read from it is plain JSON data."""
    if len(raw) > MAX_HEADER_BYTES:
        raise ModelFormatError(f"{HEADER_FILE}: {len(raw)} bytes, limit is {MAX_HEADER_BYTES}")
    try:
        header = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{HEADER_FILE}: not valid UTF-8 JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ModelFormatError(f"{HEADER_FILE}: expected a JSON object")
    fmt = _require(header, "format", str, HEADER_FILE)
    version = _require(header, "format_version", int, HEADER_FILE)
    if fmt != FORMAT or version != FORMAT_VERSION:
        raise ModelFormatError(
            f"{HEADER_FILE}: format {fmt!r} v{version} is not supported; "
            f"expected {FORMAT!r} v{FORMAT_VERSION}"
        )
    _require(header, "name", str, HEADER_FILE)
    feat = _require(header, "featurizer", dict, HEADER_FILE)
    if (
        _require(feat, "name", str, "featurizer") != FEATURIZER
        or _require(feat, "version", int, "featurizer") != FEATURIZER_VERSION
    ):
        raise ModelFormatError(
            f"featurizer {feat.get('name')!r} v{feat.get('version')} is not supported; "
            f"expected {FEATURIZER!r} v{FEATURIZER_VERSION}"
        )
    n = _require(feat, "n_features", int, "featurizer")
    if n < 2**MIN_FEATURES_LOG2 or n > 2**MAX_FEATURES_LOG2 or n & (n - 1):
        raise ModelFormatError(
            f"featurizer.n_features: {n} is not a power of two in "
            f"[2^{MIN_FEATURES_LOG2}, 2^{MAX_FEATURES_LOG2}]"
        )
    weights = _require(header, "weights", dict, HEADER_FILE)
    wfile = _require(weights, "file", str, "weights")
    if wfile != WEIGHTS_FILE:
        raise ModelFormatError(f"weights.file: {wfile!r}, expected {WEIGHTS_FILE!r}")
    if _require(weights, "dtype", str, "weights") != WEIGHTS_DTYPE:
        raise ModelFormatError(f"weights.dtype: {weights['dtype']!r}, expected {WEIGHTS_DTYPE!r}")
    if _require(weights, "count", int, "weights") != n:
        raise ModelFormatError(f"weights.count: {weights['count']}, expected n_features = {n}")
    bias = _require(header, "bias", (int, float), HEADER_FILE)
    if not math.isfinite(bias):
        raise ModelFormatError(f"bias: {bias!r} is not finite")
    labels = _require(header, "labels", dict, HEADER_FILE)
    lo = _require(labels, "negative_below", (int, float), "labels")
    hi = _require(labels, "positive_above", (int, float), "labels")
    if not 0.0 <= lo <= hi <= 1.0:
        raise ModelFormatError(
            f"labels: need 0 <= negative_below <= positive_above <= 1, got {lo}, {hi}"
        )
    return header


def load_model(
    header_raw: bytes | memoryview, weights_raw: memoryview | bytearray
) -> SentimentModel:
    """Build the model over `weights_raw` without copying it."""
    header = parse_header(header_raw)
    count = int(header["weights"]["count"])
    expected = count * np.dtype(WEIGHTS_DTYPE).itemsize
    if len(weights_raw) != expected:
        raise ModelFormatError(
            f"{WEIGHTS_FILE}: {len(weights_raw)} bytes, expected {expected} ({count} x float32)"
        )
    weights = np.frombuffer(weights_raw, dtype=WEIGHTS_DTYPE, count=count)
    # Checked in slices: np.isfinite over the whole array would allocate a temporary of a
    # quarter of the model's size and break the memory budget of a load.
    step = 1 << 18
    for start in range(0, count, step):
        if not bool(np.isfinite(weights[start : start + step]).all()):
            raise ModelFormatError(f"{WEIGHTS_FILE}: contains NaN or infinite values")
    return SentimentModel(header, weights)


def export_model(
    out_dir: Path,
    *,
    name: str,
    weights: np.ndarray,
    bias: float,
    thresholds: Thresholds,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the directory format (`model.json` + raw little-endian float32 weights)."""
    n = int(weights.shape[0])
    header: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "featurizer": {"name": FEATURIZER, "version": FEATURIZER_VERSION, "n_features": n},
        "weights": {"file": WEIGHTS_FILE, "dtype": WEIGHTS_DTYPE, "count": n},
        "bias": float(bias),
        "labels": {
            "negative_below": thresholds.negative_below,
            "positive_above": thresholds.positive_above,
        },
    }
    if extra:
        header["build"] = extra
    raw = json.dumps(header, indent=2, sort_keys=True).encode("utf-8") + b"\n"
    parse_header(raw)  # never write what the harness would refuse
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / HEADER_FILE).write_bytes(raw)
    np.ascontiguousarray(weights, dtype=WEIGHTS_DTYPE).tofile(out_dir / WEIGHTS_FILE)
    return out_dir
