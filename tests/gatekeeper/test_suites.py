"""Every template ships Gatekeeper's own test format (samples/ + suite.yaml, as `gator verify`
reads it), and every suite passes on OPA; the runner itself fails when an expectation is wrong."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from components import gatekeeper_policy as gk
from tests.gatekeeper import gator

SUITES = gator.suite_paths()


def test_every_template_has_a_suite_and_samples() -> None:
    dirs = [s.path for s in gk.template_sources()]
    assert len(dirs) == 16
    for d in dirs:
        assert (d / "suite.yaml").is_file(), d
        samples = [p for p in (d / "samples").iterdir() if p.is_dir()]
        assert samples, d
        for case in samples:
            names = sorted(p.name for p in case.iterdir())
            assert "constraint.yaml" in names, case
            assert any(n.startswith("example_allowed") for n in names), case
            assert any(n.startswith("example_disallowed") for n in names), case


@pytest.mark.parametrize("path", SUITES, ids=[p.parent.name for p in SUITES])
def test_every_sample_file_is_exercised_by_the_suite(path: Path) -> None:
    suite = yaml.safe_load(path.read_text())
    used = {t["constraint"] for t in suite["tests"]}
    used |= {c["object"] for t in suite["tests"] for c in t["cases"]}
    on_disk = {str(p.relative_to(path.parent)) for p in (path.parent / "samples").rglob("*.yaml")}
    assert on_disk == used


@pytest.mark.parametrize("path", SUITES, ids=[p.parent.name for p in SUITES])
def test_suite_passes_on_opa(path: Path) -> None:
    results = gator.run_suite(path)
    assert results
    failed = [(r.case, r.failures, r.messages) for r in results if not r.ok]
    assert failed == []


def test_every_template_carries_a_version_annotation() -> None:
    for src in gk.template_sources():
        annotations = src.manifest["metadata"]["annotations"]
        assert annotations["metadata.gatekeeper.sh/version"] == "1.0.0", src.directory


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "gatekeeper"
    shutil.copytree(gk.POLICY_ROOT, root)
    return root


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("violations: 'no'", "violations: 'yes'", "expected violations: yes, got 0"),
        ("violations: 1\n", "violations: 2\n", "expected violations: 2 matching"),
        (
            "message: seccompProfile.type must be RuntimeDefault .*, got none",
            "message: got Localhost",
            "expected violations: 1 matching 'got Localhost', got 0",
        ),
    ],
)
def test_runner_fails_when_an_expectation_is_wrong(
    tmp_path: Path, old: str, new: str, why: str
) -> None:
    root = _copy(tmp_path)
    suite = root / "sandbox-seccomp" / "suite.yaml"
    text = suite.read_text()
    assert old in text
    suite.write_text(text.replace(old, new, 1))
    failures = [f for r in gator.run_suite(suite) for f in r.failures]
    assert len(failures) == 1
    assert why in failures[0]


def test_runner_fails_when_a_sample_stops_being_denied(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    sample = next(
        (root / "sandbox-run-as-non-root" / "samples").glob("*/example_disallowed_root_user.yaml")
    )
    sample.write_text(sample.read_text().replace("runAsUser: 0", "runAsUser: 10001"))
    results = gator.run_suite(root / "sandbox-run-as-non-root" / "suite.yaml")
    assert [r.case for r in results if not r.ok] == ["example-disallowed-root-user"]


def test_runner_rejects_keys_gator_does_not_know(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    suite = root / "sandbox-seccomp" / "suite.yaml"
    suite.write_text(
        suite.read_text().replace(
            "  - name: example-allowed\n", "  - name: example-allowed\n    skip: true\n", 1
        )
    )
    with pytest.raises(gator.SuiteError, match=r"keys \['skip'\] are not supported"):
        gator.run_suite(suite)
