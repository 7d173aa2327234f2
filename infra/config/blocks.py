"""Per-block parsing: each `gke-sandbox:<block>` mapping into its frozen dataclass.

Each function reads every key it knows, checks what the block alone can check, and calls
`done()` so an unknown key (a typo) is an error rather than a silent default. Checks that need
two blocks live in `infra.config.checks`.
"""

from __future__ import annotations

import re
from typing import Any

from harness.contract import (
    META_FORMAT,
    META_KEYSET,
    META_KMS_KEY,
    META_KMS_KEY_VERSION,
    META_SEALED_AT,
    META_SEALED_FOR,
    META_SHA256,
    META_SIZE,
    SEALED_FORMAT,
)
from infra.config.patterns import (
    BILLING_ACCOUNT,
    BUCKET,
    CLUSTER_NAME,
    CLUSTER_NAME_HINT,
    DNS_LABEL,
    DNS_NAME,
    GCP_NAME,
    GCP_NAME_HINT,
    KMS_KEY_URI,
    KMS_KEY_URI_HINT,
    LOCATION,
    MEMBER,
    OBJECT_NAME,
    ORG_ID,
    PROJECT_ID,
    QUANTITY,
    RESOURCE_ID,
    SA_ACCOUNT_ID,
    SHA256_HEX,
)
from infra.config.perimeter import parse_perimeter as _parse_perimeter
from infra.config.reader import Block, cidr, cidrs, duration_seconds, image, image_value
from infra.config.scale import check_within_sizing, parse_harness_sizing, parse_workload_scale
from infra.config.schema import (
    NAMESPACE,
    SEALED_OPTIONAL_METADATA,
    SEALED_REQUIRED_METADATA,
    AttestorConfig,
    AttestorKeyKind,
    AuthorizedNetwork,
    ClusterAccess,
    ClusterConfig,
    ConfidentialType,
    DenyPolicyConfig,
    GatekeeperConfig,
    HarnessConfig,
    HarnessSizing,
    ModelConfig,
    ProtectionLevel,
    Quota,
    ReleaseChannel,
    SandboxConfig,
    SealedObjectConfig,
    SpaceConfig,
    TenantConfig,
    WorkloadConfig,
)
from infra.errors import ConfigError
from policy import facts
from policy.facts import (
    DIGEST,
    GOOGLE_FRONT_END_CIDRS,
    REPOSITORY_PREFIX,
    RESERVED_NAMESPACES,
    is_sev_machine_type,
    supports_confidential_type,
)

DEFAULT_DENIED_PERMISSIONS = (
    # Paths around the sandbox: long-lived keys for its service accounts, and reading a
    # node's disks or injecting startup code through instance metadata. Workload Identity
    # needs iam.serviceAccounts.getAccessToken, so that one is deliberately not here.
    # Uploading a public key is authorised by serviceAccountKeys.create too
    # (cloud.google.com/iam/docs/keys-upload, "Required roles"): there is no
    # `serviceAccountKeys.upload` permission (it is in no predefined role, and IAM rejects a
    # deny policy naming it; `iam-names-exist` checks every name against
    # policy/iam_catalogue.json).
    "iam.googleapis.com/serviceAccountKeys.create",
    "compute.googleapis.com/instances.setMetadata",
    "compute.googleapis.com/instances.attachDisk",
    "compute.googleapis.com/disks.createSnapshot",
)
GATEKEEPER_CHARTS = "https://open-policy-agent.github.io/gatekeeper/charts"
MODEL_URI = re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]/.+$")

# Each metadata key the sealer writes, with the shape the harness accepts.
_SEALED_CHECKS: dict[str, tuple[re.Pattern[str], str]] = {
    # The one format the harness reads.
    META_FORMAT: (re.compile(rf"^{re.escape(SEALED_FORMAT)}$"), SEALED_FORMAT),
    META_KEYSET: (re.compile(r"^[A-Za-z0-9+/=]{16,}$"), "the base64 KMS-wrapped Tink keyset"),
    META_SHA256: (SHA256_HEX, "64 lowercase hex digits"),
    META_SIZE: (re.compile(r"^[1-9][0-9]*$"), "the plaintext size in bytes"),
    META_SEALED_FOR: (re.compile(r"^gs://[^/]+/.+$"), "gs://<bucket>/<object>"),
    META_KMS_KEY: (KMS_KEY_URI, "the gcp-kms:// key URI that wrapped the keyset"),
    META_KMS_KEY_VERSION: (
        re.compile(r"^[0-9]+$|^projects/.+/cryptoKeyVersions/[0-9]+$"),
        "a key version",
    ),
    META_SEALED_AT: (re.compile(r"^[0-9TZ:.+-]+$"), "an RFC 3339 time"),
}


