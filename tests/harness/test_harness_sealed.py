"""The sealed format: URIs, metadata, keyset wrapping, streaming round trips and damage."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os

import pytest
import tink
from harness_testlib import KEY_A, KEY_B

from harness import sealed
from harness.gcp import KmsAead


class KeepOpen(io.BytesIO):
    """Tink closes the ciphertext destination; keep the bytes readable afterwards."""

    def close(self) -> None:
        pass


def _encrypt(primitive, data: bytes, ad: bytes, piece: int = 65536) -> bytes:
    out = KeepOpen()

    def produce(writer):
        for i in range(0, len(data), piece):
            writer.write(data[i : i + piece])

    digest, size = sealed.encrypt_stream(produce, out, primitive, ad)
    assert digest == hashlib.sha256(data).hexdigest() and size == len(data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("template", "size"),
    [
        ("AES256_GCM_HKDF_1MB", 3 * (1 << 20) + 12345),  # > 3 segments of 1 MiB
        ("AES256_CTR_HMAC_SHA256_1MB", (1 << 20) + 1),
        ("AES256_GCM_HKDF_4KB", 100_000),  # ~25 segments of 4 KiB
        ("AES256_CTR_HMAC_SHA256_4KB", 4096),
    ],
)
def test_stream_round_trip_larger_than_a_segment(template, size):
    handle = sealed.new_keyset(template)
    primitive = sealed.streaming_primitive(handle)
    data = os.urandom(size)
    ciphertext = _encrypt(primitive, data, b"gs://b/o")
    assert data[:1000] not in ciphertext
    for read_size in (1 << 20, 1000):  # reads smaller and larger than a segment
        plain, digest = sealed.decrypt_into_memory(
            io.BytesIO(ciphertext), primitive, b"gs://b/o", size, read_size=read_size
        )
        assert bytes(plain) == data and digest == hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def stream_case():
    primitive = sealed.streaming_primitive(sealed.new_keyset("AES256_GCM_HKDF_4KB"))
    data = os.urandom(50_000)
    return primitive, data, _encrypt(primitive, data, b"gs://b/o")


def test_flipped_bit_fails_authentication(stream_case):
    primitive, data, ciphertext = stream_case
    damaged = bytearray(ciphertext)
    damaged[len(damaged) // 2] ^= 1
    with pytest.raises(tink.TinkError):
        sealed.decrypt_into_memory(io.BytesIO(bytes(damaged)), primitive, b"gs://b/o", len(data))


def test_truncation_fails_authentication(stream_case):
    primitive, data, ciphertext = stream_case
    with pytest.raises((tink.TinkError, sealed.SealedFormatError)):
        sealed.decrypt_into_memory(
            io.BytesIO(ciphertext[:-5000]), primitive, b"gs://b/o", len(data)
        )


def test_other_associated_data_fails(stream_case):
    primitive, data, ciphertext = stream_case
    with pytest.raises(tink.TinkError):
        sealed.decrypt_into_memory(io.BytesIO(ciphertext), primitive, b"gs://b/other", len(data))


def test_recorded_size_must_match(stream_case):
    primitive, data, ciphertext = stream_case
    with pytest.raises(sealed.SealedFormatError, match="ended after"):
        sealed.decrypt_into_memory(io.BytesIO(ciphertext), primitive, b"gs://b/o", len(data) + 1)
    with pytest.raises(sealed.SealedFormatError, match="longer than"):
        sealed.decrypt_into_memory(io.BytesIO(ciphertext), primitive, b"gs://b/o", len(data) - 1)
    with pytest.raises(sealed.SealedFormatError, match="not positive"):
        sealed.decrypt_into_memory(io.BytesIO(ciphertext), primitive, b"gs://b/o", 0)


def test_empty_plaintext_is_refused():
    primitive = sealed.streaming_primitive(sealed.new_keyset())
    with pytest.raises(sealed.SealedFormatError, match="empty"):
        sealed.encrypt_stream(lambda _w: None, KeepOpen(), primitive, b"ad")


def test_keyset_wrap_uses_kms_and_binds_associated_data(emulators):
    kms = KmsAead(emulators.kms_client, KEY_A)
    handle = sealed.new_keyset()
    wrapped = sealed.wrap_keyset(handle, kms, b"gs://b/o")
    doc = json.loads(wrapped)
    # the seed 003 layout: encryptedKeyset + keysetInfo, no key material in the clear
    assert set(doc) == {"encryptedKeyset", "keysetInfo"}
    assert doc["keysetInfo"]["keyInfo"][0]["typeUrl"].endswith("AesGcmHkdfStreamingKey")
    assert sealed.keyset_key_type(wrapped) == "AesGcmHkdfStreamingKey"
    assert kms.last_key_version == KEY_A + "/cryptoKeyVersions/1"
    unwrapped = sealed.unwrap_keyset(wrapped, kms, b"gs://b/o")
    assert unwrapped.keyset_info() == handle.keyset_info()
    with pytest.raises(tink.TinkError, match="INVALID_ARGUMENT"):
        sealed.unwrap_keyset(wrapped, kms, b"gs://b/other")
    with pytest.raises(tink.TinkError, match="INVALID_ARGUMENT"):
        sealed.unwrap_keyset(wrapped, KmsAead(emulators.kms_client, KEY_B), b"gs://b/o")


def test_non_streaming_keysets_are_refused():
    from tink import aead

    handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
    with pytest.raises(sealed.SealedFormatError, match="streaming AEAD"):
        sealed.streaming_primitive(handle)
    with pytest.raises(sealed.SealedFormatError, match="not one of"):
        sealed.new_keyset("AES128_EAX")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("s3://bucket/key", "gs://"),
        ("gs://Bad_Bucket!/o", "bucket"),
        ("gs://bucket", "object name is missing"),
        ("gs://bucket/", "object name is missing"),
        ("gs://bucket/a\nb", "not valid"),
    ],
)
def test_gcs_uri_errors(value, message):
    with pytest.raises(sealed.SealedFormatError, match=message):
        sealed.parse_gcs_uri(value)


def test_gcs_uri_and_associated_data():
    uri = sealed.parse_gcs_uri("gs://my-bucket/dir/model.tar.enc")
    assert (uri.bucket, uri.name) == ("my-bucket", "dir/model.tar.enc")
    assert uri.associated_data() == b"gs://my-bucket/dir/model.tar.enc"


@pytest.mark.parametrize(
    "value",
    [
        "projects/p/locations/l/keyRings/r/cryptoKeys/k",
        "gcp-kms://projects/p/locations/l/keyRings/r",
        "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
        "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k/../x",
    ],
)
def test_kms_uri_errors(value):
    with pytest.raises(sealed.SealedFormatError, match="gcp-kms://projects/P"):
        sealed.parse_kms_key_uri(value)


def test_kms_uri_ok():
    assert sealed.parse_kms_key_uri("gcp-kms://" + KEY_A) == KEY_A


def _metadata() -> dict[str, str]:
    keyset = json.dumps({"encryptedKeyset": base64.b64encode(b"x" * 40).decode(), "keysetInfo": {}})
    return sealed.SealedMetadata(
        keyset_json=keyset,
        sha256="ab" * 32,
        size=1234,
        sealed_for="gs://bucket/o",
        kms_key_uri="gcp-kms://" + KEY_A,
        kms_key_version=KEY_A + "/cryptoKeyVersions/1",
        sealed_at="2024-01-01T00:00:00Z",
    ).to_gcs()


def test_metadata_round_trip():
    parsed = sealed.parse_metadata(_metadata())
    assert (
        parsed.size == 1234 and parsed.sha256 == "ab" * 32 and parsed.sealed_for == "gs://bucket/o"
    )
    assert json.loads(parsed.keyset_json)["encryptedKeyset"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"encryption-key": None}, "encryption-key is missing"),
        ({"encryption-key": "!!!not base64!!!"}, "not valid base64"),
        ({"encryption-key": base64.b64encode(b"\xff\xfe").decode()}, "does not decode to JSON"),
        ({"encryption-key": base64.b64encode(b"[1]").decode()}, "encryptedKeyset"),
        ({"encryption-key": base64.b64encode(b'{"encryptedKeyset": "%%"}').decode()}, "not base64"),
        ({"sealed-format": None}, "sealed-format is missing"),
        ({"sealed-format": "v0"}, "not supported"),
        ({"plaintext-sha256": "xyz"}, "64 hex digits"),
        ({"plaintext-sha256": None}, "plaintext-sha256 is missing"),
        ({"plaintext-size": "-5"}, "positive integer"),
        ({"plaintext-size": "0"}, "positive integer"),
        ({"plaintext-size": "12a"}, "positive integer"),
        ({"sealed-for": "http://x"}, "metadata sealed-for: .*gs://"),
        ({"kms-key": "gcp-kms://nope"}, "metadata kms-key: .*gcp-kms://projects/P"),
    ],
)
def test_metadata_errors_name_the_key(change, message):
    meta = _metadata()
    for key, value in change.items():
        if value is None:
            meta.pop(key)
        else:
            meta[key] = value
    with pytest.raises(sealed.SealedFormatError, match=message):
        sealed.parse_metadata(meta)


def test_no_metadata_at_all():
    with pytest.raises(sealed.SealedFormatError, match="missing"):
        sealed.parse_metadata(None)
