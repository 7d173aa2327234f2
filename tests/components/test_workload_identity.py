"""WorkloadIdentity: only `ns1/tee-sa` acts as the model reader, which may decrypt one key and read one object."""

from __future__ import annotations

from typing import Any

import pulumi

from components.workload_identity import WorkloadIdentity, WorkloadIdentityArgs

COMPONENT = "gke-sandbox:workload_identity:WorkloadIdentity"
ACCOUNT = "gcp:serviceaccount/account:Account"
WI_BINDING = "gcp:serviceaccount/iAMMember:IAMMember"
DECRYPTER = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
READER = "gcp:storage/bucketIAMMember:BucketIAMMember"
KEY_ID = "projects/a-demo-model/locations/us-central1/keyRings/model-ring/cryptoKeys/model-key"
EMAIL = "model-reader@ab-demo-cluster.iam.gserviceaccount.com"
POOL_MEMBER = "serviceAccount:ab-demo-cluster.svc.id.goog[ns1/tee-sa]"


def identity_args(**overrides: Any) -> WorkloadIdentityArgs:
    base: dict[str, Any] = {
        "project_id": "ab-demo-cluster",
        "account_id": "model-reader",
        "namespace": "ns1",
        "kubernetes_service_account": "tee-sa",
        "kms_key_id": KEY_ID,
        "bucket": "a-demo-model-sealed",
        "object_name": "sentiment-model.tar.sealed",
    }
    return WorkloadIdentityArgs(**{**base, **overrides})


def test_only_the_namespaced_ksa_may_act_as_the_gsa(run):
    plan = run(lambda: WorkloadIdentity("wi", identity_args()))
    account = plan.one(ACCOUNT)
    assert account.inputs["accountId"] == "model-reader", account.urn
    assert account.inputs["project"] == "ab-demo-cluster", account.urn
    binding = plan.one(WI_BINDING)
    assert binding.inputs["role"] == "roles/iam.workloadIdentityUser", binding.urn
    assert binding.inputs["member"] == POOL_MEMBER, binding.urn
    assert (
        binding.inputs["serviceAccountId"] == f"projects/ab-demo-cluster/serviceAccounts/{EMAIL}"
    ), binding.urn


def test_decrypt_on_exactly_the_one_key(run):
    plan = run(lambda: WorkloadIdentity("wi", identity_args()))
    grants = plan.of_type(DECRYPTER)
    assert len(grants) == 1, [g.urn for g in grants]
    grant = grants[0]
    assert grant.inputs == {
        "cryptoKeyId": KEY_ID,
        "role": "roles/cloudkms.cryptoKeyDecrypter",
        "member": f"serviceAccount:{EMAIL}",
    }, grant.urn


def test_object_viewer_is_conditioned_to_the_one_object(run):
    plan = run(lambda: WorkloadIdentity("wi", identity_args()))
    reader = plan.one(READER)
    assert reader.inputs["bucket"] == "a-demo-model-sealed", reader.urn
    assert reader.inputs["role"] == "roles/storage.objectViewer", reader.urn
    assert reader.inputs["member"] == f"serviceAccount:{EMAIL}", reader.urn
    assert reader.inputs["condition"]["expression"] == (
        'resource.name == "projects/_/buckets/a-demo-model-sealed/objects/sentiment-model.tar.sealed"'
    ), reader.urn
    assert reader.inputs["condition"]["title"] == "sealed-model-only", reader.urn


def test_without_object_name_the_grant_is_bucket_wide(run):
    plan = run(lambda: WorkloadIdentity("wi", identity_args(object_name=None)))
    reader = plan.one(READER)
    assert "condition" not in reader.inputs, reader.urn


def test_no_other_grants_exist(run):
    plan = run(lambda: WorkloadIdentity("wi", identity_args()))
    component = plan.one(COMPONENT)
    children = [r for r in plan.resources if r.parent == component.urn]
    assert sorted(r.type for r in children) == sorted([ACCOUNT, WI_BINDING, DECRYPTER, READER]), (
        component.urn
    )


def test_binding_waits_for_the_given_dependencies(run, registrations):
    def program() -> None:
        from components.sandbox_project import SandboxProject, SandboxProjectArgs

        project = SandboxProject(
            "project", SandboxProjectArgs("ab-demo-cluster", "1", "018B55-7FDD84-7F175A")
        )
        WorkloadIdentity(
            "wi", identity_args(), pulumi.ResourceOptions(depends_on=[project.project])
        )

    plan = run(program)
    binding = plan.one(WI_BINDING)
    project = plan.one("gcp:organizations/project:Project")
    assert project.urn in registrations.dependencies[binding.urn], binding.urn


def test_registered_outputs_name_both_identities(run, registrations):
    plan = run(lambda: WorkloadIdentity("wi", identity_args()))
    component = plan.one(COMPONENT)
    assert registrations.outputs[component.urn] == {
        "email": EMAIL,
        "member": f"serviceAccount:{EMAIL}",
        "kubernetesMember": POOL_MEMBER,
    }, component.urn
