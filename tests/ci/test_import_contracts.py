"""The import contracts of DESIGN.md hold on the tree, and each one fails when broken.

`make lint` runs `lint-imports` with the contracts in pyproject.toml. A contract that never
fails proves nothing, so each case below copies the packages to a temporary directory, adds one
forbidden import, and expects `lint-imports` to name that contract as broken.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("harness", "components", "stacks", "infra", "policy")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's packages (Python files only) and its pyproject.toml, in a scratch dir."""
    root = tmp_path_factory.mktemp("imports")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            root / package,
            ignore=lambda _dir, names: [
                n for n in names if not (n.endswith(".py") or (Path(_dir) / n).is_dir())
            ],
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


# (module to add a line to, the forbidden import, the contract name lint-imports must print)
BREAKS = [
    ("harness/app.py", "import infra.errors", "harness imports nothing outside harness/"),
    ("harness/app.py", "import pulumi", "harness imports nothing outside harness/"),
    (
        "components/model_vault.py",
        "import infra.config",
        "components import only Pulumi SDKs, harness.contract and policy.facts",
    ),
    (
        "components/model_vault.py",
        "import harness.sealed",
        "components import only Pulumi SDKs, harness.contract and policy.facts",
    ),
    (
        "stacks/model.py",
        "import infra.plan.mocks",
        "stacks import components, infra.config, infra.providers and infra.kubeconfig",
    ),
    (
        "policy/rules/engine.py",
        "import pulumi",
        "policy (but its __main__) imports no Pulumi SDK, infra, components or stacks",
    ),
    (
        "policy/access/__init__.py",
        "import components.model_vault",
        "policy (but its __main__) imports no Pulumi SDK, infra, components or stacks",
    ),
    ("infra/review.py", "import stacks.model", "only infra.program imports stacks"),
]


@pytest.mark.parametrize(("module", "line", "contract"), BREAKS, ids=lambda v: str(v)[:40])
def test_each_contract_fails_when_broken(tree: Path, module: str, line: str, contract: str) -> None:
    path = tree / module
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original + f"\n{line}  # injected by the test\n", encoding="utf-8")
        result = lint_imports(tree)
    finally:
        path.write_text(original, encoding="utf-8")
    assert result.returncode != 0, f"{line!r} in {module} did not break {contract!r}"
    assert f"{contract} BROKEN" in result.stdout, result.stdout
    assert "Contracts: 4 kept, 1 broken." in result.stdout, result.stdout
