"""Kubernetes RBAC, evaluated offline from Role/ClusterRole/RoleBinding/ClusterRoleBinding manifests.

Answers "may this identity do verb V on resource R (subresource, API group, name) in namespace N",
and says *why*: every binding -> role -> rule that grants it. The matching rules are Kubernetes'
own (the RBAC authorizer and the PolicyRule API documentation), restated here:

- Which bindings count: every ClusterRoleBinding; RoleBindings only of the request's namespace.
  Requests without a namespace (cluster-scoped resources, all-namespace lists, non-resource
  URLs) are decided by ClusterRoleBindings alone. A RoleBinding that references a ClusterRole
  therefore grants that role's rules only inside the RoleBinding's namespace.
- Subjects: a User subject matches the username; a Group subject matches any of the identity's
  groups; a ServiceAccount subject matches the username `system:serviceaccount:<ns>:<name>` (its
  namespace defaults to the RoleBinding's). A service account identity carries the groups
  `system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated`; every
  authenticated user carries `system:authenticated`.
- Rules: verbs and apiGroups match exactly or by "*". resources match by "*" (every resource and
  subresource), by the exact "resource" or "resource/subresource" string, or by "*/sub" (that
  subresource of any resource). Nothing else is a wildcard: Kubernetes treats "pods/*"
  literally, so it does NOT grant pods/exec. A rule with resourceNames only matches requests
  that carry one of those names (pass `name=`): a get/update/patch/delete of that object, or a
  list/watch narrowed to it by fieldSelector metadata.name; never a list or watch of the
  collection, a deletecollection or a create (which carries no name). nonResourceURLs match by
  "*", exactly, or by a trailing-"*" prefix.
- Aggregation: a ClusterRole with aggregationRule gets, instead of its own rules, the union of
  the rules of every other ClusterRole whose labels match one of its clusterRoleSelectors
  (computed to a fixed point, as the aggregation controller converges).
- Not modelled: authorizers other than RBAC (e.g. the `system:masters` group, Node authorizer,
  GKE's IAM authorizer); callers reason about those separately.

Modules: `model` (identities, subjects, rules, grants, decisions), `api` (the API resources a
tenant could be granted, the requests that run code as a service account), `manifests`
(reading RBAC objects, refusing malformed ones); this module evaluates (`RbacPolicy`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .api import KNOWN_RESOURCES, RUN_AS_SERVICE_ACCOUNT_REQUESTS, ResourceType
from .manifests import _Binding, _parse_binding, _parse_role, _Role, _where, selector_matches
from .model import (
    ALL_SERVICE_ACCOUNTS,
    AUTHENTICATED,
    RBAC_GROUP,
    RBAC_KINDS,
    RESOURCE_VERBS,
    UNAUTHENTICATED,
    Access,
    Decision,
    Grant,
    RbacError,
    Rule,
    Subject,
    SubjectAccess,
    UserInfo,
    _ns_name,
)

__all__ = [
    "ALL_SERVICE_ACCOUNTS",
    "AUTHENTICATED",
    "KNOWN_RESOURCES",
    "RBAC_GROUP",
    "RBAC_KINDS",
    "RESOURCE_VERBS",
    "RUN_AS_SERVICE_ACCOUNT_REQUESTS",
    "UNAUTHENTICATED",
    "Access",
    "Decision",
    "Grant",
    "RbacError",
    "RbacPolicy",
    "ResourceType",
    "Rule",
    "Subject",
    "SubjectAccess",
    "UserInfo",
    "can",
    "selector_matches",
    "who_can",
]


def _applies_to(subject: Subject, user: UserInfo) -> bool:
    if subject.kind == "User":
        return subject.name == user.username
    if subject.kind == "Group":
        return subject.name in user.groups
    return user.username == f"system:serviceaccount:{subject.namespace}:{subject.name}"


def _split_resource(resource: str, subresource: str | None) -> tuple[str, str]:
    if "/" in resource:
        if subresource:
            raise RbacError(
                f"resource {resource!r} already names a subresource; do not also pass subresource={subresource!r}"
            )
        resource, _, subresource = resource.partition("/")
    if not resource or "*" in resource or (subresource and "*" in subresource):
        raise RbacError(f"a request names one concrete resource, got {resource!r}/{subresource!r}")
    return resource, subresource or ""


def _check_verb(verb: str) -> None:
    if not verb or verb == "*" or verb != verb.strip():
        raise RbacError(f"a request names one concrete verb, got {verb!r}")


class RbacPolicy:
    """The RBAC objects of a plan (any other objects are ignored), ready to answer questions."""

    def __init__(self, objects: Iterable[Mapping[str, Any]]) -> None:
        self.roles: dict[tuple[str, str | None, str], _Role] = {}
        self.bindings: list[_Binding] = []
        self.warnings: list[str] = []
        for obj in objects:
            if not isinstance(obj, Mapping) or obj.get("kind") not in RBAC_KINDS:
                continue
            if not str(obj.get("apiVersion", "")).startswith(f"{RBAC_GROUP}/"):
                continue
            if obj["kind"] in ("Role", "ClusterRole"):
                role = _parse_role(obj)
                key = (role.kind, role.namespace, role.name)
                if key in self.roles:
                    raise RbacError(f"{_where(obj)} is defined twice")
                self.roles[key] = role
            else:
                binding = _parse_binding(obj)
                if any(
                    (b.kind, b.namespace, b.name) == (binding.kind, binding.namespace, binding.name)
                    for b in self.bindings
                ):
                    raise RbacError(f"{_where(obj)} is defined twice")
                self.bindings.append(binding)
        self._effective = self._aggregate()
        for b in self.bindings:
            if self._role_key(b) not in self.roles:
                self.warnings.append(
                    f"{b.kind} {_ns_name(b.namespace, b.name)} references missing {b.role_kind} "
                    f"{_ns_name(b.namespace if b.role_kind == 'Role' else None, b.role_name)}; it grants nothing"
                )

    # -- roles ---------------------------------------------------------------------------------

    def _aggregate(self) -> dict[tuple[str, str | None, str], tuple[tuple[Rule, str | None], ...]]:
        """Effective rules per role: own rules, or for aggregated ClusterRoles the fixed point of
        the union of the selected ClusterRoles' effective rules (each tagged with its origin)."""
        effective: dict[tuple[str, str | None, str], tuple[tuple[Rule, str | None], ...]] = {
            key: tuple((r, None) for r in role.rules)
            for key, role in self.roles.items()
            if role.selectors is None
        }
        aggregated = sorted(key for key, role in self.roles.items() if role.selectors is not None)
        for key in aggregated:
            effective[key] = ()
        for _ in range(len(aggregated) + 1):
            changed = False
            for key in aggregated:
                role = self.roles[key]
                collected: list[tuple[Rule, str | None]] = []
                seen: set[Rule] = set()
                for other_key in sorted(
                    k for k in self.roles if k[0] == "ClusterRole" and k != key
                ):
                    other = self.roles[other_key]
                    if not any(selector_matches(sel, other.labels) for sel in role.selectors or ()):
                        continue
                    for rule, origin in effective[other_key]:
                        if rule not in seen:
                            seen.add(rule)
                            collected.append((rule, origin or other.name))
                if tuple(collected) != effective[key]:
                    effective[key] = tuple(collected)
                    changed = True
            if not changed:
                break
        return effective

    def effective_rules(
        self, kind: str, name: str, namespace: str | None = None
    ) -> tuple[tuple[Rule, str | None], ...]:
        """(rule, aggregated-from ClusterRole or None) of a role, after aggregation."""
        key = (kind, namespace if kind == "Role" else None, name)
        if key not in self.roles:
            raise RbacError(f"no {kind} {_ns_name(key[1], name)} in the policy")
        return self._effective[key]

    @staticmethod
    def _role_key(binding: _Binding) -> tuple[str, str | None, str]:
        return (
            binding.role_kind,
            binding.namespace if binding.role_kind == "Role" else None,
            binding.role_name,
        )

    # -- questions -----------------------------------------------------------------------------

    def _bindings_for(self, namespace: str | None) -> list[_Binding]:
        """ClusterRoleBindings always; RoleBindings only of the request's namespace."""
        return [
            b
            for b in self.bindings
            if b.kind == "ClusterRoleBinding" or (namespace and b.namespace == namespace)
        ]

    def _grants(self, user: UserInfo, namespace: str | None) -> list[tuple[Grant, Rule]]:
        out = []
        for b in self._bindings_for(namespace):
            matched = [s for s in b.subjects if _applies_to(s, user)]
            if not matched or self._role_key(b) not in self._effective:
                continue
            role_ns = b.namespace if b.role_kind == "Role" else None
            for index, (rule, origin) in enumerate(self._effective[self._role_key(b)]):
                grant = Grant(
                    b.kind,
                    b.name,
                    b.namespace,
                    matched[0],
                    b.role_kind,
                    b.role_name,
                    role_ns,
                    index,
                    rule,
                    origin,
                )
                out.append((grant, rule))
        return out

    def check(
        self,
        who: UserInfo | Subject,
        verb: str,
        resource: str,
        *,
        namespace: str | None = None,
        api_group: str = "",
        subresource: str | None = None,
        name: str | None = None,
    ) -> Decision:
        """May `who` do `verb` on `resource` ("pods" or "pods/exec") in `namespace` (None: cluster scope)?"""
        user = who if isinstance(who, UserInfo) else who.identity()
        _check_verb(verb)
        res, sub = _split_resource(resource, subresource)
        target = (
            f"{api_group or 'core'}/{res}"
            + (f"/{sub}" if sub else "")
            + (f" {name!r}" if name else "")
        )
        where = f"in namespace {namespace}" if namespace else "cluster-wide"
        request = f"{user.username} {verb} {target} {where}"
        grants = tuple(
            g
            for g, rule in self._grants(user, namespace)
            if rule.allows(verb, api_group, res, sub, name or "")
        )
        return Decision(request, grants)

    def check_non_resource(self, who: UserInfo | Subject, verb: str, path: str) -> Decision:
        """May `who` send `verb` (lowercase HTTP method) to a non-resource URL such as /healthz?"""
        user = who if isinstance(who, UserInfo) else who.identity()
        _check_verb(verb)
        if not path.startswith("/"):
            raise RbacError(f"a non-resource URL starts with '/', got {path!r}")
        grants = tuple(
            g for g, rule in self._grants(user, None) if rule.allows_non_resource(verb, path)
        )
        return Decision(f"{user.username} {verb} {path}", grants)

    def rules_for(self, who: UserInfo | Subject, namespace: str | None) -> list[Grant]:
        """Every rule that applies to `who` for requests in `namespace` (None: cluster scope)."""
        user = who if isinstance(who, UserInfo) else who.identity()
        return [g for g, _ in self._grants(user, namespace)]

    def allowed_set(
        self,
        who: UserInfo | Subject,
        namespace: str | None,
        *,
        universe: Sequence[ResourceType] = KNOWN_RESOURCES,
        verbs: Sequence[str] = RESOURCE_VERBS,
    ) -> frozenset[Access]:
        """Every (verb, group, resource[/sub], name) `who` may use in `namespace`, over `universe`.

        With a namespace, only namespaced resources are considered (RoleBindings there and
        ClusterRoleBindings); with None, every resource at cluster scope (ClusterRoleBindings only,
        which for namespaced resources means across all namespaces). Rules restricted by
        resourceNames yield one Access per name.
        """
        grants = self._grants(who if isinstance(who, UserInfo) else who.identity(), namespace)
        out: set[Access] = set()
        for rt in universe:
            if namespace and not rt.namespaced:
                continue
            for sub in ("", *rt.subresources):
                combined = f"{rt.resource}/{sub}" if sub else rt.resource
                for verb in verbs:
                    for _, rule in grants:
                        if rule.allows(verb, rt.api_group, rt.resource, sub, ""):
                            out.add(Access(verb, rt.api_group, combined))
                        for rname in rule.resource_names:
                            if rule.allows(verb, rt.api_group, rt.resource, sub, rname):
                                out.add(Access(verb, rt.api_group, combined, rname))
        return frozenset(out)

    def who_can(
        self,
        verb: str,
        resource: str,
        namespace: str | None,
        *,
        api_group: str = "",
        subresource: str | None = None,
        name: str | None = None,
    ) -> list[SubjectAccess]:
        """Every binding subject through which `verb` on `resource` in `namespace` is allowed.

        Group subjects are listed as groups (e.g. `system:serviceaccounts:ns1` stands for every
        service account of ns1); a ServiceAccount's own groups are not expanded into it.
        """
        _check_verb(verb)
        res, sub = _split_resource(resource, subresource)
        by_subject: dict[Subject, list[Grant]] = {}
        for b in self._bindings_for(namespace):
            key = self._role_key(b)
            if key not in self._effective:
                continue
            role_ns = b.namespace if b.role_kind == "Role" else None
            for index, (rule, origin) in enumerate(self._effective[key]):
                if not rule.allows(verb, api_group, res, sub, name or ""):
                    continue
                for s in b.subjects:
                    by_subject.setdefault(s, []).append(
                        Grant(
                            b.kind,
                            b.name,
                            b.namespace,
                            s,
                            b.role_kind,
                            b.role_name,
                            role_ns,
                            index,
                            rule,
                            origin,
                        )
                    )
        return [SubjectAccess(s, tuple(g)) for s, g in sorted(by_subject.items())]

    def who_can_any(
        self, requests: Iterable[tuple[str, str, str]], namespace: str | None
    ) -> list[tuple[Subject, tuple[tuple[tuple[str, str, str], Grant], ...]]]:
        """Subjects allowed at least one of `requests` ((verb, api_group, resource[/sub]) each),
        with every (request, grant) pair that allows it; e.g. RUN_AS_SERVICE_ACCOUNT_REQUESTS."""
        found: dict[Subject, list[tuple[tuple[str, str, str], Grant]]] = {}
        for request in requests:
            verb, group, resource = request
            for access in self.who_can(verb, resource, namespace, api_group=group):
                found.setdefault(access.subject, []).extend((request, g) for g in access.grants)
        return [(s, tuple(pairs)) for s, pairs in sorted(found.items())]


def can(
    objects: Iterable[Mapping[str, Any]],
    who: UserInfo | Subject,
    verb: str,
    resource: str,
    **kwargs: Any,
) -> Decision:
    """One-shot `RbacPolicy(objects).check(...)`."""
    return RbacPolicy(objects).check(who, verb, resource, **kwargs)


def who_can(
    objects: Iterable[Mapping[str, Any]],
    verb: str,
    resource: str,
    namespace: str | None,
    **kwargs: Any,
) -> list[SubjectAccess]:
    """One-shot `RbacPolicy(objects).who_can(...)`."""
    return RbacPolicy(objects).who_can(verb, resource, namespace, **kwargs)
