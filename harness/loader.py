"""Fetch, unwrap, stream-decrypt, verify, then parse the sealed model, all in memory.

Order matters: metadata is checked first (cheap, specific diagnoses), then KMS unwraps the
keyset, then the ciphertext streams from Cloud Storage through Tink's decrypting stream
into one preallocated buffer of the recorded plaintext size while it is hashed. Only after
the whole stream authenticated and the digest matched (metadata, and the `MODEL_SHA256`
pin if set) is the buffer parsed, zero-copy, as a tar holding the model. Any failure
raises `ModelRefused` and the harness exits without ever serving.

Memory: the ciphertext is never held whole; one download chunk (sized to the model,
1-16 MiB, allocated once) and Tink's 1 MiB segment buffers are the only buffers besides
the plaintext itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import mmap
import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tink

from harness.gcp import KmsAead
from harness.model_card import CARD_FILE
from harness.onnx_runtime import OnnxModelError, ServedModel, load_model_dir
from harness.sealed import (
    GcsUri,
    SealedFormatError,
    decrypt_into_memory,
    keyset_key_type,
    parse_metadata,
    streaming_primitive,
    unwrap_keyset,
)
from harness.tarview import TarFormatError, list_members

log = logging.getLogger("harness.loader")

MIN_CHUNK = 1 << 20
MAX_CHUNK = 16 << 20
_CHUNK_ALIGN = 256 << 10


class ModelRefused(Exception):
    """The sealed model must not be served; the message says why (never key material)."""


def chunk_size_for(total: int) -> int:
    """Download chunk: ~1/64 of the object, 1-16 MiB, 256 KiB aligned.

    Big enough that per-request latency is amortised, small enough that the chunk buffer
    stays a few percent of the model (the peak-RSS target is 1.1 x the model size).
    """
    size = min(MAX_CHUNK, max(MIN_CHUNK, total // 64))
    return size // _CHUNK_ALIGN * _CHUNK_ALIGN


class _ChunkBuffer:
    """A fixed, reusable download target: `download_to_file` writes into it sequentially.

    Anonymous memory rather than a bytearray so that pages already handed to Tink can be
    given back (`release_below`): a load's RSS peaks at its very end, when the plaintext is
    complete, so the last ranges should not keep a full chunk resident on top of it.
    """

    def __init__(self, capacity: int) -> None:
        self.data = mmap.mmap(
            -1,
            capacity,
            flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
            prot=mmap.PROT_READ | mmap.PROT_WRITE,
        )
        self.view = memoryview(self.data)
        self.length = 0
        self._released = 0  # pages [0, _released) were given back since the last reset

    def reset(self) -> None:
        """Before a new range: written pages come back (zeroed) as the range fills them."""
        self.length = 0
        self._released = 0

    def release_below(self, offset: int) -> None:
        """Give the whole pages before `offset` (already consumed) back to the kernel."""
        upto = offset // mmap.PAGESIZE * mmap.PAGESIZE
        dontneed = getattr(mmap, "MADV_DONTNEED", None)
        if upto > self._released and dontneed is not None:
            with contextlib.suppress(OSError):  # only a memory optimisation
                self.data.madvise(dontneed, self._released, upto - self._released)
                self._released = upto

    def write(self, piece: bytes) -> int:
        end = self.length + len(piece)
        if end > len(self.data):
            raise OSError("the server sent more bytes than the requested range")
        self.view[self.length : end] = piece
        self.length = end
        return len(piece)

    def seek(self, offset: int, whence: int = 0) -> int:
        # only ever called to restart a range from its beginning
        if offset != 0 or whence != 0:
            raise OSError("a chunk buffer can only be rewound to its start")
        self.length = 0
        return 0


class GcsRangeReader(io.RawIOBase):
    """Streams one object generation as ranged downloads into one reused buffer.

    `download_to_file` writes each range straight into a chunk buffer allocated once (no
    BytesIO growth, no `getvalue()` copy), and Tink's decrypting stream reads out of it.
    Every range is pinned to the generation whose metadata was checked.

    A prefetch thread (download the next range while this one is decrypted) was measured
    and dropped: on 2 cores it was 10-50% slower, because the storage library's 8 KiB read
    loop and Tink's callbacks into Python contend for the GIL.
    """

    def __init__(self, blob: Any, size: int, generation: int, chunk_size: int) -> None:
        super().__init__()
        self._blob = blob
        self._size = size
        self._generation = generation
        self._chunk_size = chunk_size
        self._buf = _ChunkBuffer(max(1, min(chunk_size, size)))
        self._pos = 0
        self._offset = 0
        self._release_consumed = False
        self.requests = 0

    def readable(self) -> bool:
        return True

    def _fetch(self) -> bool:
        if self._offset >= self._size:
            return False
        end = min(self._size, self._offset + self._chunk_size) - 1
        self._buf.reset()
        self._pos = 0
        self._blob.download_to_file(
            self._buf,
            start=self._offset,
            end=end,
            checksum=None,
            raw_download=True,
            if_generation_match=self._generation,
        )
        self.requests += 1
        expected = end - self._offset + 1
        if self._buf.length != expected:
            raise OSError(
                f"range {self._offset}-{end} returned {self._buf.length} bytes, expected {expected}"
            )
        self._offset += expected
        # Within the last two chunks of the object, consumed pages go back as Tink reads
        # them: the plaintext is nearly complete by then, and a full chunk on top of it
        # would be the load's peak. (Earlier, refaulting the pages would only cost time.)
        self._release_consumed = self._size - self._offset <= 2 * self._chunk_size
        return True

    def readinto(self, buffer: Any) -> int:
        out = memoryview(buffer).cast("B")
        if self._pos >= self._buf.length and not self._fetch():
            return 0
        n = min(len(out), self._buf.length - self._pos)
        out[:n] = self._buf.view[self._pos : self._pos + n]
        self._pos += n
        if self._release_consumed:
            self._buf.release_below(self._pos)
        return n


@dataclass(frozen=True)
class LoadedModel:
    """A verified model and what /check reports about it."""

    model: ServedModel
    info: dict[str, Any]
    plaintext: mmap.mmap | bytearray  # owns the memory the session's weights point into
    files: dict[str, memoryview] = field(default_factory=dict, repr=False)

    def for_worker(self, workers: int) -> LoadedModel:
        """The same model with a session built in this (forked) process.

        onnxruntime's thread pool does not survive `fork`: a worker builds its own session
        over the same shared plaintext pages (weights are not copied, only the graph).
        """
        if not self.files:
            return self
        served = load_model_dir(self.files, workers=workers)
        return LoadedModel(model=served, info=self.info, plaintext=self.plaintext, files=self.files)


def model_files(buf: mmap.mmap | bytearray) -> dict[str, memoryview]:
    """The model directory inside the tar: name relative to the folder of `model.json` -> view."""
    try:
        members = list_members(buf)
    except TarFormatError as exc:
        raise ModelRefused(f"decrypted plaintext is not an uncompressed tar: {exc}") from None
    cards = [m for m in members.values() if posixpath.basename(m.name) == CARD_FILE]
    if len(cards) != 1:
        raise ModelRefused(
            f"expected exactly one {CARD_FILE} in the model archive, found {len(cards)} "
            f"(members: {', '.join(sorted(members)[:10])})"
        )
    base = posixpath.dirname(cards[0].name)
    prefix = f"{base}/" if base else ""
    view = memoryview(buf)
    return {
        m.name[len(prefix) :]: view[m.offset : m.offset + m.size]
        for m in members.values()
        if m.name.startswith(prefix)
    }


def serve_model(files: dict[str, memoryview], workers: int) -> ServedModel:
    """The ONNX session over the decrypted files, or `ModelRefused` saying why."""
    try:
        return load_model_dir(files, workers=workers)
    except OnnxModelError as exc:
        raise ModelRefused(f"model: {exc}") from None


def _checked_blob(
    model_uri: GcsUri, kms_key_uri: str, pinned_sha256: str | None, storage: Any
) -> tuple[Any, Any]:
    """(blob, metadata) once the object's metadata says it may be what we were asked for."""
    try:
        blob = storage.bucket(model_uri.bucket).get_blob(model_uri.name)
    except Exception as exc:  # google.api_core errors, transport errors
        raise ModelRefused(f"cannot read {model_uri}: {type(exc).__name__}: {exc}") from None
    if blob is None:
        raise ModelRefused(f"{model_uri} does not exist")
    try:
        meta = parse_metadata(blob.metadata)
    except SealedFormatError as exc:
        raise ModelRefused(f"{model_uri}: {exc}") from None
    if meta.sealed_for != model_uri.uri:
        raise ModelRefused(
            f"{model_uri} was sealed for {meta.sealed_for}: a copied or swapped object is refused"
        )
    if meta.kms_key_uri != kms_key_uri:
        raise ModelRefused(
            f"{model_uri} was sealed with {meta.kms_key_uri} but KMS_KEY_URI is {kms_key_uri}"
        )
    if pinned_sha256 and pinned_sha256 != meta.sha256:
        raise ModelRefused(
            f"{model_uri} records plaintext SHA-256 {meta.sha256}, but MODEL_SHA256 pins {pinned_sha256}"
        )
    if meta.size >= int(blob.size or 0):
        raise ModelRefused(
            f"{model_uri}: metadata plaintext-size {meta.size} is not smaller than the "
            f"ciphertext ({int(blob.size or 0)} bytes); metadata and content do not belong together"
        )
    return blob, meta


