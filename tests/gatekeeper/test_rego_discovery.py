"""The Rego test runner itself: it must refuse test files it cannot run faithfully, and report
failures (a runner that passes everything would make every Rego test meaningless)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components import gatekeeper_policy as gk
from tests.gatekeeper import regotests


def test_duplicate_test_names_are_refused() -> None:
    src = "package x\ntest_a if {\n\ttrue\n}\n\ntest_a if {\n\tfalse\n}\n"
    with pytest.raises(
        regotests.RegoTestDiscoveryError, match=r"duplicated test rule names \['test_a'\]"
    ):
        regotests.test_rules(src, Path("x_test.rego"))


def test_v0_style_test_heads_are_refused() -> None:
    src = "package x\ntest_a if {\n\ttrue\n}\n\ntest_b {\n\ttrue\n}\n"
    with pytest.raises(regotests.RegoTestDiscoveryError, match="test_b"):
        regotests.test_rules(src, Path("x_test.rego"))


def test_file_without_tests_is_refused() -> None:
    with pytest.raises(regotests.RegoTestDiscoveryError, match="no test_"):
        regotests.test_rules("package x\n", Path("x_test.rego"))


def _copy_policy(tmp_path: Path) -> Path:
    root = tmp_path / "gatekeeper"
    shutil.copytree(gk.POLICY_ROOT, root)
    return root


def test_runner_reports_a_false_test(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    test_file = root / "sandbox-seccomp" / "src_test.rego"
    test_file.write_text(test_file.read_text() + "\ntest_deliberately_false if {\n\t1 == 2\n}\n")
    suite = next(s for s in regotests.suites(root) if s.name == "sandbox-seccomp")
    assert regotests.failing_tests(suite) == ["test_deliberately_false"]


def test_runner_reports_a_test_whose_expectation_is_wrong(tmp_path: Path) -> None:
    root = _copy_policy(tmp_path)
    test_file = root / "sandbox-service-types" / "src_test.rego"
    text = test_file.read_text()
    good = '"Service ns1/harness: Service type NodePort is not allowed (allowed: ClusterIP)"'
    assert good in text
    test_file.write_text(text.replace(good, '"Service ns1/harness: some other message"'))
    suite = next(s for s in regotests.suites(root) if s.name == "sandbox-service-types")
    assert regotests.failing_tests(suite) == ["test_node_port_denied"]
