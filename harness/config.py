"""Harness configuration from the environment, validated before anything starts.

Every error names the variable, the value (never for secrets; there are none here: the
token comes from a file) and what was expected. Any `HARNESS_*` variable that is not
known is refused too, so a typo cannot silently fall back to a default.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness import contract as c
from harness.attested import check_token_file, provider_from_env
from harness.gcp import KMS_EMULATOR_ENV, STORAGE_EMULATOR_ENV, loopback_host_port, loopback_url
from harness.sealed import GcsUri, SealedFormatError, parse_gcs_uri, parse_kms_key_uri

DEFAULT_PORT = c.PORT
DEFAULT_TLS_DIR = c.TLS_DIR
DEFAULT_TOKEN_FILE = c.TOKEN_FILE
DEFAULT_RATE_LIMIT = 100
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_REVIEW_CHARS = 10_000
DEFAULT_MAX_CONNECTIONS = 256
DEFAULT_HEADER_TIMEOUT = 10
DEFAULT_BODY_TIMEOUT = 30
MAX_WORKERS = 64
DEFAULT_MAX_ELEMENTS = 16384
"""Tensor elements per /v2 request. Binding below what a 1 MiB body can carry (~40,000 short
strings, ~500,000 small numbers): 16,384 reviews take ~6 s on the demo model."""

# The request head's bounds, the same whichever parser is installed (not configurable: no
# client of this API needs more, and a larger head is only work for whoever sends it).
HTTP_MAX_TARGET_BYTES = 8192
"""Longest request target (path and query); past it 414 and the connection closed. RFC 9112
section 3 recommends accepting request lines of at least 8,000 octets."""
HTTP_MAX_HEADER_FIELDS = 100
"""Most header fields in one request; past it 431 (RFC 6585 section 5) and closed. Apache
httpd's `LimitRequestFields` default is the same 100."""
HTTP_MAX_HEAD_BYTES = 16384
"""Largest head: request line, header lines and the blank line, CRLFs included; past it 431
and closed. h11's own bound on an incomplete head (`DEFAULT_MAX_INCOMPLETE_EVENT_SIZE`),
which the harness enforced while h11 was its parser."""

