"""The source mutations: small changes a careless or hostile pull request could make.

Each one weakens what a step of the tutorial (seed 003's 16 steps, README "The stacks") promises
and must be caught by `python -m infra plan` + `python -m infra review` (with the policy of the
unmutated commit, `--policy-from HEAD`, where the review has it). An edit is an exact string
replacement that must match exactly once, so a mutation whose code moved fails loudly (STALE)
instead of silently testing nothing. `expect` names the rule(s) that should catch it;
`fast` marks the subset `make test` runs (one per concern class).

Steps: 1 the model, 2 the KMS key, 3 the bucket and upload, 4 Bob's harness image and registry,
5 the project on Bob's billing account (billing, services, network), 6 folder, org policy,
Binary Authorization, the Confidential GKE cluster and Workload Identity, 7 the workload's
read/decrypt grants and the perimeter, 8 Alice reviews the image (note, attestor, signing key),
9 she authorizes it (verifier grant, allowlist, approved digests), 10 Gatekeeper allows only
Bob's repository, 11 RBAC and the tenant namespace, 12 Bob's IAM on the cluster, 13 the nodes'
read on Bob's registry, 14 Bob deploys the harness (pod, Service, Ingress, TLS), 15 Gatekeeper
admits only the signed image (webhook, exemptions, templates), 16 the pod reaches Google APIs
with Workload Identity and loads the model (egress, metadata server, the model digest).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Edit:
    """Replace `old` (which must occur exactly once in `path`) by `new`."""

    path: str
    old: str
    new: str


@dataclass(frozen=True)
class Mutation:
    """One weakening: its edits, the seed step it breaks and why that matters."""

    id: str
    step: int
    edits: tuple[Edit, ...]
    why: str
    expect: tuple[str, ...] = ()
    fast: bool = False

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.path for e in self.edits))


def m(
    id: str,
    step: int,
    path: str,
    old: str,
    new: str,
    why: str,
    *expect: str,
    fast: bool = False,
) -> Mutation:
    """A one-edit mutation."""
    return Mutation(id, step, (Edit(path, old, new),), why, tuple(expect), fast)


def multi(
    id: str, step: int, edits: Sequence[tuple[str, str, str]], why: str, *expect: str
) -> Mutation:
    """A mutation of several edits made together (e.g. a loosened fact and the config it lets in)."""
    return Mutation(id, step, tuple(Edit(*e) for e in edits), why, tuple(expect))


VAULT = "components/model_vault.py"
ATTESTOR = "components/image_attestor.py"
COMMON = "components/_common.py"
PROJECT = "components/sandbox_project.py"
FOLDER = "components/confidential_folder.py"
BINAUTHZ = "components/binauthz_policy.py"
CLUSTER = "components/confidential_cluster.py"
IDENTITY = "components/workload_identity.py"
PERIMETER = "components/service_perimeter.py"
TENANT_IAM = "components/tenant_iam.py"
REGISTRY = "components/harness_registry.py"
TENANT = "components/tenant_sandbox.py"
GATEKEEPER = "components/gatekeeper.py"
GK_POLICY = "components/gatekeeper_policy.py"
WORKLOAD = "components/harness_workload.py"
FACTS = "policy/facts.py"
CONTRACT = "harness/contract.py"
REGO = "policy/gatekeeper"
LIB_REGO = f"{REGO}/lib/src.rego"

MUTATIONS: tuple[Mutation, ...] = (
    # ------------------------------------------------------------------ 1 the model object
    m(
        "model-object-keyset-dropped",
        1,
        VAULT,
        "metadata=dict(model.metadata),",
        "metadata={},",
        "the sealed object loses its wrapped keyset and digest",
        "model-object-sealed",
    ),
    m(
        "model-object-digest-dropped",
        1,
        VAULT,
        "metadata=dict(model.metadata),",
        'metadata={k: v for k, v in model.metadata.items() if k != "plaintext-sha256"},',
        "the harness can no longer prove which plaintext it loaded",
        "model-object-sealed",
    ),
    m(
        "model-object-plaintext-upload",
        1,
        VAULT,
        "source=pulumi.FileAsset(model.source_path),",
        'source=pulumi.FileAsset(model.source_path.removesuffix(".sealed")),',
        "the plaintext model is uploaded in place of the sealed file",
        "model-object-sealed",
    ),
    # ------------------------------------------------------------------ 2 the KMS key
    m(
        "kms-rotation-dropped",
        2,
        VAULT,
        '"rotation_period": args.rotation_period,',
        '"rotation_period": None,',
        "the model key never rotates",
        "kms-key-rotation",
        fast=True,
    ),
    m(
        "kms-purpose-raw",
        2,
        VAULT,
        '"purpose": "ENCRYPT_DECRYPT",',
        '"purpose": "RAW_ENCRYPT_DECRYPT",',
        "a model key not recognised by its purpose escapes rotation, durability and grant rules",
        "kms-key-rotation",
    ),
    m(
        "kms-key-unprotected",
        2,
        VAULT,
        "opts=child(self, protect=protect),",
        "opts=child(self),",
        "`pulumi destroy` deletes the only key that unwraps the model",
        "model-data-durable",
    ),
    m(
        "kms-key-ring-unprotected",
        2,
        VAULT,
        "location=args.location,\n            opts=child(self, protect=protect, depends_on=waits),",
        "location=args.location,\n            opts=child(self, depends_on=waits),",
        "the key ring is not protected from `pulumi destroy`",
        "model-data-durable",
    ),
    multi(
        "facts-rotation-bound-loosened",
        2,
        [
            (
                FACTS,
                "MAX_KEY_ROTATION_SECONDS = 90 * 24 * 3600",
                "MAX_KEY_ROTATION_SECONDS = 3650 * 24 * 3600",
            ),
            ("Pulumi.model.yaml", "rotationPeriod: 90d", "rotationPeriod: 3650d"),
        ],
        "the judge's rotation bound loosened with the key: it rotates every ten years",
        "kms-key-rotation",
    ),
    # ------------------------------------------------------------------ 3 the bucket
    m(
        "bucket-uniform-access-off",
        3,
        VAULT,
        '"uniform_bucket_level_access": True,',
        '"uniform_bucket_level_access": False,',
        "object ACLs can expose the sealed model",
        "bucket-no-public-access",
        fast=True,
    ),
    m(
        "bucket-public-prevention-inherited",
        3,
        VAULT,
        '"public_access_prevention": "enforced",',
        '"public_access_prevention": "inherited",',
        "an IAM binding could make the bucket public",
        "bucket-no-public-access",
    ),
    m(
        "bucket-versioning-off",
        3,
        VAULT,
        '"versioning": {"enabled": True},',
        '"versioning": {"enabled": False},',
        "an overwrite or delete of the sealed model cannot be undone",
        "model-data-durable",
    ),
    m(
        "bucket-force-destroy",
        3,
        VAULT,
        '"force_destroy": False,',
        '"force_destroy": True,',
        "destroying the bucket deletes the model with it",
        "model-data-durable",
    ),
    m(
        "bucket-lifecycle-delete",
        3,
        VAULT,
        '"force_destroy": False,',
        '"force_destroy": False,\n        "lifecycle_rules": [{"action": {"type": "Delete"}, "condition": {"age": 1}}],',
        "a lifecycle rule deletes the sealed model after a day",
        "model-data-durable",
    ),
    m(
        "bucket-unprotected",
        3,
        VAULT,
        "(review: model-data-durable).\n            opts=child(self, protect=protect, depends_on=waits),",
        "(review: model-data-durable).\n            opts=child(self, depends_on=waits),",
        "`pulumi destroy` deletes the bucket holding the only sealed copy",
        "model-data-durable",
    ),
    # ------------------------------------------------------------------ 4 Bob's harness image and registry
    m(
        "registry-tags-mutable",
        4,
        COMMON,
        'docker_config={"immutable_tags": True},',
        'docker_config={"immutable_tags": False},',
        "a signed tag can be moved to other bytes",
        "registry-immutable-tags",
    ),
    m(
        "harness-uid-root",
        4,
        CONTRACT,
        "UID = 65532",
        "UID = 0",
        "the harness runs as root",
        "workloads-admitted",
    ),
    m(
        "harness-mount-paths-widened",
        4,
        CONTRACT,
        "MOUNT_PATHS: tuple[str, ...] = (TLS_DIR, TOKEN_DIR, SCRATCH_DIR)",
        'MOUNT_PATHS: tuple[str, ...] = (TLS_DIR, TOKEN_DIR, SCRATCH_DIR, "/usr/local/lib")',
        "a volume may be mounted over the harness's Python installation",
        "constraint-params-match",
        "workload-allowlists-exact",
    ),
    m(
        "harness-env-allowlist-widened",
        4,
        CONTRACT,
        "DEPLOYED_ENV: tuple[str, ...] = (\n    ENV_KMS_KEY_URI,\n",
        "DEPLOYED_ENV: tuple[str, ...] = (\n    ENV_KMS_KEY_URI,\n    ENV_LOG_LEVEL,\n    ENV_BIND,\n",
        "the Gatekeeper env allowlist admits variables the harness is not deployed with",
        "constraint-params-match",
        "workload-allowlists-exact",
    ),
    # ------------------------------------------------------------------ 5 the project on Bob's billing account
    m(
        "project-default-network",
        5,
        PROJECT,
        "auto_create_network=False,",
        "auto_create_network=True,",
        "the default network ships permissive firewall rules",
        "project-defaults-safe",
    ),
    m(
        "project-deletion-policy-delete",
        5,
        PROJECT,
        'deletion_policy="PREVENT",',
        'deletion_policy="DELETE",',
        "`pulumi destroy` deletes the cluster project",
        "project-defaults-safe",
    ),
    m(
        "project-extra-api",
        5,
        PROJECT,
        '    "monitoring.googleapis.com",\n)',
        '    "monitoring.googleapis.com",\n    "sqladmin.googleapis.com",\n)',
        "an API the sandbox does not use is enabled (attack surface)",
        "project-services-minimal",
    ),
    m(
        "project-outside-folder",
        5,
        PROJECT,
        "folder_id=args.folder_id,",
        'org_id="673208786098",',
        "the cluster project escapes the folder whose org policy demands Confidential VMs",
        "project-in-confidential-folder",
    ),
    # ------------------------------------------------------------------ 6 folder, org policy, BinAuthz, cluster, WI
    m(
        "org-policy-allow-all",
        6,
        FOLDER,
        'spec={"rules": [{"values": {"denied_values": list(CONFIDENTIAL_SERVICES)}}]},',
        'spec={"rules": [{"allow_all": "TRUE"}]},',
        "the folder admits non-confidential VMs",
        "org-policy-confidential-only",
        fast=True,
    ),
    m(
        "org-policy-dry-run",
        6,
        FOLDER,
        'spec={"rules": [{"values"',
        'dry_run_spec={"rules": [{"values"',
        "the org policy only reports, never denies",
        "org-policy-confidential-only",
    ),
    m(
        "org-policy-other-constraint",
        6,
        FOLDER,
        'CONFIDENTIAL_CONSTRAINT = "compute.restrictNonConfidentialComputing"',
        'CONFIDENTIAL_CONSTRAINT = "compute.requireOsLogin"',
        "the folder's policy constrains something else",
        "org-policy-confidential-only",
    ),
    m(
        "deny-policy-everyone-exempt",
        6,
        FOLDER,
        '"exception_principals": list(spec.exception_principals),',
        '"exception_principals": ["principalSet://goog/public:all"],',
        "the IAM deny policy exempts every principal",
        "deny-policy-effective",
    ),
    m(
        "deny-policy-empty",
        6,
        FOLDER,
        '"denied_permissions": list(spec.denied_permissions),',
        '"denied_permissions": [],',
        "the IAM deny policy denies nothing",
        "deny-policy-effective",
    ),
    m(
        "binauthz-dry-run",
        6,
        BINAUTHZ,
        '"enforcement_mode": "ENFORCED_BLOCK_AND_AUDIT_LOG",',
        '"enforcement_mode": "DRYRUN_AUDIT_LOG_ONLY",',
        "unsigned images run; BinAuthz only logs",
        "gke-binauthz-enforced",
    ),
    m(
        "binauthz-always-allow",
        6,
        BINAUTHZ,
        '"evaluation_mode": "REQUIRE_ATTESTATION",',
        '"evaluation_mode": "ALWAYS_ALLOW",',
        "every image is admitted",
        "gke-binauthz-enforced",
    ),
    m(
        "binauthz-no-attestor",
        6,
        BINAUTHZ,
        '"require_attestations_bies": [ref.attestor_id for ref in args.attestors],',
        '"require_attestations_bies": [],',
        "no attestation is required",
        "gke-binauthz-enforced",
    ),
    m(
        "gke-confidential-nodes-off",
        6,
        CLUSTER,
        '"confidential_nodes": {"enabled": True},\n        # Boot chain',
        '"confidential_nodes": {"enabled": False},\n        # Boot chain',
        "the model's plaintext sits in unencrypted node memory",
        "gke-confidential-nodes",
        fast=True,
    ),
    m(
        "gke-cluster-confidential-off",
        6,
        CLUSTER,
        '"confidential_nodes": {"enabled": True},\n        "enable_shielded_nodes"',
        '"confidential_nodes": {"enabled": False},\n        "enable_shielded_nodes"',
        "the cluster-level confidential setting is off",
        "gke-confidential-nodes",
    ),
    multi(
        "facts-sev-families-widened",
        6,
        [
            (
                FACTS,
                '        "SEV": ("n2d", "c2d", "c3d"),',
                '        "SEV": ("n2d", "c2d", "c3d", "e2"),',
            ),
            ("Pulumi.cluster.yaml", "machineType: n2d-standard-2", "machineType: e2-standard-2"),
        ],
        "the judge's list of SEV machine series admits E2, which has no memory encryption",
        "gke-confidential-nodes",
    ),
    m(
        "gke-secure-boot-off",
        6,
        CLUSTER,
        '"enable_secure_boot": True,',
        '"enable_secure_boot": False,',
        "a tampered boot chain goes unnoticed",
        "gke-shielded-nodes",
    ),
    m(
        "gke-integrity-monitoring-off",
        6,
        CLUSTER,
        '"enable_integrity_monitoring": True,',
        '"enable_integrity_monitoring": False,',
        "node integrity is not measured",
        "gke-shielded-nodes",
    ),
    m(
        "gke-shielded-nodes-off",
        6,
        CLUSTER,
        '"enable_shielded_nodes": True,',
        '"enable_shielded_nodes": False,',
        "Shielded GKE nodes off",
        "gke-shielded-nodes",
    ),
    m(
        "gke-node-metadata-exposed",
        6,
        CLUSTER,
        '"workload_metadata_config": {"mode": "GKE_METADATA"},',
        '"workload_metadata_config": {"mode": "GCE_METADATA"},',
        "pods see the node's own credentials",
        "gke-workload-identity",
    ),
    m(
        "gke-legacy-metadata-endpoints",
        6,
        CLUSTER,
        '"metadata": {"disable-legacy-endpoints": "true"},',
        '"metadata": {"disable-legacy-endpoints": "false"},',
        "legacy metadata endpoints serve node credentials without the header check",
        "gke-legacy-metadata-off",
    ),
    m(
        "gke-binauthz-disabled",
        6,
        CLUSTER,
        '"binary_authorization": {"evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE"},',
        '"binary_authorization": {"evaluation_mode": "DISABLED"},',
        "the cluster ignores the BinAuthz policy",
        "gke-binauthz-enforced",
    ),
    m(
        "gke-legacy-abac",
        6,
        CLUSTER,
        '"enable_legacy_abac": False,',
        '"enable_legacy_abac": True,',
        "legacy ABAC bypasses RBAC",
        "gke-no-legacy-auth",
    ),
    m(
        "gke-client-certificate",
        6,
        CLUSTER,
        '"issue_client_certificate": False',
        '"issue_client_certificate": True',
        "a long-lived admin client certificate is issued",
        "gke-no-legacy-auth",
    ),
    m(
        "gke-network-policy-off",
        6,
        CLUSTER,
        '"datapath_provider": "ADVANCED_DATAPATH",',
        '"datapath_provider": "LEGACY_DATAPATH",',
        "NetworkPolicies are not enforced",
        "gke-network-policy",
    ),
    m(
        "gke-private-nodes-off",
        6,
        CLUSTER,
        '"enable_private_nodes": True,',
        '"enable_private_nodes": False,',
        "nodes get public IPs",
        "gke-private-nodes",
    ),
    m(
        "gke-dns-endpoint-k8s-tokens",
        6,
        CLUSTER,
        '"enable_k8s_tokens_via_dns": False,',
        '"enable_k8s_tokens_via_dns": True,',
        "the DNS endpoint accepts Kubernetes tokens, bypassing the IAM check",
        "gke-dns-endpoint-iam-only",
    ),
    m(
        "gke-authorized-networks-anywhere",
        6,
        CLUSTER,
        '"cidr_blocks": [\n',
        '"cidr_blocks": [{"display_name": "anywhere", "cidr_block": "0.0.0.0/0"}]\n            + [\n',
        "the control plane's IP endpoint is reachable from the whole internet",
        "gke-authorized-networks",
    ),
    m(
        "gke-gcp-public-cidrs",
        6,
        CLUSTER,
        '"gcp_public_cidrs_access_enabled": False,',
        '"gcp_public_cidrs_access_enabled": True,',
        "every Google Cloud VM's address reaches the control plane",
        "gke-authorized-networks",
    ),
    m(
        "gke-auto-upgrade-off",
        6,
        CLUSTER,
        'management={"auto_repair": True, "auto_upgrade": True},',
        'management={"auto_repair": True, "auto_upgrade": False},',
        "nodes miss security patches",
        "gke-release-channel",
    ),
    m(
        "gke-kubernetes-alpha",
        6,
        CLUSTER,
        '"enable_kubernetes_alpha": False,',
        '"enable_kubernetes_alpha": True,',
        "alpha APIs and features run in the sandbox cluster",
        "gke-no-alpha-features",
    ),
    m(
        "gke-node-sa-default",
        6,
        CLUSTER,
        '"service_account": service_account,',
        '"service_account": "default",',
        "nodes run as the Compute default service account (project editor)",
        "gke-node-sa-least-privilege",
    ),
    m(
        "gke-node-sa-extra-role",
        6,
        CLUSTER,
        '    "roles/artifactregistry.reader",\n)',
        '    "roles/artifactregistry.reader",\n    "roles/storage.objectViewer",\n)',
        "every pod's node identity can read every bucket of the project",
        "gke-node-sa-least-privilege",
    ),
    m(
        "gke-webhook-firewall-open",
        6,
        CLUSTER,
        '"source_ranges": [args.master_cidr],',
        '"source_ranges": ["0.0.0.0/0"],',
        "the Gatekeeper webhook port is open to any source",
        "node-firewall-scoped",
    ),
    m(
        "dns-private-vip",
        6,
        CLUSTER,
        '"rrdatas": list(RESTRICTED_GOOGLE_APIS_ADDRESSES),',
        '"rrdatas": ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"],',
        "Google APIs resolve to the private VIP, which VPC Service Controls do not guard",
        "google-apis-resolvable",
        "google-apis-restricted-vip",
    ),
    m(
        "dns-zone-public",
        6,
        CLUSTER,
        'visibility="private",',
        'visibility="public",',
        "the Google API override zone is public",
    ),
    m(
        "wi-binding-other-ksa",
        6,
        IDENTITY,
        "lambda p: ksa_member(p, args.namespace, args.kubernetes_service_account)",
        'lambda p: ksa_member(p, args.namespace, "default")',
        "any pod in the namespace (the default KSA) may act as the model reader",
        "iam-exact-grants",
    ),
    m(
        "wi-binding-token-creator",
        6,
        IDENTITY,
        'role="roles/iam.workloadIdentityUser",',
        'role="roles/iam.serviceAccountTokenCreator",',
        "the KSA may mint tokens for the model reader directly (the seed's grant)",
        "iam-exact-grants",
    ),
    # ------------------------------------------------------------------ 7 read/decrypt grants, perimeter
    m(
        "decrypt-on-key-ring",
        7,
        IDENTITY,
        "gcp.kms.CryptoKeyIAMMember(\n"
        '            f"{name}-decrypter",\n'
        "            crypto_key_id=args.kms_key_id,",
        "gcp.kms.KeyRingIAMMember(\n"
        '            f"{name}-decrypter",\n'
        "            key_ring_id=pulumi.Output.from_input(args.kms_key_id).apply(\n"
        '                lambda k: k.split("/cryptoKeys/")[0]\n'
        "            ),",
        "decrypt on every key of the ring, not the model key",
        "iam-exact-grants",
        fast=True,
    ),
    m(
        "decrypt-encrypter-role",
        7,
        IDENTITY,
        'role="roles/cloudkms.cryptoKeyDecrypter",',
        'role="roles/cloudkms.cryptoKeyEncrypterDecrypter",',
        "the workload may also encrypt (re-seal) with the model key",
        "iam-exact-grants",
    ),
    m(
        "decrypt-to-group",
        7,
        IDENTITY,
        'role="roles/cloudkms.cryptoKeyDecrypter",\n            member=member,',
        'role="roles/cloudkms.cryptoKeyDecrypter",\n            member="group:ml-team@example.com",',
        "people can decrypt the model's keyset",
        "kms-decrypt-only-workload",
    ),
    m(
        "object-viewer-bucket-wide",
        7,
        IDENTITY,
        "condition=condition,",
        "condition=None,",
        "read on every object of the bucket, not the sealed model",
        "iam-exact-grants",
    ),
    m(
        "object-viewer-object-admin",
        7,
        IDENTITY,
        'role="roles/storage.objectViewer",',
        'role="roles/storage.objectAdmin",',
        "the workload may overwrite or delete the sealed model",
        "iam-exact-grants",
    ),
    m(
        "object-viewer-all-users",
        7,
        IDENTITY,
        'role="roles/storage.objectViewer",\n            member=member,',
        'role="roles/storage.objectViewer",\n            member="allUsers",',
        "the sealed model is public",
        "no-public-members",
    ),
    m(
        "perimeter-dry-run",
        7,
        PERIMETER,
        "status={",
        "use_explicit_dry_run_spec=True,\n                spec={",
        "the perimeter only reports, blocks nothing",
        "exfiltration-perimeter",
    ),
    m(
        "perimeter-bridge",
        7,
        PERIMETER,
        'perimeter_type="PERIMETER_TYPE_REGULAR",',
        'perimeter_type="PERIMETER_TYPE_BRIDGE",',
        "a bridge perimeter restricts no service",
        "exfiltration-perimeter",
    ),
    m(
        "perimeter-ingress-any-identity",
        7,
        PERIMETER,
        '"ingress_from": {"identities": list(identities), "sources": [{"access_level": "*"}]},',
        '"ingress_from": {"identity_type": "ANY_IDENTITY", "sources": [{"access_level": "*"}]},',
        "anyone may reach storage and KMS inside the perimeter from anywhere",
        "perimeter-ingress-named",
    ),
    m(
        "facts-perimeter-services-loosened",
        7,
        FACTS,
        '    "cloudkms.googleapis.com",\n    "storage.googleapis.com",\n)',
        '    "cloudkms.googleapis.com",\n)',
        "the judge's perimeter list drops storage with the perimeter: the model can be copied out",
        "exfiltration-perimeter",
    ),
    # ------------------------------------------------------------------ 8 Alice reviews the image: note, attestor, key
    m(
        "attestor-no-public-key",
        8,
        ATTESTOR,
        '"public_keys": [public_key],',
        '"public_keys": [],',
        "the attestor cannot verify any signature",
        "attestor-has-public-key",
    ),
    m(
        "attestor-second-key",
        8,
        ATTESTOR,
        '"public_keys": [public_key],',
        '"public_keys": [\n'
        "                    public_key,\n"
        '                    {"ascii_armored_pgp_public_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\\n'
        'mQENBGXjIPoBCADAMB7nYTP3rhUSmSKij6x\\n-----END PGP PUBLIC KEY BLOCK-----\\n"},\n'
        "                ],",
        "a second signing key nobody reviewed may vouch for images",
        "attestor-one-reviewed-key",
    ),
    m(
        "signing-key-unprotected",
        8,
        ATTESTOR,
        "opts=child(self, protect=True),",
        "opts=child(self),",
        "the attestor's signing key is not protected from `pulumi destroy`",
        "attestor-key-protected",
    ),
    m(
        "note-in-bob-project",
        8,
        ATTESTOR,
        "project=args.project,\n            attestation_authority={",
        'project="b-demo-harness",\n            attestation_authority={',
        "the attestation note lives in Bob's project: Bob can attach attestations",
        "attestor-note-owned",
    ),
    # ------------------------------------------------------------------ 9 Alice authorizes it
    m(
        "verifier-grant-public",
        9,
        BINAUTHZ,
        "member=agent,",
        'member="allAuthenticatedUsers",',
        "anyone may use Alice's attestor",
        "no-public-members",
    ),
    m(
        "verifier-grant-editor",
        9,
        BINAUTHZ,
        'role="roles/binaryauthorization.attestorsVerifier",',
        'role="roles/binaryauthorization.attestorsEditor",',
        "the cluster project's service agent may change Alice's attestor",
        "iam-exact-grants",
    ),
    m(
        "binauthz-allowlist-registry-wildcard",
        9,
        BINAUTHZ,
        'admission_whitelist_patterns=[\n                {"name_pattern": p} for p in args.allowlist_patterns or []\n            ],',
        'admission_whitelist_patterns=[\n                {"name_pattern": "us-central1-docker.pkg.dev/*"},\n'
        '                *({"name_pattern": p} for p in args.allowlist_patterns or []),\n            ],',
        "every Artifact Registry image in the region, Bob's included, runs unsigned",
        "gke-binauthz-enforced",
    ),
    m(
        "approved-digests-extra",
        9,
        GK_POLICY,
        'lambda t: {**_ksa(t), "digests": sorted(t.approved_digests)},',
        'lambda t: {**_ksa(t), "digests": sorted({*t.approved_digests, "sha256:" + "0" * 64})},',
        "Gatekeeper approves a digest Alice never reviewed",
        "constraint-params-match",
    ),
    multi(
        "facts-digest-pattern-loosened",
        9,
        [
            (
                FACTS,
                'DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")',
                'DIGEST = re.compile(r"^sha256:")',
            ),
            (
                "Pulumi.sandbox.yaml",
                "    approvedDigests:\n      - sha256:79bd",
                "    approvedDigests:\n      - sha256:latest\n      - sha256:79bd",
            ),
        ],
        "the judge's digest pattern loosened with an approved 'digest' that is no digest",
        "constraint-params-match",
    ),
    # ------------------------------------------------------------------ 10 Gatekeeper: only Bob's repository
    m(
        "allowed-repos-widened",
        10,
        GK_POLICY,
        '_pod("sandbox-allowed-repos", lambda t: {"repos": list(t.allowed_repos)}),',
        '_pod("sandbox-allowed-repos", lambda t: {"repos": [*t.allowed_repos, "docker.io"]}),',
        "any Docker Hub image is admitted",
        "constraint-params-match",
        fast=True,
    ),
    m(
        "allowed-repos-constraint-dropped",
        10,
        GK_POLICY,
        '    _pod("sandbox-allowed-repos", lambda t: {"repos": list(t.allowed_repos)}),\n',
        "",
        "no constraint limits where images come from",
        "constraints-complete",
    ),
    m(
        "constraint-dry-run",
        10,
        GK_POLICY,
        '"enforcementAction": "deny",',
        '"enforcementAction": "dryrun",',
        "every constraint only reports",
        "constraints-enforced",
    ),
    m(
        "constraint-kinds-pods-only",
        10,
        GK_POLICY,
        "POD_MATCH_KINDS: tuple[dict[str, list[str]], ...] = tuple(facts.pod_kind_match())",
        'POD_MATCH_KINDS: tuple[dict[str, list[str]], ...] = ({"apiGroups": [""], "kinds": ["Pod"]},)',
        "constraints no longer see Deployments, Jobs, CronJobs...",
        "constraints-complete",
    ),
    m(
        "rego-allowed-repos-prefix",
        10,
        LIB_REGO,
        'startswith(repo, concat("", [p, "/"]))',
        "startswith(repo, p)",
        "a look-alike repository (repo1-evil) passes the allowed-repos template",
        "constraints-deny-corpus",
    ),
    m(
        "rego-allowed-repos-docker-hub",
        10,
        f"{REGO}/sandbox-allowed-repos/src.rego",
        'not sandbox.repo_allowed(repo, object.get(input.parameters, "repos", []))',
        'not sandbox.repo_allowed(repo, array.concat(object.get(input.parameters, "repos", []), ["docker.io"]))',
        "the template itself admits Docker Hub",
        "constraints-deny-corpus",
    ),
    # ------------------------------------------------------------------ 11 RBAC and the tenant namespace
    m(
        "rbac-exec-added",
        11,
        TENANT,
        "rules=list(TENANT_RULES), opts=in_ns",
        'rules=[*TENANT_RULES, {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}], opts=in_ns',
        "Bob can exec into the pod holding the plaintext model",
        "rbac-exact-rules",
        fast=True,
    ),
    m(
        "rbac-wildcard",
        11,
        TENANT,
        "rules=list(TENANT_RULES), opts=in_ns",
        'rules=[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}], opts=in_ns',
        "Bob may do anything in his namespace (seed 004's mistake)",
        "rbac-exact-rules",
    ),
    m(
        "rbac-binds-edit",
        11,
        TENANT,
        'role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "tenant"},',
        'role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},',
        "the tenant gets the built-in edit role (exec, secrets, service accounts)",
        "rbac-exact-rules",
    ),
    m(
        "facts-tenant-rules-exec",
        11,
        FACTS,
        '    (("",), ("pods", "persistentvolumeclaims", "endpoints", "events"), _READ),\n',
        '    (("",), ("pods", "persistentvolumeclaims", "endpoints", "events"), _READ),\n'
        '    (("",), ("pods/exec", "pods/portforward"), ("create", "get")),\n',
        "the judge's copy of the tenant rules grows exec with the Role",
        "rbac-exact-rules",
        fast=True,
    ),
    m(
        "facts-tenant-rules-service-accounts",
        11,
        FACTS,
        '    (("",), ("services",), _APPLY_AWAIT),\n',
        '    (("",), ("services",), _APPLY_AWAIT),\n    (("",), ("serviceaccounts",), _APPLY_AWAIT),\n',
        "the judge lets the tenant delete and re-create the workload KSA with the Role",
        "rbac-exact-rules",
    ),
    m(
        "ksa-token-automount",
        11,
        TENANT,
        "automount_service_account_token=False,",
        "automount_service_account_token=True,",
        "the workload KSA's token is mounted by default",
    ),
    m(
        "pod-security-privileged",
        11,
        TENANT,
        '"pod-security.kubernetes.io/enforce": "restricted",',
        '"pod-security.kubernetes.io/enforce": "privileged",',
        "the tenant namespace loses Pod Security's restricted floor",
        "tenant-pod-security",
    ),
    m(
        "quota-load-balancers",
        11,
        TENANT,
        '"services.loadbalancers": "0",',
        '"services.loadbalancers": "5",',
        "the tenant may expose Services outside the Ingress",
    ),
    # ------------------------------------------------------------------ 12 Bob's IAM on the cluster
    m(
        "tenant-container-viewer",
        12,
        TENANT_IAM,
        'TENANT_ROLE = "roles/container.clusterViewer"',
        'TENANT_ROLE = "roles/container.viewer"',
        "Bob reads every Kubernetes object, Secrets included, through IAM (the seed's grant)",
        "iam-exact-grants",
    ),
    m(
        "tenant-container-developer",
        12,
        TENANT_IAM,
        'TENANT_ROLE = "roles/container.clusterViewer"',
        'TENANT_ROLE = "roles/container.developer"',
        "Bob may exec into any pod through IAM, bypassing RBAC",
        "iam-exact-grants",
    ),
    m(
        "tenant-project-owner",
        12,
        TENANT_IAM,
        'TENANT_ROLE = "roles/container.clusterViewer"',
        'TENANT_ROLE = "roles/owner"',
        "Bob owns the cluster project",
        "no-primitive-roles",
    ),
    m(
        "tenant-public-member",
        12,
        TENANT_IAM,
        "member=member,",
        'member="allAuthenticatedUsers",',
        "any Google account may get cluster credentials",
        "no-public-members",
    ),
    # ------------------------------------------------------------------ 13 the nodes read Bob's registry
    m(
        "registry-reader-writer",
        13,
        REGISTRY,
        'role="roles/artifactregistry.reader",',
        'role="roles/artifactregistry.writer",',
        "the nodes may push images into Bob's repository",
        "iam-exact-grants",
    ),
    m(
        "registry-reader-public",
        13,
        "stacks/harness.py",
        '[pulumi.Output.concat("serviceAccount:", node_sa)]',
        '[pulumi.Output.concat("serviceAccount:", node_sa), "allUsers"]',
        "anyone may pull the harness image",
        "no-public-members",
    ),
    m(
        "registry-reader-project-wide",
        13,
        REGISTRY,
        "gcp.artifactregistry.RepositoryIamMember(\n"
        '                f"{name}-reader-{index}",\n'
        "                project=args.project,\n"
        "                location=args.location,\n"
        "                repository=self.repository.repository_id,",
        "gcp.projects.IAMMember(\n"
        '                f"{name}-reader-{index}",\n'
        "                project=args.project,",
        "the nodes may read every repository of Bob's project",
        "iam-exact-grants",
    ),
    # ------------------------------------------------------------------ 14 Bob deploys the harness
    m(
        "workload-image-by-tag",
        14,
        WORKLOAD,
        '"image": args.image,',
        '"image": args.image.split("@")[0] + ":latest",',
        "the pod runs whatever the tag points to",
        "workloads-admitted",
        fast=True,
    ),
    m(
        "workload-command-override",
        14,
        WORKLOAD,
        '"ports": [{"name": contract.PORT_NAME, "containerPort": contract.PORT}],',
        '"command": ["python", "-c", "import harness"],\n'
        '        "ports": [{"name": contract.PORT_NAME, "containerPort": contract.PORT}],',
        "other code runs under the workload identity",
        "workloads-admitted",
    ),
    m(
        "workload-privileged",
        14,
        WORKLOAD,
        '"privileged": False,',
        '"privileged": True,',
        "a privileged container reads the node's memory",
        "workloads-admitted",
    ),
    m(
        "workload-run-as-root",
        14,
        WORKLOAD,
        '"runAsNonRoot": True,\n            "allowPrivilegeEscalation": False,',
        '"runAsNonRoot": False,\n            "runAsUser": 0,\n            "allowPrivilegeEscalation": False,',
        "the harness runs as root",
        "workloads-admitted",
    ),
    m(
        "workload-writable-root",
        14,
        WORKLOAD,
        '"readOnlyRootFilesystem": True,',
        '"readOnlyRootFilesystem": False,',
        "plaintext could be written to the container's disk",
        "workloads-admitted",
    ),
    m(
        "workload-capability-added",
        14,
        WORKLOAD,
        '"capabilities": {"drop": ["ALL"]},',
        '"capabilities": {"drop": ["ALL"], "add": ["SYS_PTRACE"]},',
        "the container may trace other processes",
        "workloads-admitted",
    ),
    m(
        "workload-token-automount",
        14,
        WORKLOAD,
        '"automountServiceAccountToken": False,',
        '"automountServiceAccountToken": True,',
        "a Kubernetes token for the workload KSA sits in the pod",
        "workloads-admitted",
    ),
    m(
        "workload-share-process-namespace",
        14,
        WORKLOAD,
        '"enableServiceLinks": False,',
        '"enableServiceLinks": False,\n        "shareProcessNamespace": True,',
        "containers see each other's memory",
        "workloads-admitted",
    ),
    m(
        "workload-host-network",
        14,
        WORKLOAD,
        '"enableServiceLinks": False,',
        '"enableServiceLinks": False,\n        "hostNetwork": True,',
        "the pod escapes NetworkPolicy on the node's network",
        "workloads-admitted",
    ),
    m(
        "workload-sidecar",
        14,
        WORKLOAD,
        '"containers": [harness_container(args)],',
        '"containers": [harness_container(args), {**harness_container(args), "name": "debug"}],',
        "a second container shares the pod with the plaintext",
        "workloads-admitted",
    ),
    m(
        "workload-pythonpath",
        14,
        WORKLOAD,
        '{"name": contract.ENV_WORKERS, "value": str(workers(args.cpu))},',
        '{"name": contract.ENV_WORKERS, "value": str(workers(args.cpu))},\n'
        '        {"name": "PYTHONPATH", "value": "/tmp"},',
        "Python imports code from a writable directory",
        "workloads-admitted",
    ),
    m(
        "workload-secret-mode-world",
        14,
        WORKLOAD,
        "SECRET_FILE_MODE = 0o440",
        "SECRET_FILE_MODE = 0o444",
        "the TLS key and bearer token are world-readable in the pod",
        "secret-volumes-private",
    ),
    m(
        "ingress-allow-http",
        14,
        WORKLOAD,
        '"kubernetes.io/ingress.allow-http": "false",',
        '"kubernetes.io/ingress.allow-http": "true",',
        "the bearer token travels over plain HTTP",
        "ingress-https-only",
    ),
    m(
        "ingress-no-tls",
        14,
        WORKLOAD,
        '"tls": [{"hosts": [args.host], "secretName": TLS_SECRET}],',
        '"tls": [],',
        "the Ingress serves the host without a certificate",
        "ingress-https-only",
    ),
    m(
        "ingress-ssl-policy-dropped",
        14,
        WORKLOAD,
        '"sslPolicy": args.ssl_policy,\n',
        "",
        "the load balancer accepts TLS 1.0",
        "lb-tls-policy",
    ),
    multi(
        "facts-tls-versions-loosened",
        14,
        [
            (
                FACTS,
                'TLS_MIN_VERSIONS: tuple[str, ...] = ("TLS_1_2", "TLS_1_3")',
                'TLS_MIN_VERSIONS: tuple[str, ...] = ("TLS_1_0", "TLS_1_2", "TLS_1_3")',
            ),
            (
                "components/tls_policy.py",
                'min_tls_version: str | None = "TLS_1_2"',
                'min_tls_version: str | None = "TLS_1_0"',
            ),
        ],
        "the judge's TLS floor drops to 1.0 with the SSL policy",
        "lb-tls-policy",
    ),
    m(
        "service-load-balancer",
        14,
        WORKLOAD,
        '"type": "ClusterIP",',
        '"type": "LoadBalancer",',
        "the harness is exposed without the Ingress's TLS policy",
        "workloads-admitted",
    ),
    # ------------------------------------------------------------------ 15 Gatekeeper admits only the signed image
    m(
        "webhook-fail-open",
        15,
        GATEKEEPER,
        '"validatingWebhookFailurePolicy": "Fail",',
        '"validatingWebhookFailurePolicy": "Ignore",',
        "with Gatekeeper down, anything is admitted",
        "gatekeeper-fail-closed",
        fast=True,
    ),
    m(
        "webhook-no-ephemeral-containers",
        15,
        GATEKEEPER,
        '"resources": ["*", "pods/ephemeralcontainers"],',
        '"resources": ["*"],',
        "ephemeral containers skip admission",
        "gatekeeper-fail-closed",
    ),
    m(
        "gatekeeper-exempts-tenant",
        15,
        GATEKEEPER,
        "default_factory=lambda: sorted(facts.SYSTEM_NAMESPACES)",
        'default_factory=lambda: sorted(facts.SYSTEM_NAMESPACES | {"ns1"})',
        "the tenant namespace is exempt from every constraint",
        "gatekeeper-fail-closed",
    ),
    m(
        "tenant-namespace-ignored",
        15,
        TENANT,
        '**tenant_labels(tenant),\n        "pod-security.kubernetes.io/enforce": "restricted",',
        '**tenant_labels(tenant),\n        "admission.gatekeeper.sh/ignore": "yes",\n'
        '        "pod-security.kubernetes.io/enforce": "restricted",',
        "Gatekeeper skips the tenant namespace",
        "gatekeeper-fail-closed",
    ),
    m(
        "kube-system-not-ignored",
        15,
        GATEKEEPER,
        "for ns in sorted(facts.BUILTIN_NAMESPACES)",
        'for ns in sorted(facts.BUILTIN_NAMESPACES - {"kube-system"})',
        "a Gatekeeper outage blocks system pods",
        "system-namespaces-exempt",
    ),
    m(
        "facts-pod-kinds-without-cronjob",
        15,
        FACTS,
        '        "CronJob": ("batch", "spec.jobTemplate.spec.template.spec"),\n',
        "",
        "the judge and the constraints forget CronJobs: any image runs from a CronJob",
        "constraints-complete",
    ),
    m(
        "rego-digest-not-required",
        15,
        LIB_REGO,
        "regex.match(`^[^@\\s]+@sha256:[a-f0-9]{64}$`, img)",
        "regex.match(`^[^@\\s]+`, img)",
        "the image-digest template admits tags",
        "constraints-deny-corpus",
    ),
    m(
        "rego-approved-any-digest",
        15,
        f"{REGO}/sandbox-approved-digests/src.rego",
        'sandbox.image_digest(img) in object.get(input.parameters, "digests", [])',
        "sandbox.pinned_by_digest(img)",
        "the approved-digests template admits any digest",
        "constraints-deny-corpus",
        fast=True,
    ),
    m(
        "rego-command-allowed",
        15,
        f"{REGO}/sandbox-no-command-override/src.rego",
        'overriding_fields := ["command", "args", "workingDir"]',
        'overriding_fields := ["workingDir"]',
        "command and args overrides are admitted",
        "constraints-deny-corpus",
    ),
    m(
        "rego-privileged-allowed",
        15,
        f"{REGO}/sandbox-container-privileges/src.rego",
        "x.container.securityContext.privileged == true",
        'x.container.securityContext.privileged == "never"',
        "privileged containers are admitted",
        "constraints-deny-corpus",
    ),
    m(
        "rego-sidecar-allowed",
        15,
        f"{REGO}/sandbox-workload-pod-shape/src.rego",
        "\tn != 1\n",
        "\tn > 2\n",
        "one sidecar beside the harness is admitted",
        "constraints-deny-corpus",
    ),
    m(
        "rego-python-env-allowed",
        15,
        f"{REGO}/sandbox-env-allowlist/src.rego",
        'always_denied_prefixes := ["GCONV_", "GLIBC_", "LD_", "PYTHON", "SSL_CERT_"]',
        'always_denied_prefixes := ["GCONV_", "GLIBC_", "LD_", "SSL_CERT_"]',
        "PYTHON* variables pass when a tenant's allowlist names them",
        "constraints-deny-corpus",
    ),
    m(
        "rego-host-network-allowed",
        15,
        f"{REGO}/sandbox-host-access/src.rego",
        'host_namespaces := ["hostNetwork", "hostPID", "hostIPC"]',
        'host_namespaces := ["hostIPC"]',
        "hostNetwork and hostPID pods are admitted",
        "constraints-deny-corpus",
    ),
    m(
        "rego-read-only-root-unset",
        15,
        f"{REGO}/sandbox-read-only-root/src.rego",
        'object.get(x.container, ["securityContext", "readOnlyRootFilesystem"], null) != true',
        'object.get(x.container, ["securityContext", "readOnlyRootFilesystem"], null) == false',
        "a container that leaves readOnlyRootFilesystem unset is admitted",
        "constraints-deny-corpus",
    ),
    # ------------------------------------------------------------------ 16 the pod loads the model
    m(
        "model-digest-not-pinned",
        16,
        "stacks/workload.py",
        "model_sha256=workload.model_sha256,",
        "model_sha256=None,",
        "the harness is not told the model's digest and serves whatever decrypts",
        "harness-knows-model-digest",
    ),
    m(
        "egress-anywhere",
        16,
        TENANT,
        '{"to": _ip_blocks(google_api_cidrs), "ports": [{"protocol": "TCP", "port": 443}]},',
        '{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]},',
        "the harness may send the model anywhere on 443",
        "network-policy-exact",
        fast=True,
    ),
    m(
        "default-deny-ingress-only",
        16,
        TENANT,
        '"default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},',
        '"default-deny": {"podSelector": {}, "policyTypes": ["Ingress"]},',
        "egress is no longer denied by default",
        "network-policy-exact",
    ),
    m(
        "ingress-from-any-namespace",
        16,
        TENANT,
        '"from": _ip_blocks(args.load_balancer_cidrs or ()),',
        '"from": [{"namespaceSelector": {}}],',
        "every pod of every tenant reaches the harness",
        "network-policy-exact",
    ),
    m(
        "dns-egress-any-namespace",
        16,
        TENANT,
        '"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}',
        '"matchLabels": {}',
        "DNS egress reaches a look-alike kube-dns pod in another tenant's namespace",
        "network-policy-exact",
    ),
    m(
        "metadata-server-range",
        16,
        TENANT,
        '{"cidr": "169.254.169.254/32", "port": 80},',
        '{"cidr": "169.254.0.0/16", "port": 80},',
        "egress to the whole link-local range",
        "network-policy-exact",
    ),
    m(
        "facts-google-api-ranges-anywhere",
        16,
        FACTS,
        "GOOGLE_API_CIDRS: tuple[str, ...] = (PRIVATE_GOOGLE_APIS_CIDR, RESTRICTED_GOOGLE_APIS_CIDR)",
        'GOOGLE_API_CIDRS: tuple[str, ...] = (PRIVATE_GOOGLE_APIS_CIDR, RESTRICTED_GOOGLE_APIS_CIDR, "0.0.0.0/0")',
        "the judge's Google API ranges grow to the internet with the NetworkPolicy",
        "network-policy-exact",
    ),
    m(
        "facts-load-balancer-ranges-anywhere",
        16,
        FACTS,
        '    "35.191.0.0/16",\n',
        '    "0.0.0.0/0",\n    "35.191.0.0/16",\n',
        "the judge's load balancer ranges admit the internet to the harness port",
        "network-policy-exact",
    ),
    m(
        "facts-restricted-vip-private",
        16,
        FACTS,
        '    "199.36.153.4",\n    "199.36.153.5",\n    "199.36.153.6",\n    "199.36.153.7",\n',
        '    "199.36.153.8",\n    "199.36.153.9",\n    "199.36.153.10",\n    "199.36.153.11",\n',
        "the judge's restricted VIP becomes the private one, outside VPC Service Controls",
        "google-apis-resolvable",
        "google-apis-restricted-vip",
    ),
)


def select(
    mutations: Sequence[Mutation],
    *,
    ids: Iterable[str] = (),
    fast: bool = False,
    steps: Iterable[int] | None = None,
) -> list[Mutation]:
    """The mutations named by id (KeyError naming an unknown one), the fast subset, or a step's."""
    wanted = list(ids)
    by_id = {mu.id: mu for mu in mutations}
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        raise KeyError(f"unknown mutation id(s): {', '.join(unknown)}")
    chosen = [by_id[i] for i in wanted] if wanted else list(mutations)
    if fast:
        chosen = [mu for mu in chosen if mu.fast]
    if steps:
        chosen = [mu for mu in chosen if mu.step in set(steps)]
    return chosen
