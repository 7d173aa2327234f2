"""`make bench` in --quick mode: the results document's shape and internal consistency.

Never asserts on speed: the numbers depend on the machine and its load. What must hold
on any machine is that every figure is present, every measured number is positive and
finite, derived numbers follow from the raw ones, and each `meets_target` is the
comparison of its figure with its target.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.bench.common import compare, median, percentile, size_label

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("a_seal_unseal", "b_load_memory", "c_cold_start", "d_serving", "e_plan_time")


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One quick run of the real command (about 30 s); (results document, stdout)."""
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "infra", "bench", "--quick", "--out", str(out), "--workdir", str(tmp / "work")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (tmp / "work").exists(), "the scratch space is removed at the end"
    return json.loads(out.read_text()), done.stdout


def _positive(value: Any, where: str) -> None:
    assert isinstance(value, int | float) and not isinstance(value, bool), where
    assert math.isfinite(value) and value > 0, f"{where}: {value!r}"


def _close(a: float, b: float, where: str, rel: float = 0.02) -> None:
    assert math.isclose(a, b, rel_tol=rel), f"{where}: {a} vs {b}"


@pytest.mark.e2e
def test_every_figure_is_present_with_machine_and_parameters(quick):
    doc, _ = quick
    assert doc["schema"] == "gke-sandbox/bench/v1"
    machine = doc["machine"]
    for key in ("cpu", "cores", "memory_bytes", "kernel", "python", "openssl", "tink", "date"):
        assert machine.get(key), key
    assert doc["parameters"]["quick"] is True
    assert doc["parameters"]["only"] == ["a", "b", "c", "d", "e"]
    _positive(doc["total_seconds"], "total_seconds")
    for name in SECTIONS:
        section = doc[name]
        assert section["title"] and section["definition"].strip(), name
        assert section["rows"], name
        figure = section["figure"]
        assert figure["values"] and figure["unit"] and figure["description"], name
        for label, value in figure["values"].items():
            if value is None and name == "d_serving":  # the floor needs wrk
                assert not shutil.which("wrk"), f"{name}.figure.values[{label}] is None"
                continue
            _positive(value, f"{name}.figure.values[{label}]")


@pytest.mark.e2e
def test_meets_target_is_computed_from_the_figure_and_the_target(quick):
    doc, _ = quick
    with_target = [name for name in SECTIONS if doc[name]["target"]]
    assert with_target == ["a_seal_unseal", "b_load_memory", "d_serving"]
    for name in SECTIONS:
        section = doc[name]
        figure, target = section["figure"], section["target"]
        if target is None:
            assert section["meets_target"] is None and figure["value"] is None, name
            continue
        if name == "d_serving":
            # the floor at the most connections measured (1 in a quick run, 16 in a real one)
            most = max(doc[name]["throughput_vs_bare"]["by_connections"], key=int)
            assert figure["value"] == figure["values"][f"{most} connections"], name
            assert (target["comparison"], target["value"]) == (">=", 0.8), target
            if figure["value"] is None:  # no wrk here: no number, no verdict
                assert section["meets_target"] is None and not shutil.which("wrk"), name
                continue
            expected = figure["value"] >= 0.8
            assert section["meets_target"] is expected, name
            continue
        aggregate = {"min": min, "max": max}[figure["aggregate"]]
        assert figure["value"] == aggregate(figure["values"].values()), name
        # (a) is a throughput ratio (higher is better), (b) a memory ratio (lower is better).
        if name == "a_seal_unseal":
            assert (target["comparison"], target["value"]) == (">=", 0.8), target
            expected = figure["value"] >= 0.8
        else:
            assert (target["comparison"], target["value"]) == ("<=", 1.1), target
            expected = figure["value"] <= 1.1
        assert section["meets_target"] is expected, name


