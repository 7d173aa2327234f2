"""Cloud KMS and Cloud Storage clients: ADC in the cluster, loopback emulators locally.

In GKE both clients use Application Default Credentials, i.e. the workload identity of
the pod's Kubernetes service account. On Confidential Space (`HARNESS_WIP_PROVIDER` set) they use
the launcher's attestation token through google-auth's external_account credentials
(`harness.attested`). Locally (no cloud account) they talk to emulators:
`STORAGE_EMULATOR_HOST` (the google-cloud-storage convention, scheme included, e.g.
`http://127.0.0.1:4443`) and `KMS_EMULATOR_HOST` (`127.0.0.1:<port>`, the local gRPC KMS
of `infra/local/kms.py`). Both must name a loopback address: an emulator endpoint can only
ever point at the pod itself, never at a server someone else controls.

The KMS client is the real `google-cloud-kms` client; locally it reaches the emulator
through its `api_endpoint` client option over a plaintext loopback gRPC channel.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any
from urllib.parse import urlsplit

import google_crc32c
import tink
from google.api_core import exceptions as api_exceptions
from tink import aead

KMS_EMULATOR_ENV = "KMS_EMULATOR_HOST"
STORAGE_EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
KMS_TIMEOUT_SECONDS = 30.0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_host_port(variable: str, value: str) -> str:
    """Validate `host:port` on a loopback address; the error names the variable."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"{variable}={value!r}: expected <loopback-host>:<port>, e.g. 127.0.0.1:9011"
        )
    if not _is_loopback(host):
        raise ValueError(
            f"{variable}={value!r}: emulator host must be a loopback address (127.0.0.1, ::1)"
        )
    return value


def loopback_url(variable: str, value: str) -> str:
    """Validate `http(s)://<loopback>:<port>`; the error names the variable."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{variable}={value!r}: expected http://<loopback-host>:<port>")
    if not _is_loopback(parts.hostname):
        raise ValueError(
            f"{variable}={value!r}: emulator host must be a loopback address (127.0.0.1, ::1)"
        )
    return value.rstrip("/")


def _crc32c(data: bytes) -> int:
    return int(google_crc32c.value(data))


class KmsAead(aead.Aead):
    """Tink `Aead` backed by one Cloud KMS CryptoKey (wraps and unwraps keysets).

    Follows the KMS data-integrity guidance: CRC32C of every input is sent and the
    `verified_*` flags and the returned checksums are checked, so a corrupted or
    substituted response is an error rather than a wrong key.
    """

    def __init__(self, client: Any, key_name: str, *, timeout: float = KMS_TIMEOUT_SECONDS) -> None:
        self._client = client
        self.key_name = key_name
        self._timeout = timeout
        self.last_key_version = ""
        self.last_used_primary: bool | None = None

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        try:
            response = self._client.encrypt(
                request={
                    "name": self.key_name,
                    "plaintext": plaintext,
                    "additional_authenticated_data": associated_data,
                    "plaintext_crc32c": _crc32c(plaintext),
                    "additional_authenticated_data_crc32c": _crc32c(associated_data),
                },
                timeout=self._timeout,
            )
        except api_exceptions.GoogleAPICallError as exc:
            raise tink.TinkError(
                f"KMS encrypt with {self.key_name} failed: {_describe(exc)}"
            ) from None
        if (
            not response.verified_plaintext_crc32c
            or not response.verified_additional_authenticated_data_crc32c
        ):
            raise tink.TinkError("KMS encrypt: request checksums were not verified by the server")
        if response.ciphertext_crc32c != _crc32c(response.ciphertext):
            raise tink.TinkError("KMS encrypt: response ciphertext checksum mismatch")
        self.last_key_version = str(response.name)
        return bytes(response.ciphertext)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        try:
            response = self._client.decrypt(
                request={
                    "name": self.key_name,
                    "ciphertext": ciphertext,
                    "additional_authenticated_data": associated_data,
                    "ciphertext_crc32c": _crc32c(ciphertext),
                    "additional_authenticated_data_crc32c": _crc32c(associated_data),
                },
                timeout=self._timeout,
            )
        except api_exceptions.GoogleAPICallError as exc:
            raise tink.TinkError(
                f"KMS decrypt with {self.key_name} failed: {_describe(exc)}"
            ) from None
        if response.plaintext_crc32c != _crc32c(response.plaintext):
            raise tink.TinkError("KMS decrypt: response plaintext checksum mismatch")
        self.last_used_primary = bool(response.used_primary)
        return bytes(response.plaintext)


def _describe(exc: api_exceptions.GoogleAPICallError) -> str:
    """Status code and server message; KMS messages never contain key material."""
    status = exc.grpc_status_code
    code = status.name if status is not None else getattr(exc.code, "name", exc.code)
    return f"{code}: {exc.message}"


def kms_client(emulator: str | None = None) -> Any:
    """The real KMS client: ADC by default, or the loopback emulator via `api_endpoint`."""
    from google.cloud import kms_v1

    if not emulator:
        from harness.attested import credentials_from_env

        return kms_v1.KeyManagementServiceClient(credentials=credentials_from_env())
    import grpc
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.kms_v1.services.key_management_service.transports import (
        KeyManagementServiceGrpcTransport,
    )

    def insecure_loopback_transport(**kwargs: Any) -> KeyManagementServiceGrpcTransport:
        # The emulator speaks plaintext gRPC on loopback only; a channel given to the
        # transport replaces the TLS channel the client would build for `host`.
        host = str(kwargs["host"])
        return KeyManagementServiceGrpcTransport(host=host, channel=grpc.insecure_channel(host))

    return kms_v1.KeyManagementServiceClient(
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulator},
        transport=insecure_loopback_transport,
    )


def storage_client(emulator: str | None = None) -> Any:
    """Cloud Storage client: ADC by default, or the loopback emulator (anonymous)."""
    from google.cloud import storage

    if not emulator:
        from harness.attested import credentials_from_env

        attested = credentials_from_env()
        # A principalSet has no project of its own; reads need none.
        if attested is None:
            return storage.Client()
        return storage.Client(project=None, credentials=attested)
    from google.auth.credentials import AnonymousCredentials

    return storage.Client(
        project="local",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": emulator},
    )


def emulators_from_env(env: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """(storage emulator URL, KMS emulator host:port) from the environment, validated."""
    env = dict(os.environ) if env is None else env
    storage = env.get(STORAGE_EMULATOR_ENV) or None
    kms = env.get(KMS_EMULATOR_ENV) or None
    return (
        loopback_url(STORAGE_EMULATOR_ENV, storage) if storage else None,
        loopback_host_port(KMS_EMULATOR_ENV, kms) if kms else None,
    )
