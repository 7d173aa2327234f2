"""The typed stack config: parts, blocks, enums and the frozen dataclasses `parse()` returns.

Each `Pulumi.<stack>.yaml` carries `gke-sandbox:part` plus the blocks that part needs.
Blocks describe resources by name, so the values that cross a party boundary are
plain, reviewable config (exchanged out of band) rather than hidden lookups:

    model     Alice's KMS key (by URI), bucket, object, attestor
    harness   Bob's Artifact Registry repository and the harness image (by digest)
    cluster   Alice's folder, project, billing account, Confidential GKE cluster
    tenants   who may use the sandbox, their namespaces and quotas
    sandbox   Gatekeeper pin, approved digests, how to reach the cluster
    workload  where Bob deploys the harness and under which hostname
    review    (optional, any part) IAM grants beyond the design the owner allows, with a reason
    space     Alice's Confidential Space path: the VM, its attested key release, its HTTPS entry
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from harness.contract import (
    META_FORMAT,
    META_KEYSET,
    META_KMS_KEY,
    META_KMS_KEY_VERSION,
    META_SEALED_AT,
    META_SEALED_FOR,
    META_SHA256,
    META_SIZE,
)
from infra.config.patterns import KMS_KEY_URI
from policy import facts
from policy.facts import GOOGLE_FRONT_END_CIDRS, WhenUnsatisfiable

NAMESPACE = "gke-sandbox"


class Part(StrEnum):
    """Which slice of the sandbox a stack manages (config `gke-sandbox:part`)."""

    ALL = "all"
    MODEL = "model"
    HARNESS = "harness"
    CLUSTER = "cluster"
    SANDBOX = "sandbox"
    WORKLOAD = "workload"
    # The Confidential Space path (not part of `all`: the GKE path is the default).
    SPACE = "space"


# Config blocks each part reads. A block a part does not need is rejected, not ignored,
# so a party's stack file carries exactly what it acts on.
BLOCKS: dict[Part, frozenset[str]] = {
    Part.MODEL: frozenset({"model"}),
    Part.HARNESS: frozenset({"harness"}),
    Part.CLUSTER: frozenset({"model", "cluster", "tenants"}),
    Part.SANDBOX: frozenset({"cluster", "tenants", "sandbox"}),
    Part.WORKLOAD: frozenset({"workload"}),
}
BLOCKS[Part.ALL] = frozenset().union(*BLOCKS.values())
# The Confidential Space path reads the model it releases and its own block; `all` does not run it.
BLOCKS[Part.SPACE] = frozenset({"model", "space"})
# Every block some part reads: what a stack file may name at all.
KNOWN_BLOCKS: frozenset[str] = frozenset().union(*BLOCKS.values())

SECRET_KEYS = ("harnessToken", "kubeconfig", "tlsCertificate", "tlsPrivateKey")


class ReleaseChannel(StrEnum):
    RAPID = "RAPID"
    REGULAR = "REGULAR"
    STABLE = "STABLE"


class AttestorKeyKind(StrEnum):
    """How Alice signs harness digests: a Cloud KMS key (preferred) or a PGP key (seed 003)."""

    KMS = "kms"
    PGP = "pgp"


class ProtectionLevel(StrEnum):
    SOFTWARE = "SOFTWARE"
    HSM = "HSM"


@dataclass(frozen=True)
class AttestorConfig:
    name: str
    note: str
    key: AttestorKeyKind
    pgp_public_key: str | None = None

    def attestor_id(self, project: str) -> str:
        return f"projects/{project}/attestors/{self.name}"


# Object metadata the sealer writes (`python -m infra seal`); the names are the harness's own
# (harness/contract.py META_*), so config checks exactly what the harness will read.
SEALED_REQUIRED_METADATA: tuple[str, ...] = (
    META_FORMAT,
    META_KEYSET,
    META_SHA256,
    META_SIZE,
    META_SEALED_FOR,
    META_KMS_KEY,
)
SEALED_OPTIONAL_METADATA: tuple[str, ...] = (META_KMS_KEY_VERSION, META_SEALED_AT)


@dataclass(frozen=True)
class SealedObjectConfig:
    """The ciphertext file and the object metadata `python -m infra seal --no-upload` wrote."""

    source: str
    metadata: tuple[tuple[str, str], ...]

    @property
    def metadata_map(self) -> dict[str, str]:
        return dict(self.metadata)

    @property
    def plaintext_sha256(self) -> str:
        return self.metadata_map[META_SHA256]


@dataclass(frozen=True)
class ModelConfig:
    kms_key_uri: str
    bucket: str
    object_name: str
    attestor: AttestorConfig
    rotation_period: str = facts.DEFAULT_KEY_ROTATION
    protection_level: ProtectionLevel = ProtectionLevel.SOFTWARE
    sealed: SealedObjectConfig | None = None

    def _uri_part(self, name: str) -> str:
        match = KMS_KEY_URI.match(self.kms_key_uri)
        assert match is not None  # validated in parse()
        return match.group(name)

    @property
    def project(self) -> str:
        return self._uri_part("project")

    @property
    def location(self) -> str:
        return self._uri_part("location")

    @property
    def key_ring(self) -> str:
        return self._uri_part("key_ring")

    @property
    def key(self) -> str:
        return self._uri_part("key")

    @property
    def key_id(self) -> str:
        """The key's resource name, as IAM and the KMS API name it."""
        return self.kms_key_uri.removeprefix("gcp-kms://")

    @property
    def model_uri(self) -> str:
        return f"gs://{self.bucket}/{self.object_name}"

    @property
    def attestor_id(self) -> str:
        return self.attestor.attestor_id(self.project)


