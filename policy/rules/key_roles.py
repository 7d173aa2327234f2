"""Which KMS key plays which part, read from what the plan wires each key to, not its purpose.

A key's `purpose` is a setting of the key under review: a model key switched to
RAW_ENCRYPT_DECRYPT would stop looking like "the model key" to a rule that selects by purpose
and so escape rotation, durability and exact-grant rules. The roles come from the wiring:
- the model key: named by the sealed object's `kms-key` metadata, by a workload's
  `KMS_KEY_URI`, or granted with a role that can decrypt on the key; every symmetric
  ENCRYPT_DECRYPT key too (in this system that purpose exists only for the model), and every
  key that does not sign for the attestor (the design creates only these two keys, and the
  model stack alone holds neither the sealed object nor the grants);
- the signing key: the key whose versions are an attestor's public keys
  (`//cloudkms.googleapis.com/v1/<key>/cryptoKeyVersions/<n>`), or that the attestor's
  component creates.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from harness.contract import ENV_KMS_KEY_URI, META_KMS_KEY
from policy.facts import POD_SPEC_PATHS

from .gcp_iam import can_decrypt, custom_role_permissions, iam_grants
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, same_component, type_of
from .tokens import ATTESTOR, BUCKET_OBJECT, CRYPTO_KEY, CRYPTO_KEY_IAM, K8S_WORKLOAD_TYPES

KMS_URI_PREFIX = "gcp-kms://"
"""Tink's KMS key URI scheme (github.com/tink-crypto/tink-py, integration/gcpkms)."""
KMS_VERSION_PREFIX = "//cloudkms.googleapis.com/v1/"
"""How an attestor names a KMS key version as its public key id (cloud.google.com/
binary-authorization/docs/creating-attestors-console#kms: the `id` of a pkixPublicKey)."""
SYMMETRIC = (None, "ENCRYPT_DECRYPT")


def key_id(key: Resource) -> str | None:
    """`projects/p/locations/l/keyRings/r/cryptoKeys/k` of a CryptoKey resource."""
    ins = inputs_of(key)
    ring, name = ins.get("keyRing"), ins.get("name")
    if isinstance(ring, str) and isinstance(name, str) and not is_unknown(ring):
        return f"{ring}/cryptoKeys/{name}"
    return None


def _strip_version(value: str) -> str:
    return value.split("/cryptoKeyVersions/", 1)[0]


def _workload_key_uris(resources: Sequence[Resource]) -> Iterator[Any]:
    for resource in resources:
        kind = K8S_WORKLOAD_TYPES.get(type_of(resource))
        if kind is None:
            continue
        spec = get(inputs_of(resource), POD_SPEC_PATHS[kind][1])
        for container in as_list(get(spec, "containers")):
            for env in as_list(get(container, "env")):
                if isinstance(env, Mapping) and env.get("name") == ENV_KMS_KEY_URI:
                    yield env.get("value")


def model_key_ids(resources: Sequence[Resource], *, from_grants: bool = True) -> set[str]:
    """Key ids the plan uses as the model key (sealed metadata, workload env, decrypt grants).
    `from_grants=False` leaves the grants out, for judging those grants (a decrypt grant on
    another key must not make that key a model key)."""
    found: set[str] = set()
    named = [
        get(inputs_of(o), ("metadata", META_KMS_KEY)) for o in of_type(resources, BUCKET_OBJECT)
    ]
    for value in (*named, *_workload_key_uris(resources)):
        if isinstance(value, str) and value.startswith(KMS_URI_PREFIX):
            found.add(_strip_version(value.removeprefix(KMS_URI_PREFIX)))
    if not from_grants:
        return found
    custom = custom_role_permissions(resources)
    for grant in iam_grants(resources):
        if type_of(grant.resource) in CRYPTO_KEY_IAM and can_decrypt(grant.role, custom):
            key = inputs_of(grant.resource).get("cryptoKeyId")
            if isinstance(key, str) and not is_unknown(key):
                found.add(key)
    return found


def signing_key_ids(resources: Sequence[Resource]) -> set[str]:
    """Key ids whose versions are an attestor's public keys, or that the attestor's component
    creates (an attestor whose key list was emptied still owns its signing key)."""
    attestors = of_type(resources, ATTESTOR)
    found: set[str] = {
        ident
        for key in of_type(resources, CRYPTO_KEY)
        if any(same_component(key, attestor) for attestor in attestors)
        for ident in [key_id(key)]
        if ident
    }
    for attestor in attestors:
        for key in as_list(get(inputs_of(attestor), "attestationAuthorityNote.publicKeys")):
            ident = get(key, "id")
            if isinstance(ident, str) and ident.startswith(KMS_VERSION_PREFIX):
                found.add(_strip_version(ident.removeprefix(KMS_VERSION_PREFIX)))
    return found


def model_keys(resources: Sequence[Resource], *, from_grants: bool = True) -> list[Resource]:
    """The CryptoKey resources that wrap a model keyset, by role: named as the model key, or
    symmetric, or not the attestor's signing key."""
    ids = model_key_ids(resources, from_grants=from_grants)
    signing = signing_key_ids(resources)
    return [
        key
        for key in of_type(resources, CRYPTO_KEY)
        if key_id(key) in ids
        or inputs_of(key).get("purpose") in SYMMETRIC
        # The model stack alone holds no sealed object or grant: there every key that does not
        # sign for the attestor is the model's (the design creates no third key).
        or key_id(key) not in signing
    ]


def signing_keys(resources: Sequence[Resource]) -> list[Resource]:
    """The CryptoKey resources whose versions sign for an attestor."""
    ids = signing_key_ids(resources)
    return [key for key in of_type(resources, CRYPTO_KEY) if key_id(key) in ids]
