"""Issue 5's promise, proven on the shipped stacks' rendered manifests (not on a hand-made fixture):

- every denial case is denied by the stack's own Gatekeeper templates and constraints, and the
  harness Deployment the workload part renders is admitted;
- the tenant RBAC grants exactly the listed abilities, nothing cluster-scoped, nothing in the
  other tenant's namespace;
- every object validates against the Kubernetes schema.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest

from infra.plan.writer import plan_document
from policy import admission
from policy.access import kubernetes_objects
from policy.rbac import Access, RbacPolicy, UserInfo
from tests.gatekeeper.conftest import WORKLOAD_KINDS, wrap
from tests.gatekeeper.test_admission import CASES, PER_TEMPLATE

K8S_VERSION = "1.30"
BOB = UserInfo.user("bob@example.com")
CAROL = UserInfo.user("carol@example.com")
CRD_KINDS = {"ConstraintTemplate", "FrontendConfig"}  # no published schema; Constraint kinds too


def manifests(shipped, stack: str) -> list[dict[str, Any]]:
    captured = shipped(stack).plan.captured
    return kubernetes_objects(plan_document(stack, "x", captured)["resources"])


@pytest.fixture(scope="module")
def dev_objects(shipped) -> list[dict[str, Any]]:
    return manifests(shipped, "dev")


@pytest.fixture(scope="module")
def rules(dev_objects):
    templates = [o for o in dev_objects if o["kind"] == "ConstraintTemplate"]
    constraints = [
        o for o in dev_objects if o["apiVersion"].startswith("constraints.gatekeeper.sh/")
    ]
    return templates, constraints


def one(objects, kind: str, name: str, namespace: str = "ns1") -> dict[str, Any]:
    found = [
        o
        for o in objects
        if o["kind"] == kind
        and o["metadata"]["name"] == name
        and o["metadata"].get("namespace") == namespace
    ]
    assert len(found) == 1, f"{kind} {namespace}/{name}"
    return copy.deepcopy(found[0])


# --------------------------------------------------------------------------- admission
@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("Deployment", "harness"),
        ("Service", "harness"),
        ("Secret", "harness-token"),
        ("Secret", "harness-tls"),
    ],
)
def test_what_bob_deploys_is_admitted(dev_objects, rules, kind, name):
    obj = one(dev_objects, kind, name)
    assert admission.evaluate(obj, *rules) == [], f"{kind} ns1/{name}"


def pod_level_seccomp_only(spec: dict[str, Any]) -> None:
    """The shipped pod pins seccomp on the pod and on the container; the pod-level cases of the
    shared table change the pod's, which the container's pin would (rightly) still override."""
    for container in spec["containers"]:
        container["securityContext"].pop("seccompProfile", None)


@pytest.mark.parametrize(("case", "change", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_denial_case_is_denied_by_the_shipped_rules(
    dev_objects, rules, case, change, expected
):
    deployment = one(dev_objects, "Deployment", "harness")
    if case == "seccomp-missing":
        pod_level_seccomp_only(deployment["spec"]["template"]["spec"])
    original = copy.deepcopy(deployment)
    change(deployment)
    assert deployment != original, f"case {case} changed nothing"
    denied = {(d.constraint, d.message) for d in admission.evaluate(deployment, *rules)}
    assert denied == expected, case


@pytest.mark.parametrize("kind", WORKLOAD_KINDS)
@pytest.mark.parametrize("constraint", sorted(PER_TEMPLATE))
def test_every_rule_holds_for_every_workload_kind(dev_objects, rules, kind, constraint):
    spec = one(dev_objects, "Deployment", "harness")["spec"]["template"]["spec"]
    if constraint == "ns1-seccomp":
        pod_level_seccomp_only(spec)
    PER_TEMPLATE[constraint](spec)
    obj = wrap(kind, spec)
    assert constraint in {d.constraint for d in admission.evaluate(obj, *rules)}, (
        f"{kind}: {constraint}"
    )


@pytest.mark.parametrize("svc_type", ["NodePort", "LoadBalancer", "ExternalName"])
def test_exposing_service_types_are_denied(dev_objects, rules, svc_type):
    service = one(dev_objects, "Service", "harness")
    service["spec"]["type"] = svc_type
    assert {d.constraint for d in admission.evaluate(service, *rules)} == {"ns1-service-types"}


def test_the_other_tenant_cannot_run_the_decrypting_identity(dev_objects, rules):
    """carol (ns2) has no tee-sa; a pod naming one there is an ordinary pod, still hardened."""
    deployment = one(dev_objects, "Deployment", "harness")
    deployment["metadata"]["namespace"] = "ns2"
    ns2 = [c for c in rules[1] if c["spec"]["match"]["namespaces"] == ["ns2"]]
    assert not any("approved-digests" in c["metadata"]["name"] for c in ns2)
    assert admission.evaluate(deployment, rules[0], ns2) == []  # hardened pod, but no identity:
    assert not any(
        o["kind"] == "ServiceAccount" and o["metadata"].get("namespace") == "ns2"
        for o in dev_objects
    )


# --------------------------------------------------------------------------- RBAC
READ = ("get", "list", "watch")

# The abilities issue 10 derives (what applying and awaiting the workload stack needs; see
# test_tenant_can_deploy.py), written out independently of the component's TENANT_RULES.
# FrontendConfigs (networking.gke.io) are outside the evaluator's KNOWN_RESOURCES universe.
APPLY = ("create", "delete", "get", "patch", "update")
EXPECTED_TENANT = {
    *(Access(v, "apps", "deployments") for v in (*APPLY, "list", "watch")),
    *(Access(v, "apps", "replicasets") for v in READ),
    *(Access(v, "", "services") for v in (*APPLY, "list", "watch")),
    # Every applied kind is listed and watched too: pulumi-kubernetes awaits each deletion
    # through an informer on the kind (provider/pkg/await/await.go `Deletion`).
    *(Access(v, "", "secrets") for v in (*APPLY, "list", "watch")),
    *(
        Access(v, "", r)
        for r in ("pods", "persistentvolumeclaims", "endpoints", "events")
        for v in READ
    ),
    *(Access(v, "networking.k8s.io", "ingresses") for v in (*APPLY, "list", "watch")),
    # the scale-out objects: no create awaiter, but their deletion is awaited
    *(Access(v, "autoscaling", "horizontalpodautoscalers") for v in (*APPLY, "list", "watch")),
    *(Access(v, "policy", "poddisruptionbudgets") for v in (*APPLY, "list", "watch")),
}

FORBIDDEN = [
    ("create", "", "pods/exec"),
    ("get", "", "pods/exec"),
    ("create", "", "pods/attach"),
    ("create", "", "pods/portforward"),
    ("get", "", "pods/proxy"),
    ("get", "", "services/proxy"),
    ("patch", "", "pods/ephemeralcontainers"),
    ("create", "", "serviceaccounts/token"),
    ("create", "", "pods"),
    ("create", "", "serviceaccounts"),
    ("update", "", "serviceaccounts"),
    ("delete", "", "serviceaccounts"),
    ("create", "rbac.authorization.k8s.io", "roles"),
    ("update", "rbac.authorization.k8s.io", "rolebindings"),
    ("bind", "rbac.authorization.k8s.io", "roles"),
    ("escalate", "rbac.authorization.k8s.io", "roles"),
    ("impersonate", "", "users"),
    ("update", "networking.k8s.io", "networkpolicies"),
    ("delete", "", "resourcequotas"),
    ("update", "", "limitranges"),
    ("update", "", "namespaces"),
    ("delete", "", "namespaces"),
]


@pytest.fixture(scope="module")
def rbac(dev_objects) -> RbacPolicy:
    policy = RbacPolicy(dev_objects)
    assert policy.warnings == []
    return policy


def test_tenant_has_exactly_the_listed_abilities(rbac):
    assert rbac.allowed_set(BOB, "ns1") == EXPECTED_TENANT


@pytest.mark.parametrize(("verb", "group", "resource"), FORBIDDEN)
def test_tenant_cannot_run_other_code_or_change_the_rules(rbac, verb, group, resource):
    decision = rbac.check(BOB, verb, resource, namespace="ns1", api_group=group)
    assert not decision, decision.explain()


def test_nothing_cluster_scoped(rbac):
    assert rbac.allowed_set(BOB, None) == frozenset()
    assert rbac.allowed_set(CAROL, None) == frozenset()


def test_two_tenants_are_isolated(rbac):
    assert rbac.allowed_set(BOB, "ns2") == frozenset()
    assert rbac.allowed_set(CAROL, "ns1") == frozenset()
    assert rbac.allowed_set(CAROL, "ns2") == EXPECTED_TENANT


def test_the_workload_service_account_itself_may_do_nothing(rbac):
    tee_sa = UserInfo.service_account("ns1", "tee-sa")
    assert rbac.allowed_set(tee_sa, "ns1") == frozenset()


# --------------------------------------------------------------------------- schema
@pytest.mark.parametrize("stack", ["dev", "sandbox", "workload"])
def test_every_manifest_is_valid_kubernetes(shipped, stack):
    unvalidated = set()
    for obj in manifests(shipped, stack):
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unvalidated.add(obj["kind"])
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{stack}: {obj['kind']} {obj['metadata'].get('namespace')}/{obj['metadata']['name']}: {exc.message}"
            )
    assert unvalidated <= CRD_KINDS | {k for k in unvalidated if k.startswith("Sandbox")}, (
        unvalidated
    )


@pytest.mark.parametrize("stack", ["dev", "sandbox"])
def test_stack_constraints_pass_the_template_samples(shipped, stack: str) -> None:
    """The constraints each stack renders for ns1 give the verdicts the Gatekeeper samples expect."""
    from tests.gatekeeper import gator

    objects = manifests(shipped, stack)
    templates = {
        t["spec"]["crd"]["spec"]["names"]["kind"]: t
        for t in objects
        if t["kind"] == "ConstraintTemplate"
    }
    rendered = {
        c["kind"]: (templates[c["kind"]], c)
        for c in objects
        if c["apiVersion"].startswith("constraints.gatekeeper.sh/")
        and c["spec"]["match"].get("namespaces") == ["ns1"]
    }
    assert len(rendered) == 16
    for path in gator.suite_paths():
        results = gator.run_suite(path, rendered=rendered)
        assert [(r.case, r.failures) for r in results if not r.ok] == [], path.parent.name


@pytest.mark.parametrize("stack", ["dev", "sandbox"])
def test_limit_range_bounds_cpu_memory_and_disk_of_every_container(shipped, stack: str) -> None:
    """The community's container-limits policy is met by the LimitRange, not by Gatekeeper: the
    LimitRanger plugin gives every container of a tenant pod default limits and refuses any
    container above `max`, so no container runs unbounded (the README's conformance table)."""
    objects = manifests(shipped, stack)
    ranges = [
        o for o in objects if o["kind"] == "LimitRange" and o["metadata"]["namespace"] == "ns1"
    ]
    assert len(ranges) == 1
    container = [lim for lim in ranges[0]["spec"]["limits"] if lim["type"] == "Container"]
    assert len(container) == 1
    for field in ("default", "max"):
        assert set(container[0][field]) >= {"cpu", "memory", "ephemeral-storage"}, field


def test_every_pod_creating_object_of_the_dev_plan_is_admitted(shipped) -> None:
    """What the review helper will run: the plan's own rules over the plan's own workloads."""
    from policy import facts

    objects = manifests(shipped, "dev")
    templates, constraints = admission.gatekeeper_rules(objects)
    assert len(templates) == 16
    assert len(constraints) == 2 * 16 - 5  # ns2 has no workload KSA: none of the 5 KSA-only rules
    workloads = [o for o in objects if o["kind"] in facts.POD_SPEC_PATHS]
    assert workloads
    for obj in workloads:
        assert admission.evaluate(obj, templates, constraints) == [], obj["metadata"]["name"]
