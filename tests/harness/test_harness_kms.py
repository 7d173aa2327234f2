"""The local KMS gRPC server, driven by the real google-cloud-kms client."""

from __future__ import annotations

import google_crc32c
import grpc
import pytest
import tink
from google.api_core import exceptions
from harness_testlib import KEY_A, KEY_B

from harness import gcp
from infra.local.kms import LocalKms


def _crc(data: bytes) -> int:
    return int(google_crc32c.value(data))


def test_round_trip_reports_version_and_checksums(emulators):
    client = emulators.kms_client
    response = client.encrypt(
        request={
            "name": KEY_A,
            "plaintext": b"secret keyset",
            "additional_authenticated_data": b"gs://b/o",
            "plaintext_crc32c": _crc(b"secret keyset"),
        }
    )
    assert response.name == KEY_A + "/cryptoKeyVersions/1"
    assert response.verified_plaintext_crc32c
    assert response.ciphertext_crc32c == _crc(response.ciphertext)
    assert b"secret keyset" not in response.ciphertext
    decrypted = client.decrypt(
        request={
            "name": KEY_A,
            "ciphertext": response.ciphertext,
            "additional_authenticated_data": b"gs://b/o",
        }
    )
    assert decrypted.plaintext == b"secret keyset" and decrypted.used_primary


def test_unknown_key_is_not_found(emulators):
    unknown = KEY_A.replace("key-a", "no-such-key")
    with pytest.raises(exceptions.NotFound, match="not found"):
        emulators.kms_client.encrypt(request={"name": unknown, "plaintext": b"x"})
    with pytest.raises(exceptions.NotFound):
        emulators.kms_client.decrypt(request={"name": unknown, "ciphertext": b"x" * 40})


@pytest.mark.parametrize("case", ["wrong key", "wrong aad", "corrupted", "garbage"])
def test_ciphertext_that_does_not_open_is_invalid_argument(emulators, case):
    client = emulators.kms_client
    ct = client.encrypt(
        request={"name": KEY_A, "plaintext": b"p", "additional_authenticated_data": b"a"}
    ).ciphertext
    name, aad = KEY_A, b"a"
    if case == "wrong key":
        name = KEY_B
    elif case == "wrong aad":
        aad = b"b"
    elif case == "corrupted":
        ct = ct[:-1] + bytes([ct[-1] ^ 1])
    else:
        ct = b"\0" * 10
    with pytest.raises(exceptions.InvalidArgument, match="Decryption failed"):
        client.decrypt(
            request={"name": name, "ciphertext": ct, "additional_authenticated_data": aad}
        )


def test_checksum_mismatch_and_limits(emulators):
    client = emulators.kms_client
    with pytest.raises(exceptions.InvalidArgument, match="plaintext_crc32c"):
        client.encrypt(request={"name": KEY_A, "plaintext": b"abc", "plaintext_crc32c": 1})
    with pytest.raises(exceptions.InvalidArgument, match="at most 65536"):
        client.encrypt(request={"name": KEY_A, "plaintext": b"x" * 65537})
    with pytest.raises(exceptions.InvalidArgument, match="CryptoKey name"):
        client.decrypt(request={"name": KEY_A + "/cryptoKeyVersions/1", "ciphertext": b"x" * 40})


def test_rotation_keeps_old_versions_decryptable():
    with LocalKms() as kms:
        kms.create_key(KEY_A)
        client = gcp.kms_client(kms.endpoint)
        try:
            aead = gcp.KmsAead(client, KEY_A)
            old = aead.encrypt(b"v1", b"")
            assert aead.last_key_version.endswith("/cryptoKeyVersions/1")
            kms.rotate_key(KEY_A)
            new = aead.encrypt(b"v2", b"")
            assert aead.last_key_version.endswith("/cryptoKeyVersions/2")
            assert aead.decrypt(old, b"") == b"v1" and aead.last_used_primary is False
            assert aead.decrypt(new, b"") == b"v2" and aead.last_used_primary is True
            explicit = client.encrypt(
                request={"name": KEY_A + "/cryptoKeyVersions/1", "plaintext": b"x"}
            )
            assert explicit.name.endswith("/cryptoKeyVersions/1")
            with pytest.raises(exceptions.NotFound):
                client.encrypt(request={"name": KEY_A + "/cryptoKeyVersions/9", "plaintext": b"x"})
        finally:
            client.transport.close()


def test_other_rpcs_are_unimplemented(emulators):
    with pytest.raises(exceptions.MethodNotImplemented):
        emulators.kms_client.get_crypto_key(request={"name": KEY_A})


def test_tink_aead_errors_are_tink_errors(emulators):
    aead = gcp.KmsAead(emulators.kms_client, KEY_B)
    with pytest.raises(tink.TinkError, match="INVALID_ARGUMENT"):
        aead.decrypt(b"x" * 40, b"")


def test_server_binds_loopback_only_and_validates_names():
    kms = LocalKms()
    with pytest.raises(ValueError, match="expected projects/P"):
        kms.create_key("projects/p/keyRings/r")
    kms.create_key(KEY_A)
    with pytest.raises(ValueError, match="already exists"):
        kms.create_key(KEY_A)
    endpoint = kms.start()
    try:
        assert endpoint.startswith("127.0.0.1:")
        channel = grpc.insecure_channel(endpoint)
        grpc.channel_ready_future(channel).result(timeout=10)
        channel.close()
    finally:
        kms.stop()


@pytest.mark.parametrize(
    ("variable", "value", "ok"),
    [
        ("KMS_EMULATOR_HOST", "127.0.0.1:9000", True),
        ("KMS_EMULATOR_HOST", "localhost:9000", True),
        ("KMS_EMULATOR_HOST", "[::1]:9000", True),
        ("KMS_EMULATOR_HOST", "10.0.0.5:9000", False),
        ("KMS_EMULATOR_HOST", "kms.evil.example:443", False),
        ("KMS_EMULATOR_HOST", "127.0.0.1", False),
        ("STORAGE_EMULATOR_HOST", "http://127.0.0.1:4443", True),
        ("STORAGE_EMULATOR_HOST", "http://storage.evil.example:80", False),
        ("STORAGE_EMULATOR_HOST", "ftp://127.0.0.1:21", False),
    ],
)
def test_emulator_endpoints_must_be_loopback(variable, value, ok):
    env = {variable: value}
    if ok:
        assert value in [e for e in gcp.emulators_from_env(env) if e]
    else:
        with pytest.raises(ValueError, match=variable):
            gcp.emulators_from_env(env)