# --------------------------------------------------------------------------- model
def _sealed_metadata(block: Block) -> tuple[tuple[str, str], ...]:
    """The object metadata exactly as the sealer wrote it; the harness refuses anything less."""
    meta = block.block("metadata")
    assert meta is not None
    values = []
    for key in (*SEALED_REQUIRED_METADATA, *SEALED_OPTIONAL_METADATA):
        pattern, expected = _SEALED_CHECKS[key]
        value = meta.str(
            key, pattern=pattern, expected=expected, required=key in SEALED_REQUIRED_METADATA
        )
        if value is not None:
            values.append((key, value))
    meta.done()
    return tuple(values)


def _parse_attestor(block: Block) -> AttestorConfig:
    attestor = block.block("attestor")
    assert attestor is not None
    key_kind = attestor.enum("key", AttestorKeyKind, default=AttestorKeyKind.KMS)
    pgp = attestor.str("pgpPublicKey", required=False, expected="an ASCII-armored PGP public key")
    if key_kind is AttestorKeyKind.PGP and not (pgp and "BEGIN PGP PUBLIC KEY BLOCK" in pgp):
        raise ConfigError(
            attestor.key("pgpPublicKey"),
            "is required when key is pgp",
            expected="an ASCII-armored PGP public key",
        )
    if key_kind is AttestorKeyKind.KMS and pgp:
        raise ConfigError(
            attestor.key("pgpPublicKey"),
            "is only used when key is pgp",
            expected="key: pgp, or no pgpPublicKey",
        )
    config = AttestorConfig(
        name=attestor.str("name", pattern=RESOURCE_ID, expected="an attestor id"),
        note=attestor.str("note", pattern=RESOURCE_ID, expected="a Container Analysis note id"),
        key=key_kind,
        pgp_public_key=pgp,
    )
    attestor.done()
    return config


def _parse_sealed(block: Block) -> SealedObjectConfig | None:
    sealed_block = block.block("sealed", required=False)
    if sealed_block is None:
        return None
    sealed = SealedObjectConfig(
        source=sealed_block.str(
            "source", expected="path of the ciphertext written by `python -m infra seal --out`"
        ),
        metadata=_sealed_metadata(sealed_block),
    )
    sealed_block.done()
    return sealed


def parse_model(block: Block) -> ModelConfig:
    attestor = _parse_attestor(block)
    sealed = _parse_sealed(block)
    config = ModelConfig(
        kms_key_uri=block.str("kmsKeyUri", pattern=KMS_KEY_URI, expected=KMS_KEY_URI_HINT),
        bucket=block.str(
            "bucket", pattern=BUCKET, expected="a bucket name (3-63 lowercase letters, digits, -_.)"
        ),
        object_name=block.str("object", pattern=OBJECT_NAME, expected="an object name"),
        attestor=attestor,
        rotation_period=duration_seconds(block, "rotationPeriod", "90d"),
        protection_level=block.enum(
            "protectionLevel", ProtectionLevel, default=ProtectionLevel.SOFTWARE
        ),
        sealed=sealed,
    )
    block.done()
    if sealed is not None:
        meta = sealed.metadata_map
        for key, want in ((META_SEALED_FOR, config.model_uri), (META_KMS_KEY, config.kms_key_uri)):
            if meta[key] != want:
                # The harness would refuse it: the ciphertext is bound to another object or key.
                raise ConfigError(
                    f"{NAMESPACE}:model.sealed.metadata.{key}",
                    "does not match this model block",
                    value=meta[key],
                    expected=want,
                )
    return config


# --------------------------------------------------------------------------- harness
# A Google Workspace / Cloud Identity customer ID as `iam.allowedPolicyMemberDomains` takes it
# (`C` and alphanumerics, e.g. C03xgje4y; cloud.google.com/resource-manager/docs/
# organization-policy/restricting-domains "Retrieving your customer ID").
_CUSTOMER_ID = re.compile(r"^C[0-9a-z]{5,}$")