@dataclass(frozen=True)
class HarnessConfig:
    project: str
    location: str
    repository: str
    image: str
    node_service_account: str | None = None
    # Google Workspace / Cloud Identity customer IDs Bob's organization must allow in
    # `iam.allowedPolicyMemberDomains` for the reader grant to Alice's node service account.
    allowed_customer_ids: tuple[str, ...] = ()

    @property
    def repository_url(self) -> str:
        return f"{self.location}-docker.pkg.dev/{self.project}/{self.repository}"

    @property
    def digest(self) -> str:
        return self.image.rsplit("@", 1)[1]


@dataclass(frozen=True)
class DenyPolicyConfig:
    """IAM deny policy on the folder: who is exempt, and which permissions are denied."""

    exception_principals: tuple[str, ...]
    denied_permissions: tuple[str, ...]


@dataclass(frozen=True)
class AuthorizedNetwork:
    name: str
    cidr: str


@dataclass(frozen=True)
class PerimeterConfig:
    """VPC Service Controls around the model and cluster projects (issue 10)."""

    access_policy: str  # numeric id of the organization's access policy
    model_project_number: str
    name: str = "gke_sandbox"
    # `user:` / `serviceAccount:` identities that may still use storage and KMS from outside.
    ingress_identities: tuple[str, ...] = ()
    # The service accounts CI runs the model and cluster stacks as (the workflows'
    # GCP_DEPLOY_SA_model / GCP_DEPLOY_SA_cluster); each must be among ingress_identities.
    deploy_identities: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClusterConfig:
    organization: str
    billing_account: str
    folder: str
    project: str
    region: str
    location: str
    name: str = "sandbox"
    machine_type: str = facts.DEFAULT_MACHINE_TYPE
    node_count: int = 2
    release_channel: ReleaseChannel = ReleaseChannel.REGULAR
    subnet_cidr: str = "10.10.0.0/20"
    pods_cidr: str = "10.20.0.0/16"
    services_cidr: str = "10.30.0.0/20"
    master_cidr: str = "172.16.0.16/28"
    authorized_networks: tuple[AuthorizedNetwork, ...] = ()
    node_service_account: str = "gke-node"
    workload_service_account: str = "model-reader"
    deny_policy: DenyPolicyConfig | None = None
    # Images Binary Authorization admits without attestation (Gatekeeper), by digest.
    binauthz_allowlist: tuple[str, ...] = ()
    # None when `perimeter.enabled` is false or the block is absent.
    perimeter: PerimeterConfig | None = None
    # Artifact Registry docker repository in this project that holds the platform images
    # (Gatekeeper): private nodes have no route to docker.io (issue 10).
    mirror_repository: str = "mirror"
    # The compute SSL policy (TLS 1.2+, MODERN) Bob's FrontendConfig names (issue 10).
    ssl_policy: str = "sandbox-tls"
    # The global static address Alice reserves in the cluster project for Bob's Ingress.
    ingress_address_name: str = "sandbox-ingress"
    # Customer IDs Alice's organization must allow in `iam.allowedPolicyMemberDomains` for the
    # tenants' grants in the cluster project (Bob's organization).
    allowed_customer_ids: tuple[str, ...] = ()

    @property
    def mirror_prefix(self) -> str:
        """`<region>-docker.pkg.dev/<project>/<mirror>/`: where the cluster's platform images live."""
        return f"{self.region}-docker.pkg.dev/{self.project}/{self.mirror_repository}/"

    @property
    def workload_pool(self) -> str:
        return f"{self.project}.svc.id.goog"

    @property
    def node_sa_email(self) -> str:
        return f"{self.node_service_account}@{self.project}.iam.gserviceaccount.com"

    @property
    def workload_sa_email(self) -> str:
        return f"{self.workload_service_account}@{self.project}.iam.gserviceaccount.com"


