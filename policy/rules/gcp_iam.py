"""The GCP IAM model the rules and the access analysis share: who is granted which role by an
IAM member, binding or policy resource; service account and Workload Identity members; which
roles can decrypt or impersonate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .engine import Violation, matches, violation
from .plan import (
    SECRET,
    UNKNOWN,
    Resource,
    as_list,
    get,
    inputs_of,
    is_unknown,
    of_type,
    show,
    type_of,
)
from .tokens import (
    CLUSTER,
    CRYPTO_KEY_IAM,
    FOLDER_IAM,
    IAM_TYPE_PATTERNS,
    KEY_RING_IAM,
    ORG_CUSTOM_ROLE,
    ORG_IAM,
    PROJECT_CUSTOM_ROLE,
    PROJECT_IAM,
    SERVICE_ACCOUNT_IAM,
)

WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"

KMS_DECRYPT_ROLES = frozenset(
    {
        "roles/cloudkms.cryptoKeyDecrypter",
        "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        "roles/cloudkms.cryptoKeyDecrypterViaDelegation",
        "roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation",
        "roles/cloudkms.cryptoOperator",
        "roles/owner",
        "roles/editor",
    }
)
"""Roles that can decrypt (or are broad enough to be treated so). Any other `roles/cloudkms.*`
role not listed in KMS_ROLES_WITHOUT_DECRYPT is also treated as decrypt-capable, and a custom
role is decrypt-capable unless the plan defines it without a useToDecrypt permission."""

KMS_ROLES_WITHOUT_DECRYPT = frozenset(
    {
        "roles/cloudkms.admin",  # manages keys and IAM, no cryptoKeyVersions.useToDecrypt
        "roles/cloudkms.viewer",
        "roles/cloudkms.publicKeyViewer",
        "roles/cloudkms.signer",
        "roles/cloudkms.signerVerifier",
        "roles/cloudkms.verifier",
        "roles/cloudkms.cryptoKeyEncrypter",
        "roles/cloudkms.importer",
    }
)

DECRYPT_PERMISSIONS = frozenset(
    {
        "cloudkms.cryptoKeyVersions.useToDecrypt",
        "cloudkms.cryptoKeyVersions.useToDecryptViaDelegation",
    }
)

IMPERSONATION_ROLES = frozenset(
    {
        WORKLOAD_IDENTITY_USER,
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountOpenIdTokenCreator",
        "roles/iam.serviceAccountKeyAdmin",
        "roles/iam.serviceAccountAdmin",
        "roles/owner",
        "roles/editor",
    }
)
"""Roles that let their holder act as a service account (mint tokens, keys, or re-grant)."""

PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})

DECRYPT_SCOPE_TYPES = CRYPTO_KEY_IAM + KEY_RING_IAM + PROJECT_IAM + FOLDER_IAM + ORG_IAM
"""Where a grant of a decrypt-capable role reaches a key: the key, its ring, or above."""

Principal = tuple[str, str, str]
"""(workload pool, namespace, Kubernetes service account)."""


def is_iam_type(type_token: str) -> bool:
    """Any IAM member/binding/policy resource type of the gcp provider."""
    return matches(type_token, IAM_TYPE_PATTERNS)


def iam_kind(type_token: str) -> str:
    """`member`, `binding` or `policy` (how the resource spells its grants), else ""."""
    cls = type_token.rsplit(":", 1)[-1].lower()
    for kind in ("member", "binding", "policy"):
        if cls.endswith("iam" + kind):
            return kind
    return ""


@dataclass(frozen=True)
class Grant:
    """One (role, member) pair granted by an IAM member, binding or policy resource."""

    resource: Resource
    role: Any
    member: Any
    path: str  # where the member sits in the inputs: member, members[2], policyData.bindings[0]...

    def describe(self) -> str:
        return f"role {show(self.role)} granted to {self.path} {show(self.member)}"


def policy_bindings(value: Any) -> tuple[list[Any] | None, str]:
    """Bindings of an IAM policyData value (JSON text); (None, reason) when unreadable."""
    if is_unknown(value):
        return [], ""
    if value == SECRET:
        return None, "policyData is a secret"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            where = getattr(exc, "pos", "?")
            return None, f"policyData is not JSON ({type(exc).__name__} at char {where})"
    if not isinstance(value, Mapping):
        return None, f"policyData is {type(value).__name__}, not an IAM policy object"
    bindings = value.get("bindings", [])
    if not isinstance(bindings, list):
        return None, "policyData.bindings is not a list"
    return bindings, ""


def _grants_of(resource: Resource, kind: str) -> Iterator[Grant]:
    ins = inputs_of(resource)
    if kind == "member":
        yield Grant(resource, ins.get("role"), ins.get("member"), "member")
    elif kind == "binding":
        members = ins.get("members")
        if is_unknown(members):
            yield Grant(resource, ins.get("role"), UNKNOWN, "members")
        for i, member in enumerate(as_list(members)):
            yield Grant(resource, ins.get("role"), member, f"members[{i}]")
    elif kind == "policy":
        bindings, _ = policy_bindings(ins.get("policyData"))
        for b, binding in enumerate(bindings or []):
            if not isinstance(binding, Mapping):
                continue
            for m, member in enumerate(as_list(binding.get("members"))):
                path = f"policyData.bindings[{b}].members[{m}]"
                yield Grant(resource, binding.get("role"), member, path)


def iam_grants(resources: Iterable[Resource]) -> Iterator[Grant]:
    """Every grant in the plan's IAM resources (unreadable policyData is skipped here and
    reported by `unreadable_policies`)."""
    for resource in resources:
        token = type_of(resource)
        if is_iam_type(token):
            yield from _grants_of(resource, iam_kind(token))


def unreadable_policies(rule: str, resources: Iterable[Resource]) -> Iterator[Violation]:
    """IAM policy resources whose policyData cannot be read, so no rule can vouch for them."""
    for resource in resources:
        token = type_of(resource)
        if is_iam_type(token) and iam_kind(token) == "policy":
            _, reason = policy_bindings(inputs_of(resource).get("policyData"))
            if reason:
                yield violation(
                    rule,
                    resource,
                    f"{reason}; the grants it makes cannot be verified, write "
                    'policyData as JSON {"bindings": [...]}',
                )


def service_account_email(value: Any) -> str | None:
    """The email in `projects/<p>/serviceAccounts/<email>` or a bare email, lower-cased."""
    if not isinstance(value, str) or is_unknown(value):
        return None
    email = value.rsplit("/serviceAccounts/", 1)[-1]
    return email.lower() if "@" in email else None


def member_email(member: Any) -> str | None:
    """The email of a `serviceAccount:<email>` member, lower-cased; None for anything else."""
    if isinstance(member, str) and member.startswith("serviceAccount:"):
        email = member.split(":", 1)[1]
        return email.lower() if "@" in email and "[" not in email else None
    return None


_WI_MEMBER = re.compile(
    r"^serviceAccount:(?P<pool>[a-z0-9][a-z0-9.:-]*\.svc\.id\.goog)"
    r"\[(?P<ns>[^/\]]+)/(?P<ksa>[^\]]+)\]$"
)
_WI_PRINCIPAL = re.compile(
    r"^principal://iam\.googleapis\.com/projects/\d+/locations/global/workloadIdentityPools/"
    r"(?P<pool>[a-z0-9][a-z0-9.:-]*\.svc\.id\.goog)/subject/ns/(?P<ns>[^/]+)/sa/(?P<ksa>[^/]+)$"
)


def workload_principal(member: Any) -> Principal | None:
    """(pool, namespace, ksa) for a GKE Workload Identity member, in either the
    `serviceAccount:<pool>[<ns>/<ksa>]` or the `principal://.../subject/ns/<ns>/sa/<ksa>` form."""
    if not isinstance(member, str):
        return None
    match = _WI_MEMBER.match(member) or _WI_PRINCIPAL.match(member)
    return (match["pool"], match["ns"], match["ksa"]) if match else None


def cluster_pools(resources: Iterable[Resource]) -> set[str]:
    """Workload pools of the clusters in the plan (empty when the plan has no cluster)."""
    pools = set()
    for cluster in of_type(resources, CLUSTER):
        pool = get(inputs_of(cluster), "workloadIdentityConfig.workloadPool")
        if isinstance(pool, str) and not is_unknown(pool):
            pools.add(pool)
    return pools


def workload_identity_bindings(
    resources: Sequence[Resource],
) -> dict[str, list[tuple[Grant, Principal]]]:
    """Service account email -> its `roles/iam.workloadIdentityUser` grants to KSA principals."""
    bound: dict[str, list[tuple[Grant, Principal]]] = {}
    for grant in iam_grants(resources):
        if (
            type_of(grant.resource) not in SERVICE_ACCOUNT_IAM
            or grant.role != WORKLOAD_IDENTITY_USER
        ):
            continue
        principal = workload_principal(grant.member)
        email = service_account_email(inputs_of(grant.resource).get("serviceAccountId"))
        if principal and email:
            bound.setdefault(email, []).append((grant, principal))
    return bound


def custom_role_permissions(resources: Iterable[Resource]) -> dict[str, list[Any]]:
    """Full name (`projects/<p>/roles/<id>`, `organizations/<o>/roles/<id>`) -> permissions."""
    roles: dict[str, list[Any]] = {}
    for resource in resources:
        ins = inputs_of(resource)
        if type_of(resource) == PROJECT_CUSTOM_ROLE:
            name = f"projects/{ins.get('project')}/roles/{ins.get('roleId')}"
        elif type_of(resource) == ORG_CUSTOM_ROLE:
            name = f"organizations/{ins.get('orgId')}/roles/{ins.get('roleId')}"
        else:
            continue
        roles[name] = as_list(ins.get("permissions"))
    return roles


def can_decrypt(role: Any, custom_roles: Mapping[str, Sequence[Any]]) -> bool:
    """Whether a role may decrypt with a KMS key it is granted on (conservative for unknowns)."""
    if not isinstance(role, str):
        return False
    if role in KMS_DECRYPT_ROLES:
        return True
    if role.startswith("roles/cloudkms."):
        return role not in KMS_ROLES_WITHOUT_DECRYPT
    if role.startswith(("projects/", "organizations/")) and "/roles/" in role:
        permissions = custom_roles.get(role)
        if permissions is None:
            return True  # a custom role defined elsewhere could hold useToDecrypt
        return any(
            p in DECRYPT_PERMISSIONS or p in ("cloudkms.*", "cloudkms.cryptoKeyVersions.*")
            for p in permissions
        )
    return False
