"""Harness configuration from the environment, validated before anything starts.

Every error names the variable, the value (never for secrets; there are none here: the
token comes from a file) and what was expected. Any `HARNESS_*` variable that is not
known is refused too, so a typo cannot silently fall back to a default.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.gcp import KMS_EMULATOR_ENV, STORAGE_EMULATOR_ENV, loopback_host_port, loopback_url
from harness.sealed import GcsUri, SealedFormatError, parse_gcs_uri, parse_kms_key_uri

DEFAULT_PORT = 8443
DEFAULT_TLS_DIR = "/etc/harness/tls"
DEFAULT_TOKEN_FILE = "/etc/harness/token/token"
DEFAULT_RATE_LIMIT = 100
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_REVIEW_CHARS = 10_000

# name -> one-line description (shown in errors and the README)
KNOWN_HARNESS_VARIABLES = {
    "HARNESS_PORT": f"TLS port to listen on (default {DEFAULT_PORT})",
    "HARNESS_BIND": "address to bind (default 0.0.0.0)",
    "HARNESS_TLS_DIR": f"directory holding tls.crt and tls.key (default {DEFAULT_TLS_DIR})",
    "HARNESS_TOKEN_FILE": f"bearer token file, re-read on change (default {DEFAULT_TOKEN_FILE})",
    "HARNESS_RATE_LIMIT": f"requests per minute per client, 0 = off (default {DEFAULT_RATE_LIMIT})",
    "HARNESS_MAX_BODY_BYTES": f"largest request body accepted (default {DEFAULT_MAX_BODY_BYTES})",
    "HARNESS_MAX_BATCH": f"most reviews per /predict call (default {DEFAULT_MAX_BATCH})",
    "HARNESS_MAX_REVIEW_CHARS": f"longest review in characters (default {DEFAULT_MAX_REVIEW_CHARS})",
    "HARNESS_LOG_LEVEL": "debug, info, warning or error (default info)",
}
_LOG_LEVELS = ("debug", "info", "warning", "error")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class ConfigError(ValueError):
    """A variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class HarnessConfig:
    model_uri: GcsUri
    kms_key_uri: str
    kms_key_name: str
    model_sha256: str | None
    port: int
    bind: str
    tls_dir: Path
    token_file: Path
    rate_limit: int
    max_body_bytes: int
    max_batch: int
    max_review_chars: int
    log_level: str
    storage_emulator: str | None
    kms_emulator: str | None

    @property
    def tls_cert(self) -> Path:
        return self.tls_dir / "tls.crt"

    @property
    def tls_key(self) -> Path:
        return self.tls_dir / "tls.key"


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.isdigit():
        raise ConfigError(f"{name}={raw!r}: expected a whole number in [{low}, {high}]")
    value = int(text)
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r}: expected a whole number in [{low}, {high}]")
    return value


def from_env(env: Mapping[str, str]) -> HarnessConfig:
    """Build the configuration; raises `ConfigError` naming the first bad variable."""
    unknown = sorted(
        k for k in env if k.startswith("HARNESS_") and k not in KNOWN_HARNESS_VARIABLES
    )
    if unknown:
        raise ConfigError(
            f"unknown variable {unknown[0]}; known HARNESS_* variables: {', '.join(KNOWN_HARNESS_VARIABLES)}"
        )
    model_raw = env.get("MODEL_URI", "")
    if not model_raw:
        raise ConfigError(
            "MODEL_URI is not set; expected gs://<bucket>/<object> of the sealed model"
        )
    try:
        model_uri = parse_gcs_uri(model_raw)
    except SealedFormatError as exc:
        raise ConfigError(f"MODEL_URI: {exc}") from None
    key_raw = env.get("KMS_KEY_URI", "")
    if not key_raw:
        raise ConfigError(
            "KMS_KEY_URI is not set; expected gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K"
        )
    try:
        key_name = parse_kms_key_uri(key_raw)
    except SealedFormatError as exc:
        raise ConfigError(f"KMS_KEY_URI: {exc}") from None
    pin_raw = env.get("MODEL_SHA256", "").strip()
    if pin_raw and not _SHA256.fullmatch(pin_raw):
        raise ConfigError(
            f"MODEL_SHA256={pin_raw[:80]!r}: expected 64 hex digits (SHA-256 of the plaintext)"
        )
    bind = env.get("HARNESS_BIND", "0.0.0.0") or "0.0.0.0"  # noqa: S104 - a pod serves its Service
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        raise ConfigError(
            f"HARNESS_BIND={bind!r}: expected an IP address such as 0.0.0.0 or 127.0.0.1"
        ) from None
    log_level = (env.get("HARNESS_LOG_LEVEL") or "info").lower()
    if log_level not in _LOG_LEVELS:
        raise ConfigError(
            f"HARNESS_LOG_LEVEL={env.get('HARNESS_LOG_LEVEL')!r}: expected one of {', '.join(_LOG_LEVELS)}"
        )
    try:
        storage = env.get(STORAGE_EMULATOR_ENV) or None
        kms = env.get(KMS_EMULATOR_ENV) or None
        storage = loopback_url(STORAGE_EMULATOR_ENV, storage) if storage else None
        kms = loopback_host_port(KMS_EMULATOR_ENV, kms) if kms else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for name in ("HARNESS_TLS_DIR", "HARNESS_TOKEN_FILE"):
        value = env.get(name)
        if value is not None and not value.startswith("/"):
            raise ConfigError(f"{name}={value!r}: expected an absolute path")
    return HarnessConfig(
        model_uri=model_uri,
        kms_key_uri=key_raw,
        kms_key_name=key_name,
        model_sha256=pin_raw.lower() or None,
        port=_int(env, "HARNESS_PORT", DEFAULT_PORT, 1, 65535),
        bind=bind,
        tls_dir=Path(env.get("HARNESS_TLS_DIR") or DEFAULT_TLS_DIR),
        token_file=Path(env.get("HARNESS_TOKEN_FILE") or DEFAULT_TOKEN_FILE),
        rate_limit=_int(env, "HARNESS_RATE_LIMIT", DEFAULT_RATE_LIMIT, 0, 1_000_000),
        max_body_bytes=_int(env, "HARNESS_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024, 64 << 20),
        max_batch=_int(env, "HARNESS_MAX_BATCH", DEFAULT_MAX_BATCH, 1, 10_000),
        max_review_chars=_int(
            env, "HARNESS_MAX_REVIEW_CHARS", DEFAULT_MAX_REVIEW_CHARS, 1, 1_000_000
        ),
        log_level=log_level,
        storage_emulator=storage,
        kms_emulator=kms,
    )
