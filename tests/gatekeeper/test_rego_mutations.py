"""The Rego tests can fail, and cover what they claim to: disable one rule of a template (or one
container list / workload kind of the shared library) and at least one test that should notice
must fail. A rule no test notices is a rule that could silently stop denying.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest

from components import gatekeeper_policy as gk
from policy.admission import RegoModules
from tests.gatekeeper import regotests

VIOLATION_HEAD = re.compile(r"^violation contains .* if \{\n", re.MULTILINE)
LIB_MODULE = "lib/lib.sandbox.rego"
SUITES = {s.name: s for s in regotests.shipped_suites()}
POD_TEMPLATES = [
    s.directory
    for s in gk.template_sources()
    if s.directory not in ("sandbox-service-types", "sandbox-secret-types")
]
CONTAINER_TEMPLATES = [
    s.directory
    for s in gk.template_sources()
    if "sandbox.containers" in s.rego or "sandbox.workload_containers" in s.rego
]


def _mutate(
    suite: regotests.RegoSuite, module: str, mutate: Callable[[str], str]
) -> regotests.RegoSuite:
    before = suite.modules[module]
    after = mutate(before)
    assert after != before, f"mutation of {module} changed nothing"
    return dataclasses.replace(suite, modules={**suite.modules, module: after})


def _violation_rules() -> list[tuple[str, int]]:
    return [
        (src.directory, i)
        for src in gk.template_sources()
        for i, _ in enumerate(VIOLATION_HEAD.finditer(src.rego))
    ]


def _disable_after(text: str, start: int) -> str:
    """Insert `false` as the first statement of the rule body opening at or after `start`."""
    end = text.index("if {\n", start) + len("if {\n")
    return text[:end] + "\tfalse\n" + text[end:]


@pytest.mark.parametrize(("template", "index"), _violation_rules(), ids=lambda v: str(v))
def test_disabling_a_violation_rule_fails_a_test(template: str, index: int) -> None:
    module = f"{template}/src.rego"
    suite = _mutate(
        SUITES[template],
        module,
        lambda text: _disable_after(text, list(VIOLATION_HEAD.finditer(text))[index].start()),
    )
    assert regotests.failing_tests(suite, stop_at_first=True), (
        f"no Rego test of {template} notices violation rule #{index} disabled"
    )


def test_library_module_name_is_what_the_mutations_patch() -> None:
    assert LIB_MODULE in SUITES[gk.LIB_DIRNAME].modules


@pytest.mark.parametrize("container_list", ["containers", "initContainers", "ephemeralContainers"])
def test_every_container_template_tests_every_container_list(container_list: str) -> None:
    head = f'containers contains {{"list": "{container_list}",'
    mutated_lib = _disable_after(
        SUITES[gk.LIB_DIRNAME].modules[LIB_MODULE],
        SUITES[gk.LIB_DIRNAME].modules[LIB_MODULE].index(head),
    )
    # one bundle holding every template and its tests, compiled once for this mutation
    modules: dict[str, str] = {}
    entrypoints: list[str] = []
    for name in CONTAINER_TEMPLATES:
        modules.update(SUITES[name].modules)
        entrypoints += [SUITES[name].entrypoint(t) for t in SUITES[name].tests]
    modules[LIB_MODULE] = mutated_lib
    engine = RegoModules(modules, entrypoints)
    blind = []
    for name in CONTAINER_TEMPLATES:
        suite = SUITES[name]
        tests = sorted(suite.tests, key=lambda t: "allowed" in t)
        if all(engine.evaluate(suite.entrypoint(t)) == (True, True) for t in tests):
            blind.append(name)
    assert not blind, f"templates whose tests do not notice {container_list} being skipped: {blind}"


KIND_MUTATIONS = {
    "Pod": ('review_kind == "Pod"', 'review_kind == "NotPod"'),
    "CronJob": ('review_kind == "CronJob"', 'review_kind == "NotCronJob"'),
    **{
        kind: (f'"{kind}"', '"Dropped"')
        for kind in (
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
            "DaemonSet",
            "Job",
            "ReplicationController",
        )
    },
}


@pytest.mark.parametrize("kind", sorted(KIND_MUTATIONS))
def test_library_tests_notice_a_dropped_workload_kind(kind: str) -> None:
    old, new = KIND_MUTATIONS[kind]

    def drop(text: str) -> str:
        start = 0 if kind in ("Pod", "CronJob") else text.index("template_kinds := {")
        at = text.index(old, start)
        return text[:at] + new + text[at + len(old) :]

    suite = _mutate(SUITES[gk.LIB_DIRNAME], LIB_MODULE, drop)
    assert "test_every_workload_kind_yields_its_pod_spec" in regotests.failing_tests(suite)


@pytest.mark.parametrize("template", POD_TEMPLATES)
def test_pod_templates_read_pods_only_through_the_library(template: str) -> None:
    """Every kind is covered because templates reach pod specs only via lib.sandbox, whose tests
    prove each workload kind yields its pod spec; a template reading input.review.object.spec
    directly would bypass that."""
    rego = SUITES[template].modules[f"{template}/src.rego"]
    assert "input.review.object.spec" not in rego
    assert re.search(r"sandbox\.(workload_)?(containers|pod_specs)\b", rego)