@dataclass(frozen=True)
class Quota:
    cpu: str = "4"
    memory: str = "8Gi"
    pods: int = 10


@dataclass(frozen=True)
class HarnessSizing:
    """What crosses between Alice's sandbox and Bob's workload: the most harness pods and each
    pod's CPU/memory (request = limit). Alice sizes the workload tenant's quota from it
    (`tenants[].harnessSizing`); Bob's workload must stay within it (`workload.harnessSizing`,
    the same values handed over)."""

    max_replicas: int = 3
    cpu: str = "1"
    memory: str = "2Gi"


@dataclass(frozen=True)
class TenantConfig:
    name: str
    namespace: str
    members: tuple[str, ...]
    # Given for a plain tenant (else the default Quota); derived from harness_sizing for the
    # workload tenant.
    quota: Quota | None = None
    harness_sizing: HarnessSizing | None = None
    # The one tenant whose namespace hosts the harness under the model-reading identity.
    workload_service_account: str | None = None

    @property
    def hosts_workload(self) -> bool:
        return self.workload_service_account is not None


@dataclass(frozen=True)
class GatekeeperConfig:
    version: str
    image: str
    chart_repository: str = "https://open-policy-agent.github.io/gatekeeper/charts"
    # False holds the chart (and everything admitted by it) back: the image is not in the
    # mirror yet. `dev` creates the mirror in the same stack, so its first `up` runs with false.
    mirrored: bool = True


@dataclass(frozen=True)
class ClusterAccess:
    """How a Kubernetes-side stack reaches the cluster (values from the cluster stack)."""

    endpoint: str
    ca_certificate: str
    cluster_name: str


@dataclass(frozen=True)
class SandboxConfig:
    gatekeeper: GatekeeperConfig
    approved_digests: tuple[str, ...]
    # Image prefixes tenants may run (Bob's repository); filled from `harness` in an all-in-one stack.
    allowed_repositories: tuple[str, ...] = ()
    allowed_service_types: tuple[str, ...] = ("ClusterIP",)
    cluster_stack: str | None = None
    cluster_access: ClusterAccess | None = None
    google_api_cidrs: tuple[str, ...] = facts.GOOGLE_API_CIDRS
    load_balancer_cidrs: tuple[str, ...] = GOOGLE_FRONT_END_CIDRS


@dataclass(frozen=True)
class AutoscalingConfig:
    min_replicas: int = 2
    max_replicas: int = 3
    cpu_target_percent: int = 70


@dataclass(frozen=True)
class DisruptionBudgetConfig:
    """Exactly one of the two is set; maxUnavailable 1 by default (never blocks a drain)."""

    max_unavailable: int | None = 1
    min_available: int | None = None


@dataclass(frozen=True)
class ZoneSpreadConfig:
    max_skew: int = 1
    when_unsatisfiable: WhenUnsatisfiable = WhenUnsatisfiable.SCHEDULE_ANYWAY


