"""`python -m infra affected`: a change previews exactly the stacks it can alter."""

from __future__ import annotations

import pytest

from infra.plan.affected import COMPONENT_PARTS, affected, stack_parts

PARTS = stack_parts()


def test_every_shipped_stack_has_a_part():
    assert PARTS == {
        "model": "model",
        "harness": "harness",
        "cluster": "cluster",
        "sandbox": "sandbox",
        "workload": "workload",
        "space": "space",
        "dev": "all",
    }


@pytest.mark.parametrize(
    ("paths", "expected"),
    [
        (["Pulumi.model.yaml"], ["model"]),
        (["components/confidential_cluster.py"], ["cluster", "dev"]),
        (["components/harness_workload.py"], ["workload", "dev"]),
        (["stacks/sandbox.py"], ["sandbox", "dev"]),
        (
            ["infra/config/blocks.py"],
            ["model", "harness", "cluster", "sandbox", "workload", "space", "dev"],
        ),
        (
            ["policy/rules.py"],
            ["model", "harness", "cluster", "sandbox", "workload", "space", "dev"],
        ),
        # The all-in-one stack does not run the Confidential Space path.
        (["components/confidential_space.py"], ["space"]),
        (["stacks/space.py"], ["space"]),
        (["components/tls_policy.py"], ["cluster", "space", "dev"]),
        (["README.md", "harness/server.py", "tests/test_x.py"], []),
        # The image's contract is what the components build from.
        (
            ["harness/contract.py"],
            ["model", "harness", "cluster", "sandbox", "workload", "space", "dev"],
        ),
        (["Pulumi.dev.yaml", "Pulumi.cluster.yaml"], ["cluster", "dev"]),
    ],
)
def test_paths_map_to_stacks_in_party_order(paths, expected):
    assert affected(paths, PARTS) == expected


def test_every_component_module_is_mapped():
    from infra.plan.writer import ROOT

    modules = {p.stem for p in (ROOT / "components").glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(COMPONENT_PARTS), modules ^ set(COMPONENT_PARTS)