@pytest.mark.e2e
def test_seal_unseal_numbers_are_consistent(quick):
    doc, _ = quick
    a = doc["a_seal_unseal"]
    repeats = doc["parameters"]["repeats"]
    assert [row["model"] for row in a["rows"]] == doc["parameters"]["models"]
    _positive(a["openssl_aes_256_gcm"]["mb_s"], "openssl gcm")
    for row in a["rows"]:
        reference = row["openssl"]["mb_s"]
        for key in ("aes_256_ctr", "hmac_sha256", "sha256", "aes_256_ctr_hmac_sha256"):
            _positive(reference[key], f"{row['model']} openssl {key}")
        # combined = bytes / (t_ctr + t_hmac): slower than either alone
        assert reference["aes_256_ctr_hmac_sha256"] <= min(
            reference["aes_256_ctr"], reference["hmac_sha256"]
        )
        assert set(row["templates"]) >= {a["default_template"], "AES256_CTR_HMAC_SHA256_1MB"}
        for name, t in row["templates"].items():
            where = f"{row['model']} {name}"
            assert len(t["seal_seconds"]) == len(t["unseal_seconds"]) == repeats, where
            for key in ("seal_mb_s", "unseal_mb_s", "ciphertext_bytes", "plaintext_bytes"):
                _positive(t[key], f"{where} {key}")
            assert t["plaintext_bytes"] == row["plaintext_bytes"] < t["ciphertext_bytes"]
            mb = t["plaintext_bytes"] / 1e6
            _close(t["unseal_mb_s"], mb / min(t["unseal_seconds"]), where)
            _close(t["seal_mb_s"], mb / min(t["seal_seconds"]), where)
            _close(t["unseal_mb_s_median"], mb / median(t["unseal_seconds"]), where)
            assert t["unseal_mb_s"] >= t["unseal_mb_s_median"], where
            _close(
                t["unseal_vs_openssl_ctr_hmac"],
                t["unseal_mb_s"] / reference["aes_256_ctr_hmac_sha256"],
                where,
            )
        figure = row["templates"][a["default_template"]]["unseal_vs_openssl_ctr_hmac"]
        assert a["figure"]["values"][row["model"]] == figure


@pytest.mark.e2e
def test_memory_and_cold_start_numbers_are_consistent(quick):
    doc, _ = quick
    for row in doc["b_load_memory"]["rows"]:
        where = row["model"]
        for key in ("plaintext_bytes", "baseline_rss_bytes", "peak_rss_bytes", "load_seconds"):
            _positive(row[key], f"{where} {key}")
        assert row["peak_mark_reset"] is True, "VmHWM is reset before loading on Linux"
        assert row["growth_bytes"] == row["peak_rss_bytes"] - row["baseline_rss_bytes"] > 0
        assert row["fixed_overhead_bytes"] == row["growth_bytes"] - row["plaintext_bytes"]
        _close(row["rss_ratio"], row["growth_bytes"] / row["plaintext_bytes"], where, 0.001)
        private = row["growth_bytes"] - row["file_backed_growth_bytes"]
        _close(row["ratio"], private / row["plaintext_bytes"], where, 0.001)
        assert row["ratio"] <= row["rss_ratio"]
    for row in doc["c_cold_start"]["rows"]:
        phases = row["phases_seconds_from_start"]
        order = ["harness_starting", "keyset_unwrapped", "verified", "readyz_200"]
        assert set(order) <= set(phases), phases
        times = [phases[p] for p in order]
        for earlier, later in itertools.pairwise(times):
            assert earlier <= later + 0.05, phases  # log timestamps have ms resolution
        assert phases["readyz_200"] == row["seconds_to_ready"]
        _positive(row["harness_peak_rss_bytes"], "harness peak RSS")
        assert row["plaintext_bytes"] > 0


