"""ModelVault: the key rotates, the bucket is private, the sealed object carries its keyset."""

from __future__ import annotations

import pytest

from components.model_vault import (
    ModelVault,
    ModelVaultArgs,
    SealedModel,
    bucket_settings,
    crypto_key_settings,
    rotation_seconds,
)

KEY = "gcp:kms/cryptoKey:CryptoKey"
BUCKET = "gcp:storage/bucket:Bucket"
OBJECT = "gcp:storage/bucketObject:BucketObject"


def vault_args(**overrides) -> ModelVaultArgs:
    base = {
        "project": "a-demo-model",
        "location": "us-central1",
        "key_ring_name": "ring",
        "key_name": "key",
        "bucket_name": "a-demo-model-sealed",
        "object_name": "m.sealed",
    }
    return ModelVaultArgs(**{**base, **overrides})


def test_key_is_symmetric_and_rotates(run):
    plan = run(lambda: ModelVault("model", vault_args()))
    key = plan.one(KEY)
    assert key.inputs["purpose"] == "ENCRYPT_DECRYPT", key.urn
    assert key.inputs["rotationPeriod"] == "7776000s", key.urn
    assert key.inputs["keyRing"] == "projects/a-demo-model/locations/us-central1/keyRings/ring", (
        key.urn
    )


def test_bucket_is_uniform_and_never_public(run):
    plan = run(lambda: ModelVault("model", vault_args()))
    bucket = plan.one(BUCKET)
    assert bucket.inputs["uniformBucketLevelAccess"] is True, bucket.urn
    assert bucket.inputs["publicAccessPrevention"] == "enforced", bucket.urn
    assert bucket.inputs["versioning"] == {"enabled": True}, bucket.urn


def test_key_ring_key_and_bucket_survive_destroy(run, registrations):
    plan = run(lambda: ModelVault("model", vault_args()))
    ring = plan.one("gcp:kms/keyRing:KeyRing")
    key = plan.one(KEY)
    bucket = plan.one(BUCKET)
    # Losing any of the three loses Alice's model: all protected, the bucket never force-deleted.
    for resource in (ring, key, bucket):
        assert registrations.protected[resource.urn] is True, resource.urn
    assert bucket.inputs["forceDestroy"] is False, bucket.urn


SEALED_METADATA = {
    "sealed-format": "gke-sandbox/tink-streaming-aead/v1",
    "encryption-key": "ZW5jcnlwdGVkLWtleXNldA==",
    "plaintext-sha256": "ab" * 32,
    "plaintext-size": "1234",
    "sealed-for": "gs://a-demo-model-sealed/m.sealed",
    "kms-key": "gcp-kms://projects/a-demo-model/locations/us-central1/keyRings/ring/cryptoKeys/key",
}


def test_sealed_object_carries_the_sealers_metadata_verbatim(run):
    sealed = SealedModel("build/sealed/m.sealed", SEALED_METADATA)
    plan = run(lambda: ModelVault("model", vault_args(sealed_model=sealed)))
    obj = plan.one(OBJECT)
    assert obj.inputs["metadata"] == SEALED_METADATA, obj.urn
    assert obj.inputs["contentType"] == "application/octet-stream", obj.urn
    assert obj.inputs["source"] == {"asset": "build/sealed/m.sealed"}, obj.urn
    assert obj.inputs["bucket"] == "a-demo-model-sealed", obj.urn
    assert obj.inputs["name"] == "m.sealed", obj.urn


def test_model_uri_names_the_object_even_before_upload(run):
    """Bob's harness and the read grant need the object's URI before Alice uploads it."""
    from tests.conftest import resolve

    vaults = []
    run(lambda: vaults.append(ModelVault("model", vault_args())))
    assert resolve(vaults[0].model_uri) == "gs://a-demo-model-sealed/m.sealed"


def test_no_object_without_sealed_model(run):
    plan = run(lambda: ModelVault("model", vault_args()))
    assert plan.of_type(OBJECT) == []


def test_sealed_model_without_its_keyset_is_refused():
    metadata = {k: v for k, v in SEALED_METADATA.items() if k != "encryption-key"}
    with pytest.raises(ValueError, match="encryption-key and plaintext-sha256"):
        ModelVault("model", vault_args(sealed_model=SealedModel("m", metadata)))


@pytest.mark.parametrize("period", ["0s", "86399s", "7776001s"])
def test_rotation_outside_one_to_90_days_is_refused(period):
    with pytest.raises(ValueError, match=rf"rotation_period '{period}' must be 86400s\.\.7776000s"):
        ModelVault("model", vault_args(rotation_period=period))


@pytest.mark.parametrize("period", ["90d", "7776000", "s", "-5s", "1.5s"])
def test_rotation_not_in_whole_seconds_is_refused(period):
    with pytest.raises(ValueError, match=rf"rotation_period '{period}' must be whole seconds"):
        ModelVault("model", vault_args(rotation_period=period))


def test_sealed_model_without_its_digest_names_what_is_missing():
    metadata = {k: v for k, v in SEALED_METADATA.items() if k != "plaintext-sha256"}
    with pytest.raises(ValueError, match=r"sealed_model\.metadata lacks plaintext-sha256"):
        ModelVault("model", vault_args(sealed_model=SealedModel("m", metadata)))


# --------------------------------------------------------------------------- pure builders, no mocks


@pytest.mark.parametrize(("period", "seconds"), [("86400s", 86400), ("7776000s", 7776000)])
def test_rotation_bounds_are_one_and_90_days(period, seconds):
    assert rotation_seconds(period) == seconds


def test_key_settings_are_symmetric_and_rotating():
    settings = crypto_key_settings(vault_args(rotation_period="2592000s", protection_level="HSM"))
    assert settings["purpose"] == "ENCRYPT_DECRYPT"
    assert settings["rotation_period"] == "2592000s"
    assert settings["version_template"] == {
        "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
        "protection_level": "HSM",
    }


def test_bucket_settings_are_private_and_versioned():
    settings = bucket_settings()
    assert settings["uniform_bucket_level_access"] is True
    assert settings["public_access_prevention"] == "enforced"
    assert settings["versioning"] == {"enabled": True}
    assert settings["force_destroy"] is False
