"""`iam-names-exist`: every IAM role and permission the plan names exists in Google's catalogue,
and every permission a deny policy names is one deny policies accept.

IAM rejects an unknown role in a grant and an unknown or unsupported permission in a deny
policy at `pulumi up` time (cloud.google.com/iam/docs/deny-permissions-support: "You can use
some, but not all, IAM permissions in deny policies"); a typo'd role is the same failure one
step later. The catalogue is the vendored snapshot `policy/iam_catalogue.json`
(policy/iam_catalogue.py says what it holds and how to refresh it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy.iam_catalogue import IamCatalogue, load, v1_name

from .engine import Violation, violation
from .gcp_iam import iam_grants
from .plan import Resource, as_list, inputs_of, is_unknown, show, type_of
from .tokens import DENY_POLICY, ORG_CUSTOM_ROLE, PROJECT_CUSTOM_ROLE

RULE = "iam-names-exist"
# Roles defined by a resource, not by Google: custom roles (`projects/<p>/roles/<id>`,
# `organizations/<o>/roles/<id>`) are judged through the permissions they are built from.
_CUSTOM_ROLE_PREFIXES = ("projects/", "organizations/")


def _role_problem(role: Any, catalogue: IamCatalogue) -> str | None:
    if is_unknown(role) or not isinstance(role, str):
        return None
    if role.startswith(_CUSTOM_ROLE_PREFIXES):
        return None
    if not role.startswith("roles/"):
        return "is neither a predefined role (roles/...) nor a custom role's full name"
    if not catalogue.role_exists(role):
        return "is not a predefined role in Google's catalogue"
    return None


def _roles(resources: Sequence[Resource], catalogue: IamCatalogue) -> Iterator[Violation]:
    for grant in iam_grants(resources):
        problem = _role_problem(grant.role, catalogue)
        if problem:
            yield violation(RULE, grant.resource, f"role {show(grant.role)} {problem}")


def _custom_roles(resources: Sequence[Resource], catalogue: IamCatalogue) -> Iterator[Violation]:
    for resource in resources:
        if type_of(resource) not in (PROJECT_CUSTOM_ROLE, ORG_CUSTOM_ROLE):
            continue
        for i, permission in enumerate(as_list(inputs_of(resource).get("permissions"))):
            if is_unknown(permission):
                continue
            if not isinstance(permission, str) or not catalogue.permission_exists(permission):
                yield violation(
                    RULE,
                    resource,
                    f"permissions[{i}] is {show(permission)}; no such IAM permission in "
                    "Google's catalogue",
                )


def _deny_problem(permission: Any, catalogue: IamCatalogue) -> str | None:
    if is_unknown(permission):
        return None
    if not isinstance(permission, str) or "/" not in permission:
        return "is not in service.googleapis.com/resource.verb form"
    verdict = catalogue.deny_verdict(permission)
    if verdict:
        return verdict
    if "*" not in permission and not catalogue.permission_exists(v1_name(permission)):
        return f"does not exist ({v1_name(permission)} is in no predefined role)"
    return None


def _deny_policies(resources: Sequence[Resource], catalogue: IamCatalogue) -> Iterator[Violation]:
    for resource in resources:
        if type_of(resource) != DENY_POLICY:
            continue
        for r, rule in enumerate(as_list(inputs_of(resource).get("rules"))):
            deny = rule.get("denyRule") if isinstance(rule, Mapping) else None
            if not isinstance(deny, Mapping):
                continue
            for field in ("deniedPermissions", "exceptionPermissions"):
                for i, permission in enumerate(as_list(deny.get(field))):
                    problem = _deny_problem(permission, catalogue)
                    if problem:
                        yield violation(
                            RULE,
                            resource,
                            f"rules[{r}].denyRule.{field}[{i}] {show(permission)} {problem}",
                        )


def check_iam_names_exist(
    resources: Sequence[Resource], catalogue: IamCatalogue | None = None
) -> Iterator[Violation]:
    """Roles in grants, custom roles' permissions and deny policies' permissions all exist."""
    catalogue = catalogue or load()
    yield from _roles(resources, catalogue)
    yield from _custom_roles(resources, catalogue)
    yield from _deny_policies(resources, catalogue)