def _customer_ids(block: Block) -> tuple[str, ...]:
    return block.strings(
        "allowedCustomerIds",
        pattern=_CUSTOMER_ID,
        expected="a customer ID such as C03xgje4y (gcloud organizations list)",
    )


def parse_harness(block: Block) -> HarnessConfig:
    config = HarnessConfig(
        project=block.str("project", pattern=PROJECT_ID, expected="a GCP project id"),
        location=block.str("location", pattern=LOCATION, expected="a region such as us-central1"),
        repository=block.str(
            "repository", pattern=RESOURCE_ID, expected="an Artifact Registry repository id"
        ),
        image=image(block, "image"),
        node_service_account=block.str(
            "nodeServiceAccount",
            required=False,
            pattern=re.compile(r"^[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$"),
            expected="the cluster's node service account email (cluster stack output nodeServiceAccount)",
        ),
        allowed_customer_ids=_customer_ids(block),
    )
    block.done()
    if not config.image.startswith(config.repository_url + "/"):
        raise ConfigError(
            block.key("image"),
            "is outside the harness repository",
            value=config.image,
            expected=f"an image under {config.repository_url}/",
        )
    return config


# --------------------------------------------------------------------------- cluster
def _parse_networks(block: Block) -> tuple[AuthorizedNetwork, ...]:
    networks = []
    for index, raw in enumerate(block.list("authorizedNetworks")):
        item = Block(f"{block.key('authorizedNetworks')}[{index}]", raw)
        networks.append(AuthorizedNetwork(name=item.str("name"), cidr=cidr(item, "cidr")))
        item.done()
    return tuple(networks)


def _parse_deny_policy(block: Block) -> DenyPolicyConfig | None:
    deny_block = block.block("denyPolicy", required=False)
    if deny_block is None:
        return None
    deny = DenyPolicyConfig(
        exception_principals=deny_block.strings(
            "exceptionPrincipals",
            required=True,
            pattern=re.compile(r"^principal(Set)?://"),
            expected="IAM v2 principal identifiers such as principal://goog/subject/alice@example.com",
        ),
        denied_permissions=deny_block.strings(
            "deniedPermissions",
            default=DEFAULT_DENIED_PERMISSIONS,
            pattern=re.compile(r"^[a-z]+\.googleapis\.com/[A-Za-z]+\.[A-Za-z]+$"),
            expected="permissions in service.googleapis.com/resource.verb form",
        ),
    )
    deny_block.done()
    return deny


def _cluster_identity(block: Block) -> dict[str, Any]:
    """Where the cluster lives: organization, billing, folder, project, region, name."""
    return {
        "organization": block.str(
            "organization", pattern=ORG_ID, expected="a numeric organization id"
        ),
        "billing_account": block.str(
            "billingAccount",
            pattern=BILLING_ACCOUNT,
            expected="a billing account id such as 018B55-7FDD84-7F175A",
        ),
        "folder": block.str(
            "folder", pattern=re.compile(r"^[\w .-]{3,30}$"), expected="a folder display name"
        ),
        "project": block.str("project", pattern=PROJECT_ID, expected="a GCP project id"),
        "region": block.str("region", pattern=LOCATION, expected="a region such as us-central1"),
        "location": block.str(
            "location", pattern=LOCATION, expected="a zone or region for the cluster"
        ),
        "name": block.str(
            "name", pattern=CLUSTER_NAME, default="sandbox", expected=CLUSTER_NAME_HINT
        ),
    }


def _cluster_nodes_and_network(block: Block) -> dict[str, Any]:
    """What the nodes run on and the address ranges they use."""
    return {
        "machine_type": block.str(
            "machineType", default=facts.DEFAULT_MACHINE_TYPE, expected="an AMD SEV machine type"
        ),
        "node_count": block.int("nodeCount", default=2, minimum=1, maximum=100),
        "release_channel": block.enum(
            "releaseChannel", ReleaseChannel, default=ReleaseChannel.REGULAR
        ),
        "subnet_cidr": cidr(block, "subnetCidr", "10.10.0.0/20"),
        "pods_cidr": cidr(block, "podsCidr", "10.20.0.0/16"),
        "services_cidr": cidr(block, "servicesCidr", "10.30.0.0/20"),
        "master_cidr": cidr(block, "masterCidr", "172.16.0.16/28"),
        "node_service_account": block.str(
            "nodeServiceAccount", pattern=SA_ACCOUNT_ID, default="gke-node"
        ),
        "workload_service_account": block.str(
            "workloadServiceAccount", pattern=SA_ACCOUNT_ID, default="model-reader"
        ),
    }


