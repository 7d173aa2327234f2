"""The results table printed at the end of `make bench` (the JSON document has everything)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from infra.bench.common import MIB, machine_line


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], indent: str = "  ") -> str:
    """Left-aligned first column, right-aligned numbers."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        lines.append(indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value >= 100:
            return f"{value:.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if value >= 1 else f"{value:.3f}"
    return str(value)


def _verdict(section: dict[str, Any]) -> str:
    target = section.get("target")
    figure = section["figure"]
    if not target:
        return ""
    if section["meets_target"] is None:
        return f"  figure: none (nothing measured it) vs target {target['comparison']} {target['value']}"
    mark = "MEETS" if section["meets_target"] else "MISSES"
    return (
        f"  figure: {figure['aggregate']} {figure['value']} vs target "
        f"{target['comparison']} {target['value']}: {mark} the target"
    )


def render(results: dict[str, Any]) -> str:
    out = [f"gke-sandbox benchmarks on {machine_line(results['machine'])}"]
    if results["parameters"]["quick"]:
        out.append("QUICK RUN (tiny sizes, few requests): not representative")
    for key, section in _SECTIONS:
        if results.get(key):
            out.append("")
            out.extend(section(results, results[key]))
    out.append("")
    out.append(f"total {results['total_seconds']:.0f} s")
    return "\n".join(out)


def _seal_unseal(results: dict[str, Any], a: dict[str, Any]) -> list[str]:
    out = [
        f"(a) seal / unseal throughput, MB/s (10^6 bytes/s, fastest of "
        f"{results['parameters']['repeats']}, both sides); openssl on the same bytes"
    ]
    rows = []
    for row in a["rows"]:
        ref = row["openssl"]["mb_s"]
        for name, t in row["templates"].items():
            rows.append(
                [
                    row["model"],
                    name,
                    t["seal_mb_s"],
                    t["unseal_mb_s"],
                    ref["aes_256_ctr_hmac_sha256"],
                    t["unseal_vs_openssl_ctr_hmac"],
                    t.get("unseal_vs_openssl_same_cipher"),
                ]
            )
    headers = [
        "model",
        "template",
        "seal",
        "unseal",
        "openssl CTR+HMAC",
        "unseal/CTR+HMAC",
        "unseal/same cipher",
    ]
    out.append(table(headers, rows))
    gcm = a["openssl_aes_256_gcm"]["mb_s"]
    refs = "; ".join(
        f"{row['model']}: CTR {row['openssl']['mb_s']['aes_256_ctr']:.0f}, "
        f"HMAC {row['openssl']['mb_s']['hmac_sha256']:.0f}, "
        f"SHA-256 {row['openssl']['mb_s']['sha256']:.0f}"
        for row in a["rows"]
    )
    out.append(f"  openssl AES-256-GCM {gcm:.0f} MB/s (speed, 1 MiB blocks); {refs}")
    out.append(_verdict(a) + f" (template {a['default_template']})")
    return out


def _load_memory(results: dict[str, Any], b: dict[str, Any]) -> list[str]:
    headers = [
        "model",
        "plaintext MiB",
        "before MiB",
        "peak MiB",
        "fixed MiB",
        "RSS growth/size",
        "w/o lib code",
        "load s",
        "load MB/s",
    ]
    rows = [
        [
            r["model"],
            r["plaintext_bytes"] / MIB,
            r["baseline_rss_bytes"] / MIB,
            r["peak_rss_bytes"] / MIB,
            r["fixed_overhead_bytes"] / MIB,
            r["rss_ratio"],
            r["ratio"],
            r["load_seconds"],
            r["load_mb_s"],
        ]
        for r in b["rows"]
    ]
    return [
        "(b) peak RSS while loading through fake-gcs-server + local KMS (fresh process)",
        table(headers, rows),
        _verdict(b),
    ]


def _cold_start(results: dict[str, Any], c: dict[str, Any]) -> list[str]:
    headers = ["model", "ready", "imports done", "keyset unwrapped", "verified", "peak RSS MiB"]
    rows = [
        [
            r["model"],
            r["seconds_to_ready"],
            r["phases_seconds_from_start"].get("harness_starting"),
            r["phases_seconds_from_start"].get("keyset_unwrapped"),
            r["phases_seconds_from_start"].get("verified"),
            (r["harness_peak_rss_bytes"] or 0) / MIB,
        ]
        for r in c["rows"]
    ]
    return [
        "(c) cold start: process start -> first /readyz 200 (seconds from start)",
        table(headers, rows),
    ]


def _serving(results: dict[str, Any], d: dict[str, Any]) -> list[str]:
    raw = d["raw_model"]
    headers = ["clients", "req/s", "p50 ms", "p99 ms", "errors", "raw/harness rps", "p50 vs raw"]
    rows = [
        [
            r["concurrency"],
            r["rps"],
            r["p50_ms"],
            r["p99_ms"],
            r["errors"],
            r["overhead_ratio"],
            r["latency_ratio_p50"],
        ]
        for r in d["rows"]
    ]
    return [
        f"(d) POST /predict over TLS, seed 003's 3 reviews, model {d['model']}; raw model in "
        f"process: {raw['calls_per_second']:.0f} calls/s, p50 {raw['p50_ms']:.3f} ms, "
        f"p99 {raw['p99_ms']:.3f} ms",
        table(headers, rows),
        *_versus_bare(d),
        _verdict(d),  # (d) always has its target, the floor
    ]


def _versus_bare(d: dict[str, Any]) -> list[str]:
    versus = d.get("throughput_vs_bare") or {}
    lines: list[str] = []
    for key, what in (
        ("by_connections", "scoring with the same ONNX session: the floor, target >= 0.8"),
        ("model_free", "returning constants: how much of a request the model is"),
    ):
        rows = [
            [n, r["harness"], r["bare"], r["ratio"]] for n, r in (versus.get(key) or {}).items()
        ]
        if not rows:
            continue
        lines += [
            f"    harness / bare uvicorn+Starlette app {what}",
            f"    ({versus.get('workers', '?')} worker(s) each; wrk, best of runs; None: wrk not installed)",
            table(["connections", "harness req/s", "bare req/s", "ratio"], rows),
        ]
    return lines


def _plan_time(results: dict[str, Any], e: dict[str, Any]) -> list[str]:
    headers = ["tenants", "resources", "plan s", "first run s", "imports s", "ms/resource"]
    rows = [
        [
            r["tenants"],
            r["resources"],
            r["second_run_seconds"],
            r["first_run_seconds"],
            r["import_seconds"],
            r["ms_per_resource"],
        ]
        for r in e["rows"]
    ]
    out = [
        "(e) offline plan of the dev stack under mocks, fresh process per tenant count",
        table(headers, rows),
    ]
    if e.get("growth"):
        g = e["growth"]
        out.append(
            f"  growth: {g['seconds_per_extra_tenant']} s and "
            f"{g['resources_per_extra_tenant']} resources per extra tenant"
        )
    return out


_SECTIONS = (
    ("a_seal_unseal", _seal_unseal),
    ("b_load_memory", _load_memory),
    ("c_cold_start", _cold_start),
    ("d_serving", _serving),
    ("e_plan_time", _plan_time),
)
