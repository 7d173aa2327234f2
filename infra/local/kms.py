"""A local Cloud KMS for tests and the demo: the real `google.cloud.kms.v1` gRPC protocol.

No KMS emulator exists, so this serves `KeyManagementService.Encrypt` and `Decrypt` (the
two calls Tink's KMS envelope needs) with the proto messages of `google-cloud-kms`, so the
real client reaches it through its `api_endpoint` option. Keys live in memory only
(AES-256-GCM via `cryptography`) and vanish with the process; every other RPC answers
UNIMPLEMENTED. It binds 127.0.0.1 only and speaks plaintext gRPC: never expose it.

Behaviour follows the real service where the client can observe it: unknown keys are
NOT_FOUND, a ciphertext that does not open under the named key (wrong key, wrong
associated data, corrupted) is INVALID_ARGUMENT, Decrypt takes a CryptoKey name (not a
version), Encrypt reports the CryptoKeyVersion it used, CRC32C request checksums are
verified and response checksums set, and plaintext/AAD are limited to 64 KiB.

Run standalone: `python -m infra.local.kms --key projects/p/locations/l/keyRings/r/cryptoKeys/k`.
"""

from __future__ import annotations

import argparse
import os
import re
import struct
import sys
import threading
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import google_crc32c
import grpc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SERVICE = "google.cloud.kms.v1.KeyManagementService"
MAX_DATA_BYTES = 64 * 1024
_MAGIC = b"LKMS1"
_HEADER = struct.Struct(">5sI12s")  # magic, key version number, nonce
_KEY_NAME = re.compile(
    r"projects/[^/]+/locations/[a-zA-Z0-9_-]{1,63}/keyRings/[a-zA-Z0-9_-]{1,63}/cryptoKeys/[a-zA-Z0-9_-]{1,63}"
)
_VERSION_NAME = re.compile(rf"(?P<key>{_KEY_NAME.pattern})/cryptoKeyVersions/(?P<version>[0-9]+)")


def _crc(data: bytes) -> int:
    return int(google_crc32c.value(data))


