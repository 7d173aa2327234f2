"""Discover and run the Rego unit tests (`test_*` rules) of policy/gatekeeper on OPA.

Each suite is one template's src.rego + src_test.rego plus the shared library and its test-only
fixtures, compiled once into a bundle whose entrypoints are the test rules. A test passes only if
its rule is defined and true, exactly as `opa test` reports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from components import gatekeeper_policy as gk
from policy.admission import RegoModules

_TEST_RULE_RE = re.compile(r"^(test_[A-Za-z0-9_]*)\s+if\s*\{", re.MULTILINE)
_ANY_TEST_HEAD_RE = re.compile(r"^(test_[A-Za-z0-9_]*)\b", re.MULTILINE)


class RegoTestDiscoveryError(AssertionError):
    """A src_test.rego has a test rule the runner cannot trust (wrong form or duplicated name)."""


@dataclass(frozen=True)
class RegoSuite:
    """One module set and the test rules to run in it."""

    name: str
    test_file: Path
    package: str
    modules: Mapping[str, str]
    tests: tuple[str, ...]

    def entrypoint(self, test: str) -> str:
        return f"{self.package.replace('.', '/')}/{test}"


def test_rules(source: str, origin: Path) -> tuple[str, ...]:
    """The `test_*` rule names of a test module; duplicates and non-`if` heads are errors.

    Rego merges rules that share a name (their bodies are OR-ed), so a duplicated test name would
    let a passing case hide a failing one; a head without `if` would not be found reliably.
    """
    names = _TEST_RULE_RE.findall(source)
    heads = _ANY_TEST_HEAD_RE.findall(source)
    if len(heads) != len(names):
        odd = sorted(set(heads) - set(names)) or heads
        raise RegoTestDiscoveryError(
            f"{origin}: test rules must be written 'test_x if {{', check {odd}"
        )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise RegoTestDiscoveryError(f"{origin}: duplicated test rule names {dupes}")
    if not names:
        raise RegoTestDiscoveryError(f"{origin}: no test_* rules found")
    return tuple(names)


def _base_modules(root: Path) -> dict[str, str]:
    modules = {f"lib/{pkg}.rego": src for pkg, src in gk.lib_modules(root).items()}
    modules.update({f"lib/{name}": src for name, src in gk.lib_test_modules(root).items()})
    return modules


def suites(root: Path = gk.POLICY_ROOT) -> list[RegoSuite]:
    """The library's own suite and one suite per template directory."""
    base = _base_modules(root)
    lib_test_path = root / gk.LIB_DIRNAME / "src_test.rego"
    lib_test = lib_test_path.read_text(encoding="utf-8")
    out = [
        RegoSuite(
            name=gk.LIB_DIRNAME,
            test_file=lib_test_path,
            package=gk.rego_package(lib_test, origin=str(lib_test_path)),
            modules=base,
            tests=test_rules(lib_test, lib_test_path),
        )
    ]
    for src in gk.template_sources(root):
        modules = dict(base)
        modules[f"{src.directory}/src.rego"] = src.rego
        modules[f"{src.directory}/src_test.rego"] = src.test_rego
        test_path = src.path / "src_test.rego"
        test_package = gk.rego_package(src.test_rego, origin=str(test_path))
        out.append(
            RegoSuite(
                name=src.directory,
                test_file=test_path,
                package=test_package,
                modules=modules,
                tests=test_rules(src.test_rego, test_path),
            )
        )
    return out


def compile_suite(suite: RegoSuite) -> RegoModules:
    """A bundle with one entrypoint per test rule."""
    return RegoModules(suite.modules, [suite.entrypoint(t) for t in suite.tests])


@cache
def shipped_suites() -> tuple[RegoSuite, ...]:
    """The suites of the checked-in policy tree, discovered once per test session."""
    return tuple(suites())


@cache
def compiled(name: str) -> RegoModules:
    """The shipped suite `name`, compiled once per test session."""
    suite = next(s for s in shipped_suites() if s.name == name)
    return compile_suite(suite)


def failing_tests(suite: RegoSuite, *, stop_at_first: bool = False) -> list[str]:
    """Names of the suite's tests that are undefined or not true."""
    engine = compile_suite(suite)
    failed = []
    # allow-cases rarely notice a broken deny rule; try them last when only the first failure counts
    order = sorted(suite.tests, key=lambda t: "allowed" in t) if stop_at_first else suite.tests
    for test in order:
        defined, value = engine.evaluate(suite.entrypoint(test))
        if not (defined and value is True):
            failed.append(test)
            if stop_at_first:
                break
    return failed
