"""Least privilege as an exact shape (issue 14 item 1).

Known-bad lists miss a broader role, scope or verb for the same identity; "who can decrypt"
does not change when the decrypter gets encrypt too. So the review computes the grants the
design calls for from the plan's own facts (`expected_grants`) and fails every grant, RBAC rule
and binding outside that set, naming the grant it should have been.

- `iam-exact-grants`: every IAM grant (member, binding, policy) is one the design calls for:
  same member, role, scope (the key, not its ring; the bucket with a condition to the one
  object) and condition; or an extra the stack's config allows (`review.extraGrants`, recorded
  in the plan as a `gke-sandbox:review:AllowedExtras` resource and listed in the report).
- `rbac-exact-rules`: Kubernetes RBAC is only tenant Roles in tenant namespaces holding nothing
  beyond `policy.facts.TENANT_ROLE_RULES`, and RoleBindings of people (User/Group) to such a Role.
  No ClusterRole, no ClusterRoleBinding, no binding to a built-in ClusterRole (`edit`, `admin`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy.facts import REVIEW_EXTRAS_TYPE, TENANT_ROLE_RULES

from .engine import Violation, violation
from .expected_grants import (
    NO_CONDITION,
    ActualGrant,
    ExpectedGrant,
    actual_grants,
    design_grants,
    exact,
    facts_of,
    tenant_namespaces,
)
from .gcp_iam import unreadable_policies
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, show, type_of
from .tokens import K8S_NAMESPACE, RBAC_ROLE, RBAC_ROLE_BINDING, RBAC_TYPE_PATTERNS

IAM_RULE = "iam-exact-grants"
RBAC_RULE = "rbac-exact-rules"


# ------------------------------------------------------------------------- allowed extras
def allowed_extras(resources: Sequence[Resource]) -> list[ExpectedGrant]:
    """The extra grants the stack's config allows, as recorded in the plan."""
    extras = []
    for record in of_type(resources, REVIEW_EXTRAS_TYPE):
        for item in as_list(inputs_of(record).get("extraGrants")):
            if not isinstance(item, Mapping):
                continue
            condition = item.get("condition")
            extras.append(
                ExpectedGrant(
                    member=exact(str(item.get("member"))),
                    role=str(item.get("role")),
                    scope_kind=str(item.get("kind")).replace("-", " "),
                    scope=exact(str(item.get("resource"))),
                    condition=exact(condition) if isinstance(condition, str) else NO_CONDITION,
                    why=f"allowed by config review.extraGrants: {item.get('reason')}",
                )
            )
    return extras


def used_extras(resources: Sequence[Resource]) -> list[str]:
    """The allowed extras, each with whether a grant in the plan uses it (for the report)."""
    grants = list(actual_grants(resources))
    return [
        f"{extra.describe()}: {'used' if any(extra.accepts(g) for g in grants) else 'unused'}"
        for extra in allowed_extras(resources)
    ]


# ------------------------------------------------------------------------- IAM
def _closeness(expected: ExpectedGrant, actual: ActualGrant) -> int:
    role = actual.role if isinstance(actual.role, str) else ""
    return (
        8 * expected.member.accepts(actual.member)
        + 4 * (expected.role == role)
        + 2 * (expected.scope_kind == actual.scope_kind)
        + (expected.role.split(".", 1)[0] == role.split(".", 1)[0])
    )


def _should_be(expected: Sequence[ExpectedGrant], actual: ActualGrant) -> str:
    best = max(expected, key=lambda e: _closeness(e, actual))
    if not best.member.accepts(actual.member):
        return f"the design grants {show(actual.member)} nothing (closest design grant: {best.describe()})"
    return f"it should have been {best.describe()}"


