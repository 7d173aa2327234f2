"""Measure peak RSS growth while an ONNX model is loaded from a decrypted in-memory tar.

    python -m infra.model.onnx_rss --mib 256 [--workdir build/onnx-rss]

Builds a numeric MLP whose first weight matrix is `--mib` MiB (`onnx.helper`, weights laid
out by `infra.model.onnx_pack`), tars the model directory deterministically, then in a
fresh child process (the harness's interpreter flags) imports what the load needs, resets
the kernel's peak-RSS mark (`/proc/self/clear_refs` = 5), reads the tar into private
anonymous memory (as `harness.sealed.decrypt_into_memory` does after decryption), slices
it with `harness.tarview` and builds the session with `harness.onnx_runtime`. Prints one
JSON object: ratio = (VmHWM - baseline VmRSS - RssFile growth) / plaintext bytes, the
same definition as `make bench` (b); target <= 1.1. Also runs one inference and checks
it against the same model loaded from disk by onnxruntime.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np


def build_mlp(out_dir: Path, mib: float, *, seed: int = 0) -> Path:
    """A 2-layer MLP (x[N,D] -> relu(xW1+b1) W2 + b2 -> y[N,4]) with W1 of `mib` MiB."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from infra.model.onnx_pack import externalize

    d_in = 1024
    hidden = max(1, int(mib * (1 << 20)) // (4 * d_in))
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((d_in, hidden), dtype=np.float32) * 0.03).astype(np.float32)
    b1 = rng.standard_normal(hidden, dtype=np.float32) * 0.01
    w2 = rng.standard_normal((hidden, 4), dtype=np.float32) * 0.03
    b2 = np.zeros(4, dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w1"], ["h0"]),
            helper.make_node("Add", ["h0", "b1"], ["h1"]),
            helper.make_node("Relu", ["h1"], ["h2"]),
            helper.make_node("MatMul", ["h2", "w2"], ["y0"]),
            helper.make_node("Add", ["y0", "b2"], ["y"]),
        ],
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", d_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [
            numpy_helper.from_array(w1, "w1"),
            numpy_helper.from_array(b1, "b1"),
            numpy_helper.from_array(w2, "w2"),
            numpy_helper.from_array(b2, "b2"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    externalize(model, out_dir)
    return out_dir


def tar_dir(src: Path, dest: Path) -> Path:
    """Deterministic uncompressed tar, like `python -m infra seal` makes."""
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(path.relative_to(src).as_posix())
            info.size = path.stat().st_size
            info.mtime = 0
            with path.open("rb") as fh:
                tar.addfile(info, fh)
    return dest


def probe(tar_path: Path, threads: int) -> dict[str, Any]:
    """The child: baseline, load into anonymous memory, build the session, peak."""
    import gc

    import onnxruntime  # noqa: F401 - imported before the baseline, as the harness does

    from harness.onnx_runtime import build_session
    from harness.sealed import allocate_plaintext
    from harness.tarview import list_members
    from infra.benchmarks.common import status_bytes
    from infra.benchmarks.probe import _reset_peak_mark

    size = tar_path.stat().st_size
    gc.collect()
    reset = _reset_peak_mark()
    before = status_bytes()
    buf = allocate_plaintext(size)
    view = memoryview(buf)
    with tar_path.open("rb", buffering=0) as fh:
        pos = 0
        while pos < size:
            n = fh.readinto(view[pos : min(size, pos + (1 << 20))])
            if not n:
                break
            pos += n
    loaded = status_bytes()
    members = list_members(buf)
    files = {m.name: view[m.offset : m.offset + m.size] for m in members.values()}
    model = build_session(files, threads=threads)
    after = status_bytes()
    x = np.linspace(-1, 1, 1024, dtype=np.float32).reshape(1, 1024)
    y = model.run({"x": x})[0]
    after_run = status_bytes()
    file_growth = after.get("RssFile", 0) - before.get("RssFile", 0)
    peak_growth = after["VmHWM"] - before["VmRSS"]
    return {
        "plaintext_bytes": size,
        "external_bytes": model.external_bytes,
        "misaligned_tensors": list(model.misaligned),
        "baseline_rss_bytes": before["VmRSS"],
        "after_plaintext_rss_bytes": loaded["VmRSS"],
        "peak_rss_bytes": after["VmHWM"],
        "file_rss_growth_bytes": file_growth,
        "peak_mark_reset": reset,
        "rss_ratio": round(peak_growth / size, 4),
        "ratio": round((peak_growth - file_growth) / size, 4),
        "ratio_after_first_run": round(
            (after_run["VmHWM"] - before["VmRSS"] - file_growth) / size, 4
        ),
        "output": [float(v) for v in y.ravel()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.model.onnx_rss")
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--workdir", type=Path, default=Path("build/onnx-rss"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.threads)))
        return 0
    import onnxruntime as ort

    model_dir = build_mlp(args.workdir / "model", args.mib)
    tar_path = tar_dir(model_dir, args.workdir / "model.tar")
    child = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            *(sys.executable, "-E", "-s", "-B", "-m", "infra.model.onnx_rss"),
            *("--probe", str(tar_path), "--threads", str(args.threads)),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    session = ort.InferenceSession(str(model_dir / "model.onnx"))
    x = np.linspace(-1, 1, 1024, dtype=np.float32).reshape(1, 1024)
    expected = session.run(None, {"x": x})[0].ravel().tolist()
    result["same_as_disk_load"] = bool(
        np.allclose(result["output"], expected, rtol=1e-4, atol=1e-4)
    )
    result["max_abs_diff_vs_disk_load"] = float(
        np.max(np.abs(np.subtract(result["output"], expected)))
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
