"""Offline Gatekeeper: decide what the cluster's admission webhook would deny, without a cluster.

`evaluate(obj, templates, constraints)` does what Gatekeeper's validating webhook does for one
request: pick the Constraints whose `spec.match` covers the object, build Gatekeeper's input
(`input.review` like an AdmissionReview request, `input.parameters` from the Constraint) and
evaluate the template's Rego `violation` set with OPA, in process. The templates and
constraints are the very manifests the stack deploys (`components.gatekeeper_policy`).

Match semantics follow Gatekeeper's documented matchers: kinds (apiGroups x kinds, "*" wildcard,
empty = all), scope, namespaces / excludedNamespaces (prefix or suffix "*" glob; a Namespace
object is matched by its own name; other cluster-scoped objects are never disqualified by them),
name (same glob), labelSelector and namespaceSelector (the latter needs `namespace_labels`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_VIOLATION_RULE_RE = re.compile(r"^violation\b", re.MULTILINE)
_PACKAGE_RE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$", re.MULTILINE)
BLOCKING_ACTIONS = frozenset({"deny"})
DEFAULT_USER: Mapping[str, Any] = {
    "username": "bob@example.com",
    "groups": ["system:authenticated"],
}


class AdmissionError(ValueError):
    """Inputs the simulator cannot evaluate: malformed manifests, unknown kinds, Rego errors."""


@dataclass(frozen=True)
class Denial:
    """One violation reported by one Constraint (what `kubectl` would print after "denied")."""

    constraint: str
    kind: str
    message: str
    enforcement_action: str = "deny"

    def __str__(self) -> str:
        return f"[{self.constraint}] {self.message}"


class RegoModules:
    """A set of Rego modules loaded into one OPA engine, then evaluated at named entrypoints.

    The engine is OPA itself (the Go library Gatekeeper embeds, from the
    `opa-golib-python-bindings` wheel), so `not` over an undefined value, sets and built-ins
    behave as on the cluster. Modules are parsed when added and compiled once, on the first
    evaluation (done here, so a type error surfaces at construction); later evaluations reuse
    the prepared query. Entrypoints are rule paths with "/" separators,
    e.g. "sandboxseccomp/violation". Engine errors become `AdmissionError` naming file and line.
    """

    def __init__(self, modules: Mapping[str, str], entrypoints: Sequence[str]) -> None:
        from opa_bindings.engine import OpaEngine, OpaError

        if not entrypoints:
            raise AdmissionError("RegoModules needs at least one entrypoint to compile")
        self._engine = OpaEngine()
        self._error = OpaError
        self.entrypoints = tuple(entrypoints)
        try:
            for name, source in modules.items():
                self._engine.add_policy(name, source)
            # Compiling happens on the first query: force it so errors name the modules now.
            self._engine.eval_query("true")
        except OpaError as exc:
            raise AdmissionError(f"Rego does not compile: {describe_engine_error(exc)}") from exc

    def evaluate(self, entrypoint: str, input_doc: Any = None) -> tuple[bool, Any]:
        """(defined, value) of the rule at `entrypoint` for `input_doc`."""
        if entrypoint not in self.entrypoints:
            raise AdmissionError(
                f"{entrypoint!r} was not compiled; known entrypoints: {list(self.entrypoints)}"
            )
        query = "data." + entrypoint.replace("/", ".")
        try:
            rows = self._engine.eval_query(
                f"x := {query}", input_doc if input_doc is not None else {}
            )
        except self._error as exc:
            raise AdmissionError(
                f"Rego evaluation of {entrypoint} failed: {describe_engine_error(exc)}"
            ) from exc
        if not rows:
            return False, None
        if len(rows) != 1 or "x" not in rows[0]:
            raise AdmissionError(f"Rego evaluation of {entrypoint} returned {rows!r:.200}")
        return True, rows[0]["x"]

    def evaluate_each(self, entrypoint: str, input_docs: Sequence[Any]) -> list[Any]:
        """The value of the rule at `entrypoint` for each input, in one query (a comprehension
        with `with input as`): one call into the engine instead of one per input."""
        if entrypoint not in self.entrypoints:
            raise AdmissionError(
                f"{entrypoint!r} was not compiled; known entrypoints: {list(self.entrypoints)}"
            )
        if not input_docs:
            return []
        query = "data." + entrypoint.replace("/", ".")
        try:
            rows = self._engine.eval_query(
                f"x := [v | some i; d := input.batch[i]; v := {query} with input as d]",
                {"batch": list(input_docs)},
            )
        except self._error as exc:
            raise AdmissionError(
                f"Rego evaluation of {entrypoint} failed: {describe_engine_error(exc)}"
            ) from exc
        if len(rows) != 1 or not isinstance(rows[0].get("x"), list):
            raise AdmissionError(f"Rego evaluation of {entrypoint} returned {rows!r:.200}")
        values = rows[0]["x"]
        if len(values) != len(input_docs):
            # an input whose rule is undefined drops out of the comprehension
            raise AdmissionError(
                f"Rego evaluation of {entrypoint} is undefined for some inputs "
                f"({len(values)} results for {len(input_docs)} inputs)"
            )
        return values


def describe_engine_error(exc: Exception) -> str:
    """OPA's error text ("file:line: rego_type_error: ...") on one line, at most 500 characters."""
    message = getattr(exc, "message", None) or str(exc)
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return " ".join(lines)[:500] if lines else "unknown engine error"


