"""IAM checks: who may decrypt the model key (and act as whoever may), basic roles, public
members. The IAM model itself (grants, members, role sets) is `gcp_iam.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .attestation import attested_release
from .engine import Violation, one_of, violation
from .gcp_iam import (
    DECRYPT_SCOPE_TYPES,
    IMPERSONATION_ROLES,
    PRIMITIVE_ROLES,
    PUBLIC_MEMBERS,
    WORKLOAD_IDENTITY_USER,
    Grant,
    Principal,
    can_decrypt,
    cluster_pools,
    custom_role_permissions,
    iam_grants,
    member_email,
    service_account_email,
    unreadable_policies,
    workload_identity_bindings,
    workload_principal,
)
from .plan import Resource, as_list, inputs_of, is_unknown, of_type, show, type_of
from .tokens import (
    FOLDER_IAM,
    ORG_IAM,
    PROJECT_IAM,
    SERVICE_ACCOUNT_IAM,
    SERVICE_ACCOUNT_KEY,
    STORAGE_ACL_TYPES,
)

_NEED = "only a Workload-Identity-bound service account (the sandbox namespace's KSA) may decrypt"


def check_decrypt_only_workload(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The model key may only be used by the signed harness in the sandbox namespace."""
    rule = "kms-decrypt-only-workload"
    yield from unreadable_policies(
        rule, [r for r in resources if type_of(r) in DECRYPT_SCOPE_TYPES + SERVICE_ACCOUNT_IAM]
    )
    customs = custom_role_permissions(resources)
    pools = cluster_pools(resources)
    bindings = workload_identity_bindings(resources)
    decrypters: set[str] = set()
    for grant in iam_grants(resources):
        if type_of(grant.resource) not in DECRYPT_SCOPE_TYPES or not can_decrypt(
            grant.role, customs
        ):
            continue
        if is_unknown(grant.member):
            continue
        release = attested_release(resources, grant.member)
        if release is not None:  # the Confidential Space path (judged by key-release-attested)
            attested, words = release
            if not attested:
                yield violation(
                    rule, grant.resource, f"{grant.describe()}; not an attested release: {words}"
                )
            continue
        principal = workload_principal(grant.member)
        if principal:
            if pools and principal[0] not in pools:
                yield violation(
                    rule,
                    grant.resource,
                    f"{grant.describe()}; its pool {principal[0]} is not the workload "
                    f"pool of a cluster in this plan ({', '.join(sorted(pools))})",
                )
            continue
        email = member_email(grant.member)
        if email is None:
            yield violation(rule, grant.resource, f"{grant.describe()}; {_NEED}")
            continue
        if not [p for _, p in bindings.get(email, []) if not pools or p[0] in pools]:
            yield violation(
                rule,
                grant.resource,
                f"{grant.describe()}; {email} has no {WORKLOAD_IDENTITY_USER} binding "
                f"to a <pool>[<namespace>/<ksa>] member in this plan, and {_NEED}",
            )
            continue
        decrypters.add(email)
    yield from _many_principals(rule, resources, decrypters)
    yield from _impersonators(rule, resources, decrypters)
    yield from _keys(rule, resources, decrypters)


def _many_principals(
    rule: str, resources: Sequence[Resource], decrypters: set[str]
) -> Iterator[Violation]:
    """Exactly one Kubernetes service account may act as a decrypting service account."""
    by_principal: dict[str, list[tuple[Grant, Principal]]] = {}
    for grant in iam_grants(resources):
        if type_of(grant.resource) not in SERVICE_ACCOUNT_IAM or not one_of(
            grant.role, IMPERSONATION_ROLES
        ):
            continue
        principal = workload_principal(grant.member)
        target = service_account_email(inputs_of(grant.resource).get("serviceAccountId"))
        if principal and target in decrypters:
            by_principal.setdefault(target, []).append((grant, principal))
    for email in sorted(by_principal):
        principals = sorted({p for _, p in by_principal[email]})
        if len(principals) > 1:
            names = ", ".join(f"{pool}[{ns}/{ksa}]" for pool, ns, ksa in principals)
            for grant, _ in by_principal[email]:
                yield violation(
                    rule,
                    grant.resource,
                    f"{grant.describe()}; {email} can decrypt and {len(principals)} "
                    f"Kubernetes service accounts can act as it ({names}); allow "
                    "exactly one",
                )


