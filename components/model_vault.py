"""Alice's vault: the KMS key that wraps the model's keyset and the bucket that holds it (seed 003 steps 2-3)."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components._common import MANAGED_BY, as_args, child, token, waits_for
from harness.contract import REQUIRED_METADATA
from policy import facts
from policy.facts import MAX_KEY_ROTATION_SECONDS, MIN_KEY_ROTATION_SECONDS


@dataclass
class SealedModel:
    """The ciphertext and the metadata the sealing tool produced for it."""

    source_path: str
    """Path of the sealed model file to upload, on the machine that runs the program."""
    metadata: Mapping[str, str]
    """Exactly what the sealer wrote: the KMS-wrapped keyset (`encryption-key`, seed 003
    layout), the plaintext digest and size, and what the ciphertext is bound to. The harness
    checks all."""


@dataclass
class ModelVaultArgs:
    """The model owner's project, the key and bucket names, and the optional sealed model."""

    project: pulumi.Input[str]
    """The model owner's project."""
    location: pulumi.Input[str]
    """The key ring's and bucket's location, e.g. `europe-west4`."""
    key_ring_name: str
    """The KMS key ring's name."""
    key_name: str
    """The KMS key's name (wraps the model's Tink keyset)."""
    bucket_name: str
    """The bucket's name (globally unique)."""
    object_name: str
    """Where the sealed model lives; the read grant and the harness point here even before upload."""
    rotation_period: str | None = facts.DEFAULT_KEY_ROTATION
    """The key's rotation period in whole seconds, 1 to 90 days, e.g. `7776000s`."""
    protection_level: str | None = "SOFTWARE"
    """The key's protection level: `SOFTWARE` or `HSM`."""
    sealed_model: SealedModel | None = None
    """The sealed model to upload; without it the bucket waits for the sealing tool."""
    protect_key: bool | None = True
    """Protect the key ring, key and bucket from `pulumi destroy`: losing the key (or the only
    sealed copy) loses the model."""


def rotation_seconds(period: str) -> int:
    """`7776000s` -> 7776000, refusing what Cloud KMS or the 90-day rotation rule would not take."""
    digits = period.removesuffix("s")
    if not period.endswith("s") or not digits.isdigit():
        raise ValueError(f"rotation_period {period!r} must be whole seconds, such as '7776000s'")
    seconds = int(digits)
    if not MIN_KEY_ROTATION_SECONDS <= seconds <= MAX_KEY_ROTATION_SECONDS:
        raise ValueError(
            f"rotation_period {period!r} must be {MIN_KEY_ROTATION_SECONDS}s..{MAX_KEY_ROTATION_SECONDS}s (1 to 90 days)"
        )
    return seconds


def check_args(args: ModelVaultArgs) -> None:
    """Refuse a key that would not rotate in time, or a sealed model the harness could not load."""
    rotation_seconds(args.rotation_period)
    sealed = args.sealed_model
    if sealed is not None:
        missing = [key for key in REQUIRED_METADATA if key not in sealed.metadata]
        if missing:
            raise ValueError(
                f"sealed_model.metadata lacks {', '.join(missing)}; the harness needs {' and '.join(REQUIRED_METADATA)}"
            )


def crypto_key_settings(args: ModelVaultArgs) -> dict[str, Any]:
    """The model key, as `CryptoKey` keyword args: symmetric, rotating, at the chosen protection."""
    return {
        # Envelope encryption of the Tink keyset: symmetric encrypt/decrypt only.
        "purpose": "ENCRYPT_DECRYPT",
        "rotation_period": args.rotation_period,
        "version_template": {
            "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION",
            "protection_level": args.protection_level,
        },
        "labels": MANAGED_BY,
    }


def bucket_settings() -> dict[str, Any]:
    """What every model bucket is, as `Bucket` keyword args: private, IAM-only, versioned."""
    return {
        # IAM is the only access path: no ACLs that could expose one object.
        "uniform_bucket_level_access": True,
        # Never public, whatever an IAM binding later says.
        "public_access_prevention": "enforced",
        # Keep superseded generations so /check can prove which one was loaded, and an
        # overwrite or delete of the sealed model can be undone.
        "versioning": {"enabled": True},
        # Never delete the bucket with the model still in it.
        "force_destroy": False,
        "labels": MANAGED_BY,
    }


class ModelVault(pulumi.ComponentResource):
    """KMS key ring + rotating key, a private bucket, and optionally the sealed model object.

    `depends_on` (resource option): the enablement of cloudkms and storage APIs; the key
    ring and the bucket wait for it.
    """

    key_id: pulumi.Output[str]
    """The KMS key's id, `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>`."""
    key_uri: pulumi.Output[str]
    """The key as Tink names it: `gcp-kms://<key id>`."""
    key_ring_id: pulumi.Output[str]
    """The KMS key ring's id."""
    bucket_name: pulumi.Output[str]
    """The model bucket's name."""
    model_uri: pulumi.Output[str]
    """The sealed model's location: `gs://<bucket>/<object>`."""

    def __init__(
        self, name: str, args: ModelVaultArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(ModelVaultArgs, args)
        check_args(args)
        super().__init__(token("model_vault", "ModelVault"), name, None, opts)
        waits = waits_for(opts)
        protect = args.protect_key is not False

        self.key_ring: gcp.kms.KeyRing = gcp.kms.KeyRing(
            f"{name}-key-ring",
            name=args.key_ring_name,
            project=args.project,
            location=args.location,
            opts=child(self, protect=protect, depends_on=waits),
        )
        self.crypto_key: gcp.kms.CryptoKey = gcp.kms.CryptoKey(
            f"{name}-key",
            name=args.key_name,
            key_ring=self.key_ring.id,
            **crypto_key_settings(args),
            opts=child(self, protect=protect),
        )
        self.bucket: gcp.storage.Bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=args.bucket_name,
            project=args.project,
            location=pulumi.Output.from_input(args.location).apply(str.upper),
            **bucket_settings(),
            # The sealed model's only copy: `pulumi destroy` must not take it (review: model-data-durable).
            opts=child(self, protect=protect, depends_on=waits),
        )
        self.model_object: gcp.storage.BucketObject | None = None
        model = args.sealed_model
        if model is not None:
            self.model_object = gcp.storage.BucketObject(
                f"{name}-model",
                name=args.object_name,
                bucket=self.bucket.name,
                source=pulumi.FileAsset(model.source_path),
                content_type="application/octet-stream",
                metadata=dict(model.metadata),
                opts=child(self),
            )

        self.key_id = self.crypto_key.id
        self.key_uri = self.crypto_key.id.apply(lambda key: f"gcp-kms://{key}")
        self.key_ring_id = self.key_ring.id
        self.bucket_name = self.bucket.name
        self.model_uri = self.bucket.name.apply(lambda b: f"gs://{b}/{args.object_name}")
        self.register_outputs(
            {
                "keyId": self.key_id,
                "keyUri": self.key_uri,
                "keyRingId": self.key_ring_id,
                "bucketName": self.bucket_name,
                "modelUri": self.model_uri,
            }
        )