def _primitive(model_uri: GcsUri, meta: Any, kms: Any, kms_key_name: str) -> Any:
    """The streaming AEAD once KMS unwrapped the keyset (bound to the object's name)."""
    try:
        handle = unwrap_keyset(
            meta.keyset_json, KmsAead(kms, kms_key_name), model_uri.associated_data()
        )
        return streaming_primitive(handle)
    except tink.TinkError as exc:
        raise ModelRefused(
            f"KMS refused to unwrap the keyset of {model_uri} (wrong key, or a keyset sealed "
            f"for another object): {exc}"
        ) from None
    except SealedFormatError as exc:
        raise ModelRefused(f"{model_uri}: {exc}") from None


def _decrypt(
    model_uri: GcsUri, reader: GcsRangeReader, primitive: Any, size: int
) -> tuple[mmap.mmap | bytearray, str]:
    try:
        with reader:
            return decrypt_into_memory(reader, primitive, model_uri.associated_data(), size)
    except tink.TinkError as exc:
        raise ModelRefused(
            f"ciphertext of {model_uri} failed authentication (tampered, truncated, or sealed "
            f"for another object name): {exc}"
        ) from None
    except SealedFormatError as exc:
        raise ModelRefused(f"{model_uri}: {exc}") from None
    except OSError as exc:
        raise ModelRefused(f"reading {model_uri} failed: {exc}") from None


