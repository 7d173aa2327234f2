"""Issue 14 items 1, 4, 5: least privilege as an exact shape, and the durability of Alice's data.

Each class of change the issue lists as passing the old review is applied, once, to the real dev
plan; the review must fail it with a message naming the grant and the grant it should have
been (or the property and what it must be). The CrossGuard pack must give the same verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import policy.__main__ as pack
from policy.rules import RULES, UNKNOWN, Status, evaluate
from policy.rules.least_privilege import used_extras
from tests.policy.conftest import (
    CLUSTER_PROJECT,
    KEY_ID,
    KEY_RING_ID,
    WORKLOAD_POOL,
    WORKLOAD_SA,
    find,
    set_input,
)
from tests.policy.test_crossguard_pack import validate
from tests.policy.test_review_cli import run_review

Resources = list[dict[str, Any]]
BUCKET = "a-demo-model-sealed"
OBJECT = "sentiment-model.tar.sealed"
ONE_OBJECT = f'resource.name == "projects/_/buckets/{BUCKET}/objects/{OBJECT}"'
GSA = f"serviceAccount:{WORKLOAD_SA}"
DECRYPTER = 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember "workload-identity-decrypter"'
VIEWER = 'gcp:storage/bucketIAMMember:BucketIAMMember "workload-identity-object-viewer"'
BOB_IAM = 'gcp:projects/iAMMember:IAMMember "tenant-iam-bob-cluster-viewer-0"'
ROLE = 'kubernetes:rbac.authorization.k8s.io/v1:Role "tenant-bob-role"'
BINDING = 'kubernetes:rbac.authorization.k8s.io/v1:RoleBinding "tenant-bob-role-binding"'
BUCKET_RES = 'gcp:storage/bucket:Bucket "model-bucket"'
NOT_DESIGN = "which is not a grant the design calls for; it should have been"
SHOULD_DECRYPT = (
    f"roles/cloudkms.cryptoKeyDecrypter on crypto key {KEY_ID} to {GSA} "
    "(the workload decrypts the model keyset)"
)
SHOULD_READ = (
    f"roles/storage.objectViewer on bucket {BUCKET} to {GSA} if {ONE_OBJECT} "
    "(the workload reads the one sealed object)"
)
TENANT_ROLE = (
    "the tenant Role grants exactly: apps deployments: create,delete,get,list,patch,update,watch; "
    "apps replicasets: get,list,watch; core services: create,delete,get,list,patch,update,watch; "
    "core secrets: create,delete,get,list,patch,update,watch; core pods,persistentvolumeclaims,"
    "endpoints,events: get,list,watch; networking.k8s.io ingresses: create,delete,get,list,patch,"
    "update,watch; networking.gke.io frontendconfigs: create,delete,get,list,patch,update,watch; "
    "autoscaling horizontalpodautoscalers: create,delete,get,list,patch,update,watch; policy "
    "poddisruptionbudgets: create,delete,get,list,patch,update,watch "
    "(policy.facts.TENANT_ROLE_RULES)"
)
PROTECT = "must be protected (ResourceOptions(protect=True)) so `pulumi destroy` cannot remove it"


def _decrypter_on_ring(resources: Resources) -> None:
    grant = find(resources, "workload-identity-decrypter")
    grant["type"] = "gcp:kms/keyRingIAMMember:KeyRingIAMMember"
    del grant["inputs"]["cryptoKeyId"]
    grant["inputs"]["keyRingId"] = KEY_RING_ID


def _setter(name: str, path: str, value: Any) -> Callable[[Resources], None]:
    return lambda resources: set_input(resources, name, path, value)


def _unprotect(name: str) -> Callable[[Resources], None]:
    return lambda resources: find(resources, name).__setitem__("protect", False)


def _role_rule(index: int, key: str, value: str) -> Callable[[Resources], None]:
    return lambda resources: find(resources, "tenant-bob-role")["inputs"]["rules"][index][
        key
    ].append(value)


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[Resources], None]
    rule: str
    message: str
    also_fails: frozenset[str] = frozenset()


IAM, RBAC, DURABLE = "iam-exact-grants", "rbac-exact-rules", "model-data-durable"
CASES = [
    Case(
        "decrypter-on-key-ring",
        _decrypter_on_ring,
        IAM,
        'gcp:kms/keyRingIAMMember:KeyRingIAMMember "workload-identity-decrypter": grants '
        f'"roles/cloudkms.cryptoKeyDecrypter" on key ring "{KEY_RING_ID}" to member "{GSA}", '
        f"{NOT_DESIGN} {SHOULD_DECRYPT}",
    ),
    Case(
        "bucket-wide-read",
        _setter(
            "workload-identity-object-viewer",
            "condition.expression",
            f'resource.name.startsWith("projects/_/buckets/{BUCKET}/")',
        ),
        IAM,
        f'{VIEWER}: grants "roles/storage.objectViewer" on bucket "{BUCKET}" to member "{GSA}" '
        f'if resource.name.startsWith("projects/_/buckets/{BUCKET}/"), {NOT_DESIGN} '
        f"{SHOULD_READ}",
    ),
    Case(
        "missing-condition",
        _setter("workload-identity-object-viewer", "condition", None),
        IAM,
        f'{VIEWER}: grants "roles/storage.objectViewer" on bucket "{BUCKET}" to member "{GSA}", '
        f"{NOT_DESIGN} {SHOULD_READ}",
    ),
    Case(
        "encrypter-decrypter",
        _setter(
            "workload-identity-decrypter", "role", "roles/cloudkms.cryptoKeyEncrypterDecrypter"
        ),
        IAM,
        f'{DECRYPTER}: grants "roles/cloudkms.cryptoKeyEncrypterDecrypter" on crypto key '
        f'"{KEY_ID}" to member "{GSA}", {NOT_DESIGN} {SHOULD_DECRYPT}',
    ),
    Case(
        "object-admin",
        _setter("workload-identity-object-viewer", "role", "roles/storage.objectAdmin"),
        IAM,
        f'{VIEWER}: grants "roles/storage.objectAdmin" on bucket "{BUCKET}" to member "{GSA}" '
        f"if {ONE_OBJECT}, {NOT_DESIGN} {SHOULD_READ}",
    ),
    Case(
        "tenant-container-viewer",
        _setter("tenant-iam-bob-cluster-viewer-0", "role", "roles/container.viewer"),
        IAM,
        f'{BOB_IAM}: grants "roles/container.viewer" on project "{CLUSTER_PROJECT}" to member '
        f'"user:bob@example.com", {NOT_DESIGN} roles/container.clusterViewer on project '
        f"{CLUSTER_PROJECT} to user:bob@example.com (tenants get cluster credentials; RBAC "
        "does the rest)",
    ),
    Case(
        "wi-binding-other-ksa",
        _setter("workload-identity-wi-user", "member", f"serviceAccount:{WORKLOAD_POOL}[ns2/x]"),
        IAM,
        'gcp:serviceaccount/iAMMember:IAMMember "workload-identity-wi-user": grants '
        f'"roles/iam.workloadIdentityUser" on service account "{WORKLOAD_SA}" to member '
        f'"serviceAccount:{WORKLOAD_POOL}[ns2/x]", which is not a grant the design calls for; '
        f'the design grants "serviceAccount:{WORKLOAD_POOL}[ns2/x]" nothing (closest design '
        f"grant: roles/iam.workloadIdentityUser on service account {WORKLOAD_SA} to "
        f"serviceAccount:{WORKLOAD_POOL}[ns1/tee-sa] (only the workload KSA acts as the "
        "workload service account))",
        # ns2/x can now act as the decrypting SA, and no workload-KSA constraint covers ns2
        frozenset({"model-access-paths", "constraints-complete"}),
    ),
    Case(
        "binding-to-built-in-edit",
        _setter(
            "tenant-bob-role-binding",
            "roleRef",
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        ),
        RBAC,
        f'{BINDING}: roleRef is {{"apiGroup": "rbac.authorization.k8s.io", "kind": '
        '"ClusterRole", "name": "edit"}; tenants are bound only to their own namespace\'s '
        "tenant Role, never a ClusterRole (built-in edit/admin grant far more): roleRef should "
        'be {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant"}',
    ),
    Case(
        "extra-verb",
        _role_rule(4, "verbs", "create"),
        RBAC,
        f"{ROLE}: rules[4] grants create endpoints (group core), create events (group core), "
        "create persistentvolumeclaims (group core), create pods (group core), beyond the tenant "
        f"Role; {TENANT_ROLE}",
        # the Role then also grants more than deploying the workload needs
        also_fails=frozenset({"tenant-can-deploy"}),
    ),
    Case(
        "extra-resource",
        _role_rule(3, "resources", "serviceaccounts"),
        RBAC,
        f"{ROLE}: rules[3] grants create serviceaccounts (group core), delete serviceaccounts "
        "(group core), get serviceaccounts (group core), list serviceaccounts (group core), "
        "patch serviceaccounts (group core), update serviceaccounts (group core) and 1 more, "
        f"beyond the tenant Role; {TENANT_ROLE}",
        # the Role then also grants more than deploying the workload needs
        also_fails=frozenset({"tenant-can-deploy"}),
    ),
    Case(
        "service-account-subject",
        lambda resources: find(resources, "tenant-bob-role-binding")["inputs"]["subjects"].append(
            {"kind": "ServiceAccount", "name": "tee-sa", "namespace": "ns1"}
        ),
        RBAC,
        f'{BINDING}: subjects[1] is {{"kind": "ServiceAccount", "name": "tee-sa", "namespace": '
        '"ns1"}; a tenant binding names people (User or Group), never a service account that '
        "pods could run as",
    ),
    Case(
        "force-destroy",
        _setter("model-bucket", "forceDestroy", True),
        DURABLE,
        f"{BUCKET_RES}: forceDestroy is true; must be false: deleting the bucket must never "
        "delete the sealed model with it",
    ),
    Case(
        "versioning-off",
        _setter("model-bucket", "versioning.enabled", False),
        DURABLE,
        f"{BUCKET_RES}: versioning.enabled is false; must be true, so an overwritten or deleted "
        "sealed model can be restored from its previous generation",
    ),
    Case(
        "key-unprotected",
        _unprotect("model-key"),
        DURABLE,
        'gcp:kms/cryptoKey:CryptoKey "model-key": protect is false; the model key (losing it '
        f"loses every sealed copy) {PROTECT}",
    ),
    Case(
        "key-ring-unprotected",
        _unprotect("model-key-ring"),
        DURABLE,
        'gcp:kms/keyRing:KeyRing "model-key-ring": protect is false; a key ring holding the '
        f"model key {PROTECT}",
    ),
    Case(
        "bucket-unprotected",
        _unprotect("model-bucket"),
        DURABLE,
        f"{BUCKET_RES}: protect is false; the bucket holding the sealed model {PROTECT}",
    ),
]


def _failing(resources: Resources) -> dict[str, list[str]]:
    return {
        r.rule.name: [v.message for v in r.violations]
        for r in evaluate(resources)
        if r.status == Status.FAIL
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_class_fails_the_review_with_a_specific_message(
    case: Case, valid_resources: Resources
) -> None:
    case.change(valid_resources)
    failed = _failing(valid_resources)
    assert set(failed) == {case.rule} | case.also_fails
    assert failed[case.rule] == [case.message]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_crossguard_pack_gives_the_same_verdict(case: Case, valid_resources: Resources) -> None:
    case.change(valid_resources)
    policies = {p.name: p for p in pack.build_policies()}
    rule = next(r for r in RULES if r.name == case.rule)
    reports = validate(policies[case.rule], valid_resources)
    assert [m for m, _ in reports] == [f"{case.message}\nremediation: {rule.remediation}"]


def test_the_dev_plan_passes_the_new_rules(valid_resources: Resources) -> None:
    results = {r.rule.name: r for r in evaluate(valid_resources)}
    for name in (IAM, RBAC, DURABLE):
        assert results[name].status == Status.PASS, results[name].violations


def test_a_plan_without_the_key_still_refuses_the_key_ring(valid_resources: Resources) -> None:
    """The cluster stack gets the key as config, not as a resource: the shape still holds."""
    absent = {
        "model-key",
        "model-key-ring",
        "model-bucket",
        "model-model",
        "attestor-signing-key",
        "attestor-attestor",  # the attestor lives with its signing key (model stack)
    }
    resources = [r for r in valid_resources if r["name"] not in absent]
    # Cutting resources out of the dev plan also cuts the chains through which the rest wait for
    # their APIs; ordering is services-before-use's business, not this test's.
    ordering = "services-before-use"
    assert set(_failing(resources)) <= {ordering}
    _decrypter_on_ring(resources)
    assert {k: v for k, v in _failing(resources).items() if k != ordering} == {
        IAM: [
            'gcp:kms/keyRingIAMMember:KeyRingIAMMember "workload-identity-decrypter": grants '
            f'"roles/cloudkms.cryptoKeyDecrypter" on key ring "{KEY_RING_ID}" to member '
            f'"{GSA}", {NOT_DESIGN} roles/cloudkms.cryptoKeyDecrypter on crypto key <the model '
            f"key, from config> to {GSA} (the workload decrypts the model keyset)"
        ]
    }


def test_config_can_allow_an_extra_grant_and_the_report_shows_it(
    valid_resources: Resources, write_plan: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    set_input(valid_resources, "workload-identity-decrypter", "role", "roles/cloudkms.viewer")
    assert set(_failing(valid_resources)) == {IAM}
    stack = next(r for r in valid_resources if r["type"] == "pulumi:pulumi:Stack")
    valid_resources.append(
        {
            "urn": stack["urn"].replace(
                "pulumi:pulumi:Stack::", "gke-sandbox:review:AllowedExtras::"
            )
            + "-review",
            "type": "gke-sandbox:review:AllowedExtras",
            "name": "review",
            "parent": stack["urn"],
            "inputs": {
                "extraGrants": [
                    {
                        "member": GSA,
                        "role": "roles/cloudkms.viewer",
                        "kind": "crypto key",
                        "resource": KEY_ID,
                        "reason": "audit tooling lists key versions",
                    }
                ]
            },
        }
    )
    assert _failing(valid_resources) == {}
    assert used_extras(valid_resources) == [
        f"roles/cloudkms.viewer on crypto key {KEY_ID} to {GSA} (allowed by config "
        "review.extraGrants: audit tooling lists key versions): used"
    ]
    code, out, _ = run_review(capsys, str(write_plan(valid_resources)))
    assert code == 0
    lines = out.splitlines()
    at = lines.index("  allowed by config:")
    assert lines[at + 1].strip() == used_extras(valid_resources)[0]
    code, out, _ = run_review(capsys, str(write_plan(valid_resources)), "--format", "json")
    assert json.loads(out)["plans"][0]["allowedExtras"] == used_extras(valid_resources)


def test_preview_unknowns_never_become_wrong_facts(valid_resources: Resources) -> None:
    """During a first `pulumi preview` ids and emails are unknown: the facts built from them
    fall back to the shape, so nothing fails falsely and a broader role still fails."""
    set_input(valid_resources, "model-key", "keyRing", UNKNOWN)
    set_input(valid_resources, "model-model", "bucket", UNKNOWN)
    set_input(valid_resources, "cluster-pool", "nodeConfig.serviceAccount", UNKNOWN)
    set_input(valid_resources, "cluster-cluster", "nodeConfig.serviceAccount", UNKNOWN)
    for name in ("cluster-node-logging", "cluster-node-monitoring", "registry-reader-0"):
        set_input(valid_resources, name, "member", UNKNOWN)
    set_input(valid_resources, "cluster-node-artifactregistry", "member", UNKNOWN)
    set_input(valid_resources, "workload-identity-decrypter", "cryptoKeyId", UNKNOWN)
    set_input(valid_resources, "workload-identity-object-viewer", "condition.expression", UNKNOWN)
    assert _failing(valid_resources) == {}
    set_input(valid_resources, "workload-identity-object-viewer", "role", "roles/storage.admin")
    assert set(_failing(valid_resources)) == {IAM}
