"""Process entry: validate config, start HTTPS, load the sealed model, serve or exit.

The HTTPS server starts at once so the kubelet's probes answer during a long load
(`/healthz` 200, `/readyz` 503). The model loads in a background thread; when it is
verified `/readyz` turns 200. If it is refused (tampered, wrong key, swapped object, wrong
digest, bad metadata...) the reason is logged, the server shuts down and the process
exits 3 without ever having served a prediction. Bad configuration exits 2 before
anything listens. Core dumps are disabled so the plaintext cannot end up in one.

Exit codes: 0 clean shutdown (SIGTERM/SIGINT), 1 server failure (e.g. port in use),
2 bad configuration, 3 model refused.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import resource
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from typing import Any

EXIT_SERVER = 1
EXIT_CONFIG = 2
EXIT_REFUSED = 3

log = logging.getLogger("harness")


class JsonFormatter(logging.Formatter):
    """One JSON object per line with `severity` and `message` (Cloud Logging's fields)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "severity": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = "".join(traceback.format_exception_only(record.exc_info[1])).strip()
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("urllib3", "google", "grpc"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _fail(message: str, code: int) -> int:
    log.error(message)
    print(f"error: {message}", file=sys.stderr, flush=True)
    return code


def _disable_core_dumps() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError) as exc:  # pragma: no cover - depends on the sandbox
        log.warning("could not disable core dumps: %s", exc)


def main(env: Mapping[str, str] | None = None) -> int:
    """Run the harness until SIGTERM/SIGINT or a refused model; returns the exit code."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
    env = os.environ if env is None else env
    configure_logging("info")  # until the configured level is known to be valid
    from harness.config import ConfigError, from_env

    try:
        config = from_env(env)
    except ConfigError as exc:
        return _fail(f"configuration: {exc}", EXIT_CONFIG)
    configure_logging(config.log_level)
    _disable_core_dumps()

    from harness.auth import TokenFileError, TokenStore

    tokens = TokenStore(config.token_file)
    try:
        tokens.load()
    except TokenFileError as exc:
        return _fail(f"HARNESS_TOKEN_FILE: {exc}", EXIT_CONFIG)
    try:
        probe = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        probe.load_cert_chain(str(config.tls_cert), str(config.tls_key))
    except (OSError, ssl.SSLError) as exc:
        return _fail(
            f"HARNESS_TLS_DIR: cannot load {config.tls_cert} and {config.tls_key}: {exc}",
            EXIT_CONFIG,
        )

    try:
        from harness.httpserver import listen

        sock = listen(config.bind, config.port)
    except OSError as exc:
        return _fail(
            f"HTTPS server failed to start on {config.bind}:{config.port}: {exc.strerror}",
            EXIT_SERVER,
        )
    return _Run(config, tokens, sock).serve()


class _Run:
    """One run: the loading server (probes answered while the model loads), then serving.

    With one worker the loading server simply keeps serving. With several, it stops once
    the model is verified and the workers are forked on the same socket; it never reports
    ready itself, so nothing is routed to the pod before a worker answers.
    """

    def __init__(self, config: Any, tokens: Any, sock: socket.socket) -> None:
        from harness.app import ModelState
        from harness.httpserver import limit_server_logs, server_for
        from harness.metrics import Metrics, SharedTable
        from harness.ratelimit import RateLimiter

        self.config = config
        self.tokens = tokens
        self.sock = sock
        self.state = ModelState()
        self.loading_state = self.state if config.workers == 1 else ModelState()
        self.limiter = RateLimiter(config.rate_limit)  # before any fork: its table is shared
        # Metrics too: row 0 is this (loading) process, row 1 + slot each worker's.
        self.metrics_table = SharedTable(config.workers + 1, Metrics.COLUMNS)
        self.stopping = threading.Event()
        limit_server_logs()
        self.server = server_for(self.make_app(self.loading_state), config)

    def make_app(self, app_state: Any = None, row: int = 0) -> Any:
        """The app of the process that writes metrics row `row` (0: the loading parent)."""
        from harness.app import Limits, create_app
        from harness.metrics import Metrics

        config = self.config
        self.metrics_table.use_row(row)
        return create_app(
            state=app_state or self.state,
            tokens=self.tokens,
            limiter=self.limiter,
            metrics=Metrics(self.metrics_table),
            limits=Limits(
                config.max_body_bytes,
                config.max_batch,
                config.max_review_chars,
                config.max_elements,
            ),
            trusted_proxies=config.trusted_proxies,
        )

    def load(self) -> None:
        from harness import gcp
        from harness.loader import ModelRefused, load_sealed_model

        config, state = self.config, self.state
        started = time.perf_counter()
        kms = gcp.kms_client(config.kms_emulator)
        try:
            loaded = load_sealed_model(
                model_uri=config.model_uri,
                kms_key_uri=config.kms_key_uri,
                kms_key_name=config.kms_key_name,
                pinned_sha256=config.model_sha256,
                storage=gcp.storage_client(config.storage_emulator),
                kms=kms,
                workers=config.workers,
            )
        except ModelRefused as exc:
            state.set_failed(str(exc))
        except Exception as exc:  # an unexpected bug must still stop the harness
            state.set_failed(f"unexpected {type(exc).__name__} while loading: {exc}")
        else:
            state.set_loaded(loaded)
            log.info(
                "ready: serving %s after %.2fs", config.model_uri, time.perf_counter() - started
            )
            if config.workers > 1:  # hand the socket over to the forked workers
                # uvicorn logs "Shutting down" / "Finished server process" for the loading
                # server: say first that this is the hand-over, so it never reads as a crash
                log.info(
                    "handing over to %d worker processes: the loading server stops, the "
                    "socket stays open",
                    config.workers,
                )
                self.server.should_exit = True
            return
        finally:
            kms.transport.close()  # no gRPC threads left when the workers are forked
        self.loading_state.set_failed(str(state.failure))
        log.error("model refused, not serving: %s", state.failure)
        with contextlib.suppress(OSError):  # stop listening now (every fd of the socket)
            self.sock.shutdown(socket.SHUT_RDWR)
        self.server.should_exit = True

    def request_exit(self, _signum: int, _frame: Any) -> None:
        # uvicorn installs the same behaviour while serving and, after a graceful
        # shutdown, re-raises the signal to the previous handler: this one, so the
        # process still exits with its own code (0, or 3 if the model was refused)
        # instead of dying of SIGTERM.
        self.stopping.set()
        self.server.should_exit = True

    def serve(self) -> int:
        config, sock = self.config, self.sock
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.request_exit)
        log.info(
            "harness starting: model %s, key %s, https on %s:%d",
            config.model_uri,
            config.kms_key_uri,
            config.bind,
            config.port,
        )
        threading.Thread(target=self.load, name="model-loader", daemon=True).start()
        # with several workers the loading server gets a duplicate of the socket: its
        # shutdown closes the duplicate and the socket itself stays open for the workers
        fork = config.workers > 1
        shared = [socket.fromfd(sock.fileno(), sock.family, sock.type)] if fork else [sock]
        try:
            self.server.run(sockets=shared)
        except SystemExit:  # uvicorn exits with its own codes when it cannot serve
            return _fail(f"HTTPS server failed on {config.bind}:{config.port}", EXIT_SERVER)
        if self.state.failure:
            sock.close()
            print(f"error: model refused: {self.state.failure}", file=sys.stderr, flush=True)
            return EXIT_REFUSED
        if not fork or self.stopping.is_set() or self.state.loaded is None:
            sock.close()
            return 0
        return self.fork_workers()

    def fork_workers(self) -> int:
        import gc

        from harness.httpserver import HTTP_IMPL, server_for
        from harness.workers import run_workers

        gc.collect()  # what the loading server's closed loop left is freed before forking
        workers = self.config.workers
        log.info("model loaded once; forking %d workers (%s parser)", workers, HTTP_IMPL)
        return run_workers(
            workers,
            lambda slot: server_for(self.make_app(self.worker_state(), 1 + slot), self.config),
            self.sock,
        )

    def worker_state(self) -> Any:
        """In a forked worker: the loaded model with a session of this process's own."""
        from harness.app import ModelState

        state = ModelState()
        assert self.state.loaded is not None  # fork_workers runs only once loaded
        state.set_loaded(self.state.loaded.for_worker(self.config.workers))
        return state
