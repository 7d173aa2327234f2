"""Run Gatekeeper `suite.yaml` files (the format `gator verify` reads) offline, on OPA.

Schema (`test.gatekeeper.sh/v1alpha1` Suite, gatekeeper `pkg/gator/verify`): `tests[]` with
`template`, `constraint` (paths relative to the suite) and `cases[]`; each case has an `object`
file and `assertions[]`. An assertion's `violations` is "yes" (at least one matching violation,
the default), "no" (none) or an integer (exactly that many); `message`, when set, is a regular
expression searched in each violation's message and restricts which violations match.

The template file is the directory's generated `template.yaml` (Rego inline, the manifest the
stack deploys; a test keeps it equal to the assembly from `src.rego` and `lib/`), read as is.
Everything is evaluated by `policy.admission` on OPA.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components import gatekeeper_policy as gk
from policy import admission

SUITE_API_VERSION = "test.gatekeeper.sh/v1alpha1"
_TEST_KEYS = {"name", "template", "constraint", "cases"}
_CASE_KEYS = {"name", "object", "assertions"}
_ASSERTION_KEYS = {"violations", "message"}


class SuiteError(ValueError):
    """A suite file the runner cannot read as `gator verify` would (names file and key)."""


@dataclass(frozen=True)
class CaseResult:
    suite: str
    test: str
    case: str
    failures: tuple[str, ...]
    messages: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failures


def _load(path: Path) -> Any:
    if not path.is_file():
        raise SuiteError(f"{path}: file not found")
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise SuiteError(f"{path}: expected exactly one YAML mapping, found {len(docs)} documents")
    return docs[0]


def _check_keys(where: str, mapping: Any, allowed: set[str]) -> None:
    if not isinstance(mapping, dict):
        raise SuiteError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise SuiteError(f"{where}: keys {unknown} are not supported (known: {sorted(allowed)})")


def _template(path: Path) -> dict[str, Any]:
    """The template file as gator reads it: a full ConstraintTemplate with its Rego inline."""
    manifest = _load(path)
    targets = (manifest.get("spec") or {}).get("targets") or [{}]
    if not isinstance(targets[0].get("rego"), str):
        raise SuiteError(f"{path}: spec.targets[0].rego is missing; gator needs the Rego inline")
    return manifest


def assertion_failure(assertion: dict[str, Any], messages: list[str]) -> str | None:
    """Why `assertion` does not hold for these violation messages (None when it holds)."""
    expected = assertion.get("violations", "yes")
    pattern = assertion.get("message")
    matching = [m for m in messages if pattern is None or re.search(pattern, m)]
    about = f" matching {pattern!r}" if pattern is not None else ""
    if expected == "yes":
        ok = len(matching) > 0
    elif expected == "no":
        ok = not matching
    elif isinstance(expected, int) and not isinstance(expected, bool) and expected >= 0:
        ok = len(matching) == expected
    else:
        raise SuiteError(f"assertion violations: {expected!r} is not 'yes', 'no' or an integer")
    if ok:
        return None
    return f"expected violations: {expected}{about}, got {len(matching)}"


def run_suite(
    path: Path, rendered: Mapping[str, tuple[dict[str, Any], dict[str, Any]]] | None = None
) -> list[CaseResult]:
    """Every case of the suite at `path`, evaluated; failures are reported, not raised.

    `rendered` (constraint kind -> (template, constraint)) swaps in what a stack renders for the
    sample namespace, so the stack's own constraints are held to the same samples.
    """
    suite = _load(path)
    if suite.get("kind") != "Suite" or suite.get("apiVersion") != SUITE_API_VERSION:
        raise SuiteError(f"{path}: expected kind Suite, apiVersion {SUITE_API_VERSION}")
    name = (suite.get("metadata") or {}).get("name", path.parent.name)
    tests = suite.get("tests")
    if not isinstance(tests, list) or not tests:
        raise SuiteError(f"{path}: 'tests' must be a non-empty list")
    results = []
    for i, test in enumerate(tests):
        where = f"{path}: tests[{i}]"
        _check_keys(where, test, _TEST_KEYS)
        template = _template(path.parent / test["template"])
        constraint = _load(path.parent / test["constraint"])
        if rendered is not None:
            if constraint.get("kind") not in rendered:
                raise SuiteError(f"{where}: the stack renders no {constraint.get('kind')} here")
            template, constraint = rendered[constraint["kind"]]
        for j, case in enumerate(test.get("cases") or []):
            _check_keys(f"{where}.cases[{j}]", case, _CASE_KEYS)
            obj = _load(path.parent / case["object"])
            denials = admission.evaluate(obj, [template], [constraint])
            messages = [d.message for d in denials]
            failures = []
            for k, assertion in enumerate(case.get("assertions") or [{}]):
                _check_keys(f"{where}.cases[{j}].assertions[{k}]", assertion, _ASSERTION_KEYS)
                failure = assertion_failure(assertion, messages)
                if failure:
                    failures.append(f"assertions[{k}]: {failure}")
            results.append(
                CaseResult(
                    name, str(test.get("name", i)), case["name"], tuple(failures), tuple(messages)
                )
            )
    return results


def suite_paths(root: Path = gk.POLICY_ROOT) -> list[Path]:
    """The suite.yaml of every template directory under `root`."""
    return sorted(p / "suite.yaml" for p in root.iterdir() if (p / gk.SOURCE_FILE).is_file())
