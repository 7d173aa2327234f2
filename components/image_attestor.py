"""Alice's signature on the harness digest: a Container Analysis note and a BinAuthz attestor (seed 003 step 9)."""

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components._common import MANAGED_BY, as_args, child, token, waits_for

# The signing algorithm `gcloud beta container binauthz attestations sign-and-create` supports well.
SIGNING_ALGORITHM = "EC_SIGN_P256_SHA256"
DEFAULT_SIGNING_KEY_NAME = "harness-signer"


@dataclass
class ImageAttestorArgs:
    """Where the attestor lives and how its signing key is held (exactly one way)."""

    project: pulumi.Input[str]
    """The model owner's project, which holds the note and the attestor."""
    attestor_name: str
    """The attestor's name."""
    note_name: str
    """The Container Analysis note's name."""
    signing_key_ring_id: pulumi.Input[str] | None = None
    """Preferred: a key ring in which a KMS asymmetric signing key is created (its private key never leaves KMS)."""
    signing_key_name: str | None = DEFAULT_SIGNING_KEY_NAME
    """The KMS signing key's name, with `signingKeyRingId`."""
    pgp_public_key: str | None = None
    """As in the seed: an ASCII-armored PGP public key whose private half the model owner keeps."""


def check_args(args: ImageAttestorArgs) -> None:
    """Exactly one way to hold the signing key, and a PGP key only in its armored form."""
    if (args.signing_key_ring_id is None) == (args.pgp_public_key is None):
        raise ValueError(
            "ImageAttestor needs exactly one of signing_key_ring_id (KMS) or pgp_public_key"
        )
    if args.pgp_public_key is not None and "BEGIN PGP PUBLIC KEY BLOCK" not in args.pgp_public_key:
        raise ValueError("pgp_public_key must be an ASCII-armored PGP public key block")


class ImageAttestor(pulumi.ComponentResource):
    """Note + attestor whose public key is a KMS signing key (PKIX) or a PGP key.

    `depends_on` (resource option): the enablement of containeranalysis and
    binaryauthorization APIs; the note and the attestor wait for it.
    """

    attestor_id: pulumi.Output[str]
    """The attestor's id, `projects/<project>/attestors/<name>`: what a policy requires."""
    note_id: pulumi.Output[str]
    """The Container Analysis note's id."""
    signing_key_version: pulumi.Output[str] | None
    """The KMS signing key version to sign with (only with `signingKeyRingId`)."""

    def __init__(
        self, name: str, args: ImageAttestorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(ImageAttestorArgs, args)
        check_args(args)
        super().__init__(token("image_attestor", "ImageAttestor"), name, None, opts)
        waits = waits_for(opts)

        self.note: gcp.containeranalysis.Note = gcp.containeranalysis.Note(
            f"{name}-note",
            name=args.note_name,
            project=args.project,
            attestation_authority={
                "hint": {"human_readable_name": f"gke-sandbox {args.attestor_name}"}
            },
            opts=child(self, depends_on=waits),
        )
        self.signing_key: gcp.kms.CryptoKey | None = None
        self.signing_key_version = None
        if args.signing_key_ring_id is not None:
            key_name = args.signing_key_name or DEFAULT_SIGNING_KEY_NAME
            public_key = self._kms_public_key(name, args.signing_key_ring_id, key_name)
        else:
            public_key = {"ascii_armored_pgp_public_key": args.pgp_public_key}

        self.attestor: gcp.binaryauthorization.Attestor = gcp.binaryauthorization.Attestor(
            f"{name}-attestor",
            name=args.attestor_name,
            project=args.project,
            attestation_authority_note={
                "note_reference": self.note.id,
                "public_keys": [public_key],
            },
            opts=child(self, depends_on=waits),
        )
        self.attestor_id = self.attestor.id
        self.note_id = self.note.id
        self.register_outputs(
            {
                "attestorId": self.attestor_id,
                "noteId": self.note_id,
                "signingKeyVersion": self.signing_key_version,
            }
        )

    def _kms_public_key(
        self, name: str, key_ring_id: pulumi.Input[str], key_name: str
    ) -> dict[str, Any]:
        """Create the KMS signing key; its first version's public key, as an attestor key entry."""
        self.signing_key = gcp.kms.CryptoKey(
            f"{name}-signing-key",
            name=key_name,
            key_ring=key_ring_id,
            purpose="ASYMMETRIC_SIGN",
            version_template={"algorithm": SIGNING_ALGORITHM, "protection_level": "SOFTWARE"},
            labels=MANAGED_BY,
            # An attestor that loses its key can no longer vouch for the harness.
            opts=child(self, protect=True),
        )
        version = gcp.kms.get_kms_crypto_key_version_output(crypto_key=self.signing_key.id)
        self.signing_key_version = version.name
        return {
            "id": version.name.apply(lambda v: f"//cloudkms.googleapis.com/v1/{v}"),
            "pkix_public_key": {
                "public_key_pem": version.public_keys.apply(lambda keys: keys[0].pem),
                "signature_algorithm": version.public_keys.apply(lambda keys: keys[0].algorithm),
            },
        }
