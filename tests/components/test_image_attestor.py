"""ImageAttestor: Alice's signature on the harness digest, from a KMS key she cannot leak, or a PGP key."""

from __future__ import annotations

from typing import Any

import pytest

from components.image_attestor import ImageAttestor, ImageAttestorArgs
from infra.plan.mocks import MOCK_PUBLIC_KEY_PEM
from tests.conftest import resolve

COMPONENT = "gke-sandbox:image_attestor:ImageAttestor"
NOTE = "gcp:containeranalysis/note:Note"
ATTESTOR = "gcp:binaryauthorization/attestor:Attestor"
KEY = "gcp:kms/cryptoKey:CryptoKey"
RING = "projects/a-demo-model/locations/us-central1/keyRings/model-ring"
PGP_KEY = (
    "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBGExample\n-----END PGP PUBLIC KEY BLOCK-----\n"
)


def attestor_args(**overrides: Any) -> ImageAttestorArgs:
    base: dict[str, Any] = {
        "project": "a-demo-model",
        "attestor_name": "harness-attestor",
        "note_name": "harness-note",
        "signing_key_ring_id": RING,
    }
    return ImageAttestorArgs(**{**base, **overrides})


def test_kms_signing_key_is_asymmetric_and_protected(run, registrations):
    plan = run(lambda: ImageAttestor("attestor", attestor_args()))
    key = plan.one(KEY)
    assert key.inputs["purpose"] == "ASYMMETRIC_SIGN", key.urn
    assert key.inputs["keyRing"] == RING, key.urn
    assert key.inputs["name"] == "harness-signer", key.urn
    # ECDSA P-256: what `gcloud container binauthz attestations sign-and-create` signs with.
    assert key.inputs["versionTemplate"] == {
        "algorithm": "EC_SIGN_P256_SHA256",
        "protectionLevel": "SOFTWARE",
    }, key.urn
    # Losing the key would leave the attestor unable to vouch for any harness.
    assert registrations.protected[key.urn] is True, key.urn


def test_attestor_public_key_is_the_kms_key_version(run):
    plan = run(lambda: ImageAttestor("attestor", attestor_args()))
    attestor = plan.one(ATTESTOR)
    note = plan.one(NOTE)
    authority = attestor.inputs["attestationAuthorityNote"]
    assert authority["noteReference"] == "projects/a-demo-model/notes/harness-note", attestor.urn
    version = f"{RING}/cryptoKeys/harness-signer/cryptoKeyVersions/1"
    assert authority["publicKeys"] == [
        {
            "id": f"//cloudkms.googleapis.com/v1/{version}",
            "pkixPublicKey": {
                "publicKeyPem": MOCK_PUBLIC_KEY_PEM,
                # Read back from the key version, as the cloud reports it.
                "signatureAlgorithm": "EC_SIGN_P256_SHA256",
            },
        }
    ], attestor.urn
    assert attestor.inputs["name"] == "harness-attestor", attestor.urn
    assert attestor.inputs["project"] == "a-demo-model", attestor.urn
    assert note.inputs["name"] == "harness-note", note.urn
    assert note.inputs["project"] == "a-demo-model", note.urn


def test_pgp_variant_has_no_kms_key(run):
    plan = run(
        lambda: ImageAttestor(
            "attestor", attestor_args(signing_key_ring_id=None, pgp_public_key=PGP_KEY)
        )
    )
    assert plan.of_type(KEY) == []
    attestor = plan.one(ATTESTOR)
    assert attestor.inputs["attestationAuthorityNote"]["publicKeys"] == [
        {"asciiArmoredPgpPublicKey": PGP_KEY}
    ], attestor.urn


def test_registered_outputs_name_attestor_and_key_version(run, registrations):
    made: dict[str, ImageAttestor] = {}
    plan = run(lambda: made.setdefault("c", ImageAttestor("attestor", attestor_args())))
    component = plan.one(COMPONENT)
    attestor_id = "projects/a-demo-model/attestors/harness-attestor"
    assert registrations.outputs[component.urn] == {
        "attestorId": attestor_id,
        "noteId": "projects/a-demo-model/notes/harness-note",
        "signingKeyVersion": f"{RING}/cryptoKeys/harness-signer/cryptoKeyVersions/1",
    }, component.urn
    assert resolve(made["c"].attestor_id) == attestor_id, component.urn


def test_kms_and_pgp_together_are_refused():
    with pytest.raises(
        ValueError, match=r"exactly one of signing_key_ring_id \(KMS\) or pgp_public_key"
    ):
        ImageAttestor("attestor", attestor_args(pgp_public_key=PGP_KEY))


def test_neither_kms_nor_pgp_is_refused():
    with pytest.raises(
        ValueError, match=r"exactly one of signing_key_ring_id \(KMS\) or pgp_public_key"
    ):
        ImageAttestor("attestor", attestor_args(signing_key_ring_id=None))


def test_pgp_key_must_be_ascii_armored():
    with pytest.raises(ValueError, match="pgp_public_key must be an ASCII-armored PGP public key"):
        ImageAttestor(
            "attestor", attestor_args(signing_key_ring_id=None, pgp_public_key="mQENBGExample")
        )
