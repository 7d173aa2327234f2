"""Reading Role/ClusterRole/RoleBinding/ClusterRoleBinding manifests, refusing malformed ones
with an RbacError that names the object and the field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import RBAC_GROUP, RbacError, Rule, Subject, _ns_name


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
