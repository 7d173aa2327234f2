"""Fixtures for the harness tests: one trained model, emulators, TLS material, tokens.

Expensive things are session-scoped (the model is trained once, fake-gcs-server and the
local KMS start once); every test that writes to the bucket uses its own object name.
Plain helpers live in harness_testlib.py.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from harness_testlib import BUCKET, KEY_A, KEY_B, Emulators, Tls, new_token

# google-api-core warns at import time that Python 3.11 support ends in 2027: not ours to fix.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    for _module in ("google.api_core", "google.cloud.kms_v1", "google.cloud.storage"):
        importlib.import_module(_module)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real ONNX demo model (text in, probability out), trained once for the session."""
    from infra.model.onnx_demo import build

    out = tmp_path_factory.mktemp("model")
    build(out)
    return out


@pytest.fixture(scope="session")
def loaded_model(model_dir: Path) -> Any:
    """A `LoadedModel` built from the directory tarred into memory (no GCS/KMS), for API tests."""
    from onnx_testlib import in_memory

    from harness.loader import LoadedModel, model_files, serve_model

    buf, _ = in_memory(model_dir)
    files = model_files(buf)
    model = serve_model(files, workers=1)
    info = {
        "model_uri": f"gs://{BUCKET}/model.tar.enc",
        "generation": "1",
        "plaintext_bytes": len(buf),
        "sha256": "0" * 64,
        "load_seconds": 0.01,
        "model": model.card.describe(),
    }
    return LoadedModel(model=model, info=info, plaintext=buf, files=files)


@pytest.fixture(scope="session")
def emulators() -> Iterator[Emulators]:
    """fake-gcs-server (subprocess) and the local KMS (in-process) with keys A and B."""
    from harness import gcp
    from infra.local.gcs import FakeGcs
    from infra.local.kms import LocalKms

    with FakeGcs() as gcs, LocalKms() as kms:
        kms.create_key(KEY_A)
        kms.create_key(KEY_B)
        storage = gcp.storage_client(gcs.endpoint)
        storage.create_bucket(BUCKET)
        client = gcp.kms_client(kms.endpoint)
        try:
            yield Emulators(gcs=gcs, kms=kms, storage=storage, kms_client=client)
        finally:
            client.transport.close()


@pytest.fixture(scope="session")
def seal(emulators: Emulators, model_dir: Path) -> Callable[..., Any]:
    """seal(dest=None, source=None, key=KEY_A, **kw) -> SealReport (uploads to the emulator)."""
    from infra.model.seal import seal_model

    def _seal(
        dest: str | None = None, source: Path | None = None, key: str = KEY_A, **kwargs: Any
    ) -> Any:
        return seal_model(
            source or model_dir,
            dest=dest or emulators.unique_uri(),
            kms_key_uri="gcp-kms://" + key,
            kms=emulators.kms_client,
            storage=emulators.storage,
            **kwargs,
        )

    return _seal


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    from infra.local.tls import generate

    files = generate(tmp_path_factory.mktemp("tls"))
    return Tls(files.directory, files.ca_cert)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    from infra.local.tls import write_token

    return write_token(tmp_path / "token" / "token", new_token())
