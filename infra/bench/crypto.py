"""(a) Sealing and unsealing throughput, next to openssl on the same machine and bytes.

Every rate is plaintext bytes per second in MB/s (10^6 bytes) from the fastest of `repeats`
runs, on both sides (ours and openssl's): on a shared VM noise only ever slows a run down,
by up to 2x here between back-to-back runs, so the best run is the estimate of what the code
can do (as `timeit` advises); the medians are reported next to them. The plaintext is the
deterministic uncompressed tar of a generated model (the exact bytes the harness
decrypts), in a local file.

- seal: `infra.model.seal.seal_model(tar, storage=None, out=FILE)`, i.e. Alice's sealer without
  the upload: read the tar, Tink-encrypt it as a stream, write the ciphertext to a local
  file (page cache). Includes the one KMS call that wraps the keyset (local KMS, ~1 ms).
- unseal: `harness.sealed.decrypt_into_memory` over that ciphertext file (page cached):
  the harness's own decrypt with authentication, SHA-256 of the plaintext, and the
  allocation of the buffer the model is then parsed from. The keyset is unwrapped first
  (not timed). Storage is not involved here; the load through fake-gcs-server is in (b).
- openssl AES-CTR+HMAC-SHA256: `openssl enc -aes-256-ctr` (to /dev/null) and `openssl dgst
  -sha256 -mac HMAC` over the same tar file (page cached), each a process timed by wall
  clock minus its start-up (the fastest run of the same command over an empty file); the rate
  is bytes / (t_ctr + t_hmac): the work of Tink's AES-CTR-HMAC streaming format done by
  openssl's command-line tools, one core, same run. `openssl dgst -sha256` (plain) is
  reported too, because unsealing also hashes the plaintext.
- openssl AES-256-GCM: `openssl speed -evp aes-256-gcm -bytes 1048576` (in memory, 1 MiB
  blocks like Tink's 1 MiB segments); `openssl enc` has no AEAD modes.

Figure: for each model size, unseal(default template) / openssl AES-CTR+HMAC-SHA256; the
figure is the smallest over the sizes, target >= 0.8. The ratio of every template to the
same reference, and to its own cipher's openssl rate, is reported as well.
"""

from __future__ import annotations

import gc
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.bench.common import MB, compare, median, openssl_binary, rnd
from infra.errors import UserError

TARGET = {
    "value": 0.8,
    "comparison": ">=",
    "description": "unseal (default template) at >= 80% of openssl AES-CTR+HMAC-SHA256",
}
# Tink template -> the openssl reference for the same cipher
SAME_CIPHER = {
    "AES256_GCM_HKDF_1MB": "aes_256_gcm",
    "AES256_GCM_HKDF_4KB": "aes_256_gcm",
    "AES256_CTR_HMAC_SHA256_1MB": "aes_256_ctr_hmac_sha256",
    "AES256_CTR_HMAC_SHA256_4KB": "aes_256_ctr_hmac_sha256",
}


def require_openssl() -> str:
    path = openssl_binary()
    if path is None:
        raise UserError("openssl is not on PATH; benchmark (a) compares against it")
    return path


def _timed_process(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, check=False)  # noqa: S603 - openssl, fixed args
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise UserError(
            f"{' '.join(argv[:3])} failed ({done.returncode}): {done.stderr.decode(errors='replace')[:200]}"
        )
    return seconds


def openssl_file_rates(plaintext: Path, repeats: int) -> dict[str, Any]:
    """AES-256-CTR, HMAC-SHA256 and SHA-256 over the file: seconds and MB/s (fastest run)."""
    openssl = require_openssl()
    key = secrets.token_hex(32)  # a throwaway key for the reference run only
    iv = secrets.token_hex(16)
    commands = {
        "aes_256_ctr": [openssl, "enc", "-aes-256-ctr", "-K", key, "-iv", iv, "-in", str(plaintext), "-out", "/dev/null"],
        "hmac_sha256": [openssl, "dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{key}", "-out", "/dev/null", str(plaintext)],
        "sha256": [openssl, "dgst", "-sha256", "-out", "/dev/null", str(plaintext)],
    }  # fmt: skip
    size = plaintext.stat().st_size
    _timed_process(commands["sha256"])  # page cache warm for every command
    seconds = {
        name: [_timed_process(argv) for _ in range(repeats)] for name, argv in commands.items()
    }
    # The same commands over an empty file time the process start-up, which is subtracted:
    # openssl is timed on the bytes only, like the in-process unseal.
    empty = plaintext.with_name("empty-for-openssl-startup")
    empty.write_bytes(b"")
    startup = {}
    for name, argv in commands.items():
        on_empty = [str(empty) if arg == str(plaintext) else arg for arg in argv]
        startup[name] = min(_timed_process(on_empty) for _ in range(max(3, repeats)))
    empty.unlink()
    best = {name: max(min(values) - startup[name], 1e-6) for name, values in seconds.items()}
    mid = {name: max(median(values) - startup[name], 1e-6) for name, values in seconds.items()}
    return {
        "seconds": {name: [rnd(v, 4) for v in values] for name, values in seconds.items()},
        "startup_seconds": {name: rnd(v, 4) for name, v in startup.items()},
        "mb_s": _openssl_rates(size, best),
        "median_mb_s": _openssl_rates(size, mid),
    }


