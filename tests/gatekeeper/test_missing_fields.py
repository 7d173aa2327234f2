"""Undefined is not false: a required security field that is *missing* is denied like a wrong one.

The cases are the review's own generated corpus (`policy.corpus.generated_cases`, which the
`constraints-deny-corpus` rule runs against the templates a plan deploys): every security
property a template requires, deleted at every level where it can be set (pod, container,
initContainer, ephemeralContainer), for every pod-creating kind of `policy.facts`. Here they are
judged by the shipped templates with a tenant's rendered constraints, and the message is
checked. On OPA a `not` over a nested call that is undefined fails instead of firing (OPA
issues #1877, #4743); these cases are what caught `sandbox-run-as-non-root` and
`sandbox-seccomp` admitting such pods.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policy import admission, corpus, facts

Obj = dict[str, Any]
ROLES = {"containers": "container", "initContainers": "initContainer"}
ROLES["ephemeralContainers"] = "ephemeralContainer"

# What the templates say when a field is missing everywhere it applies.
SUFFIXES = {
    "runAsNonRoot": "runAsNonRoot must be true (on the container or the pod)",
    "seccompProfile": "seccompProfile.type must be RuntimeDefault (on the container or the pod), "
    "got none",
    "readOnlyRootFilesystem": "securityContext.readOnlyRootFilesystem must be true",
    "allowPrivilegeEscalation": "securityContext.allowPrivilegeEscalation must be false",
    "capabilities": "securityContext.capabilities.drop must include ALL",
}
WORKLOAD_SUFFIXES = {
    "automountServiceAccountToken": "must set automountServiceAccountToken: false",
    "enableServiceLinks": "must set enableServiceLinks: false",
}
GENERATED = corpus.generated_cases()
CONTAINER_CASES = [c for c in GENERATED if c.container_list]
WORKLOAD_CASES = [c for c in GENERATED if not c.container_list]


def _denials(obj: Any, templates: list[Obj], constraints: list[Obj]) -> list[str]:
    return [d.message for d in admission.evaluate(obj, templates, constraints)]


def _name(case: corpus.BadCase) -> str:
    return str(case.obj["kind"]) + "-" + case.field + "-" + (case.container_list or "pod")


def test_the_corpus_covers_every_kind_field_and_level() -> None:
    seen = {(str(c.obj["kind"]), c.field, c.container_list) for c in GENERATED}
    assert seen == {
        *((k, f, n) for k in facts.POD_CREATING_KINDS for f in SUFFIXES for n in ROLES),
        *((k, f, "") for k in facts.POD_CREATING_KINDS for f in WORKLOAD_SUFFIXES),
    }


@pytest.mark.parametrize("kind", facts.POD_CREATING_KINDS)
def test_fully_set_pods_are_admitted(kind: str, templates: list[Obj], ns1_constraints: list[Obj]):
    completes = {
        repr(c.complete): c.complete for c in GENERATED if c.obj["kind"] == kind and c.complete
    }
    assert len(completes) == 2  # the tenant pod and the workload pod
    for obj in completes.values():
        assert _denials(obj, templates, ns1_constraints) == []


@pytest.mark.parametrize("case", CONTAINER_CASES, ids=_name)
def test_field_missing_at_every_level_is_denied(
    case: corpus.BadCase, templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    kind, list_name = case.obj["kind"], case.container_list
    name = corpus.CONTAINER_LISTS[list_name]
    messages = _denials(case.obj, templates, ns1_constraints)
    assert messages == [f"{kind} ns1/harness, {ROLES[list_name]} {name}: {SUFFIXES[case.field]}"]


@pytest.mark.parametrize("kind", facts.POD_CREATING_KINDS)
@pytest.mark.parametrize("list_name", list(ROLES))
def test_no_security_context_anywhere_is_denied_for_every_property(
    kind: str, list_name: str, templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    base = corpus.base_object()
    spec = corpus.tenant_pod(base["spec"]["template"]["spec"])
    del spec["securityContext"]
    del spec[list_name][0]["securityContext"]
    obj = corpus.wrap(kind, spec, base["metadata"])
    messages = _denials(obj, templates, ns1_constraints)
    where = f"{kind} ns1/harness, {ROLES[list_name]} {corpus.CONTAINER_LISTS[list_name]}"
    assert sorted(messages) == sorted(f"{where}: {suffix}" for suffix in SUFFIXES.values())


@pytest.mark.parametrize("case", WORKLOAD_CASES, ids=_name)
def test_workload_pod_field_missing_is_denied(
    case: corpus.BadCase, templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    kind = case.obj["kind"]
    messages = _denials(copy.deepcopy(case.obj), templates, ns1_constraints)
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"{kind} ns1/harness: pods running as workload service account")
    assert WORKLOAD_SUFFIXES[case.field] in messages[0]