def parse_cluster(block: Block) -> ClusterConfig:
    networks = _parse_networks(block)
    deny = _parse_deny_policy(block)
    perimeter = _parse_perimeter(block)
    config = ClusterConfig(
        **_cluster_identity(block),
        authorized_networks=networks,
        **_cluster_nodes_and_network(block),
        deny_policy=deny,
        binauthz_allowlist=tuple(
            image_value(block, f"binauthzAllowlist[{i}]", v)
            for i, v in enumerate(block.strings("binauthzAllowlist"))
        ),
        perimeter=perimeter,
        mirror_repository=block.str(
            "mirrorRepository",
            pattern=GCP_NAME,
            default="mirror",
            expected="an Artifact Registry repository id such as mirror",
        ),
        ssl_policy=block.str(
            "sslPolicy", pattern=GCP_NAME, default="sandbox-tls", expected=GCP_NAME_HINT
        ),
        ingress_address_name=block.str(
            "ingressAddressName",
            pattern=GCP_NAME,
            default="sandbox-ingress",
            expected=GCP_NAME_HINT,
        ),
        allowed_customer_ids=_customer_ids(block),
    )
    block.done()
    if not is_sev_machine_type(config.machine_type):
        raise ConfigError(
            block.key("machineType"),
            "cannot run Confidential GKE Nodes",
            value=config.machine_type,
            expected="an AMD SEV machine type (n2d-, c2d- or c3d-)",
        )
    # `europe-west10-a` is not in `europe-west1`: compare whole dash-separated parts.
    if config.location != config.region and not config.location.startswith(config.region + "-"):
        raise ConfigError(
            block.key("location"),
            "is not in the region",
            value=config.location,
            expected=f"{config.region} or a zone in it",
        )
    return config


# --------------------------------------------------------------------------- tenants
def _parse_quota(item: Block) -> Quota | None:
    quota_block = item.block("quota", required=False)
    if quota_block is None:
        return None
    quota = Quota(
        cpu=quota_block.str(
            "cpu", pattern=QUANTITY, default="4", expected="a CPU quantity such as 4 or 500m"
        ),
        memory=quota_block.str(
            "memory", pattern=QUANTITY, default="8Gi", expected="a memory quantity such as 8Gi"
        ),
        pods=quota_block.int("pods", default=10, minimum=1, maximum=1000),
    )
    quota_block.done()
    return quota


def _parse_tenant(item: Block) -> TenantConfig:
    quota = _parse_quota(item)
    namespace = item.str("namespace", pattern=DNS_LABEL, expected="a Kubernetes namespace name")
    if namespace in RESERVED_NAMESPACES or namespace.startswith("kube-"):
        raise ConfigError(
            item.key("namespace"),
            "is reserved for the platform",
            value=namespace,
            expected="a tenant's own namespace",
        )
    hosts_workload = item.has("workloadServiceAccount")
    sizing = parse_harness_sizing(item)
    tenant = TenantConfig(
        name=item.str("name", pattern=DNS_LABEL, expected="a short tenant name"),
        namespace=namespace,
        members=item.strings(
            "members",
            required=True,
            pattern=MEMBER,
            expected="user:<email>, group:<email> or serviceAccount:<email>",
        ),
        quota=quota,
        harness_sizing=sizing or (HarnessSizing() if hosts_workload else None),
        workload_service_account=item.str(
            "workloadServiceAccount",
            required=False,
            pattern=DNS_LABEL,
            expected="a Kubernetes service account name",
        ),
    )
    item.done()
    if not tenant.members:
        raise ConfigError(item.key("members"), "is empty", expected="at least one member")
    return tenant


def parse_tenants(raw: Any) -> tuple[TenantConfig, ...]:
    key = f"{NAMESPACE}:tenants"
    if not isinstance(raw, list) or not raw:
        raise ConfigError(key, "must be a non-empty list", value=raw, expected="a list of tenants")
    tenants = [_parse_tenant(Block(f"{key}[{i}]", item)) for i, item in enumerate(raw)]
    for attr in ("name", "namespace"):
        seen: set[str] = set()
        for index, tenant in enumerate(tenants):
            value = getattr(tenant, attr)
            if value in seen:
                raise ConfigError(
                    f"{key}[{index}].{attr}",
                    "is used by two tenants",
                    value=value,
                    expected="unique values",
                )
            seen.add(value)
    hosts = [t.name for t in tenants if t.hosts_workload]
    if len(hosts) > 1:
        # Exactly one namespace may run code under the identity that can decrypt the model.
        raise ConfigError(
            key,
            "more than one tenant has workloadServiceAccount",
            value=hosts,
            expected="at most one",
        )
    for index, (tenant, item) in enumerate(zip(tenants, raw, strict=True)):
        _check_quota_source(Block(f"{key}[{index}]", item), tenant)
    return tuple(tenants)


