"""The local data path end to end: emulators, model, seal, credentials, harness process.

`LocalStack` is a context manager: everything it starts (fake-gcs-server, the local KMS,
the harness subprocess) is stopped in reverse order on exit, including on Ctrl-C or an
error. Each run has its own directory (`build/local/demo/`, `build/local/serve/`: TLS
material, token, logs) and holds a lock on it while it runs, so a second run in the same
directory is refused with the first one's pid and command instead of replacing the files a
running server uses. The demo model is built once into `build/local/cache/` and reused
while its inputs are unchanged. The token and keys are written 0600 and never printed.

The harness runs as a separate process the way the image runs it: `python -E -s -B -m
harness` with a minimal environment. (`-I` would also drop the current directory from
`sys.path`, and locally the package is not installed in site-packages; `-E -s` keep the
rest of isolated mode: no `PYTHON*` variables, no user site-packages.)
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from infra.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_PROJECT = "local-sandbox"
KEY_NAME = f"projects/{LOCAL_PROJECT}/locations/us-central1/keyRings/sandbox/cryptoKeys/model-key"
KEY_URI = "gcp-kms://" + KEY_NAME
BUCKET = "local-models"
OBJECT = "sentiment/model.tar.enc"
MODEL_URI = f"gs://{BUCKET}/{OBJECT}"


@dataclass(frozen=True)
class LocalPaths:
    """Where the local run keeps its files."""

    root: Path

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def ca_cert(self) -> Path:
        return self.tls_dir / "ca.crt"

    @property
    def token_file(self) -> Path:
        return self.root / "token" / "token"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def lock_file(self) -> Path:
        return self.root / "run.lock"


def harness_command() -> list[str]:
    return [sys.executable, "-E", "-s", "-B", "-m", "harness"]


class LocalStack(contextlib.AbstractContextManager["LocalStack"]):
    """Start pieces one by one; `__exit__` stops whatever was started."""

    def __init__(
        self,
        root: Path,
        *,
        progress: Callable[[str], None] = lambda _m: None,
        model_cache: Path | None = None,
    ) -> None:
        self.paths = LocalPaths(root.resolve())
        self.model_cache = (model_cache or self.paths.root.parent / "cache").resolve()
        self.model_dir = self.paths.model_dir
        self.progress = progress
        self._exit = contextlib.ExitStack()
        self.gcs: Any = None
        self.kms: Any = None
        self.storage: Any = None
        self.kms_client: Any = None
        self.harness: subprocess.Popen[bytes] | None = None
        self.harness_log: Path | None = None
        self.port: int | None = None

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def close(self) -> None:
        self._exit.close()

    # one run per directory
    def claim(self, command: str) -> None:
        """Lock this run's directory, or refuse naming the run that holds it.

        An advisory `flock` on `run.lock`: the kernel drops it when the holder exits, even
        on SIGKILL, so a crashed run never leaves a stale lock behind.
        """
        self.paths.root.mkdir(parents=True, exist_ok=True)
        handle = self.paths.lock_file.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UserError(
                f"{self.paths.root} is in use by another local run ({holder}); its server "
                "and token would be replaced: stop that run first (Ctrl-C in its terminal), "
                "or give this one its own directory with --root DIR"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}: python -m infra {command}\n")
        handle.flush()
        self._exit.callback(handle.close)

    # emulators
    def start_emulators(self) -> None:
        from harness import gcp
        from infra.local.gcs import EmulatorError, FakeGcs
        from infra.local.kms import LocalKms

        self.paths.logs.mkdir(parents=True, exist_ok=True)
        gcs = FakeGcs(log_path=self.paths.logs / "fake-gcs-server.log")
        try:
            gcs.start()
        except EmulatorError as exc:
            raise UserError(str(exc)) from None
        self._exit.callback(gcs.stop)
        self.gcs = gcs
        self.progress(f"fake-gcs-server listening on {gcs.endpoint}")
        kms = LocalKms()
        kms.create_key(KEY_NAME)
        kms.start()
        self._exit.callback(kms.stop)
        self.kms = kms
        self.progress(f"local KMS (google.cloud.kms.v1 over gRPC) listening on {kms.endpoint}")
        self.storage = gcp.storage_client(gcs.endpoint)
        self.kms_client = gcp.kms_client(kms.endpoint)
        self._exit.callback(lambda: self.kms_client.transport.close())
        self.storage.create_bucket(BUCKET)

    # model
    def build_model(self) -> Any:
        """The demo model: trained once per content hash of its inputs, then reused."""
        from infra.model.onnx_demo import build_cached

        self.model_dir, report, reused = build_cached(self.model_cache)
        if reused:
            self.progress(
                f"ONNX model reused from {self.model_dir.parent} (its inputs are unchanged; "
                "delete that directory to train again)"
            )
        else:
            self.progress(
                f"ONNX model trained (text in, probability out): {report.train_samples} "
                f"generated reviews, {report.vocabulary} n-grams, {report.model_bytes} bytes, "
                f"eval accuracy {report.eval_accuracy_3class:.0%} (3-class) in "
                f"{report.seconds}s; kept in {self.model_dir.parent}"
            )
        return report

    def seal(
        self, source: Path | None = None, *, dest: str = MODEL_URI, key_uri: str = KEY_URI
    ) -> Any:
        from infra.model.seal import seal_model

        report = seal_model(
            source or self.model_dir,
            dest=dest,
            kms_key_uri=key_uri,
            kms=self.kms_client,
            storage=self.storage,
            replace=True,
        )
        self.progress(
            f"sealed {report.dest} ({report.ciphertext_bytes} bytes, generation {report.generation}); "
            f"plaintext sha256 {report.sha256}"
        )
        return report

    # credentials
    def write_credentials(self) -> None:
        from infra.local.tls import generate, write_token

        generate(self.paths.tls_dir)
        write_token(self.paths.token_file, secrets.token_urlsafe(32))
        self.progress(
            f"throwaway CA + server certificate in {self.paths.tls_dir}, token in {self.paths.token_file}"
        )

    # harness
    def harness_env(
        self,
        *,
        port: int,
        model_uri: str = MODEL_URI,
        key_uri: str = KEY_URI,
        sha256: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "MODEL_URI": model_uri,
            "KMS_KEY_URI": key_uri,
            "HARNESS_PORT": str(port),
            "HARNESS_BIND": "127.0.0.1",
            "HARNESS_TLS_DIR": str(self.paths.tls_dir),
            "HARNESS_TOKEN_FILE": str(self.paths.token_file),
            "STORAGE_EMULATOR_HOST": self.gcs.endpoint,
            "KMS_EMULATOR_HOST": self.kms.endpoint,
        }
        if sha256:
            env["MODEL_SHA256"] = sha256
        env.update(extra or {})
        return env

    def start_harness(self, env: dict[str, str], *, log_to: Path | None) -> subprocess.Popen[bytes]:
        """Start the harness; its output goes to `log_to`, or to this terminal if None."""
        sink: IO[bytes] | None = None
        if log_to is not None:
            log_to.parent.mkdir(parents=True, exist_ok=True)
            sink = log_to.open("wb")
            self._exit.callback(sink.close)
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            harness_command(),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
        )
        self._exit.callback(stop_process, proc)
        self.harness = proc
        self.harness_log = log_to
        self.port = int(env["HARNESS_PORT"])
        return proc

    def model_name(self) -> str:
        """The served model's name, as the harness's `/check` reports it (its card)."""
        import json
        import ssl
        import urllib.request

        from harness.client import read_token

        context = ssl.create_default_context(cafile=str(self.paths.ca_cert))
        request = urllib.request.Request(  # noqa: S310 - https to our own loopback harness
            f"{self.url}/check",
            headers={"Authorization": f"Bearer {read_token(self.paths.token_file)}"},
        )
        with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
            return str(json.load(response)["model"]["name"])

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def wait_ready(self, *, timeout: float = 60.0) -> None:
        """Poll /readyz over TLS until 200; fail fast if the harness exits."""
        from harness.client import HarnessClient

        assert self.harness is not None
        client = HarnessClient(self.url, self.paths.ca_cert, None, timeout=2.0)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.harness.poll()
            if code is not None:
                raise UserError(
                    f"the harness exited with status {code} before it was ready{self._log_tail()}"
                )
            if client.ready():
                return
            time.sleep(0.1)
        raise UserError(f"the harness was not ready within {timeout:.0f}s{self._log_tail()}")

    def _log_tail(self, lines: int = 8) -> str:
        if self.harness_log is None or not self.harness_log.exists():
            return ""
        tail = self.harness_log.read_text(errors="replace").splitlines()[-lines:]
        return f"; last lines of {self.harness_log}:\n" + "\n".join(tail)


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> int | None:
    """SIGTERM, wait, then SIGKILL: the harness shuts down gracefully on SIGTERM."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
    return proc.returncode
