"""ModelVault: the key rotates, the bucket is private, the sealed object carries its keyset."""

from __future__ import annotations

import pytest

from components.model_vault import ModelVault, ModelVaultArgs, SealedModel

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


@pytest.mark.parametrize("period", ["0s", "7776001s"])
def test_rotation_beyond_90_days_is_refused(period):
    with pytest.raises(ValueError, match="rotation_period"):
        ModelVault("model", vault_args(rotation_period=period))
