"""`constraints-deny-corpus`: a deployed ConstraintTemplate whose Rego was weakened (and its
template.yaml regenerated, so it matches the repository) fails the review, naming the template
and the known-bad object it admits. The shipped plans pass (tests/policy/test_review_shipped.py)."""

from __future__ import annotations

from typing import Any

import pytest

from policy import corpus, facts
from policy.rules import select_rules
from policy.rules.engine import Status
from tests.policy.conftest import find

Plan = list[dict[str, Any]]
RULE = select_rules(["constraints-deny-corpus"])[0]
SECCOMP = "gatekeeper-template-sandboxseccomp"
PRIVILEGES = "gatekeeper-template-sandboxcontainerprivileges"


def _target(plan: Plan, name: str) -> dict[str, Any]:
    return find(plan, name)["inputs"]["spec"]["targets"][0]


def weaken(plan: Plan, name: str, old: str, new: str, *, lib: bool = False) -> None:
    target = _target(plan, name)
    if lib:
        (index,) = [i for i, text in enumerate(target["libs"]) if old in text]
        assert target["libs"][index].count(old) == 1
        target["libs"][index] = target["libs"][index].replace(old, new)
    else:
        assert target["rego"].count(old) == 1, old
        target["rego"] = target["rego"].replace(old, new)


def messages(plan: Plan) -> list[str]:
    result = RULE.run(plan)
    assert result.status in (Status.PASS, Status.FAIL)
    return [v.message for v in result.violations]


def test_the_dev_plan_passes(valid_resources: Plan) -> None:
    assert RULE.run(valid_resources).status is Status.PASS


def test_a_plan_without_templates_is_not_applicable(valid_resources: Plan) -> None:
    plan = [r for r in valid_resources if "templates.gatekeeper.sh" not in r["type"]]
    assert RULE.run(plan).status is Status.NOT_APPLICABLE


def test_weakened_seccomp_rego_admits_the_samples_and_fails(valid_resources: Plan) -> None:
    weaken(valid_resources, SECCOMP, 't != "RuntimeDefault"', 't == "Localhost"')
    found = messages(valid_resources)
    prefix = f'kubernetes:templates.gatekeeper.sh/v1:ConstraintTemplate "{SECCOMP}": '
    assert found[0] == (
        prefix + "ConstraintTemplate sandboxseccomp admits the known-bad Deployment ns1/harness "
        "(sandbox-seccomp/samples/seccomp/example_disallowed_unset_everywhere.yaml); its Rego "
        "must deny it"
    )
    assert (
        prefix + "ConstraintTemplate sandboxseccomp admits the known-bad CronJob ns1/harness "
        "(generated: CronJob without seccompProfile on its ephemeralContainer debug and the "
        "pod); its Rego must deny it"
    ) in found
    urns = {v.urn for v in RULE.run(valid_resources).violations}
    assert urns == {find(valid_resources, SECCOMP)["urn"]}


def test_weakening_only_missing_ephemeral_containers_is_caught_by_the_generated_cases(
    valid_resources: Plan,
) -> None:
    """Every sample passes (none uses ephemeral containers); only the generated cases see it."""
    weaken(
        valid_resources,
        PRIVILEGES,
        'containers contains {"list": "ephemeralContainers"',
        'containers_unused contains {"list": "ephemeralContainers"',
        lib=True,
    )
    found = messages(valid_resources)
    assert found, "the weakened lib must fail the rule"
    assert all("ephemeralContainer debug" in m for m in found), found
    assert any(
        "ConstraintTemplate sandboxcontainerprivileges admits the known-bad Pod ns1/harness "
        "(generated: Pod without allowPrivilegeEscalation on its ephemeralContainer debug)" in m
        for m in found
    ), found


def test_a_template_that_denies_the_complete_object_proves_nothing(valid_resources: Plan) -> None:
    # Deny every pod: the complete pod is denied, so a missing-field denial means nothing.
    weaken(valid_resources, SECCOMP, 't != "RuntimeDefault"', "true")
    found = messages(valid_resources)
    assert any(
        "ConstraintTemplate sandboxseccomp denies the complete Pod ns1/harness the corpus "
        "changes (Pod ns1/harness, container app: seccompProfile.type must be RuntimeDefault" in m
        for m in found
    ), found


def test_rego_that_does_not_compile_fails_closed(valid_resources: Plan) -> None:
    weaken(valid_resources, SECCOMP, 't != "RuntimeDefault"', "t != ")
    found = messages(valid_resources)
    assert found and all("cannot be evaluated on the known-bad" in m for m in found), found
    assert "Rego does not compile" in found[0]


def test_every_shipped_template_kind_has_known_bad_cases() -> None:
    cases = corpus.known_bad()
    kinds = {case.kind for case in cases}
    templates = sorted(p.parent.name for p in corpus.GATEKEEPER_DIR.glob("*/template.src.yaml"))
    assert len(templates) == 16
    assert len(kinds) == 16
    generated = [c for c in cases if c.source.startswith("generated: ")]
    # 8 pod-creating kinds x (5 fields x 3 container lists + 2 workload pod fields)
    assert len(facts.POD_CREATING_KINDS) == 8
    assert len(generated) == 8 * (5 * 3 + 2)
    assert all(c.complete is not None and c.constraint for c in generated)


@pytest.mark.parametrize("kind", facts.POD_CREATING_KINDS)
def test_wrap_puts_the_pod_where_the_templates_read_it(kind: str) -> None:
    obj = corpus.wrap(kind, {"containers": []}, {"name": "x", "namespace": "ns1"})
    node: Any = obj
    for part in facts.POD_SPEC_PATHS[kind][1].split("."):
        node = node[part]
    assert node["containers"] == []
    group = facts.POD_SPEC_PATHS[kind][0]
    assert obj["apiVersion"] == (f"{group}/v1" if group else "v1")
