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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .facts import POD_SPEC_PATHS

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
class ResourceType:
    """An API resource with its subresources, for enumerating what a subject may do."""

    api_group: str
    resource: str
    namespaced: bool
    subresources: tuple[str, ...] = ()


def _rt(group: str, resource: str, namespaced: bool, *subs: str) -> ResourceType:
    return ResourceType(group, resource, namespaced, subs)


# The resources a tenant could plausibly be granted, including every subresource that runs code,
# mints credentials or proxies traffic. Extend per call with `universe=` for CRDs.
KNOWN_RESOURCES: tuple[ResourceType, ...] = (
    _rt(
        "",
        "pods",
        True,
        "attach",
        "binding",
        "ephemeralcontainers",
        "eviction",
        "exec",
        "log",
        "portforward",
        "proxy",
        "resize",
        "status",
    ),
    _rt("", "services", True, "proxy", "status"),
    _rt("", "endpoints", True),
    _rt("", "configmaps", True),
    _rt("", "secrets", True),
    _rt("", "serviceaccounts", True, "token"),
    _rt("", "events", True),
    _rt("", "persistentvolumeclaims", True, "status"),
    _rt("", "podtemplates", True),
    _rt("", "replicationcontrollers", True, "scale", "status"),
    _rt("", "resourcequotas", True, "status"),
    _rt("", "limitranges", True),
    _rt("", "bindings", True),
    _rt("", "namespaces", False, "finalize", "status"),
    _rt("", "nodes", False, "proxy", "status"),
    _rt("", "persistentvolumes", False, "status"),
    _rt("", "users", False),
    _rt("", "groups", False),
    _rt("apps", "deployments", True, "scale", "status"),
    _rt("apps", "replicasets", True, "scale", "status"),
    _rt("apps", "statefulsets", True, "scale", "status"),
    _rt("apps", "daemonsets", True, "status"),
    _rt("apps", "controllerrevisions", True),
    _rt("batch", "jobs", True, "status"),
    _rt("batch", "cronjobs", True, "status"),
    _rt("autoscaling", "horizontalpodautoscalers", True, "status"),
    _rt("policy", "poddisruptionbudgets", True, "status"),
    _rt("networking.k8s.io", "ingresses", True, "status"),
    _rt("networking.k8s.io", "networkpolicies", True),
    _rt("networking.k8s.io", "ingressclasses", False),
    _rt("discovery.k8s.io", "endpointslices", True),
    _rt("events.k8s.io", "events", True),
    _rt("coordination.k8s.io", "leases", True),
    _rt("rbac.authorization.k8s.io", "roles", True),
    _rt("rbac.authorization.k8s.io", "rolebindings", True),
    _rt("rbac.authorization.k8s.io", "clusterroles", False),
    _rt("rbac.authorization.k8s.io", "clusterrolebindings", False),
    _rt("authorization.k8s.io", "localsubjectaccessreviews", True),
    _rt("authorization.k8s.io", "selfsubjectaccessreviews", False),
    _rt("authorization.k8s.io", "selfsubjectrulesreviews", False),
    _rt("authorization.k8s.io", "subjectaccessreviews", False),
    _rt("authentication.k8s.io", "tokenreviews", False),
    _rt("authentication.k8s.io", "selfsubjectreviews", False),
    _rt("authentication.k8s.io", "userextras", False, "scopes"),
    _rt("certificates.k8s.io", "certificatesigningrequests", False, "approval", "status"),
    _rt("admissionregistration.k8s.io", "validatingwebhookconfigurations", False),
    _rt("admissionregistration.k8s.io", "mutatingwebhookconfigurations", False),
    _rt("admissionregistration.k8s.io", "validatingadmissionpolicies", False, "status"),
    _rt("admissionregistration.k8s.io", "validatingadmissionpolicybindings", False),
    _rt("apiextensions.k8s.io", "customresourcedefinitions", False, "status"),
    _rt("storage.k8s.io", "storageclasses", False),
    _rt("scheduling.k8s.io", "priorityclasses", False),
    _rt("node.k8s.io", "runtimeclasses", False),
    _rt("templates.gatekeeper.sh", "constrainttemplates", False, "status"),
    _rt("constraints.gatekeeper.sh", "*", False),
    _rt("config.gatekeeper.sh", "configs", True),
    _rt("mutations.gatekeeper.sh", "assign", False),
    _rt("mutations.gatekeeper.sh", "assignmetadata", False),
)


