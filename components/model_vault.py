"""Alice's vault: the KMS key that wraps the model's keyset and the bucket that holds it (seed 003 steps 2-3)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_gcp as gcp

from components._common import MANAGED_BY, child
from harness.contract import REQUIRED_METADATA
from policy import facts
from policy.facts import MAX_KEY_ROTATION_SECONDS, MIN_KEY_ROTATION_SECONDS


@dataclass
class SealedModel:
    """The ciphertext and the metadata the sealing tool produced for it."""

    source_path: str
    # Exactly what the sealer wrote: the KMS-wrapped keyset (`encryption-key`, seed 003 layout),
    # the plaintext digest and size, and what the ciphertext is bound to. The harness checks all.
    metadata: Mapping[str, str]


@dataclass
class ModelVaultArgs:
    project: pulumi.Input[str]
    location: pulumi.Input[str]
    key_ring_name: str
    key_name: str
    bucket_name: str
    # Where the sealed model lives; the read grant and the harness point here even before upload.
    object_name: str
    rotation_period: str = facts.DEFAULT_KEY_ROTATION
    protection_level: str = "SOFTWARE"
    sealed_model: SealedModel | None = None
    # Losing the key (or the bucket holding the only sealed copy) loses the model: protect the
    # key ring, the key and the bucket from `pulumi destroy` unless told otherwise.
    protect_key: bool = True
    # Must exist first: the enablement (`gcp.projects.Service`) of each API used here.
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


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
    """KMS key ring + rotating key, a private bucket, and optionally the sealed model object."""

    key_ring: gcp.kms.KeyRing
    crypto_key: gcp.kms.CryptoKey
    bucket: gcp.storage.Bucket
    model_object: gcp.storage.BucketObject | None

    def __init__(
        self, name: str, args: ModelVaultArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check_args(args)
        super().__init__("gke-sandbox:model_vault:ModelVault", name, None, opts)

        self.key_ring = gcp.kms.KeyRing(
            f"{name}-key-ring",
            name=args.key_ring_name,
            project=args.project,
            location=args.location,
            opts=child(self, protect=args.protect_key, depends_on=list(args.depends_on)),
        )
        self.crypto_key = gcp.kms.CryptoKey(
            f"{name}-key",
            name=args.key_name,
            key_ring=self.key_ring.id,
            **crypto_key_settings(args),
            opts=child(self, protect=args.protect_key),
        )
        self.bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=args.bucket_name,
            project=args.project,
            location=pulumi.Output.from_input(args.location).apply(str.upper),
            **bucket_settings(),
            # The sealed model's only copy: `pulumi destroy` must not take it (review: model-data-durable).
            opts=child(self, protect=args.protect_key, depends_on=list(args.depends_on)),
        )
        self.model_object = None
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
        self.model_uri = self.bucket.name.apply(lambda b: f"gs://{b}/{args.object_name}")
        self.register_outputs(
            {
                "keyId": self.key_id,
                "keyUri": self.key_uri,
                "keyRingId": self.key_ring.id,
                "bucketName": self.bucket.name,
                "modelUri": self.model_uri,
            }
        )
