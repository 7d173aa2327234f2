"""Shared fixtures: run programs under Pulumi mocks and look at what they would register.

The mocks (`infra.plan.mocks.CloudMocks`) answer in camelCase with realistic computed outputs,
and `infra.plan.capture.run_program` records every registration with its parent URN, the same
engine the offline plan uses, so what tests assert is what `make plan` shows.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.plan.capture import CapturedResource, CapturedStack, run_program

ROOT = Path(__file__).resolve().parent.parent


class Plan:
    """A captured run with lookups that fail with the URN/type names that exist."""

    def __init__(self, captured: CapturedStack) -> None:
        self.captured = captured
        self.resources = captured.resources
        self.outputs = captured.outputs

    def of_type(self, token: str) -> list[CapturedResource]:
        return self.captured.by_type(token)

    def one(self, token: str, name: str | None = None) -> CapturedResource:
        return self.captured.one(token, name)

    def named(self, name: str) -> CapturedResource:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, (
            f"expected one resource named {name!r}; have {sorted(r.name for r in self.resources)}"
        )
        return found[0]

    def parent_of(self, resource: CapturedResource) -> CapturedResource | None:
        return next((r for r in self.resources if r.urn == resource.parent), None)

    def types(self) -> set[str]:
        return {r.type for r in self.resources}


@dataclass
class Registrations:
    """What a registration carries besides its inputs: dependsOn, protect, provider, and the
    outputs each component registered. Keyed by URN, across every run it was built from."""

    dependencies: dict[str, set[str]] = field(default_factory=dict)
    protected: dict[str, bool] = field(default_factory=dict)
    # Provider reference (`<provider urn>::<id>`) of custom resources; "" means the default one.
    providers: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, stacks: Iterable[CapturedStack]) -> Registrations:
        seen = cls()
        for captured in stacks:
            for resource in captured.resources:
                seen.dependencies[resource.urn] = set(resource.dependencies)
                seen.protected[resource.urn] = resource.protect
                seen.providers[resource.urn] = resource.provider
            seen.outputs.update(captured.component_outputs)
        return seen


@pytest.fixture
def runs() -> list[CapturedStack]:
    """Every run this test made through `run` or `run_stack`, in order."""
    return []


@pytest.fixture
def registrations(runs: list[CapturedStack]):
    """Registration details of this test's runs, read when accessed (so after the run)."""

    class _Live:
        def __getattr__(self, name: str) -> Any:
            return getattr(Registrations.of(runs), name)

    return _Live()


@pytest.fixture
def run(runs: list[CapturedStack]) -> Callable[..., Plan]:
    """Run a function that declares resources, as stack `test`, under mocks."""

    def _run(
        program: Callable[[], None], *, stack: str = "test", config: Mapping[str, str] | None = None
    ) -> Plan:
        captured = run_program(program, stack=stack, config=config)
        runs.append(captured)
        return Plan(captured)

    return _run


def stack_config(name: str) -> dict[str, Any]:
    """The `gke-sandbox:*` config of a shipped Pulumi.<name>.yaml, keys without the namespace."""
    document = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())
    return {
        k.split(":", 1)[1]: v for k, v in document["config"].items() if k.startswith("gke-sandbox:")
    }


@pytest.fixture
def dev_config() -> dict[str, Any]:
    """A fresh deep copy of the dev stack's config, safe to mutate per test."""
    return copy.deepcopy(stack_config("dev"))


def engine_form(config: Mapping[str, Any]) -> dict[str, str]:
    """Plain config -> the engine's flat `gke-sandbox:key -> JSON/string` form."""
    import json

    return {
        f"gke-sandbox:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in config.items()
    }


@pytest.fixture
def run_stack(runs: list[CapturedStack]) -> Callable[..., Plan]:
    """Run the real program (infra.program.main) with the given config, as the offline plan does."""
    from infra.program import main

    def _run(
        config: Mapping[str, Any],
        *,
        stack: str = "dev",
        stack_outputs: Mapping[str, Any] | None = None,
    ) -> Plan:
        from infra.plan.mocks import CloudMocks

        captured = run_program(
            main,
            stack=stack,
            config=engine_form(config),
            mocks=CloudMocks(stack_outputs=stack_outputs),
        )
        runs.append(captured)
        return Plan(captured)

    return _run


def resolve(output: Any) -> Any:
    """Value of an Output after a mocked run (tests only)."""
    from pulumi.runtime.sync_await import _sync_await

    if isinstance(output, pulumi.Output):
        return _sync_await(output.future())
    return output


# --- a test run leaves no onnxruntime profiles behind (empty ones were once committed)
_ORT_PROFILES = "onnxruntime_profile__*.json"


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_profiles_key] = set(ROOT.glob(_ORT_PROFILES))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    left = sorted(set(ROOT.glob(_ORT_PROFILES)) - session.config.stash.get(_profiles_key, set()))
    if left:
        names = ", ".join(p.name for p in left)
        print(f"\nerror: this test run left onnxruntime profiles in the repository root: {names}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_profiles_key = pytest.StashKey[set[Path]]()
