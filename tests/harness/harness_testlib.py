"""Helpers shared by the harness tests (imported by conftest.py and the test modules).

Not a conftest: plain functions and constants. The module name is distinctive because
tests/harness has no __init__.py (an __init__.py there would make pytest import this
directory as the package `harness` and shadow the real one).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY_A = "projects/test-project/locations/us-central1/keyRings/ring/cryptoKeys/key-a"
KEY_B = "projects/test-project/locations/us-central1/keyRings/ring/cryptoKeys/key-b"
BUCKET = "test-models"
SEED_REVIEWS = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]


@dataclass
class Emulators:
    gcs: Any
    kms: Any
    storage: Any
    kms_client: Any

    def unique_uri(self, stem: str = "model") -> str:
        return f"gs://{BUCKET}/{stem}-{uuid.uuid4().hex[:10]}.tar.enc"

    def blob(self, uri: str) -> Any:
        from harness.sealed import parse_gcs_uri

        parsed = parse_gcs_uri(uri)
        return self.storage.bucket(parsed.bucket).get_blob(parsed.name)


@dataclass(frozen=True)
class Tls:
    directory: Path
    ca: Path


def new_token() -> str:
    return secrets.token_urlsafe(24)


def harness_env(
    emulators: Emulators,
    tls: Tls,
    token_file: Path,
    port: int,
    model_uri: str,
    key: str = KEY_A,
    **extra: str,
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "MODEL_URI": model_uri,
        "KMS_KEY_URI": "gcp-kms://" + key,
        "HARNESS_PORT": str(port),
        "HARNESS_BIND": "127.0.0.1",
        "HARNESS_TLS_DIR": str(tls.directory),
        "HARNESS_TOKEN_FILE": str(token_file),
        "STORAGE_EMULATOR_HOST": emulators.gcs.endpoint,
        "KMS_EMULATOR_HOST": emulators.kms.endpoint,
    }
    env.update(extra)
    return env


@dataclass
class HarnessProcess:
    proc: subprocess.Popen[str]
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def run_harness(env: dict[str, str], log: Path) -> Iterator[HarnessProcess]:
    """Run `python -E -s -B -m harness` (the image's isolated mode, minus -P) and stop it."""
    from infra.local.stack import harness_command, stop_process

    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as sink:
        proc = subprocess.Popen(
            harness_command(),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            text=True,
        )
        try:
            yield HarnessProcess(proc, f"https://127.0.0.1:{env.get('HARNESS_PORT', '8443')}", log)
        finally:
            stop_process(proc)


def client_python(env_var: str, venv_name: str, requirements: Path, module: str) -> str:
    """The interpreter of a protocol client's own venv (kserve, Triton).

    `make test` builds each venv as a prerequisite and names it in `env_var`: then, and
    under CI, a missing or broken client fails the test instead of skipping it. Run by
    hand without the variable, the venv is built here from its pinned requirements.
    """
    import pytest

    configured = os.environ.get(env_var)
    if configured:
        probe = [configured, "-c", f"import {module}"]
        if not Path(configured).exists() or subprocess.run(probe, capture_output=True).returncode:
            pytest.fail(f"{env_var}={configured} cannot import {module}; run `make test`")
        return configured
    if os.environ.get("CI"):
        pytest.fail(f"{env_var} is not set; `make test` builds build/{venv_name} and sets it")
    import venv

    env_dir = REPO_ROOT / "build" / venv_name
    python = env_dir / "bin" / "python"
    probe = [str(python), "-c", f"import {module}"]
    if not python.exists() or subprocess.run(probe, capture_output=True).returncode != 0:
        venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
        install = [str(python), "-m", "pip", "install", "-q", "-r", str(requirements)]
        subprocess.run(install, check=True)
    return str(python)


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, interval: float = 0.05) -> bool:
    """Poll until `predicate()` or the deadline (a safety net, never an assertion on speed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def seed_demo_cache(cache: Path, model_dir: Path) -> Path:
    """Put an already trained demo model where `make demo/serve` look for it, so an end-to-end
    test does not train it again (the same `build`, run once by the session fixture)."""
    import json
    import shutil

    from infra.model.onnx_demo import inputs_digest

    target = cache / f"demo-model-{inputs_digest()}"
    if not target.exists():
        shutil.copytree(model_dir, target / "model")
        report = {
            "out_dir": str(target / "model"),
            "model_bytes": (model_dir / "model.onnx").stat().st_size,
            "vocabulary": 0,
            "train_samples": 0,
            "eval_accuracy_3class": 0.0,
            "eval_accuracy_polar": 0.0,
            "seed_scores": {},
            "seconds": 0.0,
        }
        (target / "report.json").write_text(json.dumps(report))
    return target
