"""Like demo, but leave the harness running in the foreground until Ctrl-C.

Starts the emulators, builds (once, then reuses) and seals the model, writes TLS material
and a token under build/local/serve/ (`--root` to choose; a second run in the same
directory is refused while the first runs), starts the harness on 127.0.0.1:$HARNESS_PORT
(default 8443; a busy port is reported before anything starts) with its log on this
terminal (stderr), and once /readyz is 200 prints exactly one line on stdout:

    READY https://127.0.0.1:<port> token=<path> ca=<path> model=<name>

`--model PATH` (`make serve MODEL=PATH`): a `.onnx` file or a model directory is sealed
and served instead of the demo model (prepared as `python -m infra seal` prepares it).
`HARNESS_*` variables in this environment (e.g. `HARNESS_RATE_LIMIT=0 make serve`) are
passed to the harness after `harness.config` accepted them (same checks, same messages).

Then call it, e.g. `python -m harness.client --url https://127.0.0.1:8443 --ca <ca>
--token-file <token>`. Ctrl-C (or SIGTERM) stops the harness and the emulators. Progress
goes to stderr so stdout carries only the READY line.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path

from harness import contract
from infra.errors import UserError
from infra.local.demo import LOCAL_ROOT, install_sigterm_handler, port_from_env

DEFAULT_PORT = contract.PORT
DEFAULT_ROOT = LOCAL_ROOT / "serve"
STOPPED = (
    "stopped the harness and the emulators as asked (Ctrl-C or SIGTERM): the harness's "
    '"Shutting down" lines above are this clean stop, not a crash'
)
PASSED_THROUGH = (
    contract.ENV_PORT,
    contract.ENV_BIND,
    contract.ENV_TLS_DIR,
    contract.ENV_TOKEN_FILE,
)
"""Set by serve itself (the port comes from HARNESS_PORT through `port_from_env`)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Where this run's files go, and the model to serve."""
    parser.add_argument(
        "--root",
        type=Path,
        default=DEFAULT_ROOT,
        help=f"this run's directory: TLS material, token, logs (default {DEFAULT_ROOT})",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="a .onnx file or model directory to seal and serve instead of the demo model",
    )


def harness_overrides(environ: dict[str, str]) -> dict[str, str]:
    """The caller's `HARNESS_*` settings, checked by the harness's own config parser."""
    from harness.config import ConfigError, from_env

    chosen = {
        k: v for k, v in environ.items() if k.startswith("HARNESS_") and k not in PASSED_THROUGH
    }
    from infra.local.stack import KEY_URI, MODEL_URI

    probe = {"MODEL_URI": MODEL_URI, "KMS_KEY_URI": KEY_URI}
    try:
        from_env({**probe, **chosen})
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    return chosen


def check_port_free(port: int) -> None:
    """Fail at once, before the emulators and the model, if the port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the harness binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise UserError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
            raise UserError(
                f"port {port} on 127.0.0.1 is already in use (another `make serve`?): stop "
                f"that process, or choose another port, e.g. HARNESS_PORT={port + 1} make serve"
            ) from None


def check_model(model: Path | None) -> None:
    """`MODEL=...` is something seal takes, said in terms of MODEL."""
    if model is None:
        return
    from infra.model.seal import check_model_path

    try:
        check_model_path(model)
    except UserError as exc:
        raise UserError(f"MODEL={model}: {exc}") from None


def run(args: argparse.Namespace) -> int:
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
    install_sigterm_handler()
    from infra.local.stack import LocalStack

    def say(message: str) -> None:
        print(f"serve: {message}", file=sys.stderr, flush=True)

    port = port_from_env(DEFAULT_PORT)
    assert port is not None
    try:
        with LocalStack(args.root, progress=say) as stack:
            extra = harness_overrides(dict(os.environ))
            check_model(args.model)
            stack.claim("serve")
            check_port_free(port)
            stack.start_emulators()
            if args.model is None:
                stack.build_model()
            sealed = stack.seal(args.model)
            stack.write_credentials()
            say(f"starting the harness on https://127.0.0.1:{port} (its log follows on stderr)")
            env = stack.harness_env(port=port, sha256=sealed.sha256, extra=extra)
            proc = stack.start_harness(env, log_to=None)
            stack.wait_ready()
            print(
                f"READY {stack.url} token={stack.paths.token_file} ca={stack.paths.ca_cert} "
                f"model={stack.model_name()}",
                flush=True,
            )
            code = proc.wait()
            if code != 0:
                raise UserError(f"the harness exited with status {code}")
    except KeyboardInterrupt:
        say(STOPPED)
        return 0
    return 0