def _check_quota_source(item: Block, tenant: TenantConfig) -> None:
    """One source: the workload tenant's quota is computed from the harness it must hold."""
    if tenant.hosts_workload and item.has("quota"):
        raise ConfigError(
            item.key("quota"),
            "is derived from harnessSizing for the tenant that hosts the harness",
            expected="harnessSizing: {maxReplicas, cpu, memory} instead of quota",
        )
    if item.has("harnessSizing") and not tenant.hosts_workload:
        raise ConfigError(
            item.key("harnessSizing"),
            "is only for the tenant that hosts the harness",
            expected="quota for a tenant without workloadServiceAccount",
        )


# --------------------------------------------------------------------------- sandbox
def _parse_cluster_access(block: Block) -> ClusterAccess | None:
    access_block = block.block("clusterAccess", required=False)
    if access_block is None:
        return None
    access = ClusterAccess(
        endpoint=access_block.str(
            "endpoint", expected="the cluster endpoint (cluster stack output clusterEndpoint)"
        ),
        ca_certificate=access_block.str(
            "caCertificate",
            pattern=re.compile(r"^[A-Za-z0-9+/=]+$"),
            expected="base64 CA certificate (cluster stack output clusterCaCertificate)",
        ),
        cluster_name=access_block.str(
            "clusterName", pattern=CLUSTER_NAME, expected=CLUSTER_NAME_HINT
        ),
    )
    access_block.done()
    return access


def _parse_gatekeeper(block: Block) -> GatekeeperConfig:
    gk = block.block("gatekeeper")
    assert gk is not None
    gatekeeper = GatekeeperConfig(
        version=gk.str(
            "version",
            pattern=re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+$"),
            expected="a Gatekeeper release such as 3.20.1",
        ),
        image=image(gk, "image"),
        chart_repository=gk.str("chartRepository", default=GATEKEEPER_CHARTS),
        mirrored=gk.bool("mirrored", default=True),
    )
    gk.done()
    return gatekeeper


def _repository_prefixes(block: Block, name: str) -> tuple[str, ...]:
    """Image prefixes that end in `/`, so `.../repo/` never admits `.../repo-evil/...`."""
    expected = "an image prefix ending in /, such as us-central1-docker.pkg.dev/p/repo/"
    values = block.strings(name, expected=expected)
    for index, value in enumerate(values):
        if not (value.endswith("/") and REPOSITORY_PREFIX.match(value)):
            raise ConfigError(
                f"{block.key(name)}[{index}]", "is malformed", value=value, expected=expected
            )
    return values


def parse_sandbox(block: Block) -> SandboxConfig:
    gatekeeper = _parse_gatekeeper(block)
    access = _parse_cluster_access(block)
    config = SandboxConfig(
        gatekeeper=gatekeeper,
        approved_digests=block.strings(
            "approvedDigests", required=True, pattern=DIGEST, expected="sha256:<64 hex>"
        ),
        allowed_repositories=_repository_prefixes(block, "allowedRepositories"),
        allowed_service_types=block.strings(
            "allowedServiceTypes",
            default=("ClusterIP",),
            pattern=re.compile(r"^(ClusterIP|NodePort|LoadBalancer|ExternalName)$"),
            expected="ClusterIP, NodePort, LoadBalancer or ExternalName",
        ),
        cluster_stack=block.str(
            "clusterStack",
            required=False,
            pattern=re.compile(r"^[\w.-]+/[\w.-]+/[\w.-]+$"),
            expected="<org>/<project>/<stack>",
        ),
        cluster_access=access,
        google_api_cidrs=cidrs(block, "googleApiCidrs", facts.GOOGLE_API_CIDRS),
        load_balancer_cidrs=cidrs(block, "loadBalancerCidrs", GOOGLE_FRONT_END_CIDRS),
    )
    block.done()
    if not config.approved_digests:
        raise ConfigError(
            block.key("approvedDigests"),
            "is empty",
            expected="at least one reviewed harness digest",
        )
    if config.cluster_stack and config.cluster_access:
        raise ConfigError(
            block.key("clusterAccess"),
            "conflicts with clusterStack",
            expected="one of clusterStack or clusterAccess",
        )
    return config


