"""Benchmarks -> build/bench/results.json and a table on stdout (progress on stderr).

    python -m infra bench [--quick] [--only a,b,c,d,e] [--out FILE]

(a) seal and unseal throughput of 64 MiB, 256 MiB and 1 GiB models generated on the fly,
    next to openssl on the same bytes in the same run (target: unseal >= 0.8 x openssl
    AES-CTR+HMAC-SHA256);
(b) peak RSS growth of the harness while it loads each model / the model size (target
    <= 1.1);
(c) harness cold start: process start to the first /readyz 200 on the local emulators;
(d) POST /predict requests/s and p50/p99 over TLS with 1, 16 and 64 concurrent clients,
    against the raw model called in process; then, with `wrk`, the harness against a bare
    app scoring with the same ONNX session in as many workers (target: >= 0.8 at 16
    connections), and against the bare app returning constants (the model's share);
(e) offline plan time of the dev stack with 1, 10 and 100 tenants.

Everything runs on 127.0.0.1 (fake-gcs-server, the local KMS, the harness). Each figure's
exact definition is in the results document (`definition`) and in the docstrings of
`infra/bench/`. Large temporary files go under build/bench/work and are removed at
the end. `--quick` uses tiny models and few requests (seconds; for tests, not numbers).
About 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

from infra.errors import UserError

DEFAULT_OUT = Path("build/bench/results.json")
DEFAULT_WORK = Path("build/bench/work")
SCHEMA = "gke-sandbox/bench/v1"
WORKDIR_MARK = ".bench-workdir"
SECTION_KEYS = {
    "a": "a_seal_unseal",
    "b": "b_load_memory",
    "c": "c_cold_start",
    "d": "d_serving",
    "e": "e_plan_time",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="tiny models, few requests: seconds, not numbers"
    )
    parser.add_argument(
        "--only",
        default="a,b,c,d,e",
        metavar="LIST",
        help="comma-separated figures to run, from a,b,c,d,e (default: all)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"results file (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORK,
        help=f"scratch space for models and ciphertexts, emptied first (default {DEFAULT_WORK})",
    )
    parser.add_argument(
        "--keep-workdir", action="store_true", help="do not delete the scratch space at the end"
    )


def parse_only(text: str) -> tuple[str, ...]:
    """'a, c' -> ('a', 'c'); unknown letters are a clear error."""
    wanted = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [w for w in wanted if w not in SECTION_KEYS]
    if not wanted or unknown:
        raise UserError(
            f"--only {text!r}: expected a comma-separated subset of {','.join(SECTION_KEYS)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    return tuple(s for s in SECTION_KEYS if s in wanted)


def _check_out(path: Path) -> None:
    if path.exists() and path.is_dir():
        raise UserError(f"--out {path}: is a directory; expected a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {path}: cannot create {path.parent}: {exc.strerror}") from None


def _prepare_workdir(path: Path) -> Path:
    """Empty scratch space; only a directory a previous run marked as its own is emptied."""
    if path.exists():
        if not path.is_dir():
            raise UserError(f"--workdir {path}: exists and is not a directory")
        if any(path.iterdir()) and not (path / WORKDIR_MARK).exists():
            raise UserError(
                f"--workdir {path}: not empty and not a benchmark scratch directory; "
                "pass a new or empty directory"
            )
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / WORKDIR_MARK).write_text(
        "scratch space of `python -m infra bench`; removed at the end\n"
    )
    return path.resolve()


def _clean(workdir: Path, *, keep_logs: bool) -> None:
    """Remove the scratch space (GiB of models); after a failure keep only the logs."""
    if not keep_logs:
        shutil.rmtree(workdir, ignore_errors=True)
        return
    for child in workdir.iterdir():
        if child.name == WORKDIR_MARK:
            continue
        if child.name == "local" and child.is_dir():
            for sub in child.iterdir():
                if sub.name != "logs":
                    shutil.rmtree(sub, ignore_errors=True) if sub.is_dir() else sub.unlink()
        elif child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink()


def run(args: argparse.Namespace) -> int:
    import time
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
    from infra.bench import common, crypto, planning, report
    from infra.local.demo import install_sigterm_handler

    only = parse_only(args.only)
    _check_out(args.out)
    if "a" in only:
        crypto.require_openssl()
    workdir = _prepare_workdir(args.workdir)
    install_sigterm_handler()  # Ctrl-C and SIGTERM unwind: emulators stopped, scratch removed
    params = common.Params.quick_run() if args.quick else common.Params.full()
    say = common.Progress()
    started = time.perf_counter()
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "machine": common.machine_info(),
        "parameters": {**params.as_dict(), "only": list(only)},
        "units": {
            "MB": "10^6 bytes (throughput in MB/s)",
            "MiB": "2^20 bytes (model names and memory)",
            "ratio": "dimensionless",
        },
    }
    say(f"benchmarks {','.join(only)} on {common.machine_line(results['machine'])}")
    finished = False
    try:
        if any(s in only for s in "abcd"):
            results.update(_data_path(params, only, workdir, say))
        if "e" in only:
            rows = [planning.measure(n, say) for n in params.tenants]
            results[SECTION_KEYS["e"]] = planning.summarize(rows)
        finished = True
    finally:
        if not args.keep_workdir:
            _clean(workdir, keep_logs=not finished)
        if not finished:
            say(f"stopped; logs (if any) kept in {workdir / 'local' / 'logs'}")
    results["total_seconds"] = common.rnd(time.perf_counter() - started, 4)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(report.render(results))
    print(f"\nresults: {args.out}")
    say(f"done in {results['total_seconds']:.0f} s")
    return 0


def _data_path(
    params: Any, only: tuple[str, ...], workdir: Path, say: Any
) -> dict[str, dict[str, Any]]:
    """(a)-(d): one emulator stack; per model size seal/unseal, then load and cold start."""
    from harness.sealed import DEFAULT_TEMPLATE
    from infra.bench import common, crypto, loading
    from infra.local.stack import LocalStack

    sections: dict[str, dict[str, Any]] = {}
    rows: dict[str, list[dict[str, Any]]] = {"a": [], "b": [], "c": []}
    with LocalStack(workdir / "local", progress=lambda m: say(f"setup: {m}")) as stack:
        stack.start_emulators()
        stack.write_credentials()
        base = common.train_base(workdir / "base-model", params)
        say("ONNX demo model trained (served in (d))")
        for log2 in params.sizes_log2 if any(s in only for s in "abc") else ():
            for figure, row in _one_size(stack, base, log2, params, only, workdir, say).items():
                rows[figure].append(row)
        if rows["a"]:
            gcm = crypto.openssl_gcm_rate(params.openssl_speed_seconds)
            say(f"(a) openssl speed AES-256-GCM: {gcm['mb_s']:.0f} MB/s")
            sections["a_seal_unseal"] = crypto.summarize(rows["a"], gcm, DEFAULT_TEMPLATE)
        if rows["b"]:
            sections["b_load_memory"] = loading.summarize_memory(rows["b"])
        if rows["c"]:
            sections["c_cold_start"] = loading.summarize_cold_start(rows["c"])
        if "d" in only:
            sections["d_serving"] = _serving(stack, base, params, workdir, say)
    return sections


def _one_size(
    stack: Any,
    base: Path,
    log2: int,
    params: Any,
    only: tuple[str, ...],
    workdir: Path,
    say: Any,
) -> dict[str, dict[str, Any]]:
    """One model size: seal/unseal (a), then load memory (b) and cold start (c); rows by figure."""
    from harness.sealed import DEFAULT_TEMPLATE, META_SHA256
    from infra.bench import common, crypto, loading
    from infra.local.stack import BUCKET, KEY_URI

    # the default, then the other cipher (the one the openssl reference runs)
    templates = tuple(dict.fromkeys((DEFAULT_TEMPLATE, "AES256_CTR_HMAC_SHA256_1MB")))
    rows: dict[str, dict[str, Any]] = {}
    label = common.size_label(log2)
    sizedir = workdir / common.slug(label)
    model_dir = common.tiled_model(base, sizedir / "model", log2)
    plaintext = sizedir / "model.tar"
    common.tar_model(model_dir, plaintext)
    shutil.rmtree(model_dir)
    uri = f"gs://{BUCKET}/bench/model-{common.slug(label)}.tar.enc"
    say(f"{label}: model generated ({plaintext.stat().st_size} bytes of plaintext tar)")
    if "a" in only:
        rows["a"], sealed = crypto.measure_size(
            label=label,
            plaintext=plaintext,
            workdir=sizedir,
            templates=templates,
            dest=uri,
            key_uri=KEY_URI,
            kms=stack.kms_client,
            repeats=params.repeats,
            say=say,
        )
        ciphertext, metadata = sealed[DEFAULT_TEMPLATE]
    else:
        ciphertext = sizedir / "sealed.enc"
        metadata = crypto.seal_once(
            plaintext,
            ciphertext,
            template=DEFAULT_TEMPLATE,
            dest=uri,
            key_uri=KEY_URI,
            kms=stack.kms_client,
        )
    if "b" in only or "c" in only:
        loading.upload(stack.storage, uri, ciphertext, metadata)
        shutil.rmtree(sizedir)  # the emulator has its own copy now
        sha256 = metadata[META_SHA256]
        if "b" in only:
            rows["b"] = loading.measure_memory(stack, label=label, uri=uri, sha256=sha256, say=say)
        if "c" in only:
            rows["c"] = loading.measure_cold_start(
                stack, label=label, uri=uri, sha256=sha256, say=say
            )
        loading.delete(stack.storage, uri)
    shutil.rmtree(sizedir, ignore_errors=True)
    return rows


def _serving(stack: Any, base: Path, params: Any, workdir: Path, say: Any) -> dict[str, Any]:
    """(d): the raw model in process, then the harness over TLS at each concurrency."""
    from harness.client import read_token
    from harness.config import default_workers
    from harness.sealed import DEFAULT_TEMPLATE, META_SHA256
    from infra.bench import common, crypto, loading, serving
    from infra.local.gcs import free_port
    from infra.local.stack import BUCKET, KEY_URI, stop_process

    label = "ONNX demo model"
    model_dir = base
    workers = default_workers()
    raw = serving.raw_model(model_dir, max_calls=params.raw_calls, max_seconds=params.raw_seconds)
    say(
        f"(d) raw model in process: {raw['calls_per_second']:.0f} calls/s, "
        f"p50 {raw['p50_ms']:.3f} ms"
    )
    (workdir / "serve").mkdir(parents=True, exist_ok=True)
    plaintext = workdir / "serve" / "model.tar"
    common.tar_model(model_dir, plaintext)
    uri = f"gs://{BUCKET}/bench/serve.tar.enc"
    ciphertext = workdir / "serve" / "sealed.enc"
    metadata = crypto.seal_once(
        plaintext,
        ciphertext,
        template=DEFAULT_TEMPLATE,
        dest=uri,
        key_uri=KEY_URI,
        kms=stack.kms_client,
    )
    loading.upload(stack.storage, uri, ciphertext, metadata)
    env = stack.harness_env(
        port=free_port(),
        model_uri=uri,
        sha256=metadata[META_SHA256],
        extra={"HARNESS_RATE_LIMIT": "0", "HARNESS_WORKERS": str(workers)},
    )
    proc = stack.start_harness(env, log_to=stack.paths.logs / "harness-serving.log")
    try:
        stack.wait_ready(timeout=300)
        rows = serving.load_levels(
            stack.port,
            stack.paths.ca_cert,
            read_token(stack.paths.token_file),
            levels=params.serve_levels,
            max_requests=params.serve_requests,
            max_seconds=params.serve_seconds,
            say=say,
        )
        versus_bare = _versus_bare(stack, params, model_dir, workers, say)
    finally:
        stop_process(proc)
    return serving.summarize(raw, rows, label, versus_bare)


def _wait_port(port: int, proc: Any, timeout: float = 30.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise UserError(f"the bare comparison app did not listen on port {port}")


def _versus_bare(
    stack: Any, params: Any, model_dir: Path, workers: int, say: Any
) -> dict[str, Any]:
    """Issue 12's floor: harness / bare uvicorn+Starlette app req/s with `wrk`, same TLS.

    The bare app scores with the same model in as many workers as the harness (the floor),
    then once more returning constants (the model's own share, shown beside it).
    `harness.throughput.compare`: alternating runs, best of `repeats` each; None per level
    when `wrk` is not installed (the figure says so instead of inventing a number).
    """
    from harness.client import read_token

    token = read_token(stack.paths.token_file)
    levels = (1,) if params.quick else (1, 16)
    result: dict[str, Any] = {"tool": "wrk", "workers": workers}
    for key, model in (("by_connections", model_dir), ("model_free", None)):
        result[key] = _bare_run(stack, params, token, levels, workers, model)
        what = "same model" if model else "constants"
        for count, row in result[key].items():
            say(f"(d) harness / bare app ({what}) at {count} connection(s): {row['ratio']}")
    return result


def _bare_run(
    stack: Any,
    params: Any,
    token: str,
    levels: tuple[int, ...],
    workers: int,
    model_dir: Path | None,
) -> dict[str, Any]:
    """Start the bare app (scoring with `model_dir`, or constants), compare, stop it."""
    import subprocess
    import sys

    from harness.throughput import compare
    from infra.local.gcs import free_port
    from infra.local.stack import REPO_ROOT, stop_process

    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "harness.throughput",
        "bare",
        "--tls-dir",
        str(stack.paths.tls_dir),
        "--token-file",
        str(stack.paths.token_file),
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if model_dir is not None:
        argv += ["--model-dir", str(model_dir)]
    bare = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        argv, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_port(port, bare)
        return compare(
            stack.url,
            f"https://127.0.0.1:{port}",
            token,
            connections=levels,
            repeats=1 if params.quick else 3,
            seconds=1 if params.quick else 3,
        )
    finally:
        stop_process(bare)
