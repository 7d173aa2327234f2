"""Loading a sealed model: the happy path, and every way it must be refused.

These run the harness's own load function in-process against fake-gcs-server and the
local KMS; test_harness_server.py runs the same cases through the real process to show
that a refusal stops the harness.
"""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import pytest
from harness_testlib import KEY_A, KEY_B, SEED_REVIEWS

from harness import sealed
from harness.gcp import KmsAead
from harness.loader import GcsRangeReader, ModelRefused, chunk_size_for, load_sealed_model
from harness.sealed import parse_gcs_uri


def load(emulators, uri: str, key: str = KEY_A, pin: str | None = None, **kwargs: Any):
    return load_sealed_model(
        model_uri=parse_gcs_uri(uri),
        kms_key_uri="gcp-kms://" + key,
        kms_key_name=key,
        pinned_sha256=pin,
        storage=emulators.storage,
        kms=emulators.kms_client,
        progress=lambda _m: None,
        **kwargs,
    )


def put(emulators, uri: str, content: bytes, metadata: dict[str, str] | None) -> None:
    """Write an object with exactly this content and metadata (what an attacker could do)."""
    parsed = parse_gcs_uri(uri)
    blob = emulators.storage.bucket(parsed.bucket).blob(parsed.name)
    blob.metadata = metadata
    blob.upload_from_file(
        io.BytesIO(content), size=len(content), content_type="application/octet-stream"
    )


def original(emulators, seal) -> tuple[Any, bytes, dict[str, str]]:
    report = seal()
    blob = emulators.blob(report.dest)
    return report, blob.download_as_bytes(), dict(blob.metadata)


def seal_plaintext(emulators, uri: str, plaintext: bytes, key: str = KEY_A) -> str:
    """Seal arbitrary bytes with the real format (bypassing the sealer's input checks)."""
    target = parse_gcs_uri(uri)
    handle = sealed.new_keyset()
    aead = KmsAead(emulators.kms_client, key)
    keyset_json = sealed.wrap_keyset(handle, aead, target.associated_data())

    class Sink(io.BytesIO):
        def close(self) -> None:
            pass

    out = Sink()
    digest, size = sealed.encrypt_stream(
        lambda w: w.write(plaintext),
        out,
        sealed.streaming_primitive(handle),
        target.associated_data(),
    )
    meta = sealed.SealedMetadata(
        keyset_json, digest, size, uri, "gcp-kms://" + key, aead.last_key_version, ""
    )
    put(emulators, uri, out.getvalue(), meta.to_gcs())
    return digest


def test_loads_verifies_and_reports(emulators, seal):
    report = seal()
    loaded = load(emulators, report.dest, pin=report.sha256)
    info = loaded.info
    assert info["sha256"] == report.sha256 and info["sha256_verified"] and info["sha256_pinned"]
    assert info["generation"] == report.generation
    assert info["kms_key_version"] == KEY_A + "/cryptoKeyVersions/1"
    assert info["plaintext_bytes"] == len(loaded.plaintext) == report.plaintext_bytes
    assert info["keyset_key_type"] == "AesGcmHkdfStreamingKey"
    (great,), (okay,), (terrible,) = loaded.model.score_reviews(SEED_REVIEWS)
    assert great > okay > terrible
    assert info["model"]["name"] == "sentiment-en" and info["model"]["format"] == "onnx"
    assert "secret" not in json.dumps(info).lower() and "encryptedKeyset" not in json.dumps(info)


