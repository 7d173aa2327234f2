"""RBAC vocabulary: identities, subjects, rules, grants, decisions and errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ALL_SERVICE_ACCOUNTS = "system:serviceaccounts"

# Verbs an API server understands for resources (the standard ones and the special RBAC/certificate ones).
RESOURCE_VERBS: tuple[str, ...] = (
    "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
    "bind", "escalate", "impersonate", "approve", "sign", "use",
)  # fmt: skip


class RbacError(ValueError):
    """A malformed RBAC manifest or request; the message names the object and field."""


@dataclass(frozen=True)
class UserInfo:
    """The identity a request is authorized as: what the authenticator hands to the authorizer."""

    username: str
    groups: frozenset[str] = frozenset()

    @classmethod
    def user(cls, name: str, groups: Iterable[str] = ()) -> UserInfo:
        """An authenticated human or robot user (gains system:authenticated)."""
        return cls(name, frozenset(groups) | {AUTHENTICATED})

    @classmethod
    def service_account(cls, namespace: str, name: str) -> UserInfo:
        """A Kubernetes service account as the API server authenticates its tokens."""
        return cls(
            f"system:serviceaccount:{namespace}:{name}",
            frozenset({ALL_SERVICE_ACCOUNTS, f"{ALL_SERVICE_ACCOUNTS}:{namespace}", AUTHENTICATED}),
        )

    @classmethod
    def anonymous(cls) -> UserInfo:
        return cls("system:anonymous", frozenset({UNAUTHENTICATED}))

    def __str__(self) -> str:
        groups = ", ".join(sorted(self.groups))
        return f"{self.username} (groups: {groups})" if groups else self.username


@dataclass(frozen=True, order=True)
class Subject:
    """A binding subject: User, Group or ServiceAccount (namespace only for ServiceAccount)."""

    kind: str
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.namespace}/{self.name}"
            if self.kind == "ServiceAccount"
            else f"{self.kind} {self.name}"
        )

    def identity(self) -> UserInfo:
        """The identity that authenticates as this subject (Groups are not identities)."""
        if self.kind == "User":
            return UserInfo.user(self.name)
        if self.kind == "ServiceAccount" and self.namespace:
            return UserInfo.service_account(self.namespace, self.name)
        raise RbacError(
            f"{self} is not an identity a request can be made as; pass a UserInfo with groups"
        )


@dataclass(frozen=True)
class Rule:
    """One PolicyRule, normalised to tuples."""

    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    def allows(self, verb: str, api_group: str, resource: str, subresource: str, name: str) -> bool:
        """Kubernetes' resource rule matching (see the module docstring)."""
        return (
            _in_or_star(verb, self.verbs)
            and _in_or_star(api_group, self.api_groups)
            and self._resource_matches(resource, subresource)
            and (not self.resource_names or name in self.resource_names)
        )

    def _resource_matches(self, resource: str, subresource: str) -> bool:
        combined = f"{resource}/{subresource}" if subresource else resource
        for pattern in self.resources:
            if pattern in ("*", combined):
                return True
            if subresource and pattern == f"*/{subresource}":
                return True
        return False

    def allows_non_resource(self, verb: str, path: str) -> bool:
        if not _in_or_star(verb, self.verbs):
            return False
        for pattern in self.non_resource_urls:
            if pattern in ("*", path):
                return True
            if pattern.endswith("*") and path.startswith(pattern.rstrip("*")):
                return True
        return False

    def __str__(self) -> str:
        parts = [f"verbs={list(self.verbs)}"]
        if self.non_resource_urls:
            parts.append(f"nonResourceURLs={list(self.non_resource_urls)}")
        else:
            parts += [f"apiGroups={list(self.api_groups)}", f"resources={list(self.resources)}"]
        if self.resource_names:
            parts.append(f"resourceNames={list(self.resource_names)}")
        return " ".join(parts)


def _in_or_star(value: str, allowed: Sequence[str]) -> bool:
    return "*" in allowed or value in allowed


@dataclass(frozen=True)
class Grant:
    """Why a request is allowed: this binding, for this subject, to this role, via this rule."""

    binding_kind: str
    binding_name: str
    binding_namespace: str | None
    subject: Subject
    role_kind: str
    role_name: str
    role_namespace: str | None
    rule_index: int
    rule: Rule
    aggregated_from: str | None = None

    def describe(self) -> str:
        binding = f"{self.binding_kind} {_ns_name(self.binding_namespace, self.binding_name)}"
        role = f"{self.role_kind} {_ns_name(self.role_namespace, self.role_name)}"
        source = (
            f" (aggregated from ClusterRole {self.aggregated_from})" if self.aggregated_from else ""
        )
        return (
            f"{binding} binds {self.subject} to {role}{source}, rule {self.rule_index}: {self.rule}"
        )


def _ns_name(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


@dataclass(frozen=True)
class Decision:
    """The answer to one access question, with every grant that allows it (empty when denied)."""

    request: str
    grants: tuple[Grant, ...]

    @property
    def allowed(self) -> bool:
        return bool(self.grants)

    def __bool__(self) -> bool:
        return self.allowed

    def explain(self) -> str:
        if not self.grants:
            return f"DENIED {self.request}: no RBAC rule allows it"
        return "\n".join(
            [f"ALLOWED {self.request}", *(f"  via {g.describe()}" for g in self.grants)]
        )


@dataclass(frozen=True, order=True)
class Access:
    """One concrete permission, for exact-set assertions: verb on group/resource[/sub] [name]."""

    verb: str
    api_group: str
    resource: str
    name: str | None = None

    def __str__(self) -> str:
        group = self.api_group or "core"
        return f"{self.verb} {group}/{self.resource}" + (f" [{self.name}]" if self.name else "")


@dataclass(frozen=True)
class SubjectAccess:
    """A subject named in some binding, and every grant through which it may make a request."""

    subject: Subject
    grants: tuple[Grant, ...]
