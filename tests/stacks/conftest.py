"""Stack-test fixtures: each shipped stack runs once per session, with its registration details.

Running the whole `dev` program under mocks takes seconds; the wiring tests only read the
result, so `shipped(stack)` runs each shipped `Pulumi.<stack>.yaml` once (exactly what the
`run_stack` fixture does) and keeps the plan. Variants of a config use `run_stack` directly.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.plan.capture import run_program
from infra.plan.mocks import CloudMocks
from tests.conftest import Plan, Registrations, engine_form, stack_config

# What Alice's cluster stack would export; the sandbox stack reads it via StackReference.
CLUSTER_OUTPUTS: dict[str, Any] = {
    "clusterName": "sandbox",
    "clusterEndpoint": "198.51.100.7",
    "clusterCaCertificate": base64.b64encode(b"cluster stack CA").decode(),
}
STACK_OUTPUTS = {"cluster": CLUSTER_OUTPUTS}


@dataclass
class StackRun:
    plan: Plan
    registrations: Registrations

    def top_level(self) -> dict[str, set[str]]:
        """Type -> names of the resources registered directly under the stack."""
        stack = self.plan.one("pulumi:pulumi:Stack")
        found: dict[str, set[str]] = {}
        for resource in self.plan.resources:
            if resource.parent == stack.urn:
                found.setdefault(resource.type, set()).add(resource.name)
        return found

    def ancestor_types(self, resource: Any) -> list[str]:
        """Types from the resource's parent up to the stack."""
        types = []
        parent = self.plan.parent_of(resource)
        while parent is not None:
            types.append(parent.type)
            parent = self.plan.parent_of(parent)
        return types


@pytest.fixture(scope="session")
def shipped() -> Iterator[Callable[[str], StackRun]]:
    """`shipped("dev")`: the shipped stack file run through `infra.program.main`, cached."""
    from infra.program import main

    cache: dict[str, StackRun] = {}

    def get(stack: str) -> StackRun:
        if stack not in cache:
            captured = run_program(
                main,
                stack=stack,
                config=engine_form(stack_config(stack)),
                mocks=CloudMocks(stack_outputs=STACK_OUTPUTS),
            )
            cache[stack] = StackRun(Plan(captured), Registrations.of([captured]))
        return cache[stack]

    yield get
