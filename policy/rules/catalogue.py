"""The rule set: every named rule with its description, severity, remediation, the resource
types it judges and its check. Order here is the order of every report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from policy.access import check_model_access_paths
from policy.facts import SEV_MACHINE_FAMILIES

from . import admission_review, data, gke, guards, iam, kubernetes
from .engine import Rule, RuleResult, Severity, UnknownRuleError, assert_unique
from .gcp_iam import DECRYPT_SCOPE_TYPES
from .plan import Resource
from .table import properties
from .tokens import (
    ATTESTOR,
    BINAUTHZ_POLICY,
    BUCKET,
    BUCKET_OBJECT,
    CLUSTER,
    CONFIG_GROUP,
    CRYPTO_KEY,
    FOLDER,
    HELM_TYPES,
    IAM_TYPE_PATTERNS,
    K8S_WORKLOAD_TYPES,
    NODE_POOL,
    SERVICE_ACCOUNT_IAM,
    SERVICE_ACCOUNT_KEY,
    STORAGE_ACL_TYPES,
)

_SEV = "/".join(SEV_MACHINE_FAMILIES)
_POD_KINDS = ", ".join(K8S_WORKLOAD_TYPES.values())

RULES: tuple[Rule, ...] = (
    Rule(
        name="gke-confidential-nodes",
        description="GKE clusters and node pools run on Confidential GKE Nodes (AMD SEV machine "
        "types), so node memory is encrypted while the model is in use.",
        severity=Severity.CRITICAL,
        remediation="Set confidentialNodes.enabled=true on the cluster and "
        "nodeConfig.confidentialNodes.enabled=true on every node pool, with an "
        f"{_SEV} machine type (also on the cluster's nodeConfig, which sizes the "
        "default pool).",
        applies_to=(CLUSTER, NODE_POOL),
        check=properties("gke-confidential-nodes", gke.check_confidential_machine_types),
    ),
    Rule(
        name="gke-shielded-nodes",
        description="Nodes are Shielded VMs with Secure Boot and integrity monitoring.",
        severity=Severity.HIGH,
        remediation="Set enableShieldedNodes=true on the cluster and "
        "nodeConfig.shieldedInstanceConfig {enableSecureBoot: true, "
        "enableIntegrityMonitoring: true} on every node pool.",
        applies_to=(CLUSTER, NODE_POOL),
        check=properties("gke-shielded-nodes"),
    ),
    Rule(
        name="gke-workload-identity",
        description="Workload Identity is on and pods reach only the GKE metadata server, so the "
        "model identity belongs to one Kubernetes service account, not to the node.",
        severity=Severity.CRITICAL,
        remediation="Set workloadIdentityConfig.workloadPool=<project>.svc.id.goog on the cluster "
        "and nodeConfig.workloadMetadataConfig.mode=GKE_METADATA on every node pool.",
        applies_to=(CLUSTER, NODE_POOL),
        check=properties("gke-workload-identity", gke.check_workload_pool),
    ),
    Rule(
        name="gke-binauthz-enforced",
        description="Only images signed by the attestor are admitted: the cluster enforces the "
        "project singleton Binary Authorization policy and that policy blocks "
        "unattested images, exempting only Google system images.",
        severity=Severity.CRITICAL,
        remediation="Cluster: binaryAuthorization.evaluationMode=PROJECT_SINGLETON_POLICY_ENFORCE. "
        "Policy: defaultAdmissionRule {evaluationMode: REQUIRE_ATTESTATION, "
        "enforcementMode: ENFORCED_BLOCK_AND_AUDIT_LOG, requireAttestationsBies: "
        "[attestor]}, globalPolicyEvaluationMode=ENABLE, no ALWAYS_ALLOW or dry-run "
        "cluster rules, no wildcard allowlist patterns.",
        applies_to=(CLUSTER, BINAUTHZ_POLICY),
        check=properties("gke-binauthz-enforced", gke.check_binauthz_exemptions),
    ),
    Rule(
        name="gke-no-legacy-auth",
        description="No legacy ABAC and no client certificates: cluster access goes through IAM "
        "and RBAC only.",
        severity=Severity.HIGH,
        remediation="Leave enableLegacyAbac unset or false and set "
        "masterAuth.clientCertificateConfig.issueClientCertificate=false.",
        applies_to=(CLUSTER,),
        check=properties("gke-no-legacy-auth"),
    ),
    Rule(
        name="gke-network-policy",
        description="NetworkPolicies are enforced, so tenant namespaces can be fenced off.",
        severity=Severity.HIGH,
        remediation="Set datapathProvider=ADVANCED_DATAPATH (Dataplane V2), or networkPolicy "
        "{enabled: true} with addonsConfig.networkPolicyConfig.disabled=false.",
        applies_to=(CLUSTER,),
        check=gke.check_network_policy,
    ),
    Rule(
        name="gke-node-sa-least-privilege",
        description="Nodes run as a dedicated service account holding only logging, monitoring "
        "and Artifact Registry read roles.",
        severity=Severity.HIGH,
        remediation="Create a node service account, set it as nodeConfig.serviceAccount on every "
        "node pool, and grant it only roles/monitoring.metricWriter, "
        "roles/logging.logWriter and roles/artifactregistry.reader "
        "(or roles/container.defaultNodeServiceAccount).",
        applies_to=(CLUSTER, NODE_POOL),
        check=gke.check_node_sa,
    ),
    Rule(
        name="kms-key-rotation",
        description="Symmetric KMS keys rotate at least every 90 days; asymmetric keys are exempt.",
        severity=Severity.MEDIUM,
        remediation='Set rotationPeriod (e.g. "7776000s") on every ENCRYPT_DECRYPT crypto key.',
        applies_to=(CRYPTO_KEY,),
        check=data.check_kms_rotation,
    ),
    Rule(
        name="kms-decrypt-only-workload",
        description="Only the sandbox workload identity can decrypt: every role able to decrypt "
        "(on a key, key ring, project, folder or organization) goes to a service "
        "account bound by Workload Identity to exactly one Kubernetes service account "
        "of a cluster in the plan, and nobody else can act as that account.",
        severity=Severity.CRITICAL,
        remediation="Grant roles/cloudkms.cryptoKeyDecrypter on the one key to the workload GSA "
        "only, bind that GSA with roles/iam.workloadIdentityUser to "
        "serviceAccount:<project>.svc.id.goog[<ns>/<ksa>], and grant no one token "
        "creator, user, key or admin roles on it.",
        applies_to=DECRYPT_SCOPE_TYPES + SERVICE_ACCOUNT_IAM + (SERVICE_ACCOUNT_KEY,),
        check=iam.check_decrypt_only_workload,
    ),
    Rule(
        name="bucket-no-public-access",
        description="Buckets use uniform bucket-level access with public access prevention "
        "enforced.",
        severity=Severity.CRITICAL,
        remediation='Set uniformBucketLevelAccess=true and publicAccessPrevention="enforced".',
        applies_to=(BUCKET,),
        check=properties("bucket-no-public-access"),
    ),
    Rule(
        name="no-primitive-roles",
        description="No IAM resource grants the basic roles owner, editor or viewer.",
        severity=Severity.HIGH,
        remediation="Replace roles/owner, roles/editor and roles/viewer with the predefined role "
        "the member needs.",
        applies_to=IAM_TYPE_PATTERNS,
        check=iam.check_no_primitive_roles,
    ),
    Rule(
        name="no-public-members",
        description="No IAM resource or storage ACL grants anything to allUsers or "
        "allAuthenticatedUsers.",
        severity=Severity.CRITICAL,
        remediation="Remove allUsers/allAuthenticatedUsers members and public ACLs; grant named "
        "principals instead.",
        applies_to=IAM_TYPE_PATTERNS + STORAGE_ACL_TYPES,
        check=iam.check_no_public_members,
    ),
    Rule(
        name="org-policy-confidential-only",
        description="Every folder carries the org policy "
        "constraints/compute.restrictNonConfidentialComputing denying "
        "compute.googleapis.com, so only Confidential VMs can run in it.",
        severity=Severity.CRITICAL,
        remediation="Create a gcp.orgpolicy.Policy in the same component as the folder with "
        "name folders/<id>/policies/compute.restrictNonConfidentialComputing, "
        "parent folders/<id> and spec.rules=[{values: {deniedValues: "
        '["compute.googleapis.com"]}}], no allowAll.',
        applies_to=(FOLDER,),
        check=gke.check_org_policy,
    ),
    Rule(
        name="images-by-digest",
        description="Every container image of every Kubernetes workload (containers, init and "
        f"ephemeral containers; {_POD_KINDS}; and ConfigGroup objs/yaml) and every image "
        "value given to a Helm chart is pinned by sha256 digest.",
        severity=Severity.HIGH,
        remediation="Reference images as <repository>@sha256:<64 hex>; for Helm charts set the "
        "image values (or their digest field) to the digest.",
        applies_to=(*K8S_WORKLOAD_TYPES, *HELM_TYPES, CONFIG_GROUP),
        check=kubernetes.check_images_by_digest,
    ),
    Rule(
        name="model-object-sealed",
        description="Model objects are sealed: they carry the KMS-wrapped keyset as "
        'metadata["encryption-key"] and the plaintext digest as '
        'metadata["plaintext-sha256"].',
        severity=Severity.CRITICAL,
        remediation="Upload only the output of `python -m infra seal`, with its encryption-key "
        "and plaintext-sha256 metadata.",
        applies_to=(BUCKET_OBJECT,),
        check=data.check_model_object_sealed,
    ),
    Rule(
        name="attestor-has-public-key",
        description="Binary Authorization attestors reference their note and hold a public key, "
        "so attestations can be verified.",
        severity=Severity.HIGH,
        remediation="Set attestationAuthorityNote.noteReference and add a publicKeys entry with "
        "pkixPublicKey {publicKeyPem, signatureAlgorithm} (KMS signing key) or "
        "asciiArmoredPgpPublicKey.",
        applies_to=(ATTESTOR,),
        check=properties("attestor-has-public-key", gke.check_attestor_keys),
    ),
    Rule(
        name="gke-private-nodes",
        description="Nodes have no public IP addresses.",
        severity=Severity.MEDIUM,
        remediation="Set privateClusterConfig.enablePrivateNodes=true (with a "
        "masterIpv4CidrBlock) and do not set networkConfig.enablePrivateNodes=false "
        "on node pools.",
        applies_to=(CLUSTER, NODE_POOL),
        check=properties("gke-private-nodes"),
    ),
    Rule(
        name="gke-release-channel",
        description="The cluster follows a release channel and its nodes auto-upgrade, so "
        "security patches arrive.",
        severity=Severity.LOW,
        remediation="Set releaseChannel.channel (REGULAR or STABLE) and leave node pool "
        "management.autoUpgrade on.",
        applies_to=(CLUSTER,),
        check=properties("gke-release-channel"),
    ),
    # Issue 14 (items 2 and 3): the review judges workloads as Gatekeeper would, and guards the
    # guards (webhook, enforcement, completeness and parameters of the constraints, the folder).
    Rule(
        name="workloads-admitted",
        description="Every namespaced Kubernetes object of the plan, of every pod-creating kind, "
        "passes the project's own Gatekeeper admission (the plan's templates and constraints, "
        "on OPA; the repository's templates where the plan deploys none), so a privileged, "
        "token-mounting or writable-root workload fails before it reaches a cluster.",
        severity=Severity.CRITICAL,
        remediation="Fix the object as the quoted Gatekeeper message says (the harness "
        "Deployment's pod spec is the reference), and deploy workloads only into the tenant "
        "namespaces the plan's constraints cover.",
        applies_to=(*K8S_WORKLOAD_TYPES, "kubernetes:core/v1:Service", "kubernetes:core/v1:Secret"),
        check=admission_review.check_workloads_admitted,
    ),
    Rule(
        name="ingress-https-only",
        description="Every Ingress serves HTTPS only: HTTP disabled on the load balancer and "
        "every routed host covered by spec.tls.",
        severity=Severity.HIGH,
        remediation='Set the annotation kubernetes.io/ingress.allow-http: "false" and list '
        "every rule's host in spec.tls[].hosts with its certificate secret.",
        applies_to=(admission_review.INGRESS,),
        check=admission_review.check_ingress_https_only,
    ),
    Rule(
        name="network-policy-exact",
        description="Tenant namespaces deny all traffic by default and their NetworkPolicies "
        "open only the design's peers: kube-dns on 53, the Google API VIPs on 443, the GKE "
        "metadata server, and ingress from Google's load balancer ranges to the harness port.",
        severity=Severity.HIGH,
        remediation="Keep the tenant's default-deny policy and remove any rule without 'to'/"
        "'from' or ports, or naming another peer (e.g. 0.0.0.0/0, another namespace).",
        applies_to=(admission_review.NETWORK_POLICY, admission_review.NAMESPACE),
        check=admission_review.check_network_policy_exact,
    ),
    Rule(
        name="gatekeeper-fail-closed",
        description="The Gatekeeper webhook fails closed (failurePolicy Fail), sees every "
        "pod-creating kind on CREATE and UPDATE and pods/ephemeralcontainers, and exempts "
        "system namespaces only.",
        severity=Severity.CRITICAL,
        remediation="In the Gatekeeper chart values set validatingWebhookFailurePolicy: Fail and "
        'validatingWebhookCustomRules [{apiGroups: ["*"], apiVersions: ["*"], operations: '
        '[CREATE, UPDATE], resources: ["*", "pods/ephemeralcontainers"]}]; exempt only system '
        "namespaces.",
        applies_to=(*HELM_TYPES, "kubernetes:constraints.gatekeeper.sh/*"),
        check=guards.check_gatekeeper_fail_closed,
    ),
    Rule(
        name="constraints-enforced",
        description="Every Gatekeeper constraint blocks violations (enforcementAction deny), "
        "never only reports them (dryrun, warn).",
        severity=Severity.CRITICAL,
        remediation="Set spec.enforcementAction: deny (or leave it unset) on every constraint.",
        applies_to=("kubernetes:constraints.gatekeeper.sh/*",),
        check=guards.check_constraints_enforced,
    ),
    Rule(
        name="constraints-complete",
        description="Every tenant namespace has a constraint of every shipped ConstraintTemplate "
        "matching every kind the template judges (the workload-KSA set where the namespace has "
        "a workload KSA), and every deployed template carries the repository's reviewed Rego.",
        severity=Severity.CRITICAL,
        remediation="Render the tenant's constraints with components.gatekeeper_policy."
        "constraints() and deploy the templates from policy/gatekeeper/*/template.yaml.",
        applies_to=(
            admission_review.NAMESPACE,
            "kubernetes:constraints.gatekeeper.sh/*",
            "kubernetes:templates.gatekeeper.sh/*",
        ),
        check=guards.check_constraints_complete,
    ),
    Rule(
        name="constraint-params-match",
        description="Constraint parameters agree with the rest of the plan: allowed repos are "
        "the plan's harness registry, approved digests are well-formed digests equal to what "
        "the workload KSA deploys, and workload-KSA rules name the namespace's workload KSA.",
        severity=Severity.CRITICAL,
        remediation="Render the constraints from the same config as the registry, the harness "
        "image and the Workload Identity binding (infra.config's tenant block).",
        applies_to=("kubernetes:constraints.gatekeeper.sh/*",),
        check=guards.check_constraint_params_match,
    ),
    Rule(
        name="project-in-confidential-folder",
        description="Every project the plan creates lives in the folder whose org policy "
        "allows only Confidential VMs.",
        severity=Severity.CRITICAL,
        remediation="Set the project's folderId to the confidential folder (the parent of the "
        "compute.restrictNonConfidentialComputing policy), not an organization or another folder.",
        applies_to=(guards.PROJECT,),
        check=guards.check_project_in_confidential_folder,
    ),
    Rule(
        name="model-access-paths",
        description="Every way to read or decrypt the model passes through the sandbox: the "
        "harness pods in the tenant namespace, admitted only with an approved digest. "
        "No grant, impersonation, service account key, GKE IAM role, RBAC permission "
        "(exec, attach, ephemeral containers, token minting) or missing admission "
        "rule reaches a person, a group or the public directly.",
        severity=Severity.CRITICAL,
        remediation="Grant decrypt/read only to the workload service account, bind it only to "
        "the workload KSA with roles/iam.workloadIdentityUser, keep tenants to the "
        "sandbox Role, and deploy every workload-KSA Gatekeeper rule for the "
        "namespace. `python -m infra access <plan>` prints each chain.",
        applies_to=(CRYPTO_KEY, BUCKET_OBJECT, *IAM_TYPE_PATTERNS),
        check=check_model_access_paths,
    ),
)
assert_unique(RULES)


def evaluate(
    resources: Sequence[Resource], rules: Sequence[Rule] | None = None
) -> list[RuleResult]:
    """Run every rule (default: `RULES`) over one plan's resources, in rule order."""
    return [rule.run(resources) for rule in (RULES if rules is None else rules)]


def select_rules(names: Iterable[str], rules: Sequence[Rule] | None = None) -> tuple[Rule, ...]:
    """The rules with these names, in rule-set order; an unknown name raises UnknownRuleError."""
    pool = RULES if rules is None else tuple(rules)
    known = {rule.name: rule for rule in pool}
    wanted = list(dict.fromkeys(names))
    missing = [n for n in wanted if n not in known]
    if missing:
        raise UnknownRuleError(
            f"unknown rule {', '.join(repr(n) for n in missing)}; known rules: {', '.join(known)}"
        )
    return tuple(rule for rule in pool if rule.name in wanted)
