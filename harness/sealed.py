"""The sealed model format, shared by Alice's sealer (`infra/seal.py`) and the harness.

A sealed model is one Cloud Storage object:
- its content is a Tink streaming-AEAD ciphertext of the plaintext (an uncompressed tar of
  the model directory), with associated data `gs://<bucket>/<object>` so the ciphertext
  only opens under the name it was sealed for;
- its custom metadata carries `encryption-key`: base64 of the Tink JSON encrypted keyset
  (`{"encryptedKeyset": ..., "keysetInfo": ...}`, the layout of seed 003) wrapped by the
  Cloud KMS key, with the same associated data; plus the plaintext SHA-256 and size, the
  key URI and the key version that wrapped it, and the name it was sealed for.

Only the KMS key can unwrap the keyset, so only the workload identity granted decrypt can
read the model. Nothing here touches the network: callers pass an `Aead` for the KMS key
and file-like objects for the bytes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import mmap
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import tink
from tink import aead, streaming_aead

# the metadata keys and format are the image's interface (harness/contract.py); re-exported
# here because the sealer (infra/seal.py) and its tests read them from this module
from harness import contract
from harness.contract import (
    META_FORMAT,
    META_KEYSET,
    META_KMS_KEY,
    META_KMS_KEY_VERSION,
    META_SEALED_AT,
    META_SEALED_FOR,
    META_SHA256,
    META_SIZE,
    SEALED_FORMAT,
)

KMS_URI_PREFIX = "gcp-kms://"
_KMS_KEY_NAME = re.compile(
    r"projects/[a-z0-9][a-z0-9.:-]{0,99}/locations/[a-zA-Z0-9_-]{1,63}/"
    r"keyRings/[a-zA-Z0-9_-]{1,63}/cryptoKeys/[a-zA-Z0-9_-]{1,63}"
)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")

_T = streaming_aead.streaming_aead_key_templates
TEMPLATES = {
    "AES256_GCM_HKDF_1MB": _T.AES256_GCM_HKDF_1MB,
    "AES256_GCM_HKDF_4KB": _T.AES256_GCM_HKDF_4KB,
    "AES256_CTR_HMAC_SHA256_1MB": _T.AES256_CTR_HMAC_SHA256_1MB,
    "AES256_CTR_HMAC_SHA256_4KB": _T.AES256_CTR_HMAC_SHA256_4KB,
}
# AES-GCM-HKDF decrypts about twice as fast as CTR-HMAC on AES-NI hardware (measured here:
# ~870 vs ~470 MB/s); 1 MiB segments keep per-segment overhead negligible.
DEFAULT_TEMPLATE = "AES256_GCM_HKDF_1MB"
_STREAMING_KEY_TYPES = (
    "type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey",
    "type.googleapis.com/google.crypto.tink.AesCtrHmacStreamingKey",
)
_MAX_KEYSET_JSON = 16 * 1024

streaming_aead.register()
aead.register()


class SealedFormatError(ValueError):
    """A sealed object, its metadata or an argument is malformed; the message names which."""


@dataclass(frozen=True)
class GcsUri:
    """`gs://bucket/object`, validated."""

    bucket: str
    name: str

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.name}"

    def associated_data(self) -> bytes:
        """What binds a ciphertext and its keyset to this object name."""
        return self.uri.encode("utf-8")

    def __str__(self) -> str:
        return self.uri


def parse_gcs_uri(value: str) -> GcsUri:
    """Parse `gs://<bucket>/<object>`; the error says what part is wrong."""
    if not value.startswith("gs://"):
        raise SealedFormatError(f"{value!r} is not a gs://<bucket>/<object> URI")
    bucket, sep, name = value[len("gs://") :].partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise SealedFormatError(f"{value!r}: bucket {bucket!r} is not a valid bucket name")
    if not sep or not name:
        raise SealedFormatError(f"{value!r}: object name is missing")
    if len(name.encode("utf-8")) > 1024 or any(c in name for c in "\r\n\0") or name in (".", ".."):
        raise SealedFormatError(f"{value!r}: object name is not valid")
    return GcsUri(bucket, name)


def parse_kms_key_uri(value: str) -> str:
    """`gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K` -> the key resource name."""
    if not value.startswith(KMS_URI_PREFIX):
        raise SealedFormatError(
            f"{value!r} is not a KMS key URI; expected "
            "gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K"
        )
    name = value[len(KMS_URI_PREFIX) :]
    if not _KMS_KEY_NAME.fullmatch(name):
        raise SealedFormatError(
            f"{value!r}: expected gcp-kms://projects/P/locations/L/keyRings/R/cryptoKeys/K "
            "(a CryptoKey, not a key version)"
        )
    return name


def new_keyset(template: str = DEFAULT_TEMPLATE) -> tink.KeysetHandle:
    """A fresh single-key streaming AEAD keyset (one per sealed object)."""
    if template not in TEMPLATES:
        raise SealedFormatError(f"template {template!r} is not one of {', '.join(TEMPLATES)}")
    return tink.new_keyset_handle(TEMPLATES[template])


def wrap_keyset(handle: tink.KeysetHandle, kms_aead: aead.Aead, associated_data: bytes) -> str:
    """The keyset encrypted by KMS, as compact Tink JSON (`encryptedKeyset` + `keysetInfo`)."""
    text = tink.json_proto_keyset_format.serialize_encrypted(handle, kms_aead, associated_data)
    return json.dumps(json.loads(text), separators=(",", ":"))


def unwrap_keyset(
    keyset_json: str, kms_aead: aead.Aead, associated_data: bytes
) -> tink.KeysetHandle:
    """Decrypt the keyset through KMS. Raises `tink.TinkError` if KMS refuses."""
    return tink.json_proto_keyset_format.parse_encrypted(keyset_json, kms_aead, associated_data)


def streaming_primitive(handle: tink.KeysetHandle) -> streaming_aead.StreamingAead:
    """Only streaming AEAD keysets are accepted: a keyset of another type is refused here."""
    for info in handle.keyset_info().key_info:
        if info.type_url not in _STREAMING_KEY_TYPES:
            raise SealedFormatError(
                f"keyset holds a {info.type_url} key; expected a streaming AEAD key"
            )
    return handle.primitive(streaming_aead.StreamingAead)


def keyset_key_type(keyset_json: str) -> str:
    """The key type named in `keysetInfo` (public information), e.g. `AesGcmHkdfStreamingKey`."""
    info = json.loads(keyset_json).get("keysetInfo", {}).get("keyInfo", [{}])
    return str(info[0].get("typeUrl", "")).rsplit(".", 1)[-1] if info else ""


def encode_keyset_metadata(keyset_json: str) -> str:
    return base64.b64encode(keyset_json.encode("utf-8")).decode("ascii")


def decode_keyset_metadata(value: str) -> str:
    """base64 -> JSON text with the seed's layout; errors name the metadata key."""
    if len(value) > _MAX_KEYSET_JSON * 2:
        raise SealedFormatError(
            f"metadata {META_KEYSET}: {len(value)} characters is too long for a keyset"
        )
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SealedFormatError(f"metadata {META_KEYSET}: not valid base64") from None
    try:
        text = raw.decode("utf-8")
        doc = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise SealedFormatError(f"metadata {META_KEYSET}: base64 does not decode to JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("encryptedKeyset"), str):
        raise SealedFormatError(
            f"metadata {META_KEYSET}: expected Tink JSON with an 'encryptedKeyset' string"
        )
    try:
        base64.b64decode(doc["encryptedKeyset"], validate=True)
    except (binascii.Error, ValueError):
        raise SealedFormatError(f"metadata {META_KEYSET}: encryptedKeyset is not base64") from None
    return text


@dataclass(frozen=True)
class SealedMetadata:
    """The parsed, validated custom metadata of a sealed object."""

    keyset_json: str
    sha256: str
    size: int
    sealed_for: str
    kms_key_uri: str
    kms_key_version: str
    sealed_at: str

    def to_gcs(self) -> dict[str, str]:
        return {
            META_FORMAT: SEALED_FORMAT,
            META_KEYSET: encode_keyset_metadata(self.keyset_json),
            META_SHA256: self.sha256,
            META_SIZE: str(self.size),
            META_SEALED_FOR: self.sealed_for,
            META_KMS_KEY: self.kms_key_uri,
            META_KMS_KEY_VERSION: self.kms_key_version,
            META_SEALED_AT: self.sealed_at,
        }


def parse_metadata(metadata: dict[str, Any] | None) -> SealedMetadata:
    """Validate every field the harness relies on; the first problem found is reported."""
    meta = metadata or {}

    def need(key: str) -> str:
        value = meta.get(key)
        if not isinstance(value, str) or not value:
            raise SealedFormatError(f"metadata {key} is missing (not a sealed model object?)")
        return value

    fmt = need(META_FORMAT)
    if fmt != SEALED_FORMAT:
        raise SealedFormatError(
            f"metadata {META_FORMAT}: {fmt!r} is not supported; expected {SEALED_FORMAT!r}"
        )
    keyset_json = decode_keyset_metadata(need(META_KEYSET))
    sha = need(META_SHA256).lower()
    if not contract.SHA256_HEX.fullmatch(sha):
        raise SealedFormatError(f"metadata {META_SHA256}: {sha[:80]!r} is not 64 hex digits")
    size_text = need(META_SIZE)
    if not size_text.isdigit() or int(size_text) <= 0:
        raise SealedFormatError(
            f"metadata {META_SIZE}: {size_text[:40]!r} is not a positive integer"
        )
    sealed_for = need(META_SEALED_FOR)
    kms_key_uri = need(META_KMS_KEY)
    for key, value, parse in (
        (META_SEALED_FOR, sealed_for, parse_gcs_uri),
        (META_KMS_KEY, kms_key_uri, parse_kms_key_uri),
    ):
        try:
            parse(value)
        except SealedFormatError as exc:
            raise SealedFormatError(f"metadata {key}: {exc}") from None
    return SealedMetadata(
        keyset_json=keyset_json,
        sha256=sha,
        size=int(size_text),
        sealed_for=sealed_for,
        kms_key_uri=kms_key_uri,
        kms_key_version=str(meta.get(META_KMS_KEY_VERSION, "")),
        sealed_at=str(meta.get(META_SEALED_AT, "")),
    )


class _HashingWriter:
    """Counts and hashes plaintext on its way into the encrypting stream."""

    def __init__(self, sink: IO[bytes]) -> None:
        self._sink = sink
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.digest.update(data)
        self.size += len(data)
        self._sink.write(data)
        return len(data)

    def flush(self) -> None:
        self._sink.flush()


@dataclass(frozen=True)
class SealResult:
    sha256: str
    size: int
    ciphertext_bytes: int


def encrypt_stream(
    produce: Callable[[Any], None],
    ciphertext_dest: IO[bytes],
    primitive: streaming_aead.StreamingAead,
    associated_data: bytes,
) -> tuple[str, int]:
    """Encrypt whatever `produce(writer)` writes, in a stream; returns (sha256 hex, size).

    `produce` receives a writable object (`write(bytes)`), so a tar of a directory or a copy
    loop over an archive both stream through without holding the model in memory. The
    destination is closed when done (Tink finalises the last segment on close).
    """
    with primitive.new_encrypting_stream(ciphertext_dest, associated_data) as enc:
        writer = _HashingWriter(enc)
        produce(writer)
    if writer.size == 0:
        raise SealedFormatError("the plaintext is empty; nothing to seal")
    return writer.digest.hexdigest(), writer.size


# Plaintext is read out of Tink in pieces of this size: small enough that Tink's
# per-read string and bytes copies stay tiny next to the model (they count against the
# 1.1 x model peak-RSS budget), large enough that the per-call cost is negligible
# (64 KiB to 1 MiB measured the same MB/s here).
DECRYPT_READ_SIZE = 128 << 10
# The SHA-256 of the plaintext runs in a second thread, this many bytes behind.
HASH_STEP = 8 << 20


def allocate_plaintext(size: int) -> mmap.mmap:
    """Private anonymous memory for the plaintext (never file-backed, never shared).

    Why not `bytearray(size)`: it zero-fills every page before decryption starts, a
    whole extra pass over the model that faults every page in from the loading thread.
    An anonymous mapping gets its pages as decryption first writes them, in 2 MiB pages
    where transparent huge pages are on (512 x fewer page faults). `MADV_DONTDUMP` keeps
    the plaintext out of core dumps even if someone re-enables them.
    """
    buf = mmap.mmap(
        -1,
        size,
        flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
        prot=mmap.PROT_READ | mmap.PROT_WRITE,
    )
    for advice in ("MADV_HUGEPAGE", "MADV_DONTDUMP"):
        value = getattr(mmap, advice, None)
        if value is not None:
            with contextlib.suppress(OSError):  # not supported by this kernel: only slower
                buf.madvise(value)
    return buf


class _TrailingDigest:
    """SHA-256 of a buffer that fills from the front, computed by a second thread.

    `hashlib` releases the GIL on large updates, so hashing one step overlaps decrypting
    the next: the digest costs almost no wall time instead of a third of it. The thread
    only reads bytes the decrypting thread has finished writing (`advance`).
    """

    def __init__(self, view: memoryview, step: int) -> None:
        self._view = view
        self._step = step
        self._digest = hashlib.sha256()
        self._cond = threading.Condition()
        self._ready = 0
        self._posted = 0
        self._closed = False
        self._aborted = False
        self._thread = threading.Thread(target=self._run, name="plaintext-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        hashed = 0
        while True:
            with self._cond:
                while not self._closed and self._ready - hashed < self._step:
                    self._cond.wait()
                if self._aborted:
                    return
                ready, closed = self._ready, self._closed
            if ready > hashed:
                self._digest.update(self._view[hashed:ready])
                hashed = ready
            if closed:
                return

    def advance(self, ready: int) -> None:
        """Bytes [0, ready) are final; wake the hasher once a step's worth is waiting."""
        if ready - self._posted >= self._step:
            with self._cond:
                self._ready = ready
                self._cond.notify()
            self._posted = ready

    def finish(self, total: int) -> str:
        with self._cond:
            self._ready = total
            self._closed = True
            self._cond.notify()
        self._thread.join()
        return self._digest.hexdigest()

    def abort(self) -> None:
        with self._cond:
            self._aborted = self._closed = True
            self._cond.notify()
        self._thread.join()


def decrypt_into_memory(
    ciphertext: IO[bytes],
    primitive: streaming_aead.StreamingAead,
    associated_data: bytes,
    size: int,
    *,
    read_size: int = DECRYPT_READ_SIZE,
) -> tuple[mmap.mmap, str]:
    """Stream-decrypt into one buffer of exactly `size` bytes, hashing as it goes.

    Tink's decrypting stream writes straight into the final buffer (`allocate_plaintext`),
    which the model is then parsed from without a copy; the SHA-256 trails it in a second
    thread. Never holds the whole ciphertext, never writes anywhere but the returned
    buffer. Raises `tink.TinkError` when authentication fails (tampered, truncated, wrong
    associated data) and `SealedFormatError` when the plaintext length differs from
    `size`; on any failure the partial plaintext is unmapped before the error propagates.
    """
    if size <= 0:
        raise SealedFormatError(f"plaintext size {size} is not positive")
    buf = allocate_plaintext(size)
    view = memoryview(buf)
    digest = _TrailingDigest(view, HASH_STEP)
    hexdigest = ""
    try:
        pos = 0
        with primitive.new_decrypting_stream(ciphertext, associated_data) as stream:
            while pos < size:
                n = stream.readinto(view[pos : min(size, pos + read_size)])
                if not n:
                    raise SealedFormatError(
                        f"plaintext ended after {pos} bytes but metadata {META_SIZE} says {size}"
                    )
                pos += n
                digest.advance(pos)
            if stream.read(1):
                raise SealedFormatError(f"plaintext is longer than metadata {META_SIZE} = {size}")
        hexdigest = digest.finish(size)
    finally:
        if not hexdigest:
            digest.abort()
            view.release()
            with contextlib.suppress(BufferError):  # still viewed: freed with the last view
                buf.close()
    view.release()
    return buf, hexdigest