# Requests that get code running under a namespace's service accounts: a pod may name any service
# account of its namespace, so whoever can create or change a pod or anything that stamps out pods
# (a changed pod template rolls new pods; a changed pod image restarts the container) can run as
# any of them; ephemeral containers, exec and attach run code inside existing pods.
_POD_STAMPING = tuple(
    (group, kind.lower() + "s") for kind, (group, _) in POD_SPEC_PATHS.items()
)  # the RBAC resource of a built-in kind is its lower-case plural ("replicationcontrollers")
RUN_AS_SERVICE_ACCOUNT_REQUESTS: tuple[tuple[str, str, str], ...] = (
    *(
        (verb, group, resource)
        for group, resource in _POD_STAMPING
        for verb in ("create", "update", "patch")
    ),
    ("update", "", "pods/ephemeralcontainers"),
    ("patch", "", "pods/ephemeralcontainers"),
    ("create", "", "pods/exec"),
    ("get", "", "pods/exec"),
    ("create", "", "pods/attach"),
    ("get", "", "pods/attach"),
)


@dataclass(frozen=True)
class SubjectAccess:
    """A subject named in some binding, and every grant through which it may make a request."""

    subject: Subject
    grants: tuple[Grant, ...]


@dataclass(frozen=True)
class _Role:
    kind: str
    name: str
    namespace: str | None
    labels: Mapping[str, str]
    rules: tuple[Rule, ...]
    selectors: tuple[Mapping[str, Any], ...] | None  # aggregationRule.clusterRoleSelectors


@dataclass(frozen=True)
class _Binding:
    kind: str
    name: str
    namespace: str | None
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]


def _where(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    return f"{obj.get('kind', '<kind?>')} {_ns_name(meta.get('namespace'), meta.get('name', '<name?>'))}"


def _str_list(obj: Mapping[str, Any], value: Any, field_path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or not all(isinstance(v, str) for v in value)
    ):
        raise RbacError(f"{_where(obj)}: {field_path} must be a list of strings, got {value!r}")
    return tuple(value)


def _parse_rule(obj: Mapping[str, Any], raw: Any, index: int, *, namespaced: bool) -> Rule:
    path = f"rules[{index}]"
    if not isinstance(raw, Mapping):
        raise RbacError(f"{_where(obj)}: {path} must be a mapping, got {raw!r}")
    rule = Rule(
        verbs=_str_list(obj, raw.get("verbs"), f"{path}.verbs"),
        api_groups=_str_list(obj, raw.get("apiGroups"), f"{path}.apiGroups"),
        resources=_str_list(obj, raw.get("resources"), f"{path}.resources"),
        resource_names=_str_list(obj, raw.get("resourceNames"), f"{path}.resourceNames"),
        non_resource_urls=_str_list(obj, raw.get("nonResourceURLs"), f"{path}.nonResourceURLs"),
    )
    if not rule.verbs:
        raise RbacError(f"{_where(obj)}: {path}.verbs must list at least one verb")
    if rule.non_resource_urls:
        if namespaced:
            raise RbacError(
                f"{_where(obj)}: {path}: a Role (namespaced) cannot grant nonResourceURLs"
            )
        if rule.api_groups or rule.resources:
            raise RbacError(
                f"{_where(obj)}: {path}: a rule cannot apply to both resources and nonResourceURLs"
            )
    elif not rule.resources:
        raise RbacError(
            f"{_where(obj)}: {path}: needs resources (with apiGroups) or nonResourceURLs"
        )
    return rule


def _identity(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], str, bool, str | None]:
    """(metadata, name, namespaced, namespace) of an RBAC object; Role and RoleBinding need a
    namespace, their Cluster* counterparts never use one."""
    meta = obj.get("metadata") or {}
    if not isinstance(meta, Mapping):
        raise RbacError(f"{_where(obj)}: metadata is {type(meta).__name__}, expected a map")
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise RbacError(f"{_where(obj)}: metadata.name is required")
    namespaced = obj["kind"] in ("Role", "RoleBinding")
    namespace = meta.get("namespace") if namespaced else None
    if namespaced and not (isinstance(namespace, str) and namespace):
        raise RbacError(f"{_where(obj)}: a {obj['kind']} needs metadata.namespace (a string)")
    return meta, name, namespaced, namespace