def test_stream_larger_than_the_download_chunk(emulators, seal):
    report = seal()
    loaded = load(emulators, report.dest, chunk_size=300_001)  # unaligned, many ranges
    assert loaded.info["download_requests"] == -(-report.ciphertext_bytes // 300_001)
    assert loaded.info["sha256"] == report.sha256


def test_chunk_size_scales_with_the_object():
    assert chunk_size_for(1000) == 1 << 20
    assert chunk_size_for(256 << 20) == 4 << 20
    assert chunk_size_for(100 << 30) == 16 << 20
    assert chunk_size_for(123_456_789) % (256 << 10) == 0


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("flip middle byte", "failed authentication"),
        ("flip header byte", "failed authentication"),
        ("flip last byte", "failed authentication"),
        ("truncate", "failed authentication|ended after|not smaller"),
        ("append", "failed authentication|longer than"),
    ],
)
def test_tampered_ciphertext_is_refused(emulators, seal, damage, message):
    report, content, meta = original(emulators, seal)
    data = bytearray(content)
    if damage == "flip middle byte":
        data[len(data) // 2] ^= 0x01
    elif damage == "flip header byte":
        data[5] ^= 0x80
    elif damage == "flip last byte":
        data[-1] ^= 0x01
    elif damage == "truncate":
        del data[-100:]
    else:
        data += b"\0" * 64
    put(emulators, report.dest, bytes(data), meta)
    with pytest.raises(ModelRefused, match=message):
        load(emulators, report.dest)


def test_wrong_key_is_refused_before_any_download(emulators, seal):
    report = seal()
    with pytest.raises(ModelRefused, match=r"was sealed with .*key-a but KMS_KEY_URI is .*key-b"):
        load(emulators, report.dest, key=KEY_B)


def test_wrong_key_is_refused_by_kms_even_if_metadata_lies(emulators, seal):
    report, content, meta = original(emulators, seal)
    meta["kms-key"] = "gcp-kms://" + KEY_B
    put(emulators, report.dest, content, meta)
    with pytest.raises(ModelRefused, match=r"KMS refused to unwrap.*INVALID_ARGUMENT"):
        load(emulators, report.dest, key=KEY_B)


def test_swapped_object_is_refused(emulators, seal):
    genuine = seal()
    other = seal()  # another sealed model, for another name
    other_blob = emulators.blob(other.dest)
    put(emulators, genuine.dest, other_blob.download_as_bytes(), dict(other_blob.metadata))
    with pytest.raises(ModelRefused, match=r"was sealed for .*copied or swapped"):
        load(emulators, genuine.dest)


def test_swapped_object_is_refused_even_if_metadata_lies(emulators, seal):
    genuine = seal()
    other = seal()
    other_blob = emulators.blob(other.dest)
    meta = dict(other_blob.metadata)
    meta["sealed-for"] = genuine.dest  # associated data still says the other name
    put(emulators, genuine.dest, other_blob.download_as_bytes(), meta)
    with pytest.raises(ModelRefused, match="KMS refused to unwrap"):
        load(emulators, genuine.dest)


def test_content_and_keyset_from_different_seals_are_refused(emulators, seal):
    first = seal()
    old_content = emulators.blob(first.dest).download_as_bytes()
    seal(dest=first.dest, replace=True)  # same name, new keyset
    new_meta = dict(emulators.blob(first.dest).metadata)
    put(emulators, first.dest, old_content, new_meta)
    with pytest.raises(ModelRefused, match="failed authentication"):
        load(emulators, first.dest)


def test_wrong_digest_in_metadata_is_refused(emulators, seal):
    report, content, meta = original(emulators, seal)
    meta["plaintext-sha256"] = "0" * 64
    put(emulators, report.dest, content, meta)
    with pytest.raises(
        ModelRefused, match=r"plaintext SHA-256 of .* is .*but its metadata records 0{64}"
    ):
        load(emulators, report.dest)


def test_pinned_digest_must_match(emulators, seal):
    report = seal()
    with pytest.raises(ModelRefused, match=r"MODEL_SHA256 pins f{64}"):
        load(emulators, report.dest, pin="f" * 64)


def test_rollback_to_an_older_seal_is_caught_by_the_pin(emulators, seal, tmp_path, model_dir):
    first = seal()
    changed = tmp_path / "changed"
    changed.mkdir()
    (changed / "model.json").write_bytes((model_dir / "model.json").read_bytes())
    graph = (model_dir / "model.onnx").read_bytes()
    (changed / "model.onnx").write_bytes(graph + b"\x0a\x00")  # an empty field: still valid
    newer = seal(source=changed)
    assert newer.sha256 != first.sha256
    load(emulators, first.dest, pin=first.sha256)
    with pytest.raises(ModelRefused, match="MODEL_SHA256"):
        load(emulators, first.dest, pin=newer.sha256)


@pytest.mark.parametrize(
    ("delta", "message"), [(1, "ended after"), (-1, "longer than"), (10**9, "not smaller")]
)
def test_wrong_recorded_size_is_refused(emulators, seal, delta, message):
    report, content, meta = original(emulators, seal)
    meta["plaintext-size"] = str(int(meta["plaintext-size"]) + delta)
    put(emulators, report.dest, content, meta)
    with pytest.raises(ModelRefused, match=message):
        load(emulators, report.dest)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (None, "sealed-format is missing"),
        ({"encryption-key": "%%% garbled %%%"}, "encryption-key: not valid base64"),
        ({"encryption-key": "aGVsbG8="}, "encryption-key: base64 does not decode to JSON"),
        ({"plaintext-sha256": "nope"}, "plaintext-sha256"),
        ({"sealed-format": "other/v9"}, "sealed-format"),
    ],
)
def test_missing_or_garbled_metadata_is_refused(emulators, seal, change, message):
    report, content, meta = original(emulators, seal)
    put(emulators, report.dest, content, None if change is None else {**meta, **change})
    with pytest.raises(ModelRefused, match=message):
        load(emulators, report.dest)


