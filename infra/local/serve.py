"""Like demo, but leave the harness running in the foreground until Ctrl-C.

Starts the emulators, builds and seals the model, writes TLS material and a token under
build/local/, starts the harness on 127.0.0.1:$HARNESS_PORT (default 8443) with its log
on this terminal (stderr), and once /readyz is 200 prints exactly one line on stdout:

    READY https://127.0.0.1:<port> token=<path> ca=<path>

Then call it, e.g. `python -m harness.client --url https://127.0.0.1:8443 --ca <ca>
--token-file <token>`. Ctrl-C (or SIGTERM) stops the harness and the emulators. Progress
goes to stderr so stdout carries only the READY line.
"""

from __future__ import annotations

import argparse
import sys

from harness import contract
from infra.errors import UserError
from infra.local import demo
from infra.local.demo import install_sigterm_handler, port_from_env

DEFAULT_PORT = contract.PORT
# Same options as `demo` (--root): serve is demo without the client and the shutdown.
add_arguments = demo.add_arguments


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
            stack.start_emulators()
            stack.build_model()
            sealed = stack.seal()
            stack.write_credentials()
            say(f"starting the harness on https://127.0.0.1:{port} (its log follows on stderr)")
            proc = stack.start_harness(
                stack.harness_env(port=port, sha256=sealed.sha256), log_to=None
            )
            stack.wait_ready()
            print(
                f"READY {stack.url} token={stack.paths.token_file} ca={stack.paths.ca_cert}",
                flush=True,
            )
            code = proc.wait()
            if code != 0:
                raise UserError(f"the harness exited with status {code}")
    except KeyboardInterrupt:
        say("stopped the harness and the emulators")
        return 0
    return 0