def rego_package(source: str) -> str:
    """The package a module declares; Gatekeeper evaluates `data.<package>.violation`."""
    found = _PACKAGE_RE.findall(source)
    if len(found) != 1:
        raise AdmissionError(
            f"expected exactly one 'package' line in Rego source, found {len(found)}"
        )
    return found[0]


_COMPILED: dict[str, RegoModules] = {}


def _compiled(template: Mapping[str, Any]) -> tuple[RegoModules, str]:
    """The template's Rego (with its libs) compiled once per distinct source, and its package."""
    name = template.get("metadata", {}).get("name", "<unnamed template>")
    targets = template.get("spec", {}).get("targets") or []
    if (
        len(targets) != 1
        or not isinstance(targets[0], Mapping)
        or not isinstance(targets[0].get("rego"), str)
    ):
        raise AdmissionError(f"ConstraintTemplate {name}: expected one target with a 'rego' string")
    rego: str = targets[0]["rego"]
    libs = targets[0].get("libs") or []
    if not isinstance(libs, list) or not all(isinstance(lib, str) for lib in libs):
        raise AdmissionError(f"ConstraintTemplate {name}: 'libs' must be a list of Rego sources")
    if not _VIOLATION_RULE_RE.search(rego):
        # Gatekeeper refuses such a template; offline it would silently admit everything
        raise AdmissionError(f"ConstraintTemplate {name}: Rego defines no 'violation' rule")
    key = hashlib.sha256(json.dumps([rego, libs]).encode()).hexdigest()
    if key not in _COMPILED:
        modules = {f"{name}.lib{i}.rego": lib for i, lib in enumerate(libs)}
        modules[f"{name}.rego"] = rego
        entrypoint = rego_package(rego).replace(".", "/") + "/violation"
        _COMPILED[key] = RegoModules(modules, [entrypoint])
    return _COMPILED[key], rego_package(rego)


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _glob_match(pattern: str, value: str) -> bool:
    """Gatekeeper's wildcard: '*' at the front and/or end of a pattern; otherwise exact."""
    if pattern == "*":
        return True
    if pattern.startswith("*") and pattern.endswith("*") and len(pattern) > 1:
        return pattern[1:-1] in value
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return pattern == value


