"""The rule set: the valid plan passes every rule, and one change breaks exactly the rule(s) it
should, with a message naming the resource, the property path and the value."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from policy import rules
from policy.rules import RULES, Rule, Severity, Status, Violation, evaluate, select_rules
from tests.policy.conftest import (
    CLUSTER_PROJECT,
    KEY_ID,
    MODEL_PROJECT,
    NODE_SA,
    STACK_URN,
    WORKLOAD_POOL,
    WORKLOAD_SA,
)
from tests.policy.deploy_k8s_cases import deploy_k8s_cases
from tests.policy.deploy_round2_cases import deploy_round2_cases
from tests.policy.settings_cases import settings_cases

C = 'gcp:container/cluster:Cluster "cluster-cluster"'
P = 'gcp:container/nodePool:NodePool "cluster-pool"'
B = 'gcp:binaryauthorization/policy:Policy "binauthz-policy"'
D = 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember "workload-identity-decrypter"'
K = 'gcp:kms/cryptoKey:CryptoKey "model-key"'
ORGP = 'gcp:orgpolicy/policy:Policy "folder-confidential-only"'
F = 'gcp:organizations/folder:Folder "folder-folder"'
M = 'gcp:storage/bucketObject:BucketObject "model-model"'
A = 'gcp:binaryauthorization/attestor:Attestor "attestor-attestor"'
DEPLOY = 'kubernetes:apps/v1:Deployment "harness-deployment"'
CHART = 'kubernetes:helm.sh/v4:Chart "gatekeeper-chart"'
BY_DIGEST = "images must be pinned by digest (<repository>@sha256:<64 hex>)"
SEV = "Confidential GKE Nodes need an AMD SEV machine type (n2d/c2d/c3d, e.g. n2d-standard-2)"
NEED_WI = "only a Workload-Identity-bound service account (the sandbox namespace's KSA) may decrypt"
NO_WI = (
    f"{WORKLOAD_SA} has no roles/iam.workloadIdentityUser binding to a "
    f"<pool>[<namespace>/<ksa>] member in this plan, and {NEED_WI}"
)
DECRYPT_TO_WORKLOAD = (
    f'{D}: role "roles/cloudkms.cryptoKeyDecrypter" granted to member '
    f'"serviceAccount:{WORKLOAD_SA}"; {NO_WI}'
)
UNREADABLE = (
    'gcp:projects/iAMPolicy:IAMPolicy "tenant-access-policy": policyData is not JSON '
    "(JSONDecodeError at char 0); the grants it makes cannot be verified, write "
    'policyData as JSON {"bindings": [...]}'
)

DELETE = "<delete>"


@dataclass(frozen=True)
class Change:
    """One change to the valid plan."""

    action: str  # set | delete | add | remove | field
    target: str  # resource name (for add: the sibling whose parent the new resource shares)
    path: str | tuple[str, ...] = ""
    value: Any = None
    type_token: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    id: str
    rule: str
    change: Change
    message: str
    also_fails: frozenset[str] = frozenset()


def set_(target: str, path: str | tuple[str, ...], value: Any) -> Change:
    return Change("set", target, path, value)


def delete(target: str, path: str | tuple[str, ...]) -> Change:
    return Change("delete", target, path)


def add(sibling: str, type_token: str, name: str, inputs: dict[str, Any]) -> Change:
    return Change("add", sibling, name, type_token=type_token, inputs=inputs)


CASES = [
    # gke-confidential-nodes
    Case(
        "cluster-confidential-off",
        "gke-confidential-nodes",
        set_("cluster-cluster", "confidentialNodes.enabled", False),
        f"{C}: confidentialNodes.enabled is false; Confidential GKE Nodes must be on",
    ),
    Case(
        "pool-confidential-unset",
        "gke-confidential-nodes",
        delete("cluster-pool", "nodeConfig.confidentialNodes"),
        f"{P}: nodeConfig.confidentialNodes.enabled is unset; the node pool must run on "
        "Confidential GKE Nodes",
    ),
    Case(
        "pool-machine-e2",
        "gke-confidential-nodes",
        set_("cluster-pool", "nodeConfig.machineType", "e2-standard-4"),
        f'{P}: nodeConfig.machineType is "e2-standard-4"; {SEV}',
    ),
    Case(
        "default-pool-machine-unset",
        "gke-confidential-nodes",
        delete("cluster-cluster", "nodeConfig.machineType"),
        f"{C}: nodeConfig.machineType is unset; {SEV} (the default pool is created before it "
        "is removed; the GKE default e2-medium is not SEV-capable)",
    ),
    Case(
        "pool-tdx",
        "gke-confidential-nodes",
        set_("cluster-pool", "nodeConfig.confidentialNodes.confidentialInstanceType", "TDX"),
        f'{P}: nodeConfig.confidentialNodes.confidentialInstanceType is "TDX"; the '
        "confidential technology must be AMD SEV or SEV_SNP",
    ),
    # gke-shielded-nodes
    Case(
        "cluster-shielded-off",
        "gke-shielded-nodes",
        set_("cluster-cluster", "enableShieldedNodes", False),
        f"{C}: enableShieldedNodes is false; Shielded GKE Nodes must be on",
    ),
    Case(
        "pool-secure-boot-off",
        "gke-shielded-nodes",
        set_("cluster-pool", "nodeConfig.shieldedInstanceConfig.enableSecureBoot", False),
        f"{P}: nodeConfig.shieldedInstanceConfig.enableSecureBoot is false; nodes must boot "
        "with Secure Boot",
    ),
    Case(
        "pool-integrity-unset",
        "gke-shielded-nodes",
        delete("cluster-pool", "nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring"),
        f"{P}: nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring is unset; nodes "
        "must have integrity monitoring on",
    ),
    # gke-workload-identity
    Case(
        "cluster-wi-unset",
        "gke-workload-identity",
        delete("cluster-cluster", "workloadIdentityConfig"),
        f"{C}: workloadIdentityConfig.workloadPool is unset; Workload Identity must be on with "
        f"the cluster project's pool {WORKLOAD_POOL}",
    ),
    Case(
        "cluster-wi-foreign-pool",
        "gke-workload-identity",
        set_(
            "cluster-cluster",
            "workloadIdentityConfig.workloadPool",
            "other-project.svc.id.goog",
        ),
        f'{C}: workloadIdentityConfig.workloadPool is "other-project.svc.id.goog"; Workload '
        f"Identity must be on with the cluster project's pool {WORKLOAD_POOL}",
        # the decrypter's WI binding names the old pool, which no cluster in the plan uses now
        frozenset({"iam-exact-grants", "kms-decrypt-only-workload"}),
    ),
    Case(
        "pool-gce-metadata",
        "gke-workload-identity",
        set_("cluster-pool", "nodeConfig.workloadMetadataConfig.mode", "GCE_METADATA"),
        f'{P}: nodeConfig.workloadMetadataConfig.mode is "GCE_METADATA"; pods must get '
        "identities from the GKE metadata server (GKE_METADATA), not the node's",
    ),
    # gke-binauthz-enforced
    Case(
        "cluster-binauthz-disabled",
        "gke-binauthz-enforced",
        set_("cluster-cluster", "binaryAuthorization.evaluationMode", "DISABLED"),
        f'{C}: binaryAuthorization.evaluationMode is "DISABLED"; the cluster must enforce the '
        "project's Binary Authorization policy (PROJECT_SINGLETON_POLICY_ENFORCE)",
    ),
    Case(
        "policy-always-allow",
        "gke-binauthz-enforced",
        set_("binauthz-policy", "defaultAdmissionRule.evaluationMode", "ALWAYS_ALLOW"),
        f'{B}: defaultAdmissionRule.evaluationMode is "ALWAYS_ALLOW"; the default admission '
        "rule must require an attestation",
    ),
    Case(
        "policy-dry-run",
        "gke-binauthz-enforced",
        set_(
            "binauthz-policy",
            "defaultAdmissionRule.enforcementMode",
            "DRYRUN_AUDIT_LOG_ONLY",
        ),
        f'{B}: defaultAdmissionRule.enforcementMode is "DRYRUN_AUDIT_LOG_ONLY"; images without '
        "an attestation must be blocked, not only logged",
    ),
    Case(
        "policy-no-attestor",
        "gke-binauthz-enforced",
        set_("binauthz-policy", "defaultAdmissionRule.requireAttestationsBies", []),
        f"{B}: defaultAdmissionRule.requireAttestationsBies is []; the default admission rule "
        "must name the image attestor",
    ),
    Case(
        "policy-global-off",
        "gke-binauthz-enforced",
        set_("binauthz-policy", "globalPolicyEvaluationMode", "DISABLE"),
        f'{B}: globalPolicyEvaluationMode is "DISABLE"; the Google-maintained global policy '
        "must be evaluated (ENABLE) so that only Google system images are exempt",
    ),
    Case(
        "policy-cluster-exempt",
        "gke-binauthz-enforced",
        set_(
            "binauthz-policy",
            "clusterAdmissionRules",
            [
                {
                    "cluster": "us-central1-a.sandbox-cluster",
                    "evaluationMode": "ALWAYS_ALLOW",
                    "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG",
                }
            ],
        ),
        f'{B}: clusterAdmissionRules[0].evaluationMode is "ALWAYS_ALLOW"; no cluster may be '
        "exempt from attestation",
    ),
    Case(
        "policy-cluster-dry-run",
        "gke-binauthz-enforced",
        set_(
            "binauthz-policy",
            "clusterAdmissionRules",
            [
                {
                    "cluster": "us-central1-a.sandbox-cluster",
                    "evaluationMode": "REQUIRE_ATTESTATION",
                    "enforcementMode": "DRYRUN_AUDIT_LOG_ONLY",
                    "requireAttestationsBies": ["projects/alice-model/attestors/harness-attestor"],
                }
            ],
        ),
        f'{B}: clusterAdmissionRules[0].enforcementMode is "DRYRUN_AUDIT_LOG_ONLY"; a dry-run '
        "rule admits every image",
    ),
    Case(
        "policy-cluster-rule-without-attestor",
        "gke-binauthz-enforced",
        set_(
            "binauthz-policy",
            "clusterAdmissionRules",
            [
                {
                    "cluster": "us-central1-a.sandbox-cluster",
                    "evaluationMode": "REQUIRE_ATTESTATION",
                    "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG",
                }
            ],
        ),
        f"{B}: clusterAdmissionRules[0].requireAttestationsBies is unset; a rule that requires "
        "attestation must name an attestor",
    ),
    Case(
        "policy-wildcard-allowlist",
        "gke-binauthz-enforced",
        set_("binauthz-policy", "admissionWhitelistPatterns[0].namePattern", "*"),
        f'{B}: admissionWhitelistPatterns[0].namePattern is "*"; a wildcard allowlist pattern '
        "may only cover a repository this plan creates in the cluster project (a tenant's "
        "repository, or a host or project prefix, would admit unattested images); list exact "
        "<repository>@sha256:<64 hex> references instead",
    ),
    # gke-no-legacy-auth
    Case(
        "legacy-abac",
        "gke-no-legacy-auth",
        set_("cluster-cluster", "enableLegacyAbac", True),
        f"{C}: enableLegacyAbac is true; legacy ABAC bypasses RBAC and must stay off",
    ),
    Case(
        "client-certificate",
        "gke-no-legacy-auth",
        set_(
            "cluster-cluster",
            "masterAuth.clientCertificateConfig.issueClientCertificate",
            True,
        ),
        f"{C}: masterAuth.clientCertificateConfig.issueClientCertificate is true; client "
        "certificates are long-lived cluster credentials; keep them off",
    ),
    # gke-network-policy
    Case(
        "network-policy-off",
        "gke-network-policy",
        delete("cluster-cluster", "datapathProvider"),
        f"{C}: networkPolicy.enabled is unset and datapathProvider is unset; NetworkPolicies "
        "must be enforced: use Dataplane V2 (ADVANCED_DATAPATH) or enable network policy",
    ),
    # gke-node-sa-least-privilege
    Case(
        "node-sa-default-compute",
        "gke-node-sa-least-privilege",
        set_(
            "cluster-pool",
            "nodeConfig.serviceAccount",
            "123456789012-compute@developer.gserviceaccount.com",
        ),
        f'{P}: nodeConfig.serviceAccount is "123456789012-compute@developer.gserviceaccount.com"'
        "; that is the Compute Engine default service account, use a dedicated node SA",
        # the webhook firewall targets the node SA, so these nodes no longer get it (issue 10)
        frozenset({"webhook-reachable"}),
    ),
    Case(
        "node-sa-unset",
        "gke-node-sa-least-privilege",
        delete("cluster-pool", "nodeConfig.serviceAccount"),
        f"{P}: nodeConfig.serviceAccount is unset; without it nodes run as the Compute Engine "
        "default service account (Editor)",
    ),
    Case(
        "node-sa-extra-role",
        "gke-node-sa-least-privilege",
        set_("cluster-node-monitoring", "role", "roles/storage.admin"),
        'gcp:projects/iAMMember:IAMMember "cluster-node-monitoring": role '
        f'"roles/storage.admin" granted to member "serviceAccount:{NODE_SA}", the node service '
        "account; it may only hold roles/artifactregistry.reader, "
        "roles/container.defaultNodeServiceAccount, roles/logging.logWriter, "
        "roles/monitoring.metricWriter",
        also_fails=frozenset({"iam-exact-grants"}),
    ),
    # kms-key-rotation
    Case(
        "rotation-unset",
        "kms-key-rotation",
        delete("model-key", "rotationPeriod"),
        f"{K}: rotationPeriod is unset; a symmetric key must rotate at least every 90 days "
        '(e.g. "7776000s")',
    ),
    Case(
        "rotation-yearly",
        "kms-key-rotation",
        set_("model-key", "rotationPeriod", "31536000s"),
        f'{K}: rotationPeriod is "31536000s"; at most 7776000s (90 days) is allowed',
    ),
    Case(
        "rotation-malformed",
        "kms-key-rotation",
        set_("model-key", "rotationPeriod", "90d"),
        f'{K}: rotationPeriod is "90d"; a symmetric key must rotate at least every 90 days '
        '(e.g. "7776000s")',
    ),
    Case(
        "purpose-default-is-symmetric",
        "kms-key-rotation",
        delete("attestor-signing-key", "purpose"),
        'gcp:kms/cryptoKey:CryptoKey "attestor-signing-key": rotationPeriod is unset; a '
        'symmetric key must rotate at least every 90 days (e.g. "7776000s")',
    ),
    # kms-decrypt-only-workload
    Case(
        "decrypt-to-user",
        "kms-decrypt-only-workload",
        set_("workload-identity-decrypter", "member", "user:bob@example.com"),
        f'{D}: role "roles/cloudkms.cryptoKeyDecrypter" granted to member '
        f'"user:bob@example.com"; {NEED_WI}',
        frozenset({"iam-exact-grants", "model-access-paths"}),
    ),
    Case(
        "decrypt-without-wi-binding",
        "kms-decrypt-only-workload",
        Change("remove", "workload-identity-wi-user"),
        DECRYPT_TO_WORKLOAD,
    ),
    Case(
        "wi-binding-is-token-creator",
        "kms-decrypt-only-workload",
        set_("workload-identity-wi-user", "role", "roles/iam.serviceAccountTokenCreator"),
        DECRYPT_TO_WORKLOAD,
        frozenset({"iam-exact-grants", "model-access-paths"}),
    ),
    Case(
        "decrypt-to-node-sa",
        "kms-decrypt-only-workload",
        set_("workload-identity-decrypter", "member", f"serviceAccount:{NODE_SA}"),
        f'{D}: role "roles/cloudkms.cryptoKeyDecrypter" granted to member '
        f'"serviceAccount:{NODE_SA}"; {NODE_SA} has no roles/iam.workloadIdentityUser binding '
        f"to a <pool>[<namespace>/<ksa>] member in this plan, and {NEED_WI}",
        frozenset({"gke-node-sa-least-privilege", "iam-exact-grants"}),
    ),
    Case(
        "decrypt-at-project-to-group",
        "kms-decrypt-only-workload",
        add(
            "tenant-iam-bob-cluster-viewer-0",
            "gcp:projects/iAMMember:IAMMember",
            "tenant-access-ml-team",
            {
                "project": MODEL_PROJECT,
                "role": "roles/cloudkms.cryptoKeyEncrypterDecrypter",
                "member": "group:ml-team@example.com",
            },
        ),
        'gcp:projects/iAMMember:IAMMember "tenant-access-ml-team": role '
        '"roles/cloudkms.cryptoKeyEncrypterDecrypter" granted to member '
        f'"group:ml-team@example.com"; {NEED_WI}',
        frozenset({"iam-exact-grants", "model-access-paths"}),
    ),
    Case(
        "impersonate-decrypter",
        "kms-decrypt-only-workload",
        add(
            "workload-identity-wi-user",
            "gcp:serviceaccount/iAMMember:IAMMember",
            "workload-identity-bob-token",
            {
                "serviceAccountId": f"projects/{CLUSTER_PROJECT}/serviceAccounts/{WORKLOAD_SA}",
                "role": "roles/iam.serviceAccountTokenCreator",
                "member": "user:bob@example.com",
            },
        ),
        'gcp:serviceaccount/iAMMember:IAMMember "workload-identity-bob-token": role '
        '"roles/iam.serviceAccountTokenCreator" granted to member "user:bob@example.com" on '
        f"{WORKLOAD_SA}; that member could act as the decrypting identity outside the sandbox",
        # the added grant waits for no IAM API enablement (issue 10)
        frozenset({"iam-exact-grants", "model-access-paths", "services-before-use"}),
    ),
    Case(
        "impersonate-at-project",
        "kms-decrypt-only-workload",
        add(
            "tenant-iam-bob-cluster-viewer-0",
            "gcp:projects/iAMMember:IAMMember",
            "tenant-access-sa-user",
            {
                "project": CLUSTER_PROJECT,
                "role": "roles/iam.serviceAccountUser",
                "member": "user:bob@example.com",
            },
        ),
        'gcp:projects/iAMMember:IAMMember "tenant-access-sa-user": role '
        '"roles/iam.serviceAccountUser" granted to member "user:bob@example.com" on project '
        f'"{CLUSTER_PROJECT}", home of the decrypting service account; that member could act '
        "as the decrypting identity outside the sandbox",
        frozenset({"iam-exact-grants", "model-access-paths"}),
    ),
    Case(
        "second-ksa-bound",
        "kms-decrypt-only-workload",
        add(
            "workload-identity-wi-user",
            "gcp:serviceaccount/iAMMember:IAMMember",
            "workload-identity-ns2",
            {
                "serviceAccountId": f"projects/{CLUSTER_PROJECT}/serviceAccounts/{WORKLOAD_SA}",
                "role": "roles/iam.workloadIdentityUser",
                "member": f"serviceAccount:{WORKLOAD_POOL}[ns2/other-sa]",
            },
        ),
        'gcp:serviceaccount/iAMMember:IAMMember "workload-identity-ns2": role '
        '"roles/iam.workloadIdentityUser" granted to member '
        f'"serviceAccount:{WORKLOAD_POOL}[ns2/other-sa]"; {WORKLOAD_SA} can decrypt and 2 '
        f"Kubernetes service accounts can act as it ({WORKLOAD_POOL}[ns1/tee-sa], "
        f"{WORKLOAD_POOL}[ns2/other-sa]); allow exactly one",
        # carol may create pods as ns2/other-sa (no workload-KSA constraint covers it); the
        # added grant is beyond the design and waits for no IAM API (issue 10)
        frozenset(
            {
                "iam-exact-grants",
                "model-access-paths",
                "services-before-use",
                "constraints-complete",
            }
        ),
    ),
    Case(
        "decrypter-key-exported",
        "kms-decrypt-only-workload",
        add(
            "workload-identity-wi-user",
            "gcp:serviceaccount/key:Key",
            "workload-identity-key",
            {"serviceAccountId": WORKLOAD_SA},
        ),
        f'gcp:serviceaccount/key:Key "workload-identity-key": serviceAccountId is '
        f'"{WORKLOAD_SA}"; a key for the decrypting service account works outside the cluster',
        frozenset({"model-access-paths"}),
    ),
    # model-access-paths
    Case(
        "tenant-gke-developer",
        "model-access-paths",
        add(
            "tenant-iam-bob-cluster-viewer-0",
            "gcp:projects/iAMMember:IAMMember",
            "tenant-access-dev",
            {
                "project": CLUSTER_PROJECT,
                "role": "roles/container.developer",
                "member": "user:bob@example.com",
            },
        ),
        'gcp:projects/iAMMember:IAMMember "tenant-access-dev": '
        f"user:bob@example.com can decrypt KMS key {KEY_ID}: GKE IAM lets it create pods as "
        f"ns1/tee-sa regardless of RBAC (roles/cloudkms.cryptoKeyDecrypter to "
        f"serviceAccount:{WORKLOAD_SA} -> roles/iam.workloadIdentityUser on {WORKLOAD_SA} to "
        f"serviceAccount:{WORKLOAD_POOL}[ns1/tee-sa] -> Kubernetes service account ns1/tee-sa "
        f"(pool {WORKLOAD_POOL}) -> roles/container.developer on project {CLUSTER_PROJECT} to "
        "user:bob@example.com)",
        also_fails=frozenset({"iam-exact-grants"}),
    ),
    # bucket-no-public-access
    Case(
        "bucket-acls-on",
        "bucket-no-public-access",
        set_("model-bucket", "uniformBucketLevelAccess", False),
        'gcp:storage/bucket:Bucket "model-bucket": uniformBucketLevelAccess is false; '
        "object ACLs must be disabled (uniform bucket-level access)",
    ),
    Case(
        "bucket-pap-inherited",
        "bucket-no-public-access",
        set_("model-bucket", "publicAccessPrevention", "inherited"),
        'gcp:storage/bucket:Bucket "model-bucket": publicAccessPrevention is "inherited"; '
        'public access prevention must be "enforced"',
    ),
    # no-primitive-roles
    Case(
        "tenant-viewer",
        "no-primitive-roles",
        set_("tenant-iam-bob-cluster-viewer-0", "role", "roles/viewer"),
        'gcp:projects/iAMMember:IAMMember "tenant-iam-bob-cluster-viewer-0": role "roles/viewer" granted to '
        'member "user:bob@example.com"; basic roles grant far more than any party here needs',
        also_fails=frozenset({"iam-exact-grants"}),
    ),
    Case(
        "tenant-owner",
        "no-primitive-roles",
        set_("tenant-iam-bob-cluster-viewer-0", "role", "roles/owner"),
        'gcp:projects/iAMMember:IAMMember "tenant-iam-bob-cluster-viewer-0": role "roles/owner" granted to '
        'member "user:bob@example.com"; basic roles grant far more than any party here needs',
        frozenset({"iam-exact-grants", "kms-decrypt-only-workload", "model-access-paths"}),
    ),  # owner can decrypt and impersonate
    Case(
        "bucket-policy-editor",
        "no-primitive-roles",
        add(
            "model-bucket",
            "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
            "model-vault-policy",
            {
                "bucket": "a-demo-model-sealed",
                "policyData": json.dumps(
                    {"bindings": [{"role": "roles/editor", "members": ["user:carol@example.com"]}]}
                ),
            },
        ),
        'gcp:storage/bucketIAMPolicy:BucketIAMPolicy "model-vault-policy": role "roles/editor" '
        'granted to policyData.bindings[0].members[0] "user:carol@example.com"; basic roles '
        "grant far more than any party here needs",
        frozenset({"iam-exact-grants", "model-access-paths"}),
    ),
    Case(
        "unreadable-policy",
        "no-primitive-roles",
        add(
            "tenant-iam-bob-cluster-viewer-0",
            "gcp:projects/iAMPolicy:IAMPolicy",
            "tenant-access-policy",
            {"project": CLUSTER_PROJECT, "policyData": "not json"},
        ),
        UNREADABLE,
        frozenset({"iam-exact-grants", "kms-decrypt-only-workload", "no-public-members"}),
    ),
    # no-public-members
    Case(
        "bucket-reader-all-users",
        "no-public-members",
        set_("workload-identity-object-viewer", "member", "allUsers"),
        'gcp:storage/bucketIAMMember:BucketIAMMember "workload-identity-object-viewer": role '
        '"roles/storage.objectViewer" granted to member "allUsers"; nothing may be granted to '
        "the public",
        frozenset({"iam-exact-grants", "model-access-paths"}),
    ),
    Case(
        "bucket-acl-all-users",
        "no-public-members",
        add(
            "model-bucket",
            "gcp:storage/bucketACL:BucketACL",
            "model-vault-acl",
            {
                "bucket": "a-demo-model-sealed",
                "roleEntities": ["OWNER:user-alice@example.com", "READER:allUsers"],
            },
        ),
        'gcp:storage/bucketACL:BucketACL "model-vault-acl": roleEntities[1] is '
        '"READER:allUsers"; nothing may be granted to the public',
    ),
    Case(
        "bucket-access-control-public",
        "no-public-members",
        add(
            "model-bucket",
            "gcp:storage/bucketAccessControl:BucketAccessControl",
            "model-vault-access",
            {"bucket": "a-demo-model-sealed", "entity": "allAuthenticatedUsers", "role": "READER"},
        ),
        'gcp:storage/bucketAccessControl:BucketAccessControl "model-vault-access": entity is '
        '"allAuthenticatedUsers"; nothing may be granted to the public',
    ),
    Case(
        "object-acl-public-read",
        "no-public-members",
        add(
            "model-bucket",
            "gcp:storage/objectACL:ObjectACL",
            "model-vault-object-acl",
            {
                "bucket": "a-demo-model-sealed",
                "object": "my_model.tar.gz.enc",
                "predefinedAcl": "publicRead",
            },
        ),
        'gcp:storage/objectACL:ObjectACL "model-vault-object-acl": predefinedAcl is '
        '"publicRead"; nothing may be granted to the public',
    ),
    # org-policy-confidential-only
    Case(
        "org-policy-denies-nothing",
        "org-policy-confidential-only",
        set_("folder-confidential-only", "spec.rules[0].values.deniedValues", []),
        f"{ORGP}: spec.rules[*].values.deniedValues is [[]]; an unconditional rule must deny "
        '"compute.googleapis.com"',
    ),
    Case(
        "org-policy-allow-all",
        "org-policy-confidential-only",
        set_("folder-confidential-only", "spec.rules[0].allowAll", "TRUE"),
        f'{ORGP}: spec.rules[0].allowAll is "TRUE"; allowAll would admit non-confidential VMs',
    ),
    Case(
        "org-policy-conditional",
        "org-policy-confidential-only",
        set_(
            "folder-confidential-only",
            "spec.rules[0].condition",
            {"expression": "resource.matchTag('123/env', 'prod')"},
        ),
        f'{ORGP}: spec.rules[*].values.deniedValues is [["compute.googleapis.com"]]; an '
        'unconditional rule must deny "compute.googleapis.com"',
    ),
    Case(
        "org-policy-other-constraint",
        "org-policy-confidential-only",
        set_(
            "folder-confidential-only",
            "name",
            "folders/confidential-folder-folder_id/policies/compute.vmExternalIpAccess",
        ),
        f"{F}: no gcp:orgpolicy/policy:Policy for "
        "constraints/compute.restrictNonConfidentialComputing is attached (same Pulumi parent "
        "component as the folder); only Confidential VMs may run in the sandbox folder",
        frozenset({"project-in-confidential-folder"}),  # the folder is no longer confidential
    ),
    Case(
        "org-policy-not-with-folder",
        "org-policy-confidential-only",
        Change("field", "folder-confidential-only", "parent", STACK_URN),
        f"{F}: no gcp:orgpolicy/policy:Policy for "
        "constraints/compute.restrictNonConfidentialComputing is attached (same Pulumi parent "
        "component as the folder); only Confidential VMs may run in the sandbox folder",
    ),
    Case(
        "org-policy-on-organization",
        "org-policy-confidential-only",
        set_("folder-confidential-only", "parent", "organizations/673208786098"),
        f'{ORGP}: parent is "organizations/673208786098"; the policy must be set on the sandbox '
        "folder (folders/<id>)",
        frozenset({"project-in-confidential-folder"}),
    ),
    # images-by-digest
    Case(
        "deployment-by-tag",
        "images-by-digest",
        set_(
            "harness-deployment",
            "spec.template.spec.containers[0].image",
            "us-central1-docker.pkg.dev/bob-harness/harness/harness:v1",
        ),
        f"{DEPLOY}: spec.template.spec.containers[0].image is "
        f'"us-central1-docker.pkg.dev/bob-harness/harness/harness:v1"; {BY_DIGEST}',
        frozenset({"workloads-admitted"}),  # the image-digest constraint denies it
    ),
    Case(
        "image-digest-without-repository-path",
        "images-by-digest",
        set_(
            "harness-deployment",
            "spec.template.spec.containers[0].image",
            "harness@sha256:" + "0" * 64,
        ),
        f'{DEPLOY}: spec.template.spec.containers[0].image is "harness@sha256:{"0" * 64}"; '
        f"{BY_DIGEST}",
        frozenset({"workloads-admitted"}),
    ),  # policy.facts.IMAGE_BY_DIGEST: a digest names bytes only within a <host>/<path> repository
    Case(
        "init-container-by-tag",
        "images-by-digest",
        set_(
            "harness-deployment",
            "spec.template.spec.initContainers",
            [{"name": "setup", "image": "busybox:1.36"}],
        ),
        f'{DEPLOY}: spec.template.spec.initContainers[0].image is "busybox:1.36"; {BY_DIGEST}',
        frozenset({"workloads-admitted"}),
    ),
    Case(
        "helm-image-without-digest",
        "images-by-digest",
        set_("gatekeeper-chart", "values.image.repository", "docker.io/openpolicyagent/gatekeeper"),
        f'{CHART}: values.image.repository is "docker.io/openpolicyagent/gatekeeper"; pin it by '
        "digest: <repository>@sha256:<64 hex> or a digest field sha256:<64 hex>",
    ),
    Case(
        "helm-second-repository-by-tag",
        "images-by-digest",
        set_(
            "gatekeeper-chart",
            "values.image.crdRepository",
            "docker.io/openpolicyagent/gatekeeper-crds",
        ),
        f'{CHART}: values.image.crdRepository is "docker.io/openpolicyagent/gatekeeper-crds"; '
        "pin it by digest: <repository>@sha256:<64 hex>",
    ),
    Case(
        "helm-image-map-without-repository",
        "images-by-digest",
        set_("gatekeeper-chart", "values.image", {"name": "gatekeeper", "tag": "v3.15.0"}),
        f'{CHART}: values.image is {{"name": "gatekeeper", "tag": "v3.15.0"}}; set its digest '
        "(sha256:<64 hex>) so the chart pulls the image by digest",
    ),
    Case(
        "helm-bad-digest",
        "images-by-digest",
        set_("gatekeeper-chart", "values.image.digest", "sha256:abc"),
        f'{CHART}: values.image.digest is "sha256:abc"; a digest is sha256:<64 hex>',
    ),
    Case(
        "helm-no-image-values",
        "images-by-digest",
        set_("gatekeeper-chart", "values", {"replicas": 1}),
        f"{CHART}: values sets no image; the chart's default images are pinned by tag, "
        f"override them: {BY_DIGEST}",
        frozenset({"gatekeeper-fail-closed"}),  # the chart default fails open
    ),
    Case(
        "config-group-cronjob-by-tag",
        "images-by-digest",
        add(
            "harness-deployment",
            "kubernetes:yaml/v2:ConfigGroup",
            "harness-extras",
            {
                "objs": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "CronJob",
                        "metadata": {"name": "refresh", "namespace": "ns1"},
                        "spec": {
                            "schedule": "0 * * * *",
                            "jobTemplate": {
                                "spec": {
                                    "template": {
                                        "spec": {
                                            "containers": [
                                                {"name": "kubectl", "image": "bitnami/kubectl:1.29"}
                                            ]
                                        }
                                    }
                                }
                            },
                        },
                    }
                ]
            },
        ),
        'kubernetes:yaml/v2:ConfigGroup "harness-extras": '
        "objs[0].spec.jobTemplate.spec.template.spec.containers[0].image is "
        f'"bitnami/kubectl:1.29"; {BY_DIGEST}',
    ),
    # model-object-sealed
    Case(
        "object-not-sealed",
        "model-object-sealed",
        delete("model-model", ("metadata", "encryption-key")),
        f'{M}: metadata["encryption-key"] is unset; the object must be sealed: a KMS-wrapped '
        "Tink keyset, base64",
    ),
    Case(
        "object-bad-digest",
        "model-object-sealed",
        set_("model-model", ("metadata", "plaintext-sha256"), "abc"),
        f'{M}: metadata["plaintext-sha256"] is "abc"; expected the 64 lower-case hex SHA-256 '
        "of the plaintext model",
    ),
    # attestor-has-public-key
    Case(
        "attestor-no-keys",
        "attestor-has-public-key",
        set_("attestor-attestor", "attestationAuthorityNote.publicKeys", []),
        f"{A}: attestationAuthorityNote.publicKeys is []; without a public key no attestation "
        "can verify",
    ),
    Case(
        "attestor-bad-pem",
        "attestor-has-public-key",
        set_(
            "attestor-attestor",
            "attestationAuthorityNote.publicKeys[0].pkixPublicKey.publicKeyPem",
            "not a key",
        ),
        f"{A}: attestationAuthorityNote.publicKeys[0] has asciiArmoredPgpPublicKey unset, "
        'pkixPublicKey.publicKeyPem "not a key" and signatureAlgorithm "EC_SIGN_P256_SHA256"; '
        "expected an ASCII-armored PGP key or a PEM public key with its signature algorithm",
    ),
    Case(
        "attestor-no-note",
        "attestor-has-public-key",
        delete("attestor-attestor", "attestationAuthorityNote.noteReference"),
        f"{A}: attestationAuthorityNote.noteReference is unset; the attestor must reference "
        "its Container Analysis note",
    ),
    # gke-private-nodes
    Case(
        "public-nodes",
        "gke-private-nodes",
        set_("cluster-cluster", "privateClusterConfig.enablePrivateNodes", False),
        f"{C}: privateClusterConfig.enablePrivateNodes is false; nodes must have internal IP "
        "addresses only",
    ),
    Case(
        "pool-opts-out-private",
        "gke-private-nodes",
        set_("cluster-pool", "networkConfig.enablePrivateNodes", False),
        f"{P}: networkConfig.enablePrivateNodes is false; a node pool must not opt out of "
        "private nodes",
    ),
    # gke-release-channel
    Case(
        "no-release-channel",
        "gke-release-channel",
        set_("cluster-cluster", "releaseChannel.channel", "UNSPECIFIED"),
        f'{C}: releaseChannel.channel is "UNSPECIFIED"; the cluster must follow a release '
        "channel (RAPID, REGULAR, STABLE, EXTENDED) to receive security patches",
    ),
    Case(
        "pool-no-auto-upgrade",
        "gke-release-channel",
        set_("cluster-pool", "management.autoUpgrade", False),
        f"{P}: management.autoUpgrade is false; nodes on a release channel must auto-upgrade",
    ),
    # Issue 10 (deploy-ready, GCP side); more cases in test_deploy_gcp_rules.py
    Case(
        "registry-races-its-api",
        "services-before-use",
        Change("field", "registry-repository", "dependencies", []),
        'gcp:artifactregistry/repository:Repository "registry-repository": dependencies do not '
        'include gcp:projects/service:Service "harness-apis-artifactregistry" '
        '(artifactregistry.googleapis.com in project "b-demo-harness"); the first `pulumi up` '
        "races the API enablement",
    ),
    Case(
        "no-webhook-firewall",
        "webhook-reachable",
        Change("remove", "cluster-webhook-firewall"),
        f"{C}: privateClusterConfig.enablePrivateNodes is true and no INGRESS "
        "gcp:compute/firewall:Firewall admits the control plane (172.16.0.16/28) to the nodes "
        "on tcp:8443; Gatekeeper's webhook times out and, with failurePolicy Fail, every write "
        "is rejected",
    ),
    Case(
        "no-googleapis-zone",
        "google-apis-resolvable",
        set_("cluster-googleapis-com-zone", "dnsName", "example.com."),
        f"{C}: no private gcp:dns/managedZone:ManagedZone for googleapis.com. is visible on "
        'network "cluster-network-id"; pods reach Google APIs only through the VIPs their '
        "NetworkPolicy allows, and nothing resolves the API names there",
    ),
    Case(
        "perimeter-leaves-kms-open",
        "exfiltration-perimeter",
        set_("perimeter-perimeter", "status.restrictedServices", ["storage.googleapis.com"]),
        'gcp:accesscontextmanager/servicePerimeter:ServicePerimeter "perimeter-perimeter": '
        'status.restrictedServices is ["storage.googleapis.com"]; the enforced perimeter must '
        "restrict cloudkms.googleapis.com, storage.googleapis.com (missing "
        "cloudkms.googleapis.com)",
    ),
    # issue 14: one case each here; every class of the issue is in test_least_privilege.py
    Case(
        "decrypter-encrypts-too",
        "iam-exact-grants",
        set_("workload-identity-decrypter", "role", "roles/cloudkms.cryptoKeyEncrypterDecrypter"),
        f'{D}: grants "roles/cloudkms.cryptoKeyEncrypterDecrypter" on crypto key "{KEY_ID}" '
        f'to member "serviceAccount:{WORKLOAD_SA}", which is not a grant the design calls for; '
        f"it should have been roles/cloudkms.cryptoKeyDecrypter on crypto key {KEY_ID} to "
        f"serviceAccount:{WORKLOAD_SA} (the workload decrypts the model keyset)",
    ),
    Case(
        "tenant-bound-to-edit",
        "rbac-exact-rules",
        set_("tenant-carol-role-binding", "roleRef.kind", "ClusterRole"),
        'kubernetes:rbac.authorization.k8s.io/v1:RoleBinding "tenant-carol-role-binding": '
        'roleRef is {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": '
        '"tenant"}; tenants are bound only to their own namespace\'s tenant Role, never a '
        "ClusterRole (built-in edit/admin grant far more): roleRef should be "
        '{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant"}',
    ),
    Case(
        "model-bucket-force-destroy",
        "model-data-durable",
        set_("model-bucket", "forceDestroy", True),
        'gcp:storage/bucket:Bucket "model-bucket": forceDestroy is true; must be false: '
        "deleting the bucket must never delete the sealed model with it",
    ),
    # Issue 14: the review gate (policy/rules/admission_review.py, guards.py); one mutation per
    # class is in tests/policy/test_review_gate.py
    Case(
        "harness-privileged",
        "workloads-admitted",
        set_(
            "harness-deployment",
            "spec.template.spec.containers[0].securityContext.privileged",
            True,
        ),
        'kubernetes:apps/v1:Deployment "harness-deployment": Gatekeeper would deny it: '
        "[ns1-container-privileges] Deployment ns1/harness, container harness: privileged "
        "containers are not allowed",
    ),
    Case(
        "ingress-allows-http",
        "ingress-https-only",
        set_(
            "harness-ingress",
            ("metadata", "annotations", "kubernetes.io/ingress.allow-http"),
            "true",
        ),
        'kubernetes:networking.k8s.io/v1:Ingress "harness-ingress": '
        'metadata.annotations["kubernetes.io/ingress.allow-http"] is "true"; set it to "false" so '
        "the load balancer has no HTTP front end",
    ),
    Case(
        "egress-anywhere",
        "network-policy-exact",
        set_("tenant-bob-allow-google-apis", "spec.egress[0].to[0].ipBlock.cidr", "0.0.0.0/0"),
        'kubernetes:networking.k8s.io/v1:NetworkPolicy "tenant-bob-allow-google-apis": '
        "spec.egress[0] allows \"0.0.0.0/0\", outside ['169.254.169.252/32', '169.254.169.254/32', "
        "'199.36.153.4/30', '199.36.153.8/30'] (from the design)",
    ),
    Case(
        "webhook-fail-open",
        "gatekeeper-fail-closed",
        set_("gatekeeper-chart", "values.validatingWebhookFailurePolicy", "Ignore"),
        'kubernetes:helm.sh/v4:Chart "gatekeeper-chart": values.validatingWebhookFailurePolicy is '
        '"Ignore"; set it to "Fail" so a webhook outage refuses pods instead of admitting them '
        "unchecked",
    ),
    Case(
        "constraint-warn-only",
        "constraints-enforced",
        set_("gatekeeper-constraint-ns2-seccomp", "spec.enforcementAction", "warn"),
        'kubernetes:constraints.gatekeeper.sh/v1beta1:SandboxSeccomp "gatekeeper-constraint-ns2-'
        'seccomp": spec.enforcementAction is "warn"; only "deny" blocks a request (dryrun and warn '
        "only report)",
    ),
    Case(
        "constraint-matches-another-namespace",
        "constraints-complete",
        set_("gatekeeper-constraint-ns2-seccomp", "spec.match.namespaces", ["ns9"]),
        "kubernetes:core/v1:Namespace \"tenant-carol-namespace\": tenant namespace 'ns2' has no "
        "SandboxSeccomp constraint matching its workloads; render the whole constraint set for "
        "every tenant",
    ),
    Case(
        "allowed-repos-whole-registry",
        "constraint-params-match",
        set_(
            "gatekeeper-constraint-ns1-allowed-repos",
            "spec.parameters.repos",
            ["us-central1-docker.pkg.dev"],
        ),
        'kubernetes:constraints.gatekeeper.sh/v1beta1:SandboxAllowedRepos "gatekeeper-constraint-'
        'ns1-allowed-repos": spec.parameters.repos is ["us-central1-docker.pkg.dev"]; each must be '
        "the plan's registry ['us-central1-docker.pkg.dev/b-demo-harness/repo1']",
    ),
    Case(
        "project-outside-folder",
        "project-in-confidential-folder",
        set_("project-project", "folderId", "999999999999"),
        'gcp:organizations/project:Project "project-project": folderId is "999999999999"; the '
        "project must be created in the folder whose org policy sets "
        "compute.restrictNonConfidentialComputing (['152423057221'])",
    ),
]
# Issue 10, Kubernetes side (policy/rules/deploy_k8s.py).
CASES += deploy_k8s_cases(Case, Change, set_, delete)
CASES += deploy_round2_cases(Case, Change, set_, add)
# What the mutation test found unjudged (policy/rules/cluster_surface.py, workload_contract.py).
FW = 'gcp:compute/firewall:Firewall "cluster-webhook-firewall"'
ENV_C = (
    "kubernetes:constraints.gatekeeper.sh/v1beta1:SandboxEnvAllowlist "
    '"gatekeeper-constraint-ns1-env-allowlist"'
)
VOL_C = (
    "kubernetes:constraints.gatekeeper.sh/v1beta1:SandboxWorkloadVolumes "
    '"gatekeeper-constraint-ns1-workload-volumes"'
)
CASES += [
    Case(
        "cluster-alpha",
        "gke-no-alpha-features",
        set_("cluster-cluster", "enableKubernetesAlpha", True),
        f"{C}: enableKubernetesAlpha is true; alpha features put unreviewed APIs in the sandbox "
        "and stop upgrades, keep it false",
    ),
    Case(
        "webhook-firewall-anywhere",
        "node-firewall-scoped",
        set_("cluster-webhook-firewall", "sourceRanges", ["0.0.0.0/0"]),
        f'{FW}: sourceRanges admits ["0.0.0.0/0"]; an INGRESS rule to the nodes may admit only '
        'the control plane\'s range ["172.16.0.16/28"]',
    ),
    Case(
        "webhook-firewall-every-instance",
        "node-firewall-scoped",
        set_("cluster-webhook-firewall", "targetServiceAccounts", []),
        f"{FW}: neither targetServiceAccounts nor targetTags is set, so the rule opens every "
        "instance on the network; target the nodes' service account",
    ),
    Case(
        "unused-api",
        "project-services-minimal",
        add(
            "project-dns",
            "gcp:projects/service:Service",
            "project-sqladmin",
            {"project": "ab-demo-cluster", "service": "sqladmin.googleapis.com"},
        ),
        'gcp:projects/service:Service "project-sqladmin": service is "sqladmin.googleapis.com"; no '
        "part of the sandbox uses it, so it must stay disabled (the sandbox's APIs: "
        "artifactregistry.googleapis.com, binaryauthorization.googleapis.com, "
        "cloudkms.googleapis.com, compute.googleapis.com, confidentialcomputing.googleapis.com, "
        "container.googleapis.com, containeranalysis.googleapis.com, dns.googleapis.com, "
        "iam.googleapis.com, iamcredentials.googleapis.com, logging.googleapis.com, "
        "monitoring.googleapis.com, storage.googleapis.com, sts.googleapis.com)",
    ),
    Case(
        "env-allowlist-wider",
        "workload-allowlists-exact",
        set_(
            "gatekeeper-constraint-ns1-env-allowlist",
            "spec.parameters.allowedEnv",
            [
                "HARNESS_LOG_LEVEL",
                "HARNESS_PORT",
                "HARNESS_RATE_LIMIT",
                "HARNESS_TLS_DIR",
                "HARNESS_TOKEN_FILE",
                "HARNESS_TRUSTED_PROXIES",
                "HARNESS_WORKERS",
                "KMS_KEY_URI",
                "MODEL_SHA256",
                "MODEL_URI",
            ],
        ),
        f'{ENV_C}: spec.parameters.allowedEnv admits ["HARNESS_LOG_LEVEL"] beyond the variables '
        "the harness image reads (HARNESS_PORT, HARNESS_RATE_LIMIT, HARNESS_TLS_DIR, "
        "HARNESS_TOKEN_FILE, HARNESS_TRUSTED_PROXIES, HARNESS_WORKERS, KMS_KEY_URI, "
        "MODEL_SHA256, MODEL_URI)",
    ),
    Case(
        "mount-paths-wider",
        "workload-allowlists-exact",
        set_(
            "gatekeeper-constraint-ns1-workload-volumes",
            "spec.parameters.allowedMountPaths",
            ["/etc/harness/tls", "/etc/harness/token", "/tmp", "/usr/local/lib"],
        ),
        f'{VOL_C}: spec.parameters.allowedMountPaths admits ["/usr/local/lib"] beyond the '
        "harness image's mount paths (/etc/harness/tls, /etc/harness/token, /tmp)",
    ),
    Case(
        "note-in-other-project",
        "attestor-note-owned",
        set_(
            "attestor-attestor",
            "attestationAuthorityNote.noteReference",
            "projects/b-demo-harness/notes/harness-note",
        ),
        f'{A}: attestationAuthorityNote.noteReference is "projects/b-demo-harness/notes/'
        "harness-note\"; the note must be in the attestor's project (projects/a-demo-model/"
        "notes/<note>), so only the model owner controls who may attach attestations to it",
    ),
]
# Found by the mutation test too: what the plan shows that only Gatekeeper used to guard, and
# the file the sealed object uploads.
CASES += [
    Case(
        "model-object-uploads-plaintext",
        "model-object-sealed",
        set_("model-model", ("source", "asset"), "build/sealed/sentiment-model.tar"),
        'gcp:storage/bucketObject:BucketObject "model-model": source is the file '
        '"build/sealed/sentiment-model.tar"; the object must upload the sealed file the config '
        'names (model.sealed.source "build/sealed/sentiment-model.tar.sealed"), the ciphertext '
        "`python -m infra seal` wrote",
    ),
    Case(
        "tenant-ksa-mounts-token",
        "tenant-ksa-no-token",
        set_("tenant-bob-workload-ksa", "automountServiceAccountToken", True),
        'kubernetes:core/v1:ServiceAccount "tenant-bob-workload-ksa": '
        "automountServiceAccountToken is true; a tenant service account must set it to false "
        "so no pod mounts its token unless it asks",
    ),
    Case(
        "tenant-quota-allows-load-balancers",
        "tenant-quota-no-external-services",
        set_("tenant-carol-quota", ("spec", "hard", "services.loadbalancers"), "5"),
        'kubernetes:core/v1:ResourceQuota "tenant-carol-quota": '
        'spec.hard["services.loadbalancers"] is "5"; a tenant quota must hold it at "0"',
    ),
]
# The Rego judged by the review (policy/rules/deny_corpus.py): a template that admits everything.
ADMIT_ALL = (
    "package sandboxseccomp\n\nimport future.keywords.contains\nimport future.keywords.if\n\n"
    'violation contains {"msg": "never"} if {\n\tfalse\n}\n'
)
CASES += [
    Case(
        "template-admits-everything",
        "constraints-deny-corpus",
        set_("gatekeeper-template-sandboxseccomp", ("spec", "targets", 0, "rego"), ADMIT_ALL),
        'kubernetes:templates.gatekeeper.sh/v1:ConstraintTemplate "gatekeeper-template-'
        'sandboxseccomp": ConstraintTemplate sandboxseccomp admits the known-bad Deployment '
        "ns1/harness (sandbox-seccomp/samples/seccomp/example_disallowed_unset_everywhere.yaml); "
        "its Rego must deny it",
        also_fails=frozenset({"constraints-complete"}),
    ),
]
# Settings no rule looked at (policy/rules/settings.py).
CASES += settings_cases(Case, Change, set_)
# The Confidential Space path (policy/rules/attestation.py): on the GKE plan a principalSet
# decrypter needs its pool and provider in the plan; the space plan's own failing cases are in
# tests/policy/test_key_release_attested.py.
_PSET = (
    "principalSet://iam.googleapis.com/projects/314159265358/locations/global/"
    "workloadIdentityPools/confidential-space/attribute.image_digest/sha256:"
    "79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"
)
CASES.append(
    Case(
        "decrypt-to-a-pool-not-in-the-plan",
        "key-release-attested",
        set_("workload-identity-decrypter", "member", _PSET),
        f'{D}: role "roles/cloudkms.cryptoKeyDecrypter" granted to member "{_PSET[:116]}...; '
        "pool confidential-space is not in this plan, so its provider cannot be judged",
        frozenset({"kms-decrypt-only-workload", "iam-exact-grants", "model-access-paths"}),
    )
)


def apply(
    change: Change,
    resources: list[dict[str, Any]],
    mutate: Callable[..., Any],
    by_name: Callable[..., dict[str, Any]],
    delete_marker: object,
) -> None:
    if change.action == "set":
        mutate(resources, change.target, change.path, change.value)
    elif change.action == "delete":
        mutate(resources, change.target, change.path, delete_marker)
    elif change.action == "remove":
        resources.remove(by_name(resources, change.target))
    elif change.action == "field":
        by_name(resources, change.target)[str(change.path)] = change.value
    elif change.action == "add":
        sibling = by_name(resources, change.target)
        parent_type = sibling["urn"].split("::")[2].split("$")[0]
        resources.append(
            {
                "urn": f"{sibling['urn'].rsplit('::', 2)[0]}::{parent_type}${change.type_token}::"
                f"{change.path}",
                "type": change.type_token,
                "name": str(change.path),
                "parent": sibling["parent"],
                "inputs": change.inputs,
            }
        )
    else:
        raise AssertionError(f"unknown change {change.action}")


def failing(results: list[rules.RuleResult]) -> dict[str, rules.RuleResult]:
    return {r.rule.name: r for r in results if r.status == Status.FAIL}


def test_valid_plan_passes_every_rule(valid_resources: list[dict[str, Any]]) -> None:
    results = evaluate(valid_resources)
    assert [r.rule.name for r in results] == [rule.name for rule in RULES]
    problems = {
        r.rule.name: [v.message for v in r.violations] for r in results if r.status != Status.PASS
    }
    assert problems == {}, "the valid plan must pass (not skip) every rule"


def test_every_rule_has_a_failing_case() -> None:
    assert {case.rule for case in CASES} == {rule.name for rule in RULES}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_one_change_breaks_the_rule(
    case: Case,
    valid_resources: list[dict[str, Any]],
    mutate: Callable[..., Any],
    by_name: Callable[..., Any],
    delete_marker: object,
) -> None:
    apply(case.change, valid_resources, mutate, by_name, delete_marker)
    failed = failing(evaluate(valid_resources))
    assert set(failed) == {case.rule} | case.also_fails
    messages = [v.message for v in failed[case.rule].violations]
    assert case.message in messages
    offending = next(v for v in failed[case.rule].violations if v.message == case.message)
    assert offending.rule == case.rule
    name = case.message.split('"', 2)[1]
    assert offending.urn == by_name(valid_resources, name)["urn"]


# ---------------------------------------------------------------------------------------------
# Semantics that the one-change cases do not show
# ---------------------------------------------------------------------------------------------


def _status(resources: list[dict[str, Any]], name: str) -> rules.RuleResult:
    return next(r for r in evaluate(resources, select_rules([name])))


def test_dataplane_v2_satisfies_network_policy(
    valid_resources: list[dict[str, Any]],
    mutate: Callable[..., Any],
    delete_marker: object,
    by_name: Callable[..., Any],
) -> None:
    """The dev cluster runs Dataplane V2, which enforces NetworkPolicies without the add-on."""
    assert "networkPolicy" not in by_name(valid_resources, "cluster-cluster")["inputs"]
    mutate(valid_resources, "cluster-cluster", "datapathProvider", delete_marker)
    assert _status(valid_resources, "gke-network-policy").status == Status.FAIL
    mutate(valid_resources, "cluster-cluster", "datapathProvider", "ADVANCED_DATAPATH")
    assert _status(valid_resources, "gke-network-policy").status == Status.PASS


def test_legacy_datapath_network_policy_needs_the_addon(
    valid_resources: list[dict[str, Any]], mutate: Callable[..., Any], delete_marker: object
) -> None:
    """Without Dataplane V2, networkPolicy.enabled only takes effect with the add-on enabled."""
    mutate(valid_resources, "cluster-cluster", "datapathProvider", delete_marker)
    mutate(valid_resources, "cluster-cluster", "networkPolicy", {"enabled": True})
    mutate(valid_resources, "cluster-cluster", "addonsConfig.networkPolicyConfig.disabled", True)
    result = _status(valid_resources, "gke-network-policy")
    assert [v.message for v in result.violations] == [
        f"{C}: addonsConfig.networkPolicyConfig.disabled is true; the network policy add-on "
        "must be enabled (disabled: false) for networkPolicy.enabled to take effect"
    ]
    mutate(valid_resources, "cluster-cluster", "addonsConfig.networkPolicyConfig.disabled", False)
    assert _status(valid_resources, "gke-network-policy").status == Status.PASS


def test_direct_workload_identity_principal_may_decrypt(
    valid_resources: list[dict[str, Any]], mutate: Callable[..., Any]
) -> None:
    principal = (
        "principal://iam.googleapis.com/projects/123456789012/locations/global/"
        f"workloadIdentityPools/{WORKLOAD_POOL}/subject/ns/ns1/sa/tee-sa"
    )
    mutate(valid_resources, "workload-identity-decrypter", "member", principal)
    assert _status(valid_resources, "kms-decrypt-only-workload").status == Status.PASS
    mutate(
        valid_resources,
        "workload-identity-decrypter",
        "member",
        principal.replace(WORKLOAD_POOL, "elsewhere.svc.id.goog"),
    )
    result = _status(valid_resources, "kms-decrypt-only-workload")
    assert result.status == Status.FAIL
    assert "is not the workload pool of a cluster in this plan" in result.violations[0].message


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        (["cloudkms.cryptoKeyVersions.useToDecrypt"], Status.FAIL),
        (["cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.list"], Status.PASS),
    ],
)
def test_custom_roles_are_judged_by_their_permissions(
    valid_resources: list[dict[str, Any]],
    mutate: Callable[..., Any],
    permissions: list[str],
    expected: Status,
) -> None:
    mutate(
        valid_resources,
        "tenant-iam-bob-cluster-viewer-0",
        "role",
        f"projects/{CLUSTER_PROJECT}/roles/reader",
    )
    assert _status(valid_resources, "kms-decrypt-only-workload").status == Status.FAIL, (
        "an undefined custom role might decrypt"
    )
    valid_resources.append(
        {
            "urn": "urn:pulumi:dev::gke-sandbox::gcp:projects/iAMCustomRole:IAMCustomRole::reader",
            "type": "gcp:projects/iAMCustomRole:IAMCustomRole",
            "name": "reader",
            "parent": STACK_URN,
            "inputs": {
                "project": CLUSTER_PROJECT,
                "roleId": "reader",
                "title": "reader",
                "permissions": permissions,
            },
        }
    )
    assert _status(valid_resources, "kms-decrypt-only-workload").status == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("roles/cloudkms.cryptoOperator", Status.FAIL),
        ("roles/cloudkms.cryptoKeyDecrypterViaDelegation", Status.FAIL),
        ("roles/cloudkms.someFutureRole", Status.FAIL),  # unknown KMS roles are assumed to decrypt
        ("roles/editor", Status.FAIL),
        ("roles/cloudkms.viewer", Status.PASS),
        ("roles/cloudkms.admin", Status.PASS),
        ("roles/cloudkms.cryptoKeyEncrypter", Status.PASS),
    ],
)
def test_which_kms_roles_count_as_decrypt(
    valid_resources: list[dict[str, Any]], mutate: Callable[..., Any], role: str, expected: Status
) -> None:
    mutate(valid_resources, "workload-identity-decrypter", "member", "user:bob@example.com")
    mutate(valid_resources, "workload-identity-decrypter", "role", role)
    assert _status(valid_resources, "kms-decrypt-only-workload").status == expected


def test_org_policy_is_matched_to_its_folder_by_pulumi_parent(
    valid_resources: list[dict[str, Any]], by_name: Callable[..., Any]
) -> None:
    folder = by_name(valid_resources, "folder-folder")
    policy = by_name(valid_resources, "folder-confidential-only")
    policy["parent"] = folder["urn"]  # a child of the folder itself
    assert _status(valid_resources, "org-policy-confidential-only").status == Status.PASS
    folder["parent"] = policy["parent"] = STACK_URN  # siblings under the stack prove nothing
    result = _status(valid_resources, "org-policy-confidential-only")
    assert result.status == Status.FAIL
    assert result.violations[0].urn == folder["urn"]


def test_unknown_values_are_skipped_not_failed(
    valid_resources: list[dict[str, Any]], mutate: Callable[..., Any]
) -> None:
    mutate(valid_resources, "cluster-cluster", "confidentialNodes.enabled", rules.UNKNOWN)
    mutate(valid_resources, "workload-identity-decrypter", "member", rules.UNKNOWN)
    mutate(valid_resources, "cluster-pool", "nodeConfig", rules.UNKNOWN)
    results = evaluate(valid_resources)
    assert all(r.status == Status.PASS for r in results), [
        v.message for r in results for v in r.violations
    ]


def test_secret_metadata_values_count_as_present(
    valid_resources: list[dict[str, Any]], mutate: Callable[..., Any]
) -> None:
    mutate(valid_resources, "model-model", ("metadata", "encryption-key"), rules.SECRET)
    assert _status(valid_resources, "model-object-sealed").status == Status.PASS
    mutate(valid_resources, "model-model", "metadata", rules.SECRET)
    result = _status(valid_resources, "model-object-sealed")
    assert [v.message for v in result.violations] == [
        f"{M}: metadata is a secret as a whole; mark only values secret so the encryption-key "
        "entry can be verified"
    ]


def test_decrypter_role_on_a_bucket_is_not_a_kms_grant(
    valid_resources: list[dict[str, Any]], mutate: Callable[..., Any]
) -> None:
    mutate(
        valid_resources,
        "workload-identity-object-viewer",
        "role",
        "roles/cloudkms.cryptoKeyDecrypter",
    )
    mutate(valid_resources, "workload-identity-object-viewer", "member", "user:bob@example.com")
    assert _status(valid_resources, "kms-decrypt-only-workload").status == Status.PASS


def test_inline_node_pools_are_checked(
    valid_resources: list[dict[str, Any]], mutate: Callable[..., Any], by_name: Callable[..., Any]
) -> None:
    pool = by_name(valid_resources, "cluster-pool")["inputs"]
    inline = {"name": "inline", "nodeCount": 1, "nodeConfig": dict(pool["nodeConfig"])}
    inline["nodeConfig"]["shieldedInstanceConfig"] = {
        "enableSecureBoot": False,
        "enableIntegrityMonitoring": True,
    }
    mutate(valid_resources, "cluster-cluster", "nodePools", [inline])
    result = _status(valid_resources, "gke-shielded-nodes")
    assert [v.message for v in result.violations] == [
        f"{C}: nodePools[0].nodeConfig.shieldedInstanceConfig.enableSecureBoot is false; nodes "
        "must boot with Secure Boot"
    ]


def test_default_pool_config_is_judged_only_while_the_pool_lives(
    valid_resources: list[dict[str, Any]], mutate: Callable[..., Any], delete_marker: object
) -> None:
    mutate(
        valid_resources,
        "cluster-cluster",
        "nodeConfig.workloadMetadataConfig",
        delete_marker,
    )
    assert _status(valid_resources, "gke-workload-identity").status == Status.PASS, (
        "removeDefaultNodePool: the default pool's metadata mode does not matter"
    )
    mutate(valid_resources, "cluster-cluster", "removeDefaultNodePool", delete_marker)
    assert _status(valid_resources, "gke-workload-identity").status == Status.FAIL
    mutate(valid_resources, "cluster-cluster", "enableAutopilot", True)
    mutate(valid_resources, "cluster-cluster", "nodeConfig", delete_marker)
    assert _status(valid_resources, "gke-workload-identity").status == Status.PASS
    assert _status(valid_resources, "gke-confidential-nodes").status == Status.PASS, (
        "Autopilot has no default pool whose machine type could be wrong"
    )


def test_config_group_yaml_is_parsed(valid_resources: list[dict[str, Any]]) -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent}\n"
        "spec:\n  template:\n    spec:\n      containers:\n"
        "      - {name: agent, image: 'fluent/fluent-bit:3.0'}\n"
    )
    valid_resources.append(
        {
            "urn": "urn:pulumi:dev::gke-sandbox::kubernetes:yaml/v2:ConfigGroup::agents",
            "type": "kubernetes:yaml/v2:ConfigGroup",
            "name": "agents",
            "parent": STACK_URN,
            "inputs": {"yaml": text},
        }
    )
    result = _status(valid_resources, "images-by-digest")
    assert [v.message for v in result.violations] == [
        'kubernetes:yaml/v2:ConfigGroup "agents": yaml[1].spec.template.spec.containers[0].image '
        f'is "fluent/fluent-bit:3.0"; {BY_DIGEST}'
    ]


# ---------------------------------------------------------------------------------------------
# Per-party stacks: absent types are not applicable, not failing
# ---------------------------------------------------------------------------------------------


def _subset(resources: list[dict[str, Any]], *components: str) -> list[dict[str, Any]]:
    """The stack plus the named components and their children, like a per-party plan."""
    urns = {r["urn"] for r in resources if r["name"] in components}
    return [r for r in resources if r["parent"] is None or r["urn"] in urns or r["parent"] in urns]


@pytest.mark.parametrize(
    ("components", "applicable"),
    [
        (
            # with the program's deploy-facts record (the customer IDs Bob's organization allows)
            ("registry", "harness-apis", "deploy-facts"),
            {
                "iam-exact-grants",
                "iam-names-exist",
                "cross-org-grants",
                "no-primitive-roles",
                "no-public-members",
                "model-access-paths",
                "services-before-use",
                "registry-immutable-tags",
                "project-services-minimal",
            },
        ),
        (
            ("model", "attestor", "model-apis"),
            {
                "services-before-use",
                "kms-key-rotation",
                "bucket-no-public-access",
                "model-object-sealed",
                "attestor-has-public-key",
                "model-data-durable",
                "model-access-paths",
                "attestor-key-protected",
                "attestor-one-reviewed-key",
                "attestor-note-owned",
                "project-services-minimal",
            },
        ),
        (
            ("harness",),
            {
                "images-by-digest",
                "images-pullable",
                "lb-tls-policy",
                "workloads-admitted",
                "ingress-https-only",
                "ingress-static-address",
                "secret-volumes-private",
                "harness-knows-model-digest",
            },
        ),
    ],
)
def test_per_party_plans_mark_absent_types_not_applicable(
    valid_resources: list[dict[str, Any]], components: tuple[str, ...], applicable: set[str]
) -> None:
    results = evaluate(_subset(valid_resources, *components))
    assert {r.rule.name for r in results if r.status == Status.PASS} == applicable
    assert all(r.status == Status.NOT_APPLICABLE for r in results if r.rule.name not in applicable)


def test_empty_plan_is_not_applicable_everywhere() -> None:
    assert {r.status for r in evaluate([])} == {Status.NOT_APPLICABLE}


# ---------------------------------------------------------------------------------------------
# The rule model
# ---------------------------------------------------------------------------------------------


def test_the_catalogue_names_every_rule_once_in_report_order() -> None:
    """Rule names are the public contract (reports, --rule, the CrossGuard pack)."""
    assert [(rule.name, str(rule.severity)) for rule in RULES] == [
        ("gke-confidential-nodes", "critical"),
        ("gke-shielded-nodes", "high"),
        ("gke-workload-identity", "critical"),
        ("gke-binauthz-enforced", "critical"),
        ("gke-no-legacy-auth", "high"),
        ("gke-network-policy", "high"),
        ("gke-node-sa-least-privilege", "high"),
        ("kms-key-rotation", "medium"),
        ("kms-decrypt-only-workload", "critical"),
        ("bucket-no-public-access", "critical"),
        ("no-primitive-roles", "high"),
        ("no-public-members", "critical"),
        ("org-policy-confidential-only", "critical"),
        ("images-by-digest", "high"),
        ("model-object-sealed", "critical"),
        ("attestor-has-public-key", "high"),
        ("gke-private-nodes", "medium"),
        ("gke-release-channel", "low"),
        ("iam-exact-grants", "critical"),
        ("rbac-exact-rules", "critical"),
        ("model-data-durable", "high"),
        ("workloads-admitted", "critical"),
        ("ingress-https-only", "high"),
        ("network-policy-exact", "high"),
        ("gatekeeper-fail-closed", "critical"),
        ("constraints-enforced", "critical"),
        ("constraints-complete", "critical"),
        ("constraint-params-match", "critical"),
        ("project-in-confidential-folder", "critical"),
        ("model-access-paths", "critical"),
        # issue 10, GCP side
        ("services-before-use", "high"),
        ("webhook-reachable", "high"),
        ("google-apis-resolvable", "high"),
        ("exfiltration-perimeter", "high"),
        # issue 10, Kubernetes side
        ("images-pullable", "high"),
        ("tenant-can-deploy", "high"),
        ("system-namespaces-exempt", "high"),
        ("lb-tls-policy", "medium"),
        # deploy-ready, second round
        ("iam-names-exist", "high"),
        ("gatekeeper-release-supported", "medium"),
        ("ingress-static-address", "medium"),
        ("gatekeeper-after-mirror", "high"),
        ("cross-org-grants", "medium"),
        ("ci-identity-in-perimeter", "low"),
        # the Rego judged by the review
        ("constraints-deny-corpus", "critical"),
        # settings no rule looked at
        ("registry-immutable-tags", "medium"),
        ("project-defaults-safe", "high"),
        ("deny-policy-effective", "high"),
        ("gke-legacy-metadata-off", "high"),
        ("gke-dns-endpoint-iam-only", "high"),
        ("gke-authorized-networks", "high"),
        ("tenant-pod-security", "high"),
        ("secret-volumes-private", "high"),
        ("harness-knows-model-digest", "high"),
        ("perimeter-ingress-named", "high"),
        ("google-apis-restricted-vip", "high"),
        ("attestor-key-protected", "high"),
        ("attestor-one-reviewed-key", "critical"),
        ("key-release-attested", "critical"),
        # found by the mutation test
        ("gke-no-alpha-features", "high"),
        ("node-firewall-scoped", "high"),
        ("project-services-minimal", "medium"),
        ("workload-allowlists-exact", "critical"),
        ("attestor-note-owned", "high"),
        ("tenant-ksa-no-token", "high"),
        ("tenant-quota-no-external-services", "high"),
    ]


def test_images_by_digest_judges_every_pod_creating_kind() -> None:
    rule = next(rule for rule in RULES if rule.name == "images-by-digest")
    for token in (
        "kubernetes:core/v1:Pod",
        "kubernetes:core/v1:ReplicationController",
        "kubernetes:apps/v1:ReplicaSet",
        "kubernetes:apps/v1:Deployment",
        "kubernetes:apps/v1:StatefulSet",
        "kubernetes:apps/v1:DaemonSet",
        "kubernetes:batch/v1:Job",
        "kubernetes:batch/v1:CronJob",
        "kubernetes:helm.sh/v4:Chart",
        "kubernetes:yaml/v2:ConfigGroup",
    ):
        assert rule.applies(token), token
    assert not rule.applies("kubernetes:core/v1:Service")


def test_rule_names_are_unique_kebab_case_with_texts() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    for rule in RULES:
        assert rule.description and rule.remediation and rule.applies_to
        assert isinstance(rule.severity, Severity)


def test_select_rules_keeps_rule_order_and_rejects_unknown_names() -> None:
    picked = select_rules(["no-public-members", "gke-confidential-nodes"])
    assert [r.name for r in picked] == ["gke-confidential-nodes", "no-public-members"]
    with pytest.raises(rules.UnknownRuleError, match=r"unknown rule 'nope'; known rules: gke-"):
        select_rules(["nope"])


def test_rule_definitions_are_validated() -> None:
    def check(_: object) -> list[Violation]:
        return []

    with pytest.raises(ValueError, match="kebab-case"):
        Rule("Not_Kebab", "d", Severity.LOW, "r", ("t",), check)
    with pytest.raises(ValueError, match="applies_to"):
        Rule("empty-types", "d", Severity.LOW, "r", (), check)
    with pytest.raises(TypeError, match="Severity"):
        Rule("bad-severity", "d", "low", "r", ("t",), check)  # type: ignore[arg-type]


def test_a_crashing_check_fails_closed() -> None:
    def crash(_: object) -> list[Violation]:
        raise KeyError("boom")

    rule = Rule("crashes", "d", Severity.LOW, "r", ("x:y:Z",), crash)
    result = rule.run(
        [
            {
                "urn": "urn:pulumi:s::p::x:y:Z::a",
                "type": "x:y:Z",
                "name": "a",
                "parent": None,
                "inputs": {},
            }
        ]
    )
    assert result.status == Status.FAIL
    assert result.violations[0].message == "internal error in rule crashes: KeyError: 'boom'"


def test_malformed_inputs_never_crash_a_rule(valid_resources: list[dict[str, Any]]) -> None:
    """Every input (two levels deep) of every resource, replaced by each wrong-shaped value,
    must give violations or passes, never an internal error."""
    odd_values: list[Any] = [True, 7, "x", [1, {"k": None}], {"k": [None]}, None]
    targets: list[tuple[int, tuple[str, ...]]] = []
    for index, resource in enumerate(valid_resources):
        for key, value in resource["inputs"].items():
            targets.append((index, (key,)))
            if isinstance(value, dict):
                targets.extend((index, (key, inner)) for inner in value)
    crashes = []
    for index, path in targets:
        node = valid_resources[index]["inputs"]
        for part in path[:-1]:
            node = node[part]
        original = node[path[-1]]
        for odd in odd_values:
            node[path[-1]] = odd
            crashes += [
                f"{path}={odd!r}: {v.message}"
                for r in evaluate(valid_resources)
                for v in r.violations
                if v.message.startswith("internal error")
            ]
        node[path[-1]] = original
    assert crashes == []
    assert all(r.status == Status.PASS for r in evaluate(valid_resources)), "restored"


def test_a_new_rule_only_needs_a_check(valid_resources: list[dict[str, Any]]) -> None:
    """How the lead will add rules: a check that yields violations, stamped with the rule name."""

    def no_bob(resources: list[dict[str, Any]]) -> list[Violation]:
        return [
            rules.violation("", g.resource, g.describe())
            for g in rules.iam_grants(resources)
            if g.member == "user:bob@example.com"
        ]

    rule = Rule("no-bob", "d", Severity.LOW, "r", rules.IAM_TYPE_PATTERNS, no_bob)
    result = rule.run(valid_resources)
    assert result.status == Status.FAIL
    assert [(v.rule, v.message) for v in result.violations] == [
        (
            "no-bob",
            'gcp:projects/iAMMember:IAMMember "tenant-iam-bob-cluster-viewer-0": role '
            '"roles/container.clusterViewer" granted to member "user:bob@example.com"',
        )
    ]


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("gcp:projects/iAMMember:IAMMember", True),
        ("gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding", True),
        ("gcp:kms/cryptoKeyIAMPolicy:CryptoKeyIAMPolicy", True),
        ("gcp:projects/iAMCustomRole:IAMCustomRole", False),
        ("gcp:projects/iAMAuditConfig:IAMAuditConfig", False),
    ],
)
def test_iam_type_patterns(token: str, expected: bool) -> None:
    assert rules.is_iam_type(token) is expected
    assert select_rules(["no-primitive-roles"])[0].applies(token) is expected


def test_get_reads_nested_inputs_and_treats_missing_as_unset() -> None:
    data = {"a": {"b": [{"c": 1}, {"c": False}]}, "m": {"x.y": "dotted"}, "u": rules.UNKNOWN}
    assert rules.get(data, "a.b[1].c") is False
    assert rules.get(data, "a.b[5].c") is None
    assert rules.get(data, "a.z.c") is None
    assert rules.get(data, "a.b.c") is None
    assert rules.get(data, ("m", "x.y")) == "dotted"
    assert rules.get(data, "u.deeper") == rules.UNKNOWN


def test_members_and_service_accounts_are_parsed() -> None:
    assert rules.workload_principal(f"serviceAccount:{WORKLOAD_POOL}[ns1/tee-sa]") == (
        WORKLOAD_POOL,
        "ns1",
        "tee-sa",
    )
    assert rules.workload_principal(f"serviceAccount:{WORKLOAD_SA}") is None
    assert rules.member_email(f"serviceAccount:{WORKLOAD_SA.upper()}") == WORKLOAD_SA
    assert rules.member_email("user:bob@example.com") is None
    assert (
        rules.service_account_email(f"projects/{CLUSTER_PROJECT}/serviceAccounts/{WORKLOAD_SA}")
        == WORKLOAD_SA
    )
    assert rules.service_account_email(KEY_ID) is None


def test_a_property_row_judges_every_resource_it_selects() -> None:
    """A table rule is rows plus a catalogue entry; each row names path, value and requirement."""
    from policy.rules.engine import is_true
    from policy.rules.table import Prop, of, properties

    row = Prop("demo", of("x:y:Z"), "spec.on", is_true, "it must be on")
    resources = [
        {
            "urn": "u1",
            "type": "x:y:Z",
            "name": "a",
            "parent": None,
            "inputs": {"spec": {"on": True}},
        },
        {"urn": "u2", "type": "x:y:Z", "name": "b", "parent": None, "inputs": {"spec": {"on": 1}}},
        {"urn": "u3", "type": "x:y:Other", "name": "c", "parent": None, "inputs": {}},
    ]
    assert [(v.urn, v.message) for v in row.check(resources)] == [
        ("u2", 'x:y:Z "b": spec.on is 1; it must be on')
    ]
    with pytest.raises(ValueError, match="no property rows for rule 'nope'"):
        properties("nope")