def _openssl_rates(size: int, seconds: dict[str, float]) -> dict[str, float]:
    combined = seconds["aes_256_ctr"] + seconds["hmac_sha256"]
    return {
        "aes_256_ctr": rnd(size / seconds["aes_256_ctr"] / MB),
        "hmac_sha256": rnd(size / seconds["hmac_sha256"] / MB),
        "sha256": rnd(size / seconds["sha256"] / MB),
        "aes_256_ctr_hmac_sha256": rnd(size / combined / MB),
    }


def openssl_gcm_rate(seconds: int) -> dict[str, Any]:
    """`openssl speed -evp aes-256-gcm` with 1 MiB blocks -> MB/s."""
    openssl = require_openssl()
    argv = [openssl, "speed", "-evp", "aes-256-gcm", "-bytes", "1048576", "-seconds", str(seconds)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    match = re.search(r"^aes-256-gcm\s+([\d.]+)k\s*$", done.stdout, re.MULTILINE | re.IGNORECASE)
    if done.returncode != 0 or match is None:
        raise UserError(f"could not read `{' '.join(argv[1:])}` output: {done.stdout[-200:]!r}")
    return {"command": " ".join(argv[1:]), "mb_s": rnd(float(match.group(1)) * 1000 / MB)}


def seal_and_unseal(
    plaintext: Path,
    ciphertext: Path,
    *,
    template: str,
    dest: str,
    key_uri: str,
    kms: Any,
    repeats: int,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Time `repeats` seals and unseals; returns (raw numbers, the object metadata)."""
    from harness.sealed import parse_metadata

    seal_seconds: list[float] = []
    report = None
    for _ in range(repeats):
        started = time.perf_counter()
        report = _seal(
            plaintext, ciphertext, template=template, dest=dest, key_uri=key_uri, kms=kms
        )
        seal_seconds.append(time.perf_counter() - started)
    assert report is not None
    meta = parse_metadata(report.metadata)
    unseal_seconds = _time_unseals(
        ciphertext, meta, dest=dest, key_uri=key_uri, kms=kms, repeats=repeats
    )
    size = meta.size
    raw = {
        "plaintext_bytes": size,
        "ciphertext_bytes": report.ciphertext_bytes,
        "seal_seconds": [rnd(v, 4) for v in seal_seconds],
        "unseal_seconds": [rnd(v, 4) for v in unseal_seconds],
        "seal_mb_s": rnd(size / min(seal_seconds) / MB),
        "unseal_mb_s": rnd(size / min(unseal_seconds) / MB),
        "seal_mb_s_median": rnd(size / median(seal_seconds) / MB),
        "unseal_mb_s_median": rnd(size / median(unseal_seconds) / MB),
    }
    return raw, report.metadata


def _time_unseals(
    ciphertext: Path, meta: Any, *, dest: str, key_uri: str, kms: Any, repeats: int
) -> list[float]:
    """Unwrap the keyset once (KMS is not what is measured), then time `repeats` unseals."""
    from harness.gcp import KmsAead
    from harness.sealed import (
        decrypt_into_memory,
        parse_gcs_uri,
        parse_kms_key_uri,
        streaming_primitive,
        unwrap_keyset,
    )

    associated_data = parse_gcs_uri(dest).associated_data()
    primitive = streaming_primitive(
        unwrap_keyset(meta.keyset_json, KmsAead(kms, parse_kms_key_uri(key_uri)), associated_data)
    )
    unseal_seconds: list[float] = []
    for _ in range(repeats):
        gc.collect()
        with ciphertext.open("rb") as source:
            started = time.perf_counter()
            buffer, digest = decrypt_into_memory(source, primitive, associated_data, meta.size)
            unseal_seconds.append(time.perf_counter() - started)
        if digest != meta.sha256:
            raise RuntimeError(f"benchmark bug: unsealed digest {digest} != {meta.sha256}")
        del buffer
    return unseal_seconds


def summarize(
    rows: list[dict[str, Any]], gcm: dict[str, Any], default_template: str
) -> dict[str, Any]:
    """The section: rows per size with ratios, the figure, the target and the verdict."""
    for row in rows:
        reference = dict(row["openssl"]["mb_s"])
        reference["aes_256_gcm"] = gcm["mb_s"]
        for name, numbers in row["templates"].items():
            numbers["unseal_vs_openssl_ctr_hmac"] = rnd(
                numbers["unseal_mb_s"] / reference["aes_256_ctr_hmac_sha256"]
            )
            same = SAME_CIPHER.get(name)
            if same:
                numbers["unseal_vs_openssl_same_cipher"] = rnd(
                    numbers["unseal_mb_s"] / reference[same]
                )
                numbers["openssl_same_cipher"] = same
    values = {
        row["model"]: row["templates"][default_template]["unseal_vs_openssl_ctr_hmac"]
        for row in rows
    }
    figure = min(values.values())
    return {
        "title": "seal and unseal throughput vs openssl",
        "definition": __doc__,
        "default_template": default_template,
        "openssl_aes_256_gcm": gcm,
        "rows": rows,
        "figure": {
            "description": f"unseal MB/s ({default_template}) / openssl AES-CTR+HMAC-SHA256 MB/s",
            "unit": "ratio",
            "values": values,
            "aggregate": "min",
            "value": figure,
        },
        "target": TARGET,
        "meets_target": compare(figure, TARGET["comparison"], TARGET["value"]),
    }


def measure_size(
    *,
    label: str,
    plaintext: Path,
    workdir: Path,
    templates: tuple[str, ...],
    dest: str,
    key_uri: str,
    kms: Any,
    repeats: int,
    say: Callable[[str], None],
) -> tuple[dict[str, Any], dict[str, tuple[Path, dict[str, str]]]]:
    """(a) for one model: every template, then openssl; returns (row, ciphertexts by template)."""
    row: dict[str, Any] = {"model": label, "plaintext_bytes": plaintext.stat().st_size}
    row["templates"] = {}
    sealed: dict[str, tuple[Path, dict[str, str]]] = {}
    for template in templates:
        ciphertext = workdir / f"{template}.enc"
        raw, metadata = seal_and_unseal(
            plaintext,
            ciphertext,
            template=template,
            dest=dest,
            key_uri=key_uri,
            kms=kms,
            repeats=repeats,
        )
        row["templates"][template] = raw
        sealed[template] = (ciphertext, metadata)
        say(
            f"(a) {label} {template}: seal {raw['seal_mb_s']:.0f} MB/s, "
            f"unseal {raw['unseal_mb_s']:.0f} MB/s"
        )
    row["openssl"] = openssl_file_rates(plaintext, repeats)
    say(
        f"(a) {label} openssl: AES-CTR {row['openssl']['mb_s']['aes_256_ctr']:.0f}, "
        f"HMAC-SHA256 {row['openssl']['mb_s']['hmac_sha256']:.0f}, "
        f"combined {row['openssl']['mb_s']['aes_256_ctr_hmac_sha256']:.0f} MB/s"
    )
    return row, sealed


def seal_once(
    plaintext: Path, ciphertext: Path, *, template: str, dest: str, key_uri: str, kms: Any
) -> dict[str, str]:
    """Seal without timing (when (a) is not selected); returns the object metadata."""
    return _seal(
        plaintext, ciphertext, template=template, dest=dest, key_uri=key_uri, kms=kms
    ).metadata


def _seal(
    plaintext: Path, ciphertext: Path, *, template: str, dest: str, key_uri: str, kms: Any
) -> Any:
    """The sealer's own work, no upload: the ciphertext to `ciphertext`, its report back."""
    from infra.model.seal import seal_model

    return seal_model(
        plaintext,
        dest=dest,
        kms_key_uri=key_uri,
        kms=kms,
        storage=None,
        template=template,
        out=ciphertext,
    )