# --------------------------------------------------------------------------- workload
def parse_workload(block: Block) -> WorkloadConfig:
    config = WorkloadConfig(
        namespace=block.str(
            "namespace", pattern=DNS_LABEL, expected="the tenant namespace Alice gave you"
        ),
        service_account=block.str(
            "serviceAccount",
            pattern=DNS_LABEL,
            expected="the workload service account Alice gave you",
        ),
        host=block.str("host", pattern=DNS_NAME, expected="a DNS name such as llama.example.com"),
        replicas=(replicas := block.int("replicas", default=2, minimum=1, maximum=20)),
        image=image(block, "image", required=False),
        model_uri=block.str(
            "modelUri",
            required=False,
            pattern=MODEL_URI,
            expected="gs://<bucket>/<object> (model stack output modelUri)",
        ),
        kms_key_uri=block.str(
            "kmsKeyUri", required=False, pattern=KMS_KEY_URI, expected=KMS_KEY_URI_HINT
        ),
        model_sha256=block.str(
            "modelSha256", required=False, pattern=SHA256_HEX, expected="64 lowercase hex digits"
        ),
        cluster_access=_parse_cluster_access(block),
        **parse_workload_scale(block, replicas),
        ssl_policy=block.str(
            "sslPolicy",
            required=False,
            pattern=GCP_NAME,
            expected="the SSL policy name Alice gave you (cluster output sslPolicy)",
        ),
        ingress_address_name=block.str(
            "ingressAddressName",
            required=False,
            pattern=GCP_NAME,
            expected="the reserved address name Alice gave you (cluster output ingressAddressName)",
        ),
    )
    block.done()
    if config.harness_sizing is not None:
        check_within_sizing(config, config.harness_sizing, f"{block.path}.harnessSizing")
    return config


# --------------------------------------------------------------------------- space
ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
PROJECT_NUMBER = re.compile(r"^[1-9][0-9]{5,19}$")
POOL_ID = re.compile(r"^(?!gcp-)[a-z0-9-]{4,32}$")
POOL_ID_HINT = "4-32 lowercase letters, digits or -, not starting with gcp-"


def parse_space(block: Block) -> SpaceConfig:
    config = SpaceConfig(
        project=block.str("project", pattern=PROJECT_ID, expected="a GCP project id"),
        project_number=block.str(
            "projectNumber",
            pattern=PROJECT_NUMBER,
            expected="the project's number (gcloud projects describe <project> --format='value(projectNumber)')",
        ),
        zone=block.str("zone", pattern=ZONE, expected="a zone such as us-central1-a"),
        image=image(block, "image"),
        host=block.str("host", pattern=DNS_NAME, expected="a DNS name such as model.example.com"),
        machine_type=block.str(
            "machineType",
            default=facts.DEFAULT_MACHINE_TYPE,
            expected="a Confidential VM machine type such as n2d-standard-2",
        ),
        confidential_type=block.enum(
            "confidentialType", ConfidentialType, default=ConfidentialType.SEV
        ),
        service_account=block.str("serviceAccount", pattern=SA_ACCOUNT_ID, default="space-harness"),
        pool=block.str(
            "pool", pattern=POOL_ID, default="confidential-space", expected=POOL_ID_HINT
        ),
        provider=block.str(
            "provider", pattern=POOL_ID, default="attestation", expected=POOL_ID_HINT
        ),
        ssl_policy=block.str(
            "sslPolicy", pattern=GCP_NAME, default="sandbox-tls", expected=GCP_NAME_HINT
        ),
        subnet_cidr=cidr(block, "subnetCidr", "10.40.0.0/24"),
        log_redirect=block.bool("logRedirect", default=True),
    )
    block.done()
    if not supports_confidential_type(config.machine_type, config.confidential_type.value):
        families = facts.CONFIDENTIAL_MACHINE_FAMILIES[config.confidential_type.value]
        raise ConfigError(
            block.key("machineType"),
            f"cannot run {config.confidential_type.value}",
            value=config.machine_type,
            expected=f"a {'/'.join(families)} machine type for {config.confidential_type.value}",
        )
    return config