@pytest.mark.e2e
def test_serving_and_plan_numbers_are_consistent(quick):
    doc, stdout = quick
    d = doc["d_serving"]
    raw = d["raw_model"]
    for key in ("calls", "calls_per_second", "p50_ms", "p99_ms"):
        _positive(raw[key], f"raw {key}")
    assert [row["concurrency"] for row in d["rows"]] == [1, 16, 64]
    for row in d["rows"]:
        where = f"{row['concurrency']} clients"
        assert row["errors"] == 0 and row["ok"] == row["requests"] > 0, row
        assert row["requests"] <= doc["parameters"]["serve_max_requests_per_level"]
        _positive(row["rps"], where)
        assert 0 < row["p50_ms"] <= row["p99_ms"], where
        _close(row["rps"], row["requests"] / row["seconds"], where)
        _close(row["overhead_ratio"], raw["calls_per_second"] / row["rps"], where)
    floor = d["throughput_vs_bare"]
    assert floor["workers"] >= 1
    for key in ("by_connections", "model_free"):  # the floor, then the bare app without a model
        versus = floor[key]["1"]
        if shutil.which("wrk"):
            _positive(versus["harness"], f"{key}: harness req/s under wrk")
            _close(versus["ratio"], versus["harness"] / versus["bare"], f"{key}: harness / bare")
        else:
            assert versus == {"harness": None, "bare": None, "ratio": None, "runs": versus["runs"]}
    e = doc["e_plan_time"]
    assert [row["tenants"] for row in e["rows"]] == doc["parameters"]["tenants"]
    resources = [row["resources"] for row in e["rows"]]
    assert resources == sorted(resources) and resources[0] < resources[-1]
    for row in e["rows"]:
        for key in ("import_seconds", "first_run_seconds", "second_run_seconds"):
            _positive(row[key], f"{row['tenants']} tenants {key}")
    # the table names every figure
    for heading in ("(a)", "(b)", "(c)", "(d)", "(e)", "total"):
        assert heading in stdout


def test_only_rejects_unknown_figures(capsys):
    from infra.__main__ import main

    assert main(["bench", "--only", "a,z"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --only 'a,z'") and "unknown: z" in err and "\n" not in err


def test_workdir_that_is_not_ours_is_never_emptied(tmp_path, capsys):
    from infra.__main__ import main

    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    assert main(["bench", "--only", "e", "--workdir", str(tmp_path)]) == 2
    assert "not a benchmark scratch directory" in capsys.readouterr().err
    assert precious.read_text() == "keep me"


def test_only_parses_and_orders_the_selection():
    from infra.bench.bench import parse_only

    assert parse_only(" e, a ,c") == ("a", "c", "e")
    with pytest.raises(Exception, match="expected a comma-separated subset"):
        parse_only(",")


def test_compare_reads_the_comparison_it_is_given():
    assert compare(0.9, ">=", 0.8) is True and compare(0.7, ">=", 0.8) is False
    assert compare(1.0, "<=", 1.1) is True and compare(1.2, "<=", 1.1) is False
    with pytest.raises(ValueError, match="unknown comparison '=='"):
        compare(1.0, "==", 1.0)


def test_statistics_helpers():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    samples = [float(i) for i in range(1, 101)]
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert (
        size_label(24) == "64 MiB" and size_label(28) == "1024 MiB" and size_label(14) == "64 KiB"
    )


def test_sized_model_has_the_requested_weights_and_serves_like_onnxruntime(tmp_path):
    """The bench's large models: ONNX MLPs with 4 x 2^N bytes of external weights."""
    import numpy as np
    import onnxruntime as ort

    from harness.onnx_runtime import load_model_dir
    from infra.bench.common import tiled_model

    big = tiled_model(tmp_path / "unused", tmp_path / "big", 20)  # 4 MiB of W1
    assert 4 << 20 <= (big / "model.onnx.data").stat().st_size < (4 << 20) + (1 << 20)
    files = {p.name: memoryview(p.read_bytes()) for p in big.iterdir()}
    served = load_model_dir(files)
    x = np.random.default_rng(1).standard_normal((2, 1024), dtype=np.float32)
    reference = ort.InferenceSession(str(big / "model.onnx")).run(["y"], {"x": x})[0]
    # float32 sums in another order (the harness turns weight pre-packing off): ~1 ulp apart
    np.testing.assert_allclose(served.run({"x": x}, ["y"])[0], reference, rtol=1e-5, atol=1e-5)


def test_plan_config_has_one_workload_tenant_and_unique_names():
    from infra.bench.planning import stack_document

    tenants = stack_document(100)["config"]["gke-sandbox:tenants"]
    assert len(tenants) == 100
    assert sum("workloadServiceAccount" in t for t in tenants) == 1
    assert len({t["name"] for t in tenants}) == len({t["namespace"] for t in tenants}) == 100
    with pytest.raises(ValueError, match="not a positive number"):
        stack_document(0)