@dataclass
class _CryptoKey:
    name: str
    versions: list[bytes] = field(default_factory=list)  # version N is versions[N - 1]

    @property
    def primary(self) -> int:
        return len(self.versions)

    def version_name(self, number: int) -> str:
        return f"{self.name}/cryptoKeyVersions/{number}"


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LocalKms:
    """In-memory KMS keys behind a gRPC server on 127.0.0.1."""

    def __init__(self) -> None:
        self._keys: dict[str, _CryptoKey] = {}
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self.port: int | None = None
        self.calls: dict[str, int] = {"Encrypt": 0, "Decrypt": 0}

    # key management (local only; the real service does this through IAM-guarded RPCs)
    def create_key(self, name: str) -> str:
        """Create a CryptoKey with one version; returns its `gcp-kms://` URI."""
        if not _KEY_NAME.fullmatch(name):
            raise ValueError(
                f"key name {name!r}: expected projects/P/locations/L/keyRings/R/cryptoKeys/K"
            )
        with self._lock:
            if name in self._keys:
                raise ValueError(f"key {name} already exists")
            self._keys[name] = _CryptoKey(name, [AESGCM.generate_key(bit_length=256)])
        return "gcp-kms://" + name

    def rotate_key(self, name: str) -> str:
        """Add a new primary version (old versions still decrypt); returns its name."""
        with self._lock:
            key = self._keys[name]
            key.versions.append(AESGCM.generate_key(bit_length=256))
            return key.version_name(key.primary)

    # server lifecycle
    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise RuntimeError("local KMS is not started")
        return f"127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:`port` (0 = any free port); returns `host:port`."""
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="local-kms")
        )
        from google.cloud import kms_v1

        handlers = {
            "Encrypt": grpc.unary_unary_rpc_method_handler(
                self._wrap("Encrypt", self._encrypt, kms_v1.EncryptResponse),
                request_deserializer=kms_v1.EncryptRequest.deserialize,
                response_serializer=kms_v1.EncryptResponse.serialize,
            ),
            "Decrypt": grpc.unary_unary_rpc_method_handler(
                self._wrap("Decrypt", self._decrypt, kms_v1.DecryptResponse),
                request_deserializer=kms_v1.DecryptRequest.deserialize,
                response_serializer=kms_v1.DecryptResponse.serialize,
            ),
        }
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        bound = server.add_insecure_port(f"127.0.0.1:{port}")
        if not bound:
            raise OSError(f"local KMS could not bind 127.0.0.1:{port}")
        server.start()
        self._server = server
        self.port = bound
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=None).wait(5)
            self._server = None

    def __enter__(self) -> LocalKms:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # RPCs
    def _wrap(self, method: str, handler: Any, response_type: Any) -> Any:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            with self._lock:
                self.calls[method] += 1
            try:
                return response_type(**handler(request))
            except _Abort as exc:
                context.abort(exc.code, exc.message)

        return call

    def _key(self, name: str) -> _CryptoKey:
        with self._lock:
            key = self._keys.get(name)
        if key is None:
            raise _Abort(grpc.StatusCode.NOT_FOUND, f"CryptoKey {name} not found.")
        return key

    @staticmethod
    def _check_crc(request: Any, data_field: str, crc_field: str) -> bool:
        if crc_field not in request:
            return False
        if getattr(request, crc_field) != _crc(getattr(request, data_field)):
            raise _Abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"The checksum in field {crc_field} did not match the data in field {data_field}.",
            )
        return True

    @staticmethod
    def _check_size(data: bytes, what: str) -> None:
        if len(data) > MAX_DATA_BYTES:
            raise _Abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"The {what} must be at most {MAX_DATA_BYTES} bytes; got {len(data)}.",
            )

    def _encrypt(self, request: Any) -> dict[str, Any]:
        name = request.name
        version_match = _VERSION_NAME.fullmatch(name)
        if version_match:
            key = self._key(version_match["key"])
            number = int(version_match["version"])
            if not 1 <= number <= len(key.versions):
                raise _Abort(grpc.StatusCode.NOT_FOUND, f"CryptoKeyVersion {name} not found.")
        elif _KEY_NAME.fullmatch(name):
            key = self._key(name)
            number = key.primary
        else:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"Invalid resource name {name!r}.")
        plaintext = bytes(request.plaintext)
        aad = bytes(request.additional_authenticated_data)
        self._check_size(plaintext, "plaintext")
        self._check_size(aad, "additional_authenticated_data")
        verified_pt = self._check_crc(request, "plaintext", "plaintext_crc32c")
        verified_aad = self._check_crc(
            request, "additional_authenticated_data", "additional_authenticated_data_crc32c"
        )
        nonce = os.urandom(12)
        sealed = AESGCM(key.versions[number - 1]).encrypt(
            nonce, plaintext, key.name.encode() + b"\0" + aad
        )
        ciphertext = _HEADER.pack(_MAGIC, number, nonce) + sealed
        return {
            "name": key.version_name(number),
            "ciphertext": ciphertext,
            "ciphertext_crc32c": _crc(ciphertext),
            "verified_plaintext_crc32c": verified_pt,
            "verified_additional_authenticated_data_crc32c": verified_aad,
            "protection_level": 1,  # SOFTWARE
        }

    def _decrypt(self, request: Any) -> dict[str, Any]:
        name = request.name
        if not _KEY_NAME.fullmatch(name):
            raise _Abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"Decrypt requires a CryptoKey name (projects/*/locations/*/keyRings/*/cryptoKeys/*); got {name!r}.",
            )
        key = self._key(name)
        ciphertext = bytes(request.ciphertext)
        aad = bytes(request.additional_authenticated_data)
        self._check_size(ciphertext, "ciphertext")
        self._check_crc(request, "ciphertext", "ciphertext_crc32c")
        self._check_crc(
            request, "additional_authenticated_data", "additional_authenticated_data_crc32c"
        )
        failure = _Abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            "Decryption failed: verify that 'name' refers to the correct CryptoKey.",
        )
        if len(ciphertext) < _HEADER.size + 16:
            raise failure
        magic, number, nonce = _HEADER.unpack_from(ciphertext)
        if magic != _MAGIC or not 1 <= number <= len(key.versions):
            raise failure
        try:
            plaintext = AESGCM(key.versions[number - 1]).decrypt(
                nonce, ciphertext[_HEADER.size :], key.name.encode() + b"\0" + aad
            )
        except InvalidTag:
            raise failure from None
        return {
            "plaintext": plaintext,
            "plaintext_crc32c": _crc(plaintext),
            "used_primary": number == key.primary,
            "protection_level": 1,
        }


def main(argv: list[str] | None = None) -> int:
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.")
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.kms", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument(
        "--key",
        action="append",
        required=True,
        metavar="NAME",
        help="projects/P/locations/L/keyRings/R/cryptoKeys/K to create (repeatable)",
    )
    args = parser.parse_args(argv)
    kms = LocalKms()
    try:
        for name in args.key:
            kms.create_key(name)
    except ValueError as exc:
        print(f"error: --key: {exc}", file=sys.stderr)
        return 2
    endpoint = kms.start(args.port)
    print(
        f"local KMS listening on {endpoint} (KMS_EMULATOR_HOST={endpoint}); Ctrl-C stops it",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        kms.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
