"""TenantIam: a tenant may find the cluster and get credentials; Kubernetes RBAC decides the rest."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from components.tenant_iam import TenantIam, TenantIamArgs

COMPONENT = "gke-sandbox:tenant_iam:TenantIam"
MEMBER = "gcp:projects/iAMMember:IAMMember"
BOB = "user:bob@example.com"
BOB_GROUP = "group:bob-team@example.com"


def iam_args(members: Sequence[str] = (BOB, BOB_GROUP)) -> TenantIamArgs:
    return TenantIamArgs(project_id="ab-demo-cluster", tenant="bob", members=list(members))


def test_each_member_gets_cluster_viewer_only(run):
    plan = run(lambda: TenantIam("tenant-iam-bob", iam_args()))
    grants = plan.of_type(MEMBER)
    assert sorted(g.inputs["member"] for g in grants) == sorted([BOB, BOB_GROUP]), [
        g.urn for g in grants
    ]
    for grant in grants:
        # Not roles/container.viewer (seed 003): that one reads every Kubernetes object via IAM.
        assert grant.inputs["role"] == "roles/container.clusterViewer", grant.urn
        assert grant.inputs["project"] == "ab-demo-cluster", grant.urn


def test_registered_outputs_list_the_members(run, registrations):
    plan = run(lambda: TenantIam("tenant-iam-bob", iam_args()))
    component = plan.one(COMPONENT)
    assert registrations.outputs[component.urn] == {"members": [BOB, BOB_GROUP]}, component.urn


def test_tenant_without_members_is_refused():
    with pytest.raises(ValueError, match="tenant 'bob' has no members"):
        TenantIam("tenant-iam-bob", iam_args(members=[]))


@pytest.mark.parametrize("public", ["allUsers", "allAuthenticatedUsers"])
def test_public_members_are_refused(public):
    with pytest.raises(ValueError, match=f"public member '{public}' is not allowed"):
        TenantIam("tenant-iam-bob", iam_args(members=[BOB, public]))