def _parse_role(obj: Mapping[str, Any]) -> _Role:
    meta, name, namespaced, namespace = _identity(obj)
    rules = obj.get("rules") or []
    if not isinstance(rules, list):
        raise RbacError(f"{_where(obj)}: rules must be a list")
    selectors = None
    agg = obj.get("aggregationRule")
    if agg is not None:
        if namespaced:
            raise RbacError(f"{_where(obj)}: only ClusterRoles can have an aggregationRule")
        selectors = tuple((agg or {}).get("clusterRoleSelectors") or ())
        for i, sel in enumerate(selectors):
            _check_selector(obj, sel, f"aggregationRule.clusterRoleSelectors[{i}]")
    labels = meta.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise RbacError(
            f"{_where(obj)}: metadata.labels is {type(labels).__name__}, expected a map"
        )
    return _Role(
        kind=obj["kind"],
        name=name,
        namespace=namespace,
        labels=dict(labels),
        rules=tuple(_parse_rule(obj, r, i, namespaced=namespaced) for i, r in enumerate(rules)),
        selectors=selectors,
    )


_SELECTOR_OPS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


def _check_selector(obj: Mapping[str, Any], selector: Any, path: str) -> None:
    if not isinstance(selector, Mapping):
        raise RbacError(f"{_where(obj)}: {path} must be a label selector mapping, got {selector!r}")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        op = expr.get("operator") if isinstance(expr, Mapping) else None
        if op not in _SELECTOR_OPS:
            raise RbacError(
                f"{_where(obj)}: {path}.matchExpressions[{i}].operator {op!r} is not one of {sorted(_SELECTOR_OPS)}"
            )


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """metav1.LabelSelector: matchLabels AND every matchExpression; an empty selector selects all."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or ())
        present = key in labels
        if (
            (op == "In" and not (present and labels[key] in values))
            or (op == "NotIn" and present and labels[key] in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True


def _parse_binding(obj: Mapping[str, Any]) -> _Binding:
    _, name, namespaced, namespace = _identity(obj)
    ref = obj.get("roleRef")
    if (
        not isinstance(ref, Mapping)
        or not isinstance(ref.get("name"), str)
        or not ref.get("name")
        or ref.get("kind") not in ("Role", "ClusterRole")
    ):
        raise RbacError(f"{_where(obj)}: roleRef must name a Role or ClusterRole, got {ref!r}")
    if ref.get("apiGroup", RBAC_GROUP) != RBAC_GROUP:
        raise RbacError(
            f"{_where(obj)}: roleRef.apiGroup must be {RBAC_GROUP}, got {ref.get('apiGroup')!r}"
        )
    if not namespaced and ref["kind"] != "ClusterRole":
        raise RbacError(
            f"{_where(obj)}: a ClusterRoleBinding can only reference a ClusterRole, got {ref['kind']}"
        )
    listed = obj.get("subjects") or []
    if not isinstance(listed, list):
        raise RbacError(f"{_where(obj)}: subjects is {type(listed).__name__}, expected a list")
    subjects = []
    for i, raw in enumerate(listed):
        if not isinstance(raw, Mapping) or not raw.get("name"):
            raise RbacError(f"{_where(obj)}: subjects[{i}] needs a name, got {raw!r}")
        kind = raw.get("kind")
        if kind == "ServiceAccount":
            sa_ns = raw.get("namespace") or namespace
            if not sa_ns:
                raise RbacError(
                    f"{_where(obj)}: subjects[{i}] ServiceAccount {raw['name']} needs a namespace"
                )
            subjects.append(Subject("ServiceAccount", raw["name"], sa_ns))
        elif kind in ("User", "Group"):
            subjects.append(Subject(kind, raw["name"]))
        else:
            raise RbacError(
                f"{_where(obj)}: subjects[{i}].kind {kind!r} is not User, Group or ServiceAccount"
            )
    return _Binding(obj["kind"], name, namespace, ref["kind"], ref["name"], tuple(subjects))


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