def test_missing_object_or_bucket_is_refused(emulators):
    with pytest.raises(ModelRefused, match="does not exist"):
        load(emulators, "gs://test-models/never-written.tar.enc")
    with pytest.raises(ModelRefused, match="does not exist"):
        load(emulators, "gs://no-such-bucket-here/model.tar.enc")


def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize(
    ("plaintext", "message"),
    [
        (b"this is not a tar archive " * 100, "not an uncompressed tar"),
        (_tar({"readme.txt": b"hi"}), "exactly one model.json"),
        (_tar({"model.json": b'{"format": "pickle"}'}), "model: model.json"),
        (_tar({"a/model.json": b"{}", "b/model.json": b"{}"}), "exactly one model.json"),
    ],
)
def test_authentic_but_invalid_plaintext_is_refused(emulators, plaintext, message):
    uri = emulators.unique_uri("invalid")
    seal_plaintext(emulators, uri, plaintext)
    with pytest.raises(ModelRefused, match=message):
        load(emulators, uri)


def test_model_in_a_subdirectory_of_the_archive_loads(emulators, model_dir):
    uri = emulators.unique_uri("nested")
    plaintext = _tar(
        {
            "my_model/model.json": (model_dir / "model.json").read_bytes(),
            "my_model/model.onnx": (model_dir / "model.onnx").read_bytes(),
        }
    )
    seal_plaintext(emulators, uri, plaintext)
    loaded = load(emulators, uri)
    assert loaded.model.score_reviews(["great"])[0][0] > 0.5


def test_external_weights_are_views_of_the_decrypted_buffer(emulators, tmp_path):
    """A model with external data: its files are slices of the one plaintext mapping."""
    import numpy as np
    from onnx_testlib import mlp_model, write_mlp_dir

    mlp = write_mlp_dir(tmp_path / "mlp")  # w1, w2 in model.onnx.data
    uri = emulators.unique_uri("mlp")
    seal_plaintext(emulators, uri, _tar({p.name: p.read_bytes() for p in sorted(mlp.iterdir())}))
    loaded = load(emulators, uri)
    assert loaded.model.onnx.external_bytes > 0
    plain = np.frombuffer(loaded.plaintext, dtype=np.uint8)
    data = [name for name in loaded.files if name.endswith(".data")]
    assert data and all(
        np.shares_memory(np.frombuffer(loaded.files[n], np.uint8), plain) for n in data
    )
    x = np.linspace(-1, 1, 16, dtype=np.float32).reshape(2, 8)
    import onnxruntime as ort

    reference = ort.InferenceSession(mlp_model().SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_array_equal(loaded.model.run({"x": x}, ["y"])[0], reference)


class _RecordingBlob:
    """Stands in for a Blob to see exactly what the reader asks Cloud Storage for."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.calls: list[dict[str, Any]] = []

    def download_to_file(self, file_obj: Any, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        file_obj.write(self.content[kwargs["start"] : kwargs["end"] + 1])


def test_every_range_is_pinned_to_the_checked_generation():
    """fake-gcs-server ignores generation preconditions, so check what the reader sends."""
    blob = _RecordingBlob(bytes(range(256)) * 40)
    reader = GcsRangeReader(blob, len(blob.content), 1234, 4096)
    assert reader.read(-1) == blob.content
    assert len(blob.calls) == 3
    assert all(
        c["if_generation_match"] == 1234 and c["raw_download"] and c["checksum"] is None
        for c in blob.calls
    )
    assert [(c["start"], c["end"]) for c in blob.calls] == [(0, 4095), (4096, 8191), (8192, 10239)]


def test_short_range_is_an_error():
    class Short(_RecordingBlob):
        def download_to_file(self, file_obj: Any, **kwargs: Any) -> None:
            file_obj.write(b"x" * 10)

    with pytest.raises(OSError, match="returned 10 bytes"):
        GcsRangeReader(Short(b""), 5000, 1, 4096).read(100)


def test_object_replaced_after_its_metadata_was_read_is_refused(emulators, seal):
    """Even where generation pins are not enforced, new content cannot pass as the old."""
    report = seal()

    class ReplacingStorage:
        def bucket(self, name: str) -> Any:
            real = emulators.storage.bucket(name)

            class Bucket:
                def get_blob(self, object_name: str) -> Any:
                    blob = real.get_blob(object_name)
                    seal(dest=report.dest, replace=True)  # swapped right after the check
                    return blob

            return Bucket()

    with pytest.raises(ModelRefused, match="failed authentication"):
        load_sealed_model(
            model_uri=parse_gcs_uri(report.dest),
            kms_key_uri="gcp-kms://" + KEY_A,
            kms_key_name=KEY_A,
            pinned_sha256=None,
            storage=ReplacingStorage(),
            kms=emulators.kms_client,
            progress=lambda _m: None,
        )
