"""Undefined is not false: a required security field that is *missing* is denied like a wrong one.

Generated over every security property a template requires, every level where it can be set
(pod, container, initContainer, ephemeralContainer) and every pod-creating kind of
`policy.facts`. On OPA a `not` over a nested call that is undefined fails instead of firing
(OPA issues #1877, #4743); these cases are what caught `sandbox-run-as-non-root` and
`sandbox-seccomp` admitting such pods.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policy import admission, facts
from tests.gatekeeper.conftest import HARDENED, HELPER_IMAGE, harness_pod_spec, wrap

Obj = dict[str, Any]
ROLES = {"containers": "container", "initContainers": "initContainer"}
ROLES["ephemeralContainers"] = "ephemeralContainer"
NAMES = {"containers": "app", "initContainers": "setup", "ephemeralContainers": "debug"}

# (field, also settable on the pod, message suffix when missing everywhere it applies)
PROPERTIES: tuple[tuple[str, bool, str], ...] = (
    ("runAsNonRoot", True, "runAsNonRoot must be true (on the container or the pod)"),
    (
        "seccompProfile",
        True,
        "seccompProfile.type must be RuntimeDefault (on the container or the pod), got none",
    ),
    ("readOnlyRootFilesystem", False, "securityContext.readOnlyRootFilesystem must be true"),
    ("allowPrivilegeEscalation", False, "securityContext.allowPrivilegeEscalation must be false"),
    ("capabilities", False, "securityContext.capabilities.drop must include ALL"),
)
# Pod-level fields the workload templates require of pods running as the workload KSA.
WORKLOAD_POD_FIELDS: tuple[tuple[str, str], ...] = (
    ("automountServiceAccountToken", "must set automountServiceAccountToken: false"),
    ("enableServiceLinks", "must set enableServiceLinks: false"),
)


def _container(list_name: str) -> Obj:
    sc = {**copy.deepcopy(HARDENED), "seccompProfile": {"type": "RuntimeDefault"}}
    return {"name": NAMES[list_name], "image": HELPER_IMAGE, "securityContext": sc}


def tenant_pod_spec() -> Obj:
    """A hardened pod of the tenant (not the workload KSA) with every container list in use and
    every inheritable field set at both levels, so each deletion removes exactly one level."""
    return {
        "serviceAccountName": "builder",
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        **{name: [_container(name)] for name in ROLES},
    }


def _denials(obj: Obj, templates: list[Obj], constraints: list[Obj]) -> list[str]:
    return [d.message for d in admission.evaluate(obj, templates, constraints)]


@pytest.mark.parametrize("kind", facts.POD_CREATING_KINDS)
def test_fully_set_pod_is_admitted(kind: str, templates: list[Obj], ns1_constraints: list[Obj]):
    assert _denials(wrap(kind, tenant_pod_spec()), templates, ns1_constraints) == []


CASES = [
    (kind, field, on_pod, suffix, list_name)
    for kind in facts.POD_CREATING_KINDS
    for field, on_pod, suffix in PROPERTIES
    for list_name in ROLES
]


@pytest.mark.parametrize(
    ("kind", "field", "on_pod", "suffix", "list_name"),
    CASES,
    ids=[f"{k}-{f}-{n}" for k, f, _, _, n in CASES],
)
def test_field_missing_at_every_level_is_denied(
    kind: str,
    field: str,
    on_pod: bool,
    suffix: str,
    list_name: str,
    templates: list[Obj],
    ns1_constraints: list[Obj],
) -> None:
    spec = tenant_pod_spec()
    if on_pod:
        del spec["securityContext"][field]
    del spec[list_name][0]["securityContext"][field]
    messages = _denials(wrap(kind, spec), templates, ns1_constraints)
    where = f"{kind} ns1/harness, {ROLES[list_name]} {NAMES[list_name]}"
    assert messages == [f"{where}: {suffix}"]


@pytest.mark.parametrize("kind", facts.POD_CREATING_KINDS)
@pytest.mark.parametrize("list_name", list(ROLES))
def test_no_security_context_anywhere_is_denied_for_every_property(
    kind: str, list_name: str, templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    spec = tenant_pod_spec()
    del spec["securityContext"]
    for name in ROLES:
        spec[name][0]["securityContext"] = {
            f: spec[name][0]["securityContext"][f] for f, on_pod, _ in PROPERTIES if not on_pod
        } | {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    del spec[list_name][0]["securityContext"]
    messages = _denials(wrap(kind, spec), templates, ns1_constraints)
    where = f"{kind} ns1/harness, {ROLES[list_name]} {NAMES[list_name]}"
    assert sorted(messages) == sorted(f"{where}: {suffix}" for _, _, suffix in PROPERTIES)


@pytest.mark.parametrize("kind", facts.POD_CREATING_KINDS)
@pytest.mark.parametrize(("field", "suffix"), WORKLOAD_POD_FIELDS)
def test_workload_pod_field_missing_is_denied(
    kind: str, field: str, suffix: str, templates: list[Obj], ns1_constraints: list[Obj]
) -> None:
    spec = harness_pod_spec()
    assert _denials(wrap(kind, spec), templates, ns1_constraints) == []
    del spec[field]
    messages = _denials(wrap(kind, spec), templates, ns1_constraints)
    assert len(messages) == 1, messages
    assert messages[0].startswith(f"{kind} ns1/harness: pods running as workload service account")
    assert suffix in messages[0]
