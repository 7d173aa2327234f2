"""Pulumi type tokens the rules and the access analysis judge, written once.

Checked against pulumi-gcp 10.2.0 and pulumi-kubernetes 4.34.2 (the `type` of each resource in
`build/plan/<stack>.json`).
"""

from __future__ import annotations

from policy.facts import POD_SPEC_PATHS, pulumi_kubernetes_type

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
BINAUTHZ_POLICY = "gcp:binaryauthorization/policy:Policy"
ATTESTOR = "gcp:binaryauthorization/attestor:Attestor"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_OBJECT = "gcp:storage/bucketObject:BucketObject"
FOLDER = "gcp:organizations/folder:Folder"
ORG_POLICY = "gcp:orgpolicy/policy:Policy"
SERVICE_ACCOUNT_KEY = "gcp:serviceaccount/key:Key"
PROJECT_CUSTOM_ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
ORG_CUSTOM_ROLE = "gcp:organizations/iAMCustomRole:IAMCustomRole"

IAM_TYPE_PATTERNS = (
    "gcp:*IAMMember",
    "gcp:*IamMember",
    "gcp:*IAMBinding",
    "gcp:*IamBinding",
    "gcp:*IAMPolicy",
    "gcp:*IamPolicy",
)
"""Every IAM member/binding/policy resource of the gcp provider (projects/iAMMember:IAMMember,
kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding, artifactregistry/repositoryIamMember:..., ...)."""


def _iam_family(module: str, cls: str) -> tuple[str, ...]:
    """The member, binding and policy tokens of one IAM family: `gcp:<module>Member:<cls>Member`..."""
    return tuple(f"gcp:{module}{kind}:{cls}{kind}" for kind in ("Member", "Binding", "Policy"))


CRYPTO_KEY_IAM = _iam_family("kms/cryptoKeyIAM", "CryptoKeyIAM")
KEY_RING_IAM = _iam_family("kms/keyRingIAM", "KeyRingIAM")
PROJECT_IAM = _iam_family("projects/iAM", "IAM")
FOLDER_IAM = _iam_family("folder/iAM", "IAM")
ORG_IAM = _iam_family("organizations/iAM", "IAM")
SERVICE_ACCOUNT_IAM = _iam_family("serviceaccount/iAM", "IAM")
BUCKET_IAM = _iam_family("storage/bucketIAM", "BucketIAM")

STORAGE_ACL_TYPES = (
    "gcp:storage/bucketACL:BucketACL",
    "gcp:storage/bucketAccessControl:BucketAccessControl",
    "gcp:storage/defaultObjectACL:DefaultObjectACL",
    "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
    "gcp:storage/objectACL:ObjectACL",
    "gcp:storage/objectAccessControl:ObjectAccessControl",
)

# Every pod-creating kind as its pulumi-kubernetes type (one source: policy.facts.POD_SPEC_PATHS).
K8S_WORKLOAD_TYPES: dict[str, str] = {pulumi_kubernetes_type(kind): kind for kind in POD_SPEC_PATHS}
HELM_TYPES = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release")
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"

# Issue 10 (deploy-ready, GCP side): what `deploy_gcp` judges.
SERVICE = "gcp:projects/service:Service"
PROJECT = "gcp:organizations/project:Project"
FIREWALL = "gcp:compute/firewall:Firewall"
MANAGED_ZONE = "gcp:dns/managedZone:ManagedZone"
RECORD_SET = "gcp:dns/recordSet:RecordSet"
SERVICE_PERIMETER = "gcp:accesscontextmanager/servicePerimeter:ServicePerimeter"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

# Issue 14 (exact grants, durability): what the expected-grant derivation reads.
KEY_RING = "gcp:kms/keyRing:KeyRing"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
ATTESTOR_IAM = _iam_family("binaryauthorization/attestorIam", "AttestorIam")
REPOSITORY_IAM = _iam_family("artifactregistry/repositoryIam", "RepositoryIam")
K8S_NAMESPACE = "kubernetes:core/v1:Namespace"
K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
K8S_RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
RBAC_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
RBAC_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
RBAC_TYPE_PATTERNS = ("kubernetes:rbac.authorization.k8s.io/*",)
"""Role, RoleBinding, ClusterRole, ClusterRoleBinding (and their List kinds), any version."""

# Issue 10 (deploy-ready, Kubernetes side): what policy/rules/deploy_k8s.py judges.
AR_REPOSITORY = REPOSITORY
AR_REPOSITORY_IAM = REPOSITORY_IAM
SSL_POLICY = "gcp:compute/sSLPolicy:SSLPolicy"
K8S_NAMESPACE_PATCH = "kubernetes:core/v1:NamespacePatch"
K8S_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
K8S_INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
FRONTEND_CONFIG = "kubernetes:networking.gke.io/v1beta1:FrontendConfig"

# Deploy-ready, second round (policy/rules/iam_names.py, deploy_round2.py).
DENY_POLICY = "gcp:iam/denyPolicy:DenyPolicy"
GLOBAL_ADDRESS = "gcp:compute/globalAddress:GlobalAddress"
# The Confidential Space path: what policy/rules/attestation.py judges.
COMPUTE_INSTANCE = "gcp:compute/instance:Instance"
WIP_POOL = "gcp:iam/workloadIdentityPool:WorkloadIdentityPool"
WIP_PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
