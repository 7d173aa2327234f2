"""Alice's model stack: vault (key, bucket, sealed object) and the attestor (seed 003 steps 1-3, 9)."""

from __future__ import annotations

from typing import Any

import pulumi

from components.image_attestor import ImageAttestor, ImageAttestorArgs
from components.model_vault import ModelVault, ModelVaultArgs, SealedModel
from components.project_services import ProjectServices, ProjectServicesArgs
from infra.config import AttestorKeyKind, StackConfig
from stacks import outputs as out
from stacks.links import Links

# The APIs this stack calls in Alice's (existing) model project.
MODEL_APIS = (
    "binaryauthorization.googleapis.com",
    "cloudkms.googleapis.com",
    "containeranalysis.googleapis.com",
    "storage.googleapis.com",
)


def build(config: StackConfig, links: Links) -> dict[str, Any]:
    model = config.model
    assert model is not None
    apis = ProjectServices(
        "model-apis", ProjectServicesArgs(project=model.project, services=MODEL_APIS)
    )
    sealed = None
    if model.sealed is not None:
        sealed = SealedModel(source_path=model.sealed.source, metadata=model.sealed.metadata_map)
    vault = ModelVault(
        "model",
        ModelVaultArgs(
            project=model.project,
            location=model.location,
            key_ring_name=model.key_ring,
            key_name=model.key,
            bucket_name=model.bucket,
            object_name=model.object_name,
            rotation_period=model.rotation_period,
            protection_level=model.protection_level.value,
            sealed_model=sealed,
        ),
        pulumi.ResourceOptions(depends_on=apis.services),
    )
    uses_kms = model.attestor.key is AttestorKeyKind.KMS
    attestor = ImageAttestor(
        "attestor",
        ImageAttestorArgs(
            project=model.project,
            attestor_name=model.attestor.name,
            note_name=model.attestor.note,
            signing_key_ring_id=vault.key_ring.id if uses_kms else None,
            pgp_public_key=None if uses_kms else model.attestor.pgp_public_key,
        ),
        pulumi.ResourceOptions(depends_on=apis.services),
    )
    links.kms_key_id = vault.key_id
    links.bucket = vault.bucket.name
    links.attestor_id = attestor.attestor_id
    exports: dict[str, Any] = {
        out.KMS_KEY_ID: vault.key_id,
        out.KMS_KEY_URI: vault.key_uri,
        out.MODEL_BUCKET: vault.bucket.name,
        out.MODEL_URI: vault.model_uri,
        out.ATTESTOR: attestor.attestor_id,
    }
    if attestor.signing_key_version is not None:
        exports[out.ATTESTOR_SIGNING_KEY_VERSION] = attestor.signing_key_version
    return exports
