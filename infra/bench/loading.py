"""(b) Peak memory while the harness loads a model, and (c) the harness's cold start.

(b) In a fresh child process per model (`python -E -s -B -m infra.bench.probe load`,
the harness's interpreter flags and environment): import what the harness imports and
create its storage and KMS clients; reset the kernel's peak-RSS mark
(`/proc/self/clear_refs` = 5) and read VmRSS (the baseline); run
`harness.loader.load_sealed_model` through fake-gcs-server and the local KMS; read VmHWM
(the peak). rss_ratio = (peak - baseline) / plaintext bytes. A cold process also pages in
shared-library machine code on first use during the load (gRPC's for the KMS call, Tink's
streaming code: file-backed, shared and reclaimable, about 2 MiB here), which is not data
the load holds, so the figure compared with the target is the private part:
ratio = (peak - baseline - growth of RssFile) / plaintext bytes (RssFile read after the
load, so code paged in after the peak, ~0.1 MiB, is subtracted too). Both are reported,
with the fixed overhead (peak - baseline - plaintext). Target: ratio <= 1.1 for every
model (holding the ciphertext and the plaintext at once would be >= 2); the figure is the
largest ratio. Also reported: the load time and MB/s end to end through the emulated
storage (fake-gcs-server runs on the same 2 cores).

(c) Wall time from `Popen` of the real harness process (`python -E -s -B -m harness`, as
`make demo` starts it) to the first 200 from `GET /readyz` over TLS, polled every 10 ms
on one keep-alive connection (reconnecting while the port is still closed), on the local
emulators with `MODEL_SHA256` pinned. Phases come from the harness's own JSON log
(wall-clock timestamps, ms): start -> "harness starting"
(interpreter, imports, configuration, TLS check) -> "keyset unwrapped" (object metadata +
KMS) -> "verified" (download, decrypt, hash, parse) -> /readyz 200 seen by the poller.
Also the harness process's VmHWM once ready. No target.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import contract
from infra.bench.common import MB, REPO_ROOT, compare, rnd, slug, status_bytes
from infra.errors import UserError

TARGET = {
    "value": 1.1,
    "comparison": "<=",
    "description": "peak RSS growth while loading <= 1.1 x the model's plaintext size",
}
PHASES = (
    ("harness_starting", "harness starting"),
    ("keyset_unwrapped", "keyset unwrapped"),
    ("verified", "verified "),
    ("ready_logged", "ready: serving"),
)


def upload(storage: Any, uri: str, ciphertext: Path, metadata: dict[str, str]) -> None:
    """Put a sealed file into the emulated bucket with its metadata (what `seal` uploads)."""
    from harness.sealed import parse_gcs_uri
    from infra.model.seal import UPLOAD_CHUNK

    target = parse_gcs_uri(uri)
    blob = storage.bucket(target.bucket).blob(target.name, chunk_size=UPLOAD_CHUNK)
    blob.metadata = metadata
    blob.upload_from_filename(str(ciphertext), content_type="application/octet-stream")


def delete(storage: Any, uri: str) -> None:
    from harness.sealed import parse_gcs_uri

    target = parse_gcs_uri(uri)
    storage.bucket(target.bucket).blob(target.name).delete()


def probe_command(*args: str) -> list[str]:
    return [sys.executable, "-E", "-s", "-B", "-m", "infra.bench.probe", *args]


def run_probe(argv: list[str], env: dict[str, str] | None, timeout: float) -> dict[str, Any]:
    """Run a probe child; its last stdout line is a JSON object."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise UserError(f"probe {' '.join(argv[-2:])} failed ({done.returncode}): {last}")
    return dict(json.loads(lines[-1]))


def measure_memory(
    stack: Any, *, label: str, uri: str, sha256: str, say: Callable[[str], None]
) -> dict[str, Any]:
    """(b) for one sealed object: the load in a fresh child process."""
    env = stack.harness_env(port=contract.PORT, model_uri=uri, sha256=sha256)  # port unused here
    probe = run_probe(probe_command("load"), env, timeout=1200)
    size = probe["plaintext_bytes"]
    growth = probe["peak_rss_bytes"] - probe["baseline_rss_bytes"]
    code = max(0, probe["file_rss_growth_bytes"])
    row = {
        "model": label,
        "plaintext_bytes": size,
        "baseline_rss_bytes": probe["baseline_rss_bytes"],
        "peak_rss_bytes": probe["peak_rss_bytes"],
        "after_load_rss_bytes": probe["after_rss_bytes"],
        "peak_mark_reset": probe["peak_mark_reset"],
        "growth_bytes": growth,
        "file_backed_growth_bytes": code,
        "fixed_overhead_bytes": growth - size,
        "rss_ratio": rnd(growth / size, 4),
        "ratio": rnd((growth - code) / size, 4),
        "load_seconds": rnd(probe["load_seconds"], 4),
        "load_mb_s": rnd(size / probe["load_seconds"] / MB),
        "download_requests": probe["download_requests"],
    }
    say(
        f"(b) {label}: peak RSS growth {growth / (1 << 20):.1f} MiB = {row['rss_ratio']:.3f} x "
        f"model, {row['ratio']:.3f} x without {code / (1 << 20):.1f} MiB of library code; "
        f"load through fake-gcs {row['load_seconds']:.2f}s ({row['load_mb_s']:.0f} MB/s)"
    )
    return row


