"""The rule model: a named rule, what it found, and running it closed (a crash fails the rule).

Also the message helpers every check shares, so messages read the same everywhere:
`<type> "<name>": <path> is <value>; <requirement>`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

from .plan import Resource, get, inputs_of, is_unknown, label, show, type_of

Check = Callable[[Sequence[Resource]], Iterable["Violation"]]


class Severity(StrEnum):
    """How bad a failure is; every failure fails the review, severity orders the work."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Status(StrEnum):
    """Outcome of one rule over one plan."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class Violation:
    """One broken property: which rule, which resource (URN) and a message naming path and value."""

    rule: str
    urn: str
    message: str


_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """A named concern with the resource types it judges and the function that judges them.

    `applies_to` holds Pulumi type tokens; an entry containing `*` is a case-sensitive
    `fnmatch` pattern (used for "every IAM member/binding/policy type of the gcp provider").
    `check` receives the whole plan because several concerns span resources (an IAM grant and
    the Workload Identity binding that makes it acceptable).
    """

    name: str
    description: str
    severity: Severity
    remediation: str
    applies_to: tuple[str, ...]
    check: Check

    def __post_init__(self) -> None:
        if not _KEBAB.match(self.name):
            raise ValueError(f"rule name {self.name!r} is not kebab-case")
        if not isinstance(self.severity, Severity):
            raise TypeError(f"rule {self.name}: severity must be a Severity, got {self.severity!r}")
        if not self.applies_to:
            raise ValueError(f"rule {self.name}: applies_to must name at least one type token")

    def applies(self, type_token: str) -> bool:
        """True when resources of this type are judged by the rule."""
        return matches(type_token, self.applies_to)

    def run(self, resources: Sequence[Resource]) -> RuleResult:
        """Judge one plan. A crash inside a check fails the rule (closed), naming the error."""
        if not any(self.applies(type_of(r)) for r in resources):
            return RuleResult(self, Status.NOT_APPLICABLE, ())
        try:
            found = [
                v if v.rule == self.name else replace(v, rule=self.name)
                for v in self.check(resources)
            ]
        except Exception as exc:  # a rule bug must not pass silently
            found = [
                Violation(
                    self.name,
                    "",
                    f"internal error in rule {self.name}: {type(exc).__name__}: {exc}",
                )
            ]
        unique = tuple(dict.fromkeys(found))
        return RuleResult(self, Status.FAIL if unique else Status.PASS, unique)


@dataclass(frozen=True)
class RuleResult:
    """What one rule found in one plan."""

    rule: Rule
    status: Status
    violations: tuple[Violation, ...]


@lru_cache(maxsize=4096)
def matches(type_token: str, entries: tuple[str, ...]) -> bool:
    """Whether a type token is one of `entries` (or matches a `*` pattern among them). Cached:
    plans repeat a few dozen type tokens thousands of times."""
    return any(
        fnmatchcase(type_token, entry) if "*" in entry else type_token == entry for entry in entries
    )


class UnknownRuleError(ValueError):
    """A rule name that is not in the rule set; the message lists the known names."""


def assert_unique(rules: Sequence[Rule]) -> None:
    """Rule names identify rules in reports, `--rule` and the CrossGuard pack: no duplicates."""
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ValueError(f"duplicate rule name {rule.name!r}")
        seen.add(rule.name)


# ------------------------------------------------------------------------- writing messages
def violation(rule: str, resource: Resource, text: str) -> Violation:
    """A violation whose message starts with the resource's type and name."""
    return Violation(rule, str(resource.get("urn", "")), f"{label(resource)}: {text}")


def expect(
    rule: str, resource: Resource, path: str, ok: Callable[[Any], bool], requirement: str
) -> Violation | None:
    """None when the input at `path` satisfies `ok` (or is unknown), else a violation reading
    `<type> "<name>": <path> is <value>; <requirement>`."""
    value = get(inputs_of(resource), path)
    if is_unknown(value) or ok(value):
        return None
    return violation(rule, resource, f"{path} is {show(value)}; {requirement}")


def present(items: Iterable[Violation | None]) -> Iterator[Violation]:
    """The violations among `expect` results (dropping the Nones)."""
    return (item for item in items if item is not None)


# ------------------------------------------------------------------------- predicates
def is_true(value: Any) -> bool:
    """Booleans must be literally true; "true" strings or 1 do not count."""
    return value is True


def not_true(value: Any) -> bool:
    """Unset or false (a flag that must not be on)."""
    return value is not True


def not_false(value: Any) -> bool:
    """Unset or true (a flag whose default is on and must not be turned off)."""
    return value is not False


def equals(expected: str) -> Callable[[Any], bool]:
    """A predicate for one exact value."""
    return lambda value: value == expected


def one_of(value: Any, options: Iterable[str]) -> bool:
    """Membership that tolerates malformed (unhashable) input values instead of raising."""
    return isinstance(value, str) and value in options


def nonempty_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0


def nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def truthy_flag(value: Any) -> bool:
    """Org policy flags are the strings "TRUE"/"FALSE"; accept a real bool as well."""
    return value is True or (isinstance(value, str) and value.strip().upper() == "TRUE")
