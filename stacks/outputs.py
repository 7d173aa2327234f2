"""Stack output keys: the contract between parties, the README and the tests."""

from __future__ import annotations

# model (Alice)
KMS_KEY_ID = "kmsKeyId"
KMS_KEY_URI = "kmsKeyUri"
MODEL_BUCKET = "modelBucket"
MODEL_URI = "modelUri"
ATTESTOR = "attestor"
ATTESTOR_SIGNING_KEY_VERSION = "attestorSigningKeyVersion"
# harness (Bob)
REPOSITORY_URL = "repositoryUrl"
HARNESS_IMAGE = "harnessImage"
# cluster (Alice)
FOLDER = "folder"
CLUSTER_PROJECT = "clusterProject"
CLUSTER_PROJECT_NUMBER = "clusterProjectNumber"
CLUSTER_NAME = "clusterName"
CLUSTER_ENDPOINT = "clusterEndpoint"
CLUSTER_CA_CERTIFICATE = "clusterCaCertificate"
NODE_SERVICE_ACCOUNT = "nodeServiceAccount"
WORKLOAD_SERVICE_ACCOUNT = "workloadServiceAccount"
WORKLOAD_IDENTITY = "workloadIdentity"
MIRROR_REPOSITORY = "mirrorRepositoryUrl"
SSL_POLICY = "sslPolicy"
INGRESS_ADDRESS = "ingressAddress"
INGRESS_ADDRESS_NAME = "ingressAddressName"
# sandbox (Alice, Kubernetes)
TENANT_NAMESPACES = "tenantNamespaces"
TENANT_KUBECONFIGS = "tenantKubeconfigs"
GATEKEEPER_CONSTRAINTS = "gatekeeperConstraints"
# workload (Bob, Kubernetes)
HARNESS_URL = "harnessUrl"
HARNESS_TOKEN = "harnessToken"
HARNESS_CERTIFICATE = "harnessCertificate"
# space (Alice, Confidential Space); also HARNESS_URL and SSL_POLICY
SPACE_SERVICE_ACCOUNT = "spaceServiceAccount"
SPACE_PRINCIPAL_SET = "spacePrincipalSet"
SPACE_PROVIDER = "spaceProvider"
SPACE_ADDRESS = "spaceAddress"
# What only the space stack exports (the all-in-one `dev` stack does not run that part).
SPACE_ONLY_EXPORTS = (SPACE_SERVICE_ACCOUNT, SPACE_PRINCIPAL_SET, SPACE_PROVIDER, SPACE_ADDRESS)