TARGET_FROM_BYTES = 256 << 20
"""Issue 13's bound holds "for a model of 256 MiB or more": below that, ONNX Runtime's fixed
~20 MiB of arenas and code is a visible fraction of the model (reported, not judged)."""


def summarize_memory(rows: list[dict[str, Any]]) -> dict[str, Any]:
    judged = [row for row in rows if row["plaintext_bytes"] >= TARGET_FROM_BYTES] or rows
    values = {row["model"]: row["ratio"] for row in judged}
    figure = max(values.values())
    return {
        "title": "peak RSS growth while loading / model size",
        "definition": __doc__.split("\n\n")[1],
        "rows": rows,
        "figure": {
            "description": (
                "(peak RSS - RSS before loading - library code paged in) / plaintext bytes, "
                "models of 256 MiB or more (all models if none is that large)"
            ),
            "unit": "ratio",
            "values": values,
            "aggregate": "max",
            "value": figure,
        },
        "target": TARGET,
        "meets_target": compare(figure, TARGET["comparison"], TARGET["value"]),
    }


class _ReadyPoller:
    """GET /readyz on one keep-alive TLS connection, reconnecting only after a failure.

    A new TLS handshake every 10 ms would load the harness's CPU while it decrypts and
    slow down exactly what is being timed; a kept-alive GET costs it a fraction of that.
    """

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self._port = port
        self._context = context
        self._conn: http.client.HTTPSConnection | None = None

    def ready(self) -> bool:
        if self._conn is None:
            self._conn = http.client.HTTPSConnection(
                "127.0.0.1", self._port, context=self._context, timeout=5
            )
        try:
            self._conn.request("GET", "/readyz")
            response = self._conn.getresponse()
            response.read()
            return response.status == 200
        except (OSError, http.client.HTTPException):
            self.close()
            return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _phases(log: Path, started_wall: float) -> dict[str, float]:
    """Seconds from process start to the first log line of each phase."""
    found: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        message = str(entry.get("message", ""))
        for key, prefix in PHASES:
            if key not in found and message.startswith(prefix):
                at = dt.datetime.fromisoformat(entry["time"]).timestamp()
                found[key] = rnd(at - started_wall, 4)
    return found


def measure_cold_start(
    stack: Any, *, label: str, uri: str, sha256: str, say: Callable[[str], None]
) -> dict[str, Any]:
    """(c) for one sealed object: spawn the harness, time to /readyz 200, then stop it."""
    from harness.client import HarnessClient, read_token
    from infra.local.gcs import free_port
    from infra.local.stack import stop_process

    port = free_port()
    env = stack.harness_env(
        port=port, model_uri=uri, sha256=sha256, extra={"HARNESS_RATE_LIMIT": "0"}
    )
    log = stack.paths.logs / f"harness-coldstart-{slug(label)}.log"
    context = ssl.create_default_context(cafile=str(stack.paths.ca_cert))
    started_wall = time.time()
    started = time.perf_counter()
    proc = stack.start_harness(env, log_to=log)
    poller = _ReadyPoller(port, context)
    ready_after: float | None = None
    polls = 0
    try:
        while time.perf_counter() - started < 900:
            if proc.poll() is not None:
                raise UserError(
                    f"the harness exited with {proc.returncode} before ready; see {log}"
                )
            polls += 1
            if poller.ready():
                ready_after = time.perf_counter() - started
                break
            time.sleep(0.01)
        if ready_after is None:
            raise UserError(f"the harness was not ready within 900 s; see {log}")
        memory = status_bytes(proc.pid)
        check = HarnessClient(
            f"https://127.0.0.1:{port}", stack.paths.ca_cert, read_token(stack.paths.token_file)
        ).check()
    finally:
        poller.close()
        stop_process(proc)
    phases = _phases(log, started_wall)
    phases["readyz_200"] = rnd(ready_after, 4)
    row = {
        "model": label,
        "plaintext_bytes": check["plaintext_bytes"],
        "seconds_to_ready": rnd(ready_after, 4),
        "phases_seconds_from_start": phases,
        "harness_load_seconds": check["load_seconds"],
        "harness_peak_rss_bytes": memory.get("VmHWM"),
        "harness_rss_bytes": memory.get("VmRSS"),
        "readyz_polls": polls,
    }
    say(
        f"(c) {label}: /readyz 200 after {ready_after:.2f}s "
        f"(harness starting at {phases.get('harness_starting', float('nan')):.2f}s, "
        f"verified at {phases.get('verified', float('nan')):.2f}s)"
    )
    return row


def summarize_cold_start(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "title": "harness cold start to /readyz 200",
        "definition": __doc__.split("\n\n")[2],
        "rows": rows,
        "figure": {
            "description": "seconds from process start to the first /readyz 200",
            "unit": "s",
            "values": {row["model"]: row["seconds_to_ready"] for row in rows},
            "aggregate": None,
            "value": None,
        },
        "target": None,
        "meets_target": None,
    }