def _impersonation_scope(grant: Grant, decrypters: set[str]) -> tuple[bool, str]:
    """(whether this impersonation grant reaches a decrypting account, where it sits)."""
    token = type_of(grant.resource)
    ins = inputs_of(grant.resource)
    if token in SERVICE_ACCOUNT_IAM:
        target = service_account_email(ins.get("serviceAccountId"))
        return target in decrypters, f"on {target}"
    if token in PROJECT_IAM:
        projects = {email.split("@", 1)[1].split(".", 1)[0] for email in decrypters}
        project = ins.get("project")
        hit = bool(decrypters) and (project is None or one_of(project, projects))
        return hit, f"on project {show(project)}, home of the decrypting service account"
    if token in FOLDER_IAM + ORG_IAM:
        return bool(decrypters), "above the project of the decrypting service account"
    return False, ""


def _impersonators(
    rule: str, resources: Sequence[Resource], decrypters: set[str]
) -> Iterator[Violation]:
    """Whoever can act as a decrypting service account (other than through Workload Identity)
    can decrypt too."""
    for grant in iam_grants(resources):
        if not one_of(grant.role, IMPERSONATION_ROLES) or is_unknown(grant.member):
            continue
        if workload_principal(grant.member):
            continue
        hit, where = _impersonation_scope(grant, decrypters)
        if hit:
            yield violation(
                rule,
                grant.resource,
                f"{grant.describe()} {where}; that member could act as the decrypting "
                "identity outside the sandbox",
            )


def _keys(rule: str, resources: Sequence[Resource], decrypters: set[str]) -> Iterator[Violation]:
    """A service account key works outside the cluster, so none for a decrypting account."""
    for key in of_type(resources, SERVICE_ACCOUNT_KEY):
        target = service_account_email(inputs_of(key).get("serviceAccountId"))
        if target in decrypters:
            yield violation(
                rule,
                key,
                f"serviceAccountId is {show(target)}; a key for the "
                "decrypting service account works outside the cluster",
            )


def check_no_primitive_roles(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Basic roles carry thousands of permissions, decrypt and impersonation among them."""
    rule = "no-primitive-roles"
    yield from unreadable_policies(rule, resources)
    for grant in iam_grants(resources):
        if one_of(grant.role, PRIMITIVE_ROLES):
            yield violation(
                rule,
                grant.resource,
                f"{grant.describe()}; basic roles grant far more than any party here needs",
            )


def _public_acl(rule: str, acl: Resource) -> Iterator[Violation]:
    ins = inputs_of(acl)
    entity = ins.get("entity")
    if isinstance(entity, str) and entity in PUBLIC_MEMBERS:
        yield violation(
            rule, acl, f"entity is {show(entity)}; nothing may be granted to the public"
        )
    for i, pair in enumerate(as_list(ins.get("roleEntities"))):
        if isinstance(pair, str) and pair.split(":", 1)[-1] in PUBLIC_MEMBERS:
            yield violation(
                rule,
                acl,
                f"roleEntities[{i}] is {show(pair)}; nothing may be granted to the public",
            )
    predefined = ins.get("predefinedAcl")
    if isinstance(predefined, str) and predefined.lower().startswith("public"):
        yield violation(
            rule,
            acl,
            f"predefinedAcl is {show(predefined)}; nothing may be granted to the public",
        )


def check_no_public_members(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Nothing in this system is meant for the internet at large."""
    rule = "no-public-members"
    yield from unreadable_policies(rule, resources)
    for grant in iam_grants(resources):
        if one_of(grant.member, PUBLIC_MEMBERS):
            yield violation(
                rule, grant.resource, f"{grant.describe()}; nothing may be granted to the public"
            )
    for acl in of_type(resources, *STORAGE_ACL_TYPES):
        yield from _public_acl(rule, acl)
