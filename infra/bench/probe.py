"""Child processes of the benchmarks; each prints one JSON object as its last stdout line.

    python -E -s -B -m infra.bench.probe load     # (b), env as the harness gets it
    python -E -s -B -m infra.bench.probe plan N   # (e), the dev stack with N tenants

A fresh process per measurement, so nothing measured before (buffers, imports, a previous
model) is in its memory or its import cache.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _reset_peak_mark() -> bool:
    """Make VmHWM start again from the current RSS (Linux `clear_refs` = 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def probe_load() -> dict[str, Any]:
    """(b): RSS before, peak RSS during `load_sealed_model`, with the harness's own imports."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
    # What harness/server.py has imported by the time it starts loading.
    import uvicorn  # noqa: F401

    from harness import gcp
    from harness.app import create_app  # noqa: F401
    from harness.config import from_env
    from harness.loader import load_sealed_model
    from infra.bench.common import status_bytes

    config = from_env(os.environ)
    storage = gcp.storage_client(config.storage_emulator)
    kms = gcp.kms_client(config.kms_emulator)
    gc.collect()
    reset = _reset_peak_mark()
    before = status_bytes()
    loaded = load_sealed_model(
        model_uri=config.model_uri,
        kms_key_uri=config.kms_key_uri,
        kms_key_name=config.kms_key_name,
        pinned_sha256=config.model_sha256,
        storage=storage,
        kms=kms,
        progress=lambda _message: None,
    )
    after = status_bytes()
    return {
        "plaintext_bytes": loaded.info["plaintext_bytes"],
        "baseline_rss_bytes": before["VmRSS"],
        "peak_rss_bytes": after["VmHWM"],
        "after_rss_bytes": after["VmRSS"],
        "file_rss_growth_bytes": after.get("RssFile", 0) - before.get("RssFile", 0),
        "peak_mark_reset": reset,
        "load_seconds": loaded.info["load_seconds"],
        "download_requests": loaded.info["download_requests"],
    }


def probe_plan(tenants: int) -> dict[str, Any]:
    """(e): import time, then two runs of the real program under mocks."""
    started = time.perf_counter()
    import yaml

    from infra.bench.planning import stack_document
    from infra.plan.capture import run_program
    from infra.plan.mocks import CloudMocks
    from infra.plan.writer import load_stack_config
    from infra.program import main

    imported = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        path = Path(tmp) / "Pulumi.dev.yaml"
        path.write_text(yaml.safe_dump(stack_document(tenants), sort_keys=False))
        config, secret_keys = load_stack_config(path)
    seconds = []
    captured = None
    for _ in range(2):
        t0 = time.perf_counter()
        captured = run_program(
            main, stack="dev", config=config, secret_keys=secret_keys, mocks=CloudMocks()
        )
        seconds.append(time.perf_counter() - t0)
    assert captured is not None
    return {
        "tenants": tenants,
        "resources": len(captured.resources),
        "import_seconds": imported,
        "first_run_seconds": seconds[0],
        "second_run_seconds": seconds[1],
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["load"] and len(argv) == 1:
        result = probe_load()
    elif argv[:1] == ["plan"] and len(argv) == 2 and argv[1].isdigit():
        result = probe_plan(int(argv[1]))
    else:
        print("usage: python -m infra.bench.probe load | plan N", file=sys.stderr)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
