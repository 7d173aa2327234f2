"""Local end to end, no cloud: emulators, build + seal the model, harness over TLS, client.

Starts fake-gcs-server and the local KMS (real google.cloud.kms.v1 gRPC protocol), trains
the small sentiment model (once: reused while its inputs are unchanged), seals it into the
emulated bucket with Tink + KMS, writes a throwaway CA, server certificate and random
bearer token under build/local/demo/ (its own directory: a running `make serve` keeps its
files), starts the harness (`python -m harness`) on a free port with MODEL_SHA256 pinned,
waits for /readyz, runs Bob's client (`python -m harness.client`), stops everything it
started (also on Ctrl-C or failure) and prints the answer last: /check and the
predictions for the three example reviews. `--verbose` also prints each step's details.
The harness log is kept in build/local/demo/logs/harness.log.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from infra.errors import UserError

LOCAL_ROOT = Path("build/local")
DEFAULT_ROOT = LOCAL_ROOT / "demo"


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def install_sigterm_handler() -> None:
    """SIGTERM and SIGINT unwind like Ctrl-C, so every started process is stopped.

    SIGINT is set explicitly because a background job of a non-interactive shell starts
    with SIGINT ignored, and Python then never raises KeyboardInterrupt.
    """
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)


def port_from_env(default: int | None) -> int | None:
    raw = os.environ.get("HARNESS_PORT")
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise UserError(f"HARNESS_PORT={raw!r}: expected a port number in [1, 65535]")
    return int(raw)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=DEFAULT_ROOT,
        help=f"this run's directory: TLS material, token, logs (default {DEFAULT_ROOT})",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="print every step's details, not only the steps"
    )


def run(args: argparse.Namespace) -> int:
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
    install_sigterm_handler()
    from infra.local.gcs import free_port
    from infra.local.stack import LocalStack

    total = 7
    step = [0]
    verbose = bool(getattr(args, "verbose", False))

    def say(message: str) -> None:
        if verbose:
            print(f"       {message}", flush=True)

    def begin(title: str) -> None:
        step[0] += 1
        print(f"[{step[0]}/{total}] {title}", flush=True)

    with LocalStack(args.root, progress=say) as stack:
        stack.claim("demo")
        begin("starting emulators (fake-gcs-server, local KMS)")
        stack.start_emulators()
        begin("building the sentiment model (reused while its inputs are unchanged)")
        stack.build_model()
        begin("sealing the model (Tink streaming AEAD, keyset wrapped by KMS) and uploading it")
        sealed = stack.seal()
        begin("writing TLS material and a bearer token")
        stack.write_credentials()
        port = port_from_env(None) or free_port()
        begin(f"starting the harness on https://127.0.0.1:{port}")
        log_file = stack.paths.logs / "harness.log"
        stack.start_harness(stack.harness_env(port=port, sha256=sealed.sha256), log_to=log_file)
        say(f"harness log: {log_file}")
        stack.wait_ready()
        say("/readyz is 200: model decrypted in memory and verified")
        begin("running the client (python -m harness.client)")
        shown, scores = _client_round_trip(stack)
        begin("stopping the harness and the emulators")
    say("all stopped")
    print()
    print(shown.rstrip("\n"))
    print()
    print(
        f"demo ok: positive {scores[0]:.4f} > neutral {scores[1]:.4f} > negative {scores[2]:.4f} "
        f"(harness log: {log_file})"
    )
    return 0


def _client_round_trip(stack: Any) -> tuple[str, list[float]]:
    """Run the real client once (its output is the answer shown last), then score the
    example reviews and check their order."""
    from harness.client import SEED_REVIEWS, HarnessClient, read_token
    from infra.local.stack import REPO_ROOT

    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "harness.client",
            "--url",
            stack.url,
            "--ca",
            str(stack.paths.ca_cert),
            "--token-file",
            str(stack.paths.token_file),
        ],
        cwd=REPO_ROOT,
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise UserError(
            f"the client failed with status {result.returncode}: {result.stderr.strip()}"
        )
    client = HarnessClient(stack.url, stack.paths.ca_cert, read_token(stack.paths.token_file))
    scores = client.predict(list(SEED_REVIEWS))
    if not scores[0] > scores[1] > scores[2]:
        raise UserError(
            f"expected positive > neutral > negative for the example reviews, got {scores}"
        )
    return result.stdout, scores