@dataclass(frozen=True)
class WorkloadConfig:
    """Bob's deployment. The model/key/digest values are what Alice hands him (filled in `all`)."""

    namespace: str
    service_account: str
    host: str
    replicas: int = 2
    image: str | None = None
    model_uri: str | None = None
    kms_key_uri: str | None = None
    model_sha256: str | None = None
    cluster_access: ClusterAccess | None = None
    # Name of the SSL policy Alice created in the cluster project (cluster output sslPolicy).
    ssl_policy: str | None = None
    # Each harness pod's CPU and memory (request = limit); the CPU also sets HARNESS_WORKERS.
    cpu: str = "1"
    memory: str = "2Gi"
    # When given, an HPA owns the replica count and `replicas` must be left out.
    autoscaling: AutoscalingConfig | None = None
    disruption_budget: DisruptionBudgetConfig = field(default_factory=DisruptionBudgetConfig)
    zone_spread: ZoneSpreadConfig = field(default_factory=ZoneSpreadConfig)
    # The Ingress's reserved external IP: trusted as the last X-Forwarded-For hop.
    ingress_address: str | None = None
    # The name of that reserved global address (cluster output ingressAddressName).
    ingress_address_name: str | None = None
    # The load balancer's proxies, whose X-Forwarded-For hops the harness believes.
    trusted_proxies: tuple[str, ...] = GOOGLE_FRONT_END_CIDRS
    # What Alice sized the namespace for (handed over; filled from the tenant in `all`).
    harness_sizing: HarnessSizing | None = None

    @property
    def max_replicas(self) -> int:
        return self.autoscaling.max_replicas if self.autoscaling else self.replicas

    @property
    def min_replicas(self) -> int:
        return self.autoscaling.min_replicas if self.autoscaling else self.replicas


@dataclass(frozen=True)
class ExtraGrant:
    """An IAM grant beyond the design that the stack's owner allows explicitly (config
    `review.extraGrants`); the program records it in the plan and the review lists it."""

    member: str
    role: str
    on: str  # one of policy.facts.IAM_SCOPE_KINDS
    resource: str
    reason: str
    condition: str | None = None


class ConfidentialType(StrEnum):
    """The Confidential VM's memory encryption (`confidentialInstanceType`); which machine series
    run which is policy.facts.CONFIDENTIAL_MACHINE_FAMILIES."""

    SEV = "SEV"
    TDX = "TDX"


@dataclass(frozen=True)
class SpaceConfig:
    """Alice's Confidential Space path: one Confidential VM running the approved harness digest,
    the workload identity pool that releases the key to it, and its HTTPS load balancer."""

    project: str
    project_number: str
    zone: str
    image: str
    host: str
    machine_type: str = facts.DEFAULT_MACHINE_TYPE
    confidential_type: ConfidentialType = ConfidentialType.SEV
    service_account: str = "space-harness"
    pool: str = "confidential-space"
    provider: str = "attestation"
    ssl_policy: str = "sandbox-tls"
    subnet_cidr: str = "10.40.0.0/24"
    log_redirect: bool = True

    @property
    def region(self) -> str:
        return self.zone.rsplit("-", 1)[0]

    @property
    def digest(self) -> str:
        return self.image.rsplit("@", 1)[1]

    @property
    def service_account_email(self) -> str:
        return f"{self.service_account}@{self.project}.iam.gserviceaccount.com"


# Optional for every part: `review` (explicit allowances the review reports).
OPTIONAL_BLOCKS = frozenset({"review"})


@dataclass(frozen=True)
class StackConfig:
    part: Part
    model: ModelConfig | None = None
    harness: HarnessConfig | None = None
    cluster: ClusterConfig | None = None
    tenants: tuple[TenantConfig, ...] = ()
    sandbox: SandboxConfig | None = None
    workload: WorkloadConfig | None = None
    extra_grants: tuple[ExtraGrant, ...] = ()
    space: SpaceConfig | None = None

    def runs(self, part: Part) -> bool:
        """`all` runs every GKE-path part; the Confidential Space part runs only as itself."""
        if part is Part.SPACE:
            return self.part is Part.SPACE
        return self.part in (Part.ALL, part)

    @property
    def workload_tenant(self) -> TenantConfig | None:
        return next((t for t in self.tenants if t.hosts_workload), None)
