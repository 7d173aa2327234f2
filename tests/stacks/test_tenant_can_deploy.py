"""Issue 10: Bob can apply and await his own workload stack with the tenant Role, and no more.

The needed set is derived, not listed: every Kubernetes object the real workload program
would apply (`Pulumi.workload.yaml` through `infra.program`), plus what pulumi-kubernetes'
await logic reads for each kind. The await table below is written from the provider source
(provider/pkg/await, mirror tag v4.32.0: deployment.go l.163-253, service.go l.136-185,
ingress.go l.115-177, the event aggregator in await.go l.352), independently of
policy.facts.AWAIT_READS, which the review rule uses. The Role comes from the real sandbox
program and is judged with the RBAC evaluator (policy/rbac).
"""

from __future__ import annotations

from typing import Any

import pytest

from policy.rbac import KNOWN_RESOURCES, Access, RbacPolicy, ResourceType, UserInfo
from tests.stacks.test_sandbox_hardening import manifests

BOB = UserInfo.user("bob@example.com")
APPLY = (
    "create",
    "delete",
    "get",
    "patch",
    "update",
)  # SSA create/patch, refresh, replace, destroy
AWAIT = ("get", "list", "watch")  # informers list+watch, reads get
# Deleting any object (destroy, replace, autoscaling turned off) waits for it to disappear
# through a namespace informer on its own kind: provider/pkg/await/await.go `Deletion`
# (condition.NewDeletionSource over Factories.ForNamespace), so list+watch on every applied kind.
DELETE_AWAIT = ("list", "watch")
AWAIT_READS = {
    "Deployment": [
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("", "pods"),
        ("", "persistentvolumeclaims"),
    ],
    "Service": [("", "services"), ("", "endpoints")],
    "Ingress": [("networking.k8s.io", "ingresses"), ("", "services"), ("", "endpoints")],
}
# kind -> REST resource for the kinds the workload applies (kubectl api-resources).
RESOURCES = {
    "Deployment": "deployments",
    "Service": "services",
    "Secret": "secrets",
    "Ingress": "ingresses",
    "FrontendConfig": "frontendconfigs",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
}


def group_of(obj: dict[str, Any]) -> str:
    api_version = obj["apiVersion"]
    return api_version.split("/", 1)[0] if "/" in api_version else ""


@pytest.fixture(scope="module")
def workload_objects(shipped) -> list[dict[str, Any]]:
    return manifests(shipped, "workload")


@pytest.fixture(scope="module")
def needed(workload_objects) -> set[Access]:
    need: set[Access] = set()
    for obj in workload_objects:
        kind, group = obj["kind"], group_of(obj)
        need |= {Access(v, group, RESOURCES[kind]) for v in (*APPLY, *DELETE_AWAIT)}
        for read_group, resource in (*AWAIT_READS.get(kind, []), ("", "events")):
            need |= {Access(v, read_group, resource) for v in AWAIT}
    return need


def test_the_workload_plan_is_what_the_role_was_derived_from(workload_objects):
    assert sorted((o["kind"], o["metadata"]["name"]) for o in workload_objects) == [
        ("Deployment", "harness"),
        ("FrontendConfig", "harness"),
        ("HorizontalPodAutoscaler", "harness"),
        ("Ingress", "harness"),
        ("PodDisruptionBudget", "harness"),
        ("Secret", "harness-tls"),
        ("Secret", "harness-token"),
        ("Service", "harness"),
    ]
    assert {o["metadata"]["namespace"] for o in workload_objects} == {"ns1"}


def test_tenant_role_allows_exactly_applying_and_awaiting_the_workload(shipped, needed):
    policy = RbacPolicy(manifests(shipped, "sandbox"))
    universe = [*KNOWN_RESOURCES, ResourceType("networking.gke.io", "frontendconfigs", True)]
    allowed = policy.allowed_set(BOB, "ns1", universe=universe)
    assert sorted(needed - allowed) == [], "Bob's `pulumi up -s workload` would be Forbidden"
    assert sorted(allowed - needed) == [], "the Role grants more than the deploy needs"


def test_frontendconfig_create_was_the_missing_ability(shipped):
    """The issue's symptom, checked directly: create on networking.gke.io frontendconfigs."""
    policy = RbacPolicy(manifests(shipped, "sandbox"))
    decision = policy.check(
        BOB, "create", "frontendconfigs", namespace="ns1", api_group="networking.gke.io"
    )
    assert decision, decision.explain()


@pytest.mark.parametrize(
    ("group", "resource"),
    [
        ("", "secrets"),
        ("autoscaling", "horizontalpodautoscalers"),
        ("policy", "poddisruptionbudgets"),
        ("networking.gke.io", "frontendconfigs"),
    ],
)
def test_destroy_can_await_the_deletion_of_every_kind_bob_applies(shipped, group, resource):
    """Without list+watch the deletion informer never syncs and `pulumi destroy` hangs."""
    policy = RbacPolicy(manifests(shipped, "sandbox"))
    for verb in ("delete", "list", "watch"):
        assert policy.check(BOB, verb, resource, namespace="ns1", api_group=group), (verb, resource)
