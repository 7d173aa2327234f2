"""Parameters, machine facts, statistics and generated models shared by the benchmarks.

Units, everywhere: MB = 10^6 bytes, so throughput is MB/s as `openssl speed` reports it;
MiB = 2^20 bytes, used only to name model sizes. A model is named by its weights file:
"64 MiB" is 4 x 2^24 bytes of float32 weights; the plaintext the harness decrypts is the
uncompressed tar of the model directory, a few KiB more, and every ratio divides by that
exact plaintext size.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MB = 1_000_000
MIB = 1 << 20
REPO_ROOT = Path(__file__).resolve().parents[2]
# The model `make demo` serves: 2^20 hashed features, 4 MiB of weights.
DEMO_FEATURES_LOG2 = 20
SECTIONS = ("a", "b", "c", "d", "e")


@dataclass(frozen=True)
class Params:
    """What one run measures; `full()` is `make bench`, `quick()` is the seconds-long smoke run."""

    quick: bool
    sizes_log2: tuple[int, ...]  # models of 4 x 2^N bytes of weights
    repeats: int  # timed repetitions in (a); rates use the fastest, medians are reported too
    serve_model_log2: int  # the model (d) serves
    serve_levels: tuple[int, ...]  # concurrent clients in (d)
    serve_requests: int  # (d): at most this many measured requests per level...
    serve_seconds: float  # ...and at most this long
    raw_calls: int  # (d): in-process calls of the raw model, at most...
    raw_seconds: float  # ...and for at most this long
    tenants: tuple[int, ...]  # (e)
    train_samples: int  # the base model's training set (see `train_base`)
    train_epochs: int
    openssl_speed_seconds: int

    @classmethod
    def full(cls) -> Params:
        return cls(
            quick=False,
            sizes_log2=(24, 26, 28),
            repeats=5,
            serve_model_log2=DEMO_FEATURES_LOG2,
            serve_levels=(1, 16, 64),
            serve_requests=6000,
            serve_seconds=12.0,
            raw_calls=20000,
            raw_seconds=4.0,
            tenants=(1, 10, 100),
            train_samples=24_000,
            train_epochs=250,
            openssl_speed_seconds=2,
        )

    @classmethod
    def quick_run(cls) -> Params:
        return cls(
            quick=True,
            sizes_log2=(14, 16),
            repeats=1,
            serve_model_log2=14,
            serve_levels=(1, 16, 64),
            serve_requests=128,
            serve_seconds=3.0,
            raw_calls=200,
            raw_seconds=1.0,
            tenants=(1, 3),
            train_samples=1000,
            train_epochs=30,
            openssl_speed_seconds=1,
        )

    @property
    def base_log2(self) -> int:
        """The one model actually trained; every other size is tiled from it."""
        return min(self.serve_model_log2, *self.sizes_log2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "quick": self.quick,
            "models": [size_label(n) for n in self.sizes_log2],
            "features_log2": list(self.sizes_log2),
            "repeats": self.repeats,
            "serve_model": size_label(self.serve_model_log2),
            "serve_concurrency": list(self.serve_levels),
            "serve_max_requests_per_level": self.serve_requests,
            "serve_max_seconds_per_level": self.serve_seconds,
            "raw_max_calls": self.raw_calls,
            "raw_max_seconds": self.raw_seconds,
            "tenants": list(self.tenants),
            "base_model": {
                "features_log2": self.base_log2,
                "train_samples": self.train_samples,
                "train_epochs": self.train_epochs,
            },
        }


def size_label(features_log2: int) -> str:
    """'64 MiB' for 2^24 features (4 bytes each); KiB below 1 MiB."""
    nbytes = 4 << features_log2
    return f"{nbytes // MIB} MiB" if nbytes >= MIB else f"{nbytes // 1024} KiB"


def slug(label: str) -> str:
    return label.replace(" ", "")


class Progress:
    """Progress lines on stderr, stamped with the seconds since the run began."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def __call__(self, message: str) -> None:
        print(f"[{self.elapsed():7.1f}s] {message}", file=sys.stderr, flush=True)


# statistics
def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least q% of samples <= it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def rnd(value: float, digits: int = 3) -> float:
    """Round for the document: keeps 3 significant digits for small values."""
    if value == 0 or not math.isfinite(value):
        return value
    magnitude = math.floor(math.log10(abs(value)))
    return round(value, max(digits, digits - 1 - magnitude))