def _verified(meta: Any, digest: str, pinned: str | None, kms_key_uri: str) -> dict[str, Any]:
    """What /check says about the plaintext and its key (never key material)."""
    return {
        "plaintext_bytes": meta.size,
        "sha256": digest,
        "sha256_verified": True,
        "sha256_pinned": bool(pinned),
        "kms_key_uri": kms_key_uri,
        "kms_key_version": meta.kms_key_version,
        "keyset_key_type": keyset_key_type(meta.keyset_json),
        "sealed_at": meta.sealed_at,
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def load_sealed_model(
    *,
    model_uri: GcsUri,
    kms_key_uri: str,
    kms_key_name: str,
    pinned_sha256: str | None,
    storage: Any,
    kms: Any,
    chunk_size: int | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int = 1,
) -> LoadedModel:
    """Everything between "pod started" and "ready"; raises `ModelRefused`.

    `workers`: the serving processes that will share the cores (sizes the session's threads).
    """
    say = progress or log.info
    started = time.perf_counter()
    say(f"fetching metadata of {model_uri}")
    blob, meta = _checked_blob(model_uri, kms_key_uri, pinned_sha256, storage)
    primitive = _primitive(model_uri, meta, kms, kms_key_name)
    say(f"keyset unwrapped by {kms_key_uri}; decrypting {meta.size} bytes in memory")
    ciphertext_bytes = int(blob.size or 0)
    chunk = chunk_size or chunk_size_for(ciphertext_bytes)
    reader = GcsRangeReader(blob, ciphertext_bytes, int(blob.generation), chunk)
    decrypt_started = time.perf_counter()
    plaintext, digest = _decrypt(model_uri, reader, primitive, meta.size)
    decrypt_seconds = time.perf_counter() - decrypt_started
    if digest != meta.sha256:
        raise ModelRefused(
            f"plaintext SHA-256 of {model_uri} is {digest}, but its metadata records {meta.sha256}"
        )
    if pinned_sha256 and digest != pinned_sha256:
        raise ModelRefused(
            f"plaintext SHA-256 {digest} does not match MODEL_SHA256 {pinned_sha256}"
        )
    files = model_files(plaintext)
    model = serve_model(files, workers)
    seconds = time.perf_counter() - started
    info = {
        "model_uri": model_uri.uri,
        "generation": str(blob.generation),
        "ciphertext_bytes": ciphertext_bytes,
        **_verified(meta, digest, pinned_sha256, kms_key_uri),
        "loaded_at": _now(),
        "load_seconds": round(seconds, 3),
        "decrypt_mib_per_second": round(meta.size / (1 << 20) / max(decrypt_seconds, 1e-9), 1),
        "download_requests": reader.requests,
        "model": model.card.describe(),
    }
    say(
        f"verified {model_uri} generation {blob.generation}: sha256 {digest}, "
        f"{meta.size} bytes in {seconds:.2f}s"
    )
    return LoadedModel(model=model, info=info, plaintext=plaintext, files=files)
