"""Fixtures for the rule, review and CrossGuard tests: one plan that passes every rule.

The plan mirrors what the dev stack (part `all`) registers: model vault, image attestor, harness
registry, confidential folder, sandbox project, BinAuthz policy, confidential cluster, workload
identity, tenant IAM, and the Kubernetes side (Gatekeeper chart, harness Deployment). Failing
cases are made by exactly one change to it (`mutate`, or adding/removing one resource).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

STACK = "dev"
PROJECT_NAME = "gke-sandbox"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT_NAME}::pulumi:pulumi:Stack::{PROJECT_NAME}-{STACK}"

MODEL_PROJECT = "alice-model"
HARNESS_PROJECT = "bob-harness"
CLUSTER_PROJECT = "ab-sandbox-cluster"
NODE_SA = f"sandbox-nodes@{CLUSTER_PROJECT}.iam.gserviceaccount.com"
WORKLOAD_SA = f"model-reader@{CLUSTER_PROJECT}.iam.gserviceaccount.com"
WORKLOAD_POOL = f"{CLUSTER_PROJECT}.svc.id.goog"
WI_MEMBER = f"serviceAccount:{WORKLOAD_POOL}[ns1/tee-sa]"
KEY_RING_ID = f"projects/{MODEL_PROJECT}/locations/us-central1/keyRings/model-ring"
KEY_ID = f"{KEY_RING_ID}/cryptoKeys/model-key"
HARNESS_DIGEST = "sha256:79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"
GATEKEEPER_DIGEST = "sha256:4ed1403e482ecd0607a765eb9a0a09fed9bd43b3b598612efc04f732243e85fd"
HARNESS_IMAGE = f"us-central1-docker.pkg.dev/{HARNESS_PROJECT}/harness/harness@{HARNESS_DIGEST}"
PLAINTEXT_SHA256 = "9f2c5f8e0c3d1b7a6e4d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a19"
PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexampleexampleexampleexampleexampleexample\n"
    "-----END PUBLIC KEY-----\n"
)


class PlanBuilder:
    """Builds plan resources with realistic URNs (`<component type>$<type>::<name>`)."""

    def __init__(self) -> None:
        self.resources: list[dict[str, Any]] = [
            {
                "urn": STACK_URN,
                "type": "pulumi:pulumi:Stack",
                "name": f"{PROJECT_NAME}-{STACK}",
                "parent": None,
                "inputs": {},
            }
        ]

    def component(self, type_token: str, name: str) -> tuple[str, str]:
        urn = f"urn:pulumi:{STACK}::{PROJECT_NAME}::{type_token}::{name}"
        self.resources.append(
            {"urn": urn, "type": type_token, "name": name, "parent": STACK_URN, "inputs": {}}
        )
        return type_token, urn

    def add(
        self, parent: tuple[str, str], type_token: str, name: str, inputs: dict[str, Any]
    ) -> dict[str, Any]:
        parent_type, parent_urn = parent
        resource = {
            "urn": f"urn:pulumi:{STACK}::{PROJECT_NAME}::{parent_type}${type_token}::{name}",
            "type": type_token,
            "name": name,
            "parent": parent_urn,
            "inputs": inputs,
        }
        self.resources.append(resource)
        return resource


def build_valid_resources() -> list[dict[str, Any]]:
    """The passing plan; every rule of policy.rules has at least one resource to judge."""
    b = PlanBuilder()

    vault = b.component("gke-sandbox:vault:ModelVault", "model-vault")
    b.add(
        vault,
        "gcp:kms/keyRing:KeyRing",
        "model-vault-ring",
        {"name": "model-ring", "location": "us-central1", "project": MODEL_PROJECT},
    )
    b.add(
        vault,
        "gcp:kms/cryptoKey:CryptoKey",
        "model-vault-key",
        {
            "name": "model-key",
            "keyRing": KEY_RING_ID,
            "purpose": "ENCRYPT_DECRYPT",
            "rotationPeriod": "7776000s",
        },
    )
    b.add(
        vault,
        "gcp:storage/bucket:Bucket",
        "model-vault-bucket",
        {
            "name": "alice-model-bucket",
            "project": MODEL_PROJECT,
            "location": "US-CENTRAL1",
            "uniformBucketLevelAccess": True,
            "publicAccessPrevention": "enforced",
            "versioning": {"enabled": True},
            "forceDestroy": False,
        },
    )
    b.add(
        vault,
        "gcp:storage/bucketObject:BucketObject",
        "model-vault-object",
        {
            "bucket": "alice-model-bucket",
            "name": "my_model.tar.gz.enc",
            "source": {"asset": "build/model/my_model.tar.gz.enc"},
            "contentType": "application/octet-stream",
            "metadata": {
                "encryption-key": "eyJlbmNyeXB0ZWRLZXlzZXQiOiAiQUFBQWN3b2tBSjd4In0=",
                "plaintext-sha256": PLAINTEXT_SHA256,
            },
        },
    )

    attestor = b.component("gke-sandbox:attestor:ImageAttestor", "image-attestor")
    b.add(
        attestor,
        "gcp:containeranalysis/note:Note",
        "image-attestor-note",
        {
            "name": "harness-note",
            "project": MODEL_PROJECT,
            "attestationAuthority": {"hint": {"humanReadableName": "gke sandbox attestor"}},
        },
    )
    b.add(
        attestor,
        "gcp:kms/cryptoKey:CryptoKey",
        "image-attestor-signing-key",
        {
            "name": "attestor-signing",
            "keyRing": KEY_RING_ID,
            "purpose": "ASYMMETRIC_SIGN",
            "versionTemplate": {"algorithm": "EC_SIGN_P256_SHA256"},
        },
    )
    b.add(
        attestor,
        "gcp:binaryauthorization/attestor:Attestor",
        "image-attestor-attestor",
        {
            "name": "harness-attestor",
            "project": MODEL_PROJECT,
            "attestationAuthorityNote": {
                "noteReference": f"projects/{MODEL_PROJECT}/notes/harness-note",
                "publicKeys": [
                    {
                        "id": f"//cloudkms.googleapis.com/v1/{KEY_RING_ID}/cryptoKeys/"
                        "attestor-signing/cryptoKeyVersions/1",
                        "pkixPublicKey": {
                            "publicKeyPem": PEM,
                            "signatureAlgorithm": "ECDSA_P256_SHA256",
                        },
                    }
                ],
            },
        },
    )

    registry = b.component("gke-sandbox:registry:HarnessRegistry", "harness-registry")
    b.add(
        registry,
        "gcp:artifactregistry/repository:Repository",
        "harness-registry-repo",
        {
            "repositoryId": "harness",
            "format": "DOCKER",
            "location": "us-central1",
            "project": HARNESS_PROJECT,
        },
    )
    b.add(
        registry,
        "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        "harness-registry-node-reader",
        {
            "repository": "harness",
            "location": "us-central1",
            "project": HARNESS_PROJECT,
            "role": "roles/artifactregistry.reader",
            "member": f"serviceAccount:{NODE_SA}",
        },
    )

    folder = b.component("gke-sandbox:folder:ConfidentialFolder", "confidential-folder")
    b.add(
        folder,
        "gcp:organizations/folder:Folder",
        "confidential-folder-folder",
        {
            "displayName": "sandbox-folder",
            "parent": "organizations/673208786098",
            "deletionProtection": False,
        },
    )
    b.add(
        folder,
        "gcp:orgpolicy/policy:Policy",
        "confidential-folder-policy",
        {
            "name": "folders/confidential-folder-folder_id/policies/"
            "compute.restrictNonConfidentialComputing",
            "parent": "folders/confidential-folder-folder_id",
            "spec": {"rules": [{"values": {"deniedValues": ["compute.googleapis.com"]}}]},
        },
    )

    project = b.component("gke-sandbox:project:SandboxProject", "sandbox-project")
    b.add(
        project,
        "gcp:organizations/project:Project",
        "sandbox-project-project",
        {
            "projectId": CLUSTER_PROJECT,
            "name": CLUSTER_PROJECT,
            "folderId": "confidential-folder-folder_id",
            "billingAccount": "[secret]",
            "autoCreateNetwork": True,
            "deletionPolicy": "DELETE",
        },
    )
    for service in ("container", "binaryauthorization", "containeranalysis", "cloudkms"):
        b.add(
            project,
            "gcp:projects/service:Service",
            f"sandbox-project-{service}",
            {
                "project": CLUSTER_PROJECT,
                "service": f"{service}.googleapis.com",
                "disableOnDestroy": False,
            },
        )

    binauthz = b.component("gke-sandbox:binauthz:BinAuthzPolicy", "binauthz-policy")
    b.add(
        binauthz,
        "gcp:binaryauthorization/policy:Policy",
        "binauthz-policy-policy",
        {
            "project": CLUSTER_PROJECT,
            "globalPolicyEvaluationMode": "ENABLE",
            "defaultAdmissionRule": {
                "evaluationMode": "REQUIRE_ATTESTATION",
                "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG",
                "requireAttestationsBies": [f"projects/{MODEL_PROJECT}/attestors/harness-attestor"],
            },
            "admissionWhitelistPatterns": [
                {"namePattern": f"docker.io/openpolicyagent/gatekeeper@{GATEKEEPER_DIGEST}"}
            ],
        },
    )
    b.add(
        binauthz,
        "gcp:binaryauthorization/attestorIamMember:AttestorIamMember",
        "binauthz-policy-verifier",
        {
            "project": MODEL_PROJECT,
            "attestor": "harness-attestor",
            "role": "roles/binaryauthorization.attestorsVerifier",
            "member": "serviceAccount:service-123456789012@gcp-sa-binaryauthorization"
            ".iam.gserviceaccount.com",
        },
    )

    cluster = b.component("gke-sandbox:cluster:ConfidentialCluster", "sandbox-cluster")
    b.add(
        cluster,
        "gcp:serviceaccount/account:Account",
        "sandbox-cluster-node-sa",
        {
            "accountId": "sandbox-nodes",
            "project": CLUSTER_PROJECT,
            "displayName": "GKE nodes of the sandbox cluster",
        },
    )
    for role in (
        "roles/monitoring.metricWriter",
        "roles/logging.logWriter",
        "roles/artifactregistry.reader",
    ):
        b.add(
            cluster,
            "gcp:projects/iAMMember:IAMMember",
            f"sandbox-cluster-node-{role.split('/')[1].split('.')[0]}",
            {"project": CLUSTER_PROJECT, "role": role, "member": f"serviceAccount:{NODE_SA}"},
        )
    node_config = {
        "machineType": "n2d-standard-2",
        "imageType": "COS_CONTAINERD",
        "diskSizeGb": 100,
        "diskType": "pd-balanced",
        "serviceAccount": NODE_SA,
        "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"],
        "shieldedInstanceConfig": {"enableSecureBoot": True, "enableIntegrityMonitoring": True},
        "workloadMetadataConfig": {"mode": "GKE_METADATA"},
        "metadata": {"disable-legacy-endpoints": "true"},
    }
    b.add(
        cluster,
        "gcp:container/cluster:Cluster",
        "sandbox-cluster-cluster",
        {
            "name": "sandbox-cluster",
            "project": CLUSTER_PROJECT,
            "location": "us-central1-a",
            "removeDefaultNodePool": True,
            "initialNodeCount": 1,
            "nodeConfig": copy.deepcopy(node_config),
            "confidentialNodes": {"enabled": True},
            "enableShieldedNodes": True,
            "workloadIdentityConfig": {"workloadPool": WORKLOAD_POOL},
            "binaryAuthorization": {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"},
            "enableLegacyAbac": False,
            "masterAuth": {"clientCertificateConfig": {"issueClientCertificate": False}},
            "networkPolicy": {"enabled": True, "provider": "CALICO"},
            "addonsConfig": {"networkPolicyConfig": {"disabled": False}},
            "privateClusterConfig": {
                "enablePrivateNodes": True,
                "masterIpv4CidrBlock": "172.16.0.0/28",
            },
            "releaseChannel": {"channel": "REGULAR"},
            "ipAllocationPolicy": {},
            "deletionProtection": False,
        },
    )
    b.add(
        cluster,
        "gcp:container/nodePool:NodePool",
        "sandbox-cluster-pool",
        {
            "cluster": f"projects/{CLUSTER_PROJECT}/locations/us-central1-a/clusters/"
            "sandbox-cluster",
            "location": "us-central1-a",
            "project": CLUSTER_PROJECT,
            "nodeCount": 2,
            "nodeConfig": {**copy.deepcopy(node_config), "confidentialNodes": {"enabled": True}},
            "management": {"autoRepair": True, "autoUpgrade": True},
        },
    )

    identity = b.component("gke-sandbox:identity:WorkloadIdentity", "workload-identity")
    b.add(
        identity,
        "gcp:serviceaccount/account:Account",
        "workload-identity-gsa",
        {
            "accountId": "model-reader",
            "project": CLUSTER_PROJECT,
            "displayName": "the sandbox workload (ns1/tee-sa)",
        },
    )
    b.add(
        identity,
        "gcp:serviceaccount/iAMMember:IAMMember",
        "workload-identity-binding",
        {
            "serviceAccountId": f"projects/{CLUSTER_PROJECT}/serviceAccounts/{WORKLOAD_SA}",
            "role": "roles/iam.workloadIdentityUser",
            "member": WI_MEMBER,
        },
    )
    b.add(
        identity,
        "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
        "workload-identity-decrypt",
        {
            "cryptoKeyId": KEY_ID,
            "role": "roles/cloudkms.cryptoKeyDecrypter",
            "member": f"serviceAccount:{WORKLOAD_SA}",
        },
    )
    b.add(
        identity,
        "gcp:storage/bucketIAMMember:BucketIAMMember",
        "workload-identity-read",
        {
            "bucket": "alice-model-bucket",
            "role": "roles/storage.objectViewer",
            "member": f"serviceAccount:{WORKLOAD_SA}",
        },
    )

    tenant_iam = b.component("gke-sandbox:tenant:TenantAccess", "tenant-access")
    b.add(
        tenant_iam,
        "gcp:projects/iAMMember:IAMMember",
        "tenant-access-bob",
        {
            "project": CLUSTER_PROJECT,
            "role": "roles/container.clusterViewer",
            "member": "user:bob@example.com",
        },
    )

    sandbox = b.component("gke-sandbox:sandbox:TenantSandbox", "tenant-ns1")
    b.add(
        sandbox,
        "kubernetes:helm.sh/v4:Chart",
        "tenant-ns1-gatekeeper",
        {
            "chart": "gatekeeper",
            "version": "3.15.0",
            "namespace": "gatekeeper-system",
            "repositoryOpts": {"repo": "https://open-policy-agent.github.io/gatekeeper/charts"},
            "values": {
                "image": {
                    "repository": "docker.io/openpolicyagent/gatekeeper",
                    "release": "v3.15.0",
                    "digest": GATEKEEPER_DIGEST,
                },
                "replicas": 1,
            },
        },
    )
    b.add(
        sandbox,
        "kubernetes:core/v1:Namespace",
        "tenant-ns1-namespace",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": "ns1",
                "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
            },
        },
    )
    b.add(
        sandbox,
        "kubernetes:core/v1:ServiceAccount",
        "tenant-ns1-ksa",
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "tee-sa",
                "namespace": "ns1",
                "annotations": {"iam.gke.io/gcp-service-account": WORKLOAD_SA},
            },
        },
    )

    workload = b.component("gke-sandbox:workload:HarnessWorkload", "harness")
    b.add(
        workload,
        "kubernetes:apps/v1:Deployment",
        "harness-deployment",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "harness", "namespace": "ns1"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "harness"}},
                "template": {
                    "metadata": {"labels": {"app": "harness"}},
                    "spec": {
                        "serviceAccountName": "tee-sa",
                        "containers": [
                            {
                                "name": "harness",
                                "image": HARNESS_IMAGE,
                                "ports": [{"containerPort": 8443}],
                            }
                        ],
                    },
                },
            },
        },
    )
    b.add(
        workload,
        "kubernetes:core/v1:Secret",
        "harness-token",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "harness-token", "namespace": "ns1"},
            "stringData": "[secret]",
        },
    )
    return b.resources


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------

_DELETE = object()


def _split(path: str | Sequence[str | int]) -> list[str | int]:
    if not isinstance(path, str):
        return list(path)
    parts: list[str | int] = []
    for chunk in path.split("."):
        name, _, rest = chunk.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index))
            rest = rest.lstrip("[")
    return parts


def find(resources: Sequence[dict[str, Any]], name: str) -> dict[str, Any]:
    matches = [r for r in resources if r["name"] == name]
    assert len(matches) == 1, f"fixture has {len(matches)} resources named {name!r}"
    return matches[0]


def set_input(
    resources: Sequence[dict[str, Any]], name: str, path: str | Sequence[str | int], value: Any
) -> dict[str, Any]:
    """Set (or with DELETE remove) one input of the named resource; intermediate maps are made."""
    resource = find(resources, name)
    parts = _split(path)
    node: Any = resource["inputs"]
    for part in parts[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return resource


@pytest.fixture
def valid_resources() -> list[dict[str, Any]]:
    """A fresh copy of the passing plan's resources for each test."""
    return build_valid_resources()


@pytest.fixture
def delete_marker() -> object:
    """Pass as the value to `mutate` to remove the input instead of setting it."""
    return _DELETE


@pytest.fixture
def mutate() -> Callable[..., dict[str, Any]]:
    """mutate(resources, resource_name, "path.to[0].input", value) -> the changed resource."""
    return set_input


@pytest.fixture
def by_name() -> Callable[[Sequence[dict[str, Any]], str], dict[str, Any]]:
    return find


@pytest.fixture
def plan_builder() -> Callable[[], PlanBuilder]:
    return PlanBuilder


@pytest.fixture
def write_plan(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """write_plan(resources, stack="dev", part="all") -> path of a plan JSON file."""
    counter = iter(range(1000))

    def write(
        resources: Sequence[dict[str, Any]],
        stack: str = STACK,
        part: str = "all",
        outputs: dict[str, Any] | None = None,
    ) -> Path:
        path = tmp_path / f"{stack}-{next(counter)}.json"
        path.write_text(
            json.dumps(
                {
                    "stack": stack,
                    "part": part,
                    "resources": list(resources),
                    "outputs": outputs or {},
                },
                indent=1,
            ),
            encoding="utf-8",
        )
        return path

    yield write