def check_iam_exact_grants(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Every IAM grant in the plan is in the design's set (or a config-allowed extra)."""
    yield from unreadable_policies(IAM_RULE, resources)
    expected = design_grants(facts_of(resources)) + allowed_extras(resources)
    for actual in actual_grants(resources):
        if any(is_unknown(v) for v in (actual.role, actual.member, actual.scope)):
            continue  # unknown during a preview; judged again on `pulumi up`
        if any(e.accepts(actual) for e in expected):
            continue
        yield violation(
            IAM_RULE,
            actual.grant.resource,
            f"{actual.describe()}, which is not a grant the design calls for; "
            f"{_should_be(expected, actual)}",
        )


# ------------------------------------------------------------------------- RBAC
ALLOWED_PERMISSIONS = frozenset(
    (group, resource, verb)
    for groups, resources, verbs in TENANT_ROLE_RULES
    for group in groups
    for resource in resources
    for verb in verbs
)


def _tenant_rules_text() -> str:
    return "; ".join(
        f"{'/'.join(g or 'core' for g in groups)} {','.join(res)}: {','.join(verbs)}"
        for groups, res, verbs in TENANT_ROLE_RULES
    )


def _extra_permissions(rule: Any) -> list[tuple[str, str, str]]:
    """(group, resource, verb) a Role rule grants beyond the tenant set ('*' never matches)."""
    if not isinstance(rule, Mapping):
        return [("?", "?", "?")]
    granted = {
        (str(g), str(r), str(v))
        for g in as_list(rule.get("apiGroups")) or [""]
        for r in as_list(rule.get("resources")) or ["?"]
        for v in as_list(rule.get("verbs")) or ["?"]
    }
    return sorted(granted - ALLOWED_PERMISSIONS)


def _check_role(role: Resource, tenant_ns: set[str]) -> Iterator[Violation]:
    ins = inputs_of(role)
    namespace = get(ins, "metadata.namespace")
    if tenant_ns and not (isinstance(namespace, str) and namespace in tenant_ns):
        yield violation(
            RBAC_RULE,
            role,
            f"metadata.namespace is {show(namespace)}; Roles belong only in tenant namespaces "
            f"({', '.join(sorted(tenant_ns))})",
        )
    for i, rule in enumerate(as_list(ins.get("rules"))):
        extra = _extra_permissions(rule)
        if isinstance(rule, Mapping) and rule.get("nonResourceURLs"):
            extra.append(("", "nonResourceURLs", show(rule.get("nonResourceURLs"))))
        if extra:
            shown = ", ".join(f"{v} {r} (group {g or 'core'})" for g, r, v in extra[:6])
            more = f" and {len(extra) - 6} more" if len(extra) > 6 else ""
            yield violation(
                RBAC_RULE,
                role,
                f"rules[{i}] grants {shown}{more}, beyond the tenant Role; the tenant Role "
                f"grants exactly: {_tenant_rules_text()} (policy.facts.TENANT_ROLE_RULES)",
            )


def _roles_by_namespace(resources: Sequence[Resource]) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = {}
    for role in of_type(resources, RBAC_ROLE):
        ins = inputs_of(role)
        namespace, name = get(ins, "metadata.namespace"), get(ins, "metadata.name")
        roles.setdefault(str(namespace), set()).add(str(name))
    return roles


def _check_binding(binding: Resource, roles: Mapping[str, set[str]]) -> Iterator[Violation]:
    ins = inputs_of(binding)
    namespace = str(get(ins, "metadata.namespace"))
    ref = ins.get("roleRef") if isinstance(ins.get("roleRef"), Mapping) else {}
    here = sorted(roles.get(namespace, ()))
    should = (
        f'{{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "{here[0]}"}}'
        if len(here) == 1
        else f"a Role of namespace {namespace} in this plan"
    )
    if ref.get("kind") != "Role" or ref.get("name") not in here:
        yield violation(
            RBAC_RULE,
            binding,
            f"roleRef is {show(ins.get('roleRef'))}; tenants are bound only to their own "
            f"namespace's tenant Role, never a ClusterRole (built-in edit/admin grant far "
            f"more): roleRef should be {should}",
        )
    for i, subject in enumerate(as_list(ins.get("subjects"))):
        kind = subject.get("kind") if isinstance(subject, Mapping) else None
        if kind not in ("User", "Group"):
            yield violation(
                RBAC_RULE,
                binding,
                f"subjects[{i}] is {show(subject)}; a tenant binding names people (User or "
                "Group), never a service account that pods could run as",
            )


def check_rbac_exact_rules(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Tenant RBAC is exactly the design's Role and binding, nothing cluster-wide."""
    tenant_ns = tenant_namespaces(resources) if of_type(resources, K8S_NAMESPACE) else set()
    roles = _roles_by_namespace(resources)
    for resource in resources:
        token = type_of(resource)
        if not token.startswith(RBAC_TYPE_PATTERNS[0].rstrip("*")):
            continue
        if token == RBAC_ROLE:
            yield from _check_role(resource, tenant_ns)
        elif token == RBAC_ROLE_BINDING:
            yield from _check_binding(resource, roles)
        else:
            yield violation(
                RBAC_RULE,
                resource,
                f"{token.rsplit(':', 1)[-1]} is beyond the design; tenants get a Role and a "
                "RoleBinding in their own namespace only, nothing cluster-wide",
            )