def compare(value: float, comparison: str, target: float) -> bool:
    if comparison == ">=":
        return value >= target
    if comparison == "<=":
        return value <= target
    raise ValueError(f"unknown comparison {comparison!r}")


# machine
def _first_match(path: str, pattern: str) -> str | None:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return None
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1).strip() if match else None


def openssl_binary() -> str | None:
    return shutil.which("openssl")


def machine_info() -> dict[str, Any]:
    """What the numbers were taken on: they mean nothing without it."""
    import ssl

    flags = (_first_match("/proc/cpuinfo", r"^flags\s*:(.*)$") or "").split()
    memory_kib = _first_match("/proc/meminfo", r"^MemTotal:\s+(\d+) kB")
    openssl = openssl_binary()
    openssl_version = None
    if openssl:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            [openssl, "version"], capture_output=True, text=True, check=False
        )
        openssl_version = done.stdout.strip() or None
    thp = _first_match("/sys/kernel/mm/transparent_hugepage/enabled", r"(.*)")
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count() or 1
    return {
        "cpu": _first_match("/proc/cpuinfo", r"^model name\s*:(.*)$") or platform.processor(),
        "cpu_flags": [
            f for f in ("aes", "vaes", "pclmulqdq", "sha_ni", "avx2", "avx512f") if f in flags
        ],
        "virtualized": "hypervisor" in flags,
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "memory_bytes": int(memory_kib) * 1024 if memory_kib else None,
        "kernel": f"{platform.system()} {platform.release()}",
        "transparent_hugepages": thp,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "openssl": openssl_version,
        "python_ssl": ssl.OPENSSL_VERSION,
        "tink": importlib.metadata.version("tink"),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def machine_line(machine: dict[str, Any]) -> str:
    memory = machine.get("memory_bytes")
    memory_text = f"{memory / (1 << 30):.0f} GiB" if memory else "? GiB"
    virt = ", virtualized" if machine.get("virtualized") else ""
    return (
        f"{machine['cpu']} ({machine['cores_usable']} cores{virt}), {memory_text} RAM, "
        f"{machine['kernel']}, {machine['python']}, {machine.get('openssl') or 'no openssl'}, "
        f"tink {machine['tink']}, {machine['date']}"
    )


# models
def train_base(out: Path, params: Params) -> Path:
    """The ONNX demo model (text in, probability out), served in (d)."""
    from infra.model.onnx_demo import build

    build(out, samples=params.train_samples)
    return out


def tiled_model(base: Path, out: Path, features_log2: int) -> Path:
    """An ONNX model with 4 x 2^N bytes of weights, laid out as the seal tool lays it out.

    A two-layer MLP (`infra.model.onnx_rss.build_mlp`) whose first weight matrix has the
    requested size, in `model.onnx.data` beside the graph, plus its card: the size is
    real (every byte is sealed, decrypted, hashed and handed to ONNX Runtime) without
    training a 1 GiB model. `base` is unused (kept so the sizes stay a function of N).
    """
    from harness.model_card import CARD_FORMAT, dump_card
    from infra.model.onnx_rss import build_mlp

    del base
    build_mlp(out, (4 << features_log2) / (1 << 20))
    card = {
        "format": CARD_FORMAT,
        "name": f"bench-mlp-{size_label(features_log2).replace(' ', '').lower()}",
        "version": "1",
        "inputs": ["x"],
        "outputs": ["y"],
    }
    (out / "model.json").write_bytes(dump_card(card))
    return out


def tar_model(model_dir: Path, tar_path: Path) -> int:
    """The sealer's deterministic tar of `model_dir` as a file; returns its size."""
    from infra.model.seal import tar_directory

    tar_path.parent.mkdir(parents=True, exist_ok=True)
    with tar_path.open("wb") as fh:
        tar_directory(model_dir)(fh)
    return tar_path.stat().st_size


def status_bytes(pid: int | str = "self") -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) and the RSS split of a process, in bytes (/proc/<pid>/status).

    RssFile is file-backed pages (shared-library code among them), RssAnon private memory.
    """
    text = Path(f"/proc/{pid}/status").read_text()
    out: dict[str, int] = {}
    for key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
        match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
        if match:
            out[key] = int(match.group(1)) * 1024
    return out
