"""Reading a plan: resources, their inputs, paths into them, and their Pulumi parents.

A plan is a list of resource dicts shaped like the `resources` of `build/plan/<stack>.json`
(`urn`, `type`, `name`, `parent`, `inputs` with camelCase keys). Every reader here tolerates
malformed entries (a rule must report them, not crash on them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Resource = Mapping[str, Any]

SECRET = "[secret]"
"""How the plan writes a secret value; presence checks accept it, value checks cannot."""

UNKNOWN = "[unknown]"
"""What the CrossGuard adapter writes for a value unknown during preview; checks skip it."""

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(path: str) -> list[str | int]:
    """`a.b[0].c` -> ["a", "b", 0, "c"]."""
    return [int(index) if index else key for key, index in _PATH_PART.findall(path)]


def is_unknown(value: Any) -> bool:
    """True for the preview placeholder; such values are skipped, not judged."""
    return isinstance(value, str) and value == UNKNOWN


def as_list(value: Any) -> list[Any]:
    """A list value as a list; anything else (a string, a map, None) as []."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str | bytes) else []


def get(obj: Any, path: str | Sequence[str | int]) -> Any:
    """Value at a camelCase path like `nodeConfig.shieldedInstanceConfig.enableSecureBoot` or
    `spec.rules[0].values`; None when any step is missing or of the wrong shape (= unset).
    A tuple path is taken literally (for keys that contain dots). Crossing an unknown value
    yields UNKNOWN."""
    parts = split_path(path) if isinstance(path, str) else list(path)
    node = obj
    for part in parts:
        if is_unknown(node):
            return UNKNOWN
        if isinstance(part, int):
            items = as_list(node)
            node = items[part] if 0 <= part < len(items) else None
        elif isinstance(node, Mapping):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def type_of(resource: Resource) -> str:
    """The Pulumi type token, or "" for a malformed entry (never raises)."""
    value = resource.get("type")
    return value if isinstance(value, str) else ""


def inputs_of(resource: Resource) -> Mapping[str, Any]:
    """The inputs map, or {} for a malformed entry (never raises)."""
    value = resource.get("inputs")
    return value if isinstance(value, Mapping) else {}


def of_type(resources: Iterable[Resource], *tokens: str) -> list[Resource]:
    """The resources whose type is one of `tokens`, in plan order."""
    return [r for r in resources if type_of(r) in tokens]


def is_stack_urn(urn: Any) -> bool:
    """The stack resource (or a missing parent): the root every resource hangs from."""
    return not isinstance(urn, str) or "::pulumi:pulumi:Stack::" in urn


def same_component(resource: Resource, other: Resource) -> bool:
    """`other` is `resource`'s Pulumi parent, or both share a component parent (the stack
    itself does not count)."""
    parent = resource.get("parent")
    if parent == other.get("urn"):
        return True
    return parent == other.get("parent") and not is_stack_urn(parent)


def label(resource: Resource) -> str:
    """`<type> "<name>"`: how every message names the offending resource."""
    return f'{type_of(resource)} "{resource.get("name", "")}"'


def show(value: Any, limit: int = 120) -> str:
    """A value as it appears in a message: JSON, or `unset`; long values are shortened."""
    if value is None:
        return "unset"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
