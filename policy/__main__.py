"""CrossGuard policy pack `gke-sandbox`: every rule of `policy.rules` as a mandatory stack policy.

`pulumi preview --policy-pack policy` runs this file as `__main__`; only then is the
`PolicyPack` built, because building it starts the analyzer's gRPC server and blocks. Tests and
tools import `policy.__main__` and use `build_policies()` / `resource_dict()` instead.

Each policy converts the engine's resources (`resource_type`, `props`, `urn`, `name`, `parent`)
into the plan-shaped dicts the rules read, so `python -m infra review` and this pack judge
with the same functions. Values Pulumi cannot know during a preview become `rules.UNKNOWN`,
which the rules skip; stack policies run again after `pulumi up` with known values.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi
from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    PolicyResource,
    ReportViolation,
    Secret,
    Severity,
    StackValidation,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

PACK_NAME = "gke-sandbox"
_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)


def _load_rules() -> ModuleType:
    """`policy.rules`. When the Pulumi analyzer runs this directory as a program (no package),
    the repository root (the parent of `policy/`) goes on `sys.path` first: the rules import
    `policy.facts` and `harness.contract`, so the pack runs from a checkout of this repository."""
    if not __package__:
        root = str(Path(__file__).resolve().parent.parent)
        if root not in sys.path:
            sys.path.insert(0, root)
    return importlib.import_module("policy.rules")


rules = _load_rules()


def to_plain(value: Any) -> Any:
    """Engine property values as plain JSON-like data shaped like the offline plan: proxies
    unwrapped, `Secret` wrappers as `rules.SECRET`, unknowns as `rules.UNKNOWN`, assets as
    `{"asset": <path|uri>}`. (The SDK's stack analysis hands over secret values already
    unwrapped; the rules print only security settings, roles, members and images.)"""
    if isinstance(value, str):
        return rules.UNKNOWN if value in _UNKNOWN_SENTINELS else value
    if isinstance(value, Secret):
        return rules.SECRET
    if isinstance(value, pulumi.Asset | pulumi.Archive):
        where = getattr(value, "path", None) or getattr(value, "uri", None)
        return {"asset": where if isinstance(where, str) else "(inline)"}
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in list(value):
            try:
                out[str(key)] = to_plain(value[key])
            except UnknownValueError:
                out[str(key)] = rules.UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(to_plain(value[index]))
            except UnknownValueError:
                items.append(rules.UNKNOWN)
        return items
    return value


def resource_dict(resource: PolicyResource) -> dict[str, Any]:
    """One engine resource in the plan shape (`urn`, `type`, `name`, `parent`, `inputs`,
    `dependencies`, `protect`), so the pack's rules see what the offline review sees: the plan
    records the union of a request's dependencies and property dependencies, sorted."""
    parent = getattr(resource, "parent", None)
    waits_for = {d.urn for d in getattr(resource, "dependencies", None) or []}
    for deps in (getattr(resource, "property_dependencies", None) or {}).values():
        waits_for.update(d.urn for d in deps)
    opts = getattr(resource, "opts", None)
    return {
        "urn": resource.urn,
        "type": resource.resource_type,
        "name": resource.name,
        "parent": parent.urn if parent is not None else None,
        "inputs": to_plain(resource.props) if resource.props is not None else {},
        "dependencies": sorted(waits_for),
        "protect": bool(getattr(opts, "protect", False)),
    }


def make_validate(rule: Any) -> StackValidation:
    """The stack validation for one rule: same check as the offline review."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [resource_dict(r) for r in args.resources]
        result = rule.run(resources)
        if result.status == rules.Status.NOT_APPLICABLE:
            args.not_applicable(f"the stack has no resource of the types {rule.name} judges")
            return
        for found in result.violations:
            report_violation(f"{found.message}\nremediation: {rule.remediation}", found.urn or None)

    return validate


def build_policies(rule_set: Sequence[Any] | None = None) -> list[StackValidationPolicy]:
    """One mandatory StackValidationPolicy per rule (default: every rule in `rules.RULES`)."""
    return [
        StackValidationPolicy(
            name=rule.name,
            description=rule.description,
            validate=make_validate(rule),
            enforcement_level=EnforcementLevel.MANDATORY,
            severity=Severity(str(rule.severity)),
            remediation_steps=rule.remediation,
        )
        for rule in (rules.RULES if rule_set is None else rule_set)
    ]


def main() -> None:
    """Serve the pack to the Pulumi engine (blocks until the engine stops it)."""
    PolicyPack(
        name=PACK_NAME,
        enforcement_level=EnforcementLevel.MANDATORY,
        policies=build_policies(),
        description="gke-sandbox security rules; the same rules as `python -m infra review`.",
    )


if __name__ == "__main__":
    main()