# name -> one-line description (shown in errors and the README)
KNOWN_HARNESS_VARIABLES = {
    c.ENV_PORT: f"TLS port to listen on (default {DEFAULT_PORT})",
    c.ENV_BIND: "address to bind (default 0.0.0.0)",
    c.ENV_TLS_DIR: f"directory holding tls.crt and tls.key (default {DEFAULT_TLS_DIR})",
    c.ENV_TOKEN_FILE: f"bearer token file, re-read on change (default {DEFAULT_TOKEN_FILE})",
    c.ENV_RATE_LIMIT: f"requests per minute per client, 0 = off (default {DEFAULT_RATE_LIMIT})",
    c.ENV_MAX_BODY_BYTES: f"largest request body accepted (default {DEFAULT_MAX_BODY_BYTES})",
    c.ENV_MAX_BATCH: f"most reviews per /predict call, and rows per model run of a /v2 batch (default {DEFAULT_MAX_BATCH})",
    c.ENV_MAX_REVIEW_CHARS: f"longest review in characters (default {DEFAULT_MAX_REVIEW_CHARS})",
    c.ENV_LOG_LEVEL: "debug, info, warning or error (default info)",
    c.ENV_TRUSTED_PROXIES: "CIDRs whose X-Forwarded-For is believed, comma-separated (default none)",
    c.ENV_WORKERS: f"serving processes sharing the one decrypted model (default cores, <= {MAX_WORKERS})",
    c.ENV_MAX_CONNECTIONS: f"open connections per process (default {DEFAULT_MAX_CONNECTIONS})",
    c.ENV_HEADER_TIMEOUT: f"seconds to receive a request's headers (default {DEFAULT_HEADER_TIMEOUT})",
    c.ENV_BODY_TIMEOUT: f"seconds to receive a request's body (default {DEFAULT_BODY_TIMEOUT})",
    c.ENV_MAX_ELEMENTS: f"most tensor elements per /v2 infer request (default {DEFAULT_MAX_ELEMENTS})",
    c.ENV_WIP_PROVIDER: "Confidential Space: the pool provider that accepts the attestation token",
    c.ENV_TOKEN_SEALED: "Confidential Space: the bearer token, encrypted with the model key",
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
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    workers: int = 1
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    max_elements: int = DEFAULT_MAX_ELEMENTS

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


def trusted_proxies(raw: str | None) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parse `HARNESS_TRUSTED_PROXIES`: comma-separated CIDRs (or single addresses)."""
    networks = []
    for item in (raw or "").split(","):
        text = item.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=True))
        except ValueError as exc:
            raise ConfigError(
                f"{c.ENV_TRUSTED_PROXIES}: {text!r} is not a CIDR such as 130.211.0.0/22 ({exc})"
            ) from None
    return tuple(networks)


def default_workers() -> int:
    """`HARNESS_WORKERS` when unset: one serving process per core."""
    return min(MAX_WORKERS, os.cpu_count() or 1)


def _serving(env: Mapping[str, str]) -> dict[str, object]:
    """The serving knobs added for hostile clients and throughput (issue 12)."""
    return {
        "trusted_proxies": trusted_proxies(env.get(c.ENV_TRUSTED_PROXIES)),
        "workers": _int(env, c.ENV_WORKERS, default_workers(), 1, MAX_WORKERS),
        "max_connections": _int(env, c.ENV_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS, 1, 100_000),
        "header_timeout": float(_int(env, c.ENV_HEADER_TIMEOUT, DEFAULT_HEADER_TIMEOUT, 1, 600)),
        "body_timeout": float(_int(env, c.ENV_BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT, 1, 3600)),
        "max_elements": _int(env, c.ENV_MAX_ELEMENTS, DEFAULT_MAX_ELEMENTS, 1, 1 << 28),
    }


def _model_and_key(env: Mapping[str, str]) -> tuple[GcsUri, str, str]:
    """`MODEL_URI` and `KMS_KEY_URI`: both required, both parsed."""
    model_raw = env.get(c.ENV_MODEL_URI, "")
    if not model_raw:
        raise ConfigError(
            "MODEL_URI is not set; expected gs://<bucket>/<object> of the sealed model"
        )
    try:
        model_uri = parse_gcs_uri(model_raw)
    except SealedFormatError as exc:
        raise ConfigError(f"MODEL_URI: {exc}") from None
    key_raw = env.get(c.ENV_KMS_KEY_URI, "")
    if not key_raw:
        raise ConfigError(
            "KMS_KEY_URI is not set; expected gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K"
        )
    try:
        key_name = parse_kms_key_uri(key_raw)
    except SealedFormatError as exc:
        raise ConfigError(f"KMS_KEY_URI: {exc}") from None
    return model_uri, key_raw, key_name


def from_env(env: Mapping[str, str]) -> HarnessConfig:
    """Build the configuration; raises `ConfigError` naming the first bad variable."""
    unknown = sorted(
        k for k in env if k.startswith("HARNESS_") and k not in KNOWN_HARNESS_VARIABLES
    )
    if unknown:
        raise ConfigError(
            f"unknown variable {unknown[0]}; known HARNESS_* variables: {', '.join(KNOWN_HARNESS_VARIABLES)}"
        )
    model_uri, key_raw, key_name = _model_and_key(env)
    pin_raw = env.get(c.ENV_MODEL_SHA256, "").strip()
    if pin_raw and not _SHA256.fullmatch(pin_raw):
        raise ConfigError(
            f"MODEL_SHA256={pin_raw[:80]!r}: expected 64 hex digits (SHA-256 of the plaintext)"
        )
    bind = env.get(c.ENV_BIND, "0.0.0.0") or "0.0.0.0"  # noqa: S104 - a pod serves its Service
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        raise ConfigError(
            f"HARNESS_BIND={bind!r}: expected an IP address such as 0.0.0.0 or 127.0.0.1"
        ) from None
    log_level = (env.get(c.ENV_LOG_LEVEL) or "info").lower()
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
    try:
        check_token_file(provider_from_env(env))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    for name in (c.ENV_TLS_DIR, c.ENV_TOKEN_FILE):
        value = env.get(name)
        if value is not None and not value.startswith("/"):
            raise ConfigError(f"{name}={value!r}: expected an absolute path")
    return HarnessConfig(
        model_uri=model_uri,
        kms_key_uri=key_raw,
        kms_key_name=key_name,
        model_sha256=pin_raw.lower() or None,
        port=_int(env, c.ENV_PORT, DEFAULT_PORT, 1, 65535),
        bind=bind,
        tls_dir=Path(env.get(c.ENV_TLS_DIR) or DEFAULT_TLS_DIR),
        token_file=Path(env.get(c.ENV_TOKEN_FILE) or DEFAULT_TOKEN_FILE),
        rate_limit=_int(env, c.ENV_RATE_LIMIT, DEFAULT_RATE_LIMIT, 0, 1_000_000),
        max_body_bytes=_int(env, c.ENV_MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, 1024, 64 << 20),
        max_batch=_int(env, c.ENV_MAX_BATCH, DEFAULT_MAX_BATCH, 1, 10_000),
        max_review_chars=_int(env, c.ENV_MAX_REVIEW_CHARS, DEFAULT_MAX_REVIEW_CHARS, 1, 1_000_000),
        log_level=log_level,
        storage_emulator=storage,
        kms_emulator=kms,
        **_serving(env),  # type: ignore[arg-type]
    )
