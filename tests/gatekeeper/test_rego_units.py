"""Every `test_*` rule of every src_test.rego under policy/gatekeeper, one pytest case each."""

from __future__ import annotations

import pytest

from tests.gatekeeper import regotests

CASES = [(suite.name, test) for suite in regotests.shipped_suites() for test in suite.tests]
SUITES = {suite.name: suite for suite in regotests.shipped_suites()}


@pytest.mark.parametrize(("suite", "test"), CASES, ids=[f"{s}::{t}" for s, t in CASES])
def test_rego(suite: str, test: str) -> None:
    engine = regotests.compiled(suite)
    entry = SUITES[suite].entrypoint(test)
    defined, value = engine.evaluate(entry)
    assert defined and value is True, (
        f"Rego test {test} in policy/gatekeeper/{suite}/ failed: "
        f"{'undefined (a body expression did not hold)' if not defined else f'value {value!r}'}"
    )


def test_every_template_has_rego_tests() -> None:
    names = set(SUITES)
    from components import gatekeeper_policy as gk

    assert {src.directory for src in gk.template_sources()} | {gk.LIB_DIRNAME} == names
    assert all(len(s.tests) >= 5 for s in SUITES.values()), {
        n: len(s.tests) for n, s in SUITES.items()
    }