def label_selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Kubernetes LabelSelector semantics: matchLabels AND every matchExpression; {} selects all."""
    if selector is None:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), list(expr.get("values") or [])
        if op == "In":
            ok = key in labels and labels[key] in values
        elif op == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif op == "Exists":
            ok = key in labels
        elif op == "DoesNotExist":
            ok = key not in labels
        else:
            raise AdmissionError(
                f"label selector operator {op!r} is not one of In, NotIn, Exists, DoesNotExist"
            )
        if not ok:
            return False
    return True


def constraint_matches(
    constraint: Mapping[str, Any],
    obj: Mapping[str, Any],
    *,
    namespace: str | None,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> bool:
    """Whether `constraint.spec.match` selects `obj` (in `namespace`, None for cluster scope)."""
    match = (constraint.get("spec") or {}).get("match") or {}
    group, _ = _split_api_version(str(obj.get("apiVersion", "")))
    kind = obj.get("kind", "")
    meta = obj.get("metadata") or {}
    is_namespace_obj = kind == "Namespace" and group == ""
    kinds = match.get("kinds") or []
    if kinds and not any(
        (not k.get("kinds") or "*" in k["kinds"] or kind in k["kinds"])
        and (not k.get("apiGroups") or "*" in k["apiGroups"] or group in k["apiGroups"])
        for k in kinds
    ):
        return False
    scope = match.get("scope", "*")
    if scope not in ("*", "Cluster", "Namespaced"):
        raise AdmissionError(
            f"Constraint {_cname(constraint)}: spec.match.scope {scope!r} is not '*', 'Cluster' or 'Namespaced'"
        )
    if scope == "Cluster" and namespace:
        return False
    if scope == "Namespaced" and not namespace:
        return False
    ns_for_match = meta.get("name", "") if is_namespace_obj else namespace
    if ns_for_match:
        if match.get("namespaces") and not any(
            _glob_match(p, ns_for_match) for p in match["namespaces"]
        ):
            return False
        if any(_glob_match(p, ns_for_match) for p in match.get("excludedNamespaces") or []):
            return False
    if match.get("name") and not _glob_match(match["name"], meta.get("name", "")):
        return False
    if "labelSelector" in match and not label_selector_matches(
        match["labelSelector"], meta.get("labels") or {}
    ):
        return False
    if "namespaceSelector" in match:
        if is_namespace_obj:
            ns_labels: Mapping[str, str] = meta.get("labels") or {}
        elif not namespace:
            return True
        elif namespace_labels is None or namespace not in namespace_labels:
            raise AdmissionError(
                f"Constraint {_cname(constraint)} uses namespaceSelector; pass namespace_labels with the labels of {namespace!r}"
            )
        else:
            ns_labels = namespace_labels[namespace]
        if not label_selector_matches(match["namespaceSelector"], ns_labels):
            return False
    return True


def _cname(constraint: Mapping[str, Any]) -> str:
    return f"{constraint.get('kind', '<kind?>')}/{(constraint.get('metadata') or {}).get('name', '<name?>')}"


def _templates_by_kind(templates: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    by_kind: dict[str, Mapping[str, Any]] = {}
    for t in templates:
        try:
            kind = t["spec"]["crd"]["spec"]["names"]["kind"]
        except (KeyError, TypeError) as exc:
            raise AdmissionError(
                f"ConstraintTemplate {t.get('metadata', {}).get('name', '<unnamed>')}: missing spec.crd.spec.names.kind"
            ) from exc
        if kind in by_kind:
            raise AdmissionError(f"two ConstraintTemplates define kind {kind}")
        by_kind[kind] = t
    return by_kind


_VALID_PARAMETERS: set[str] = set()


def validate_parameters(constraint: Mapping[str, Any], template: Mapping[str, Any]) -> None:
    """Reject parameters the Constraint CRD's schema would reject (the API server checks this).

    Results are remembered per (schema, parameters) so repeated evaluations stay cheap.
    """
    import jsonschema

    crd_spec = ((template.get("spec") or {}).get("crd") or {}).get("spec") or {}
    schema = (crd_spec.get("validation") or {}).get("openAPIV3Schema")
    if not schema:
        return
    params = (constraint.get("spec") or {}).get("parameters", {})
    key = hashlib.sha256(json.dumps([schema, params], sort_keys=True).encode()).hexdigest()
    if key in _VALID_PARAMETERS:
        return
    try:
        jsonschema.validate(params, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "<root>"
        raise AdmissionError(
            f"Constraint {_cname(constraint)}: spec.parameters/{where}: {exc.message}"
        ) from exc
    _VALID_PARAMETERS.add(key)


def build_review(
    obj: Mapping[str, Any],
    *,
    operation: str = "CREATE",
    user: Mapping[str, Any] | None = None,
    namespace: str | None = None,
    old_object: Mapping[str, Any] | None = None,
    sub_resource: str | None = None,
) -> dict[str, Any]:
    """Gatekeeper's `input.review` for an admission request carrying `obj`."""
    group, version = _split_api_version(str(obj.get("apiVersion", "")))
    meta = obj.get("metadata") or {}
    review: dict[str, Any] = {
        "uid": str(uuid.UUID(int=0)),
        "kind": {"group": group, "version": version, "kind": obj.get("kind", "")},
        "name": meta.get("name", ""),
        "operation": operation,
        "userInfo": dict(user if user is not None else DEFAULT_USER),
        "object": None if operation == "DELETE" else obj,
        "oldObject": obj if operation == "DELETE" else old_object,
        "dryRun": False,
    }
    if namespace:
        review["namespace"] = namespace
    if sub_resource:
        review["subResource"] = sub_resource
    return review


def _violations(
    template: Mapping[str, Any], constraint: Mapping[str, Any], review: Any, action: str
) -> list[Denial]:
    """The template's `violation` set for one matched constraint, as Denials."""
    kind, name = constraint["kind"], constraint["metadata"]["name"]
    validate_parameters(constraint, template)
    engine, package = _compiled(template)
    input_doc = {
        "review": review,
        "parameters": (constraint.get("spec") or {}).get("parameters", {}),
    }
    defined, violations = engine.evaluate(package.replace(".", "/") + "/violation", input_doc)
    if not defined:
        return []
    if not isinstance(violations, list):
        raise AdmissionError(
            f"ConstraintTemplate {kind}: 'violation' must be a set of objects, got {type(violations).__name__}"
        )
    out = []
    for v in violations:
        if not isinstance(v, Mapping) or not isinstance(v.get("msg"), str):
            raise AdmissionError(f"ConstraintTemplate {kind}: violation {v!r} has no string 'msg'")
        out.append(Denial(constraint=name, kind=kind, message=v["msg"], enforcement_action=action))
    return out


