"""Fixtures for the rule, review, access and CrossGuard tests: the dev stack's real plan.

The valid plan is what `python -m infra plan dev` writes (the program run under mocks, every
component of every party in one stack), produced once per test session; each test gets a deep
copy. Failing cases are made by exactly one change to it (`mutate`, or adding/removing one
resource), so the fixture cannot drift from what the program produces.

The literals below are what `Pulumi.dev.yaml` configures; tests compare messages with them.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
STACK = "dev"
PROJECT_NAME = "gke-sandbox"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT_NAME}::pulumi:pulumi:Stack::{PROJECT_NAME}-{STACK}"

MODEL_PROJECT = "a-demo-model"
CLUSTER_PROJECT = "ab-demo-cluster"
NODE_SA = f"gke-node@{CLUSTER_PROJECT}.iam.gserviceaccount.com"
WORKLOAD_SA = f"model-reader@{CLUSTER_PROJECT}.iam.gserviceaccount.com"
WORKLOAD_POOL = f"{CLUSTER_PROJECT}.svc.id.goog"
WI_MEMBER = f"serviceAccount:{WORKLOAD_POOL}[ns1/tee-sa]"
KEY_RING_ID = f"projects/{MODEL_PROJECT}/locations/us-central1/keyRings/model-ring"
KEY_ID = f"{KEY_RING_ID}/cryptoKeys/model-key"


@pytest.fixture(scope="session")
def dev_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The dev stack's plan exactly as `python -m infra plan dev` writes it (once per session)."""
    out = tmp_path_factory.mktemp("policy-plan")
    done = subprocess.run(
        [sys.executable, "-m", "infra", "plan", "--quiet", "--out", str(out), STACK],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads((out / "plan" / f"{STACK}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def space_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The Confidential Space stack's plan exactly as `python -m infra plan space` writes it."""
    out = tmp_path_factory.mktemp("space-plan")
    done = subprocess.run(
        [sys.executable, "-m", "infra", "plan", "--quiet", "--out", str(out), "space"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads((out / "plan" / "space.json").read_text(encoding="utf-8"))


_DELETE = object()


def _split(path: str | Sequence[str | int]) -> list[str | int]:
    if not isinstance(path, str):
        return list(path)
    parts: list[str | int] = []
    for chunk in path.split("."):
        name, _, rest = chunk.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index))
            rest = rest.lstrip("[")
    return parts


def find(resources: Sequence[dict[str, Any]], name: str) -> dict[str, Any]:
    matches = [r for r in resources if r["name"] == name]
    assert len(matches) == 1, f"fixture has {len(matches)} resources named {name!r}"
    return matches[0]


def set_input(
    resources: Sequence[dict[str, Any]], name: str, path: str | Sequence[str | int], value: Any
) -> dict[str, Any]:
    """Set (or with DELETE remove) one input of the named resource; intermediate maps are made."""
    resource = find(resources, name)
    parts = _split(path)
    node: Any = resource["inputs"]
    for part in parts[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return resource


@pytest.fixture
def valid_resources(dev_plan: dict[str, Any]) -> list[dict[str, Any]]:
    """A fresh copy of the passing plan's resources for each test."""
    return copy.deepcopy(dev_plan["resources"])


@pytest.fixture
def delete_marker() -> object:
    """Pass as the value to `mutate` to remove the input instead of setting it."""
    return _DELETE


@pytest.fixture
def mutate() -> Callable[..., dict[str, Any]]:
    """mutate(resources, resource_name, "path.to[0].input", value) -> the changed resource."""
    return set_input


@pytest.fixture
def by_name() -> Callable[[Sequence[dict[str, Any]], str], dict[str, Any]]:
    return find


@pytest.fixture
def write_plan(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """write_plan(resources, stack="dev", part="all") -> path of a plan JSON file."""
    counter = iter(range(1000))

    def write(
        resources: Sequence[dict[str, Any]],
        stack: str = STACK,
        part: str = "all",
        outputs: dict[str, Any] | None = None,
    ) -> Path:
        path = tmp_path / f"{stack}-{next(counter)}.json"
        path.write_text(
            json.dumps(
                {
                    "stack": stack,
                    "part": part,
                    "resources": list(resources),
                    "outputs": outputs or {},
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        return path

    yield write