def messages_for_each(
    template: Mapping[str, Any],
    constraint: Mapping[str, Any],
    objects: Sequence[Mapping[str, Any]],
) -> list[list[str] | None]:
    """For each object (a CREATE by the default user, in its own namespace), the violation
    messages of one template under one constraint, or None where the constraint does not
    select the object; all objects in one OPA query. For judging many objects against one
    template (the known-bad corpus), where `evaluate` would query once per object."""
    validate_parameters(constraint, template)
    engine, package = _compiled(template)
    kind = constraint.get("kind", "<kind?>")
    params = (constraint.get("spec") or {}).get("parameters", {})
    selected: list[int] = []
    docs: list[dict[str, Any]] = []
    for i, obj in enumerate(objects):
        ns = (obj.get("metadata") or {}).get("namespace") or None
        if constraint_matches(constraint, obj, namespace=ns):
            selected.append(i)
            docs.append({"review": build_review(obj, namespace=ns), "parameters": params})
    values = engine.evaluate_each(package.replace(".", "/") + "/violation", docs)
    out: list[list[str] | None] = [None] * len(objects)
    for i, violations in zip(selected, values, strict=True):
        if not isinstance(violations, list):
            raise AdmissionError(
                f"ConstraintTemplate {kind}: 'violation' must be a set of objects, got {type(violations).__name__}"
            )
        messages = []
        for v in violations:
            if not isinstance(v, Mapping) or not isinstance(v.get("msg"), str):
                raise AdmissionError(
                    f"ConstraintTemplate {kind}: violation {v!r} has no string 'msg'"
                )
            messages.append(v["msg"])
        out[i] = sorted(messages)
    return out


def evaluate(
    obj: Mapping[str, Any],
    templates: Sequence[Mapping[str, Any]],
    constraints: Sequence[Mapping[str, Any]],
    *,
    operation: str = "CREATE",
    user: Mapping[str, Any] | None = None,
    namespace: str | None = None,
    namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
    old_object: Mapping[str, Any] | None = None,
    sub_resource: str | None = None,
    include_non_blocking: bool = False,
) -> list[Denial]:
    """Every violation Gatekeeper would report for this request, sorted by constraint and message.

    Only `enforcementAction: deny` constraints block a request; `warn`/`dryrun` ones are reported
    only with `include_non_blocking=True` (their Denial carries the action). `namespace` defaults
    to the object's metadata.namespace; `user` is the requester's userInfo.
    """
    if operation not in ("CREATE", "UPDATE", "DELETE", "CONNECT"):
        raise AdmissionError(f"operation {operation!r} is not CREATE, UPDATE, DELETE or CONNECT")
    if not isinstance(obj, Mapping) or not obj.get("kind") or not obj.get("apiVersion"):
        raise AdmissionError("object under review must be a manifest with apiVersion and kind")
    ns = (
        namespace if namespace is not None else (obj.get("metadata") or {}).get("namespace") or None
    )
    by_kind = _templates_by_kind(templates)
    review = build_review(
        obj,
        operation=operation,
        user=user,
        namespace=ns,
        old_object=old_object,
        sub_resource=sub_resource,
    )
    denials: list[Denial] = []
    for constraint in constraints:
        kind = constraint.get("kind")
        name = (constraint.get("metadata") or {}).get("name")
        if not kind or not name:
            raise AdmissionError(
                f"Constraint without kind or metadata.name: {json.dumps(constraint)[:120]}"
            )
        if kind not in by_kind:
            raise AdmissionError(
                f"Constraint {kind}/{name}: no ConstraintTemplate defines kind {kind}"
            )
        action = (constraint.get("spec") or {}).get("enforcementAction", "deny")
        if action not in BLOCKING_ACTIONS and not include_non_blocking:
            continue
        if not constraint_matches(constraint, obj, namespace=ns, namespace_labels=namespace_labels):
            continue
        denials += _violations(by_kind[kind], constraint, review, action)
    return sorted(denials, key=lambda d: (d.kind, d.constraint, d.message))


def admitted(denials: Iterable[Denial]) -> bool:
    """True when none of the denials blocks the request."""
    return not any(d.enforcement_action in BLOCKING_ACTIONS for d in denials)


def gatekeeper_rules(
    objects: Iterable[Mapping[str, Any]],
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """(ConstraintTemplates, Constraints) among a stack's rendered objects (build/manifests or
    the plan's Kubernetes objects), ready for `evaluate`."""
    objects = list(objects)
    templates = [o for o in objects if o.get("kind") == "ConstraintTemplate"]
    constraints = [
        o for o in objects if str(o.get("apiVersion", "")).startswith("constraints.gatekeeper.sh/")
    ]
    return templates, constraints
