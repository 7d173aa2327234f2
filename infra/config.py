"""Typed stack config, read once, validated with errors that name the key.

Each `Pulumi.<stack>.yaml` carries `gke-sandbox:part` plus the blocks that part needs.
Blocks describe resources by name, so the values that cross a party boundary are
plain, reviewable config (exchanged out of band) rather than hidden lookups:

    model     Alice's KMS key (by URI), bucket, object, attestor
    harness   Bob's Artifact Registry repository and the harness image (by digest)
    cluster   Alice's folder, project, billing account, Confidential GKE cluster
    tenants   who may use the sandbox, their namespaces and quotas
    sandbox   Gatekeeper pin, approved digests, how to reach the cluster
    workload  where Bob deploys the harness and under which hostname

`parse()` is pure (a dict in, frozen dataclasses out) so tests need no Pulumi engine.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from infra.errors import ConfigError

NAMESPACE = "gke-sandbox"


class Part(StrEnum):
    """Which slice of the sandbox a stack manages (config `gke-sandbox:part`)."""

    ALL = "all"
    MODEL = "model"
    HARNESS = "harness"
    CLUSTER = "cluster"
    SANDBOX = "sandbox"
    WORKLOAD = "workload"


# The order parties run `pulumi up` in; `all` runs them in this order in one stack.
PART_ORDER: tuple[Part, ...] = (Part.MODEL, Part.HARNESS, Part.CLUSTER, Part.SANDBOX, Part.WORKLOAD)

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


# --------------------------------------------------------------------------- patterns
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
BILLING_ACCOUNT = re.compile(r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")
ORG_ID = re.compile(r"^[0-9]{1,20}$")
LOCATION = re.compile(r"^[a-z]+-[a-z]+[0-9](-[a-z])?$|^(us|eu|asia|global)$")
RESOURCE_ID = re.compile(r"^[a-zA-Z0-9_-]{1,63}$")
SA_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")
OBJECT_NAME = re.compile(r"^[^\r\n#\[\]*?]{1,1024}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_NAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
KMS_KEY_URI = re.compile(
    r"^gcp-kms://projects/(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])"
    r"/locations/(?P<location>[a-z0-9-]+)"
    r"/keyRings/(?P<key_ring>[a-zA-Z0-9_-]{1,63})"
    r"/cryptoKeys/(?P<key>[a-zA-Z0-9_-]{1,63})$"
)
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
IMAGE_BY_DIGEST = re.compile(
    r"^(?P<repo>[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9._-]+)+)@(?P<digest>sha256:[0-9a-f]{64})$"
)
# Tenants become Kubernetes RBAC subjects, which have users and groups but no domains.
MEMBER = re.compile(r"^(user|group|serviceAccount):[^@\s]+@[^@\s]+\.[a-z]{2,}$")
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$")
DURATION = re.compile(r"^(?P<n>[0-9]+)(?P<unit>s|m|h|d)$")
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
SEV_MACHINE_FAMILIES = ("n2d-", "c2d-", "c3d-")
RESERVED_NAMESPACES = frozenset(
    {
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "gatekeeper-system",
        "gke-managed-system",
    }
)
MAX_ROTATION_SECONDS = 90 * 24 * 3600
MIN_ROTATION_SECONDS = 24 * 3600


# --------------------------------------------------------------------------- dataclasses
@dataclass(frozen=True)
class AttestorConfig:
    name: str
    note: str
    key: AttestorKeyKind
    pgp_public_key: str | None = None

    def attestor_id(self, project: str) -> str:
        return f"projects/{project}/attestors/{self.name}"


# Object metadata the harness reads (harness/sealed.py); a test keeps these names in step.
SEALED_REQUIRED_METADATA = (
    "sealed-format",
    "encryption-key",
    "plaintext-sha256",
    "plaintext-size",
    "sealed-for",
    "kms-key",
)
SEALED_OPTIONAL_METADATA = ("kms-key-version", "sealed-at")


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
        return self.metadata_map["plaintext-sha256"]


@dataclass(frozen=True)
class ModelConfig:
    kms_key_uri: str
    bucket: str
    object_name: str
    attestor: AttestorConfig
    rotation_period: str = "7776000s"
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
class ClusterConfig:
    organization: str
    billing_account: str
    folder: str
    project: str
    region: str
    location: str
    name: str = "sandbox"
    machine_type: str = "n2d-standard-2"
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
class TenantConfig:
    name: str
    namespace: str
    members: tuple[str, ...]
    quota: Quota = field(default_factory=Quota)
    # The one tenant whose namespace hosts the harness under the model-reading identity.
    workload_service_account: str | None = None

    @property
    def hosts_workload(self) -> bool:
        return self.workload_service_account is not None


@dataclass(frozen=True)
class GatekeeperConfig:
    version: str
    image: str
    crd_image: str
    chart_repository: str = "https://open-policy-agent.github.io/gatekeeper/charts"


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
    google_api_cidrs: tuple[str, ...] = ("199.36.153.8/30", "199.36.153.4/30")
    load_balancer_cidrs: tuple[str, ...] = ("35.191.0.0/16", "130.211.0.0/22")


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


@dataclass(frozen=True)
class StackConfig:
    part: Part
    model: ModelConfig | None = None
    harness: HarnessConfig | None = None
    cluster: ClusterConfig | None = None
    tenants: tuple[TenantConfig, ...] = ()
    sandbox: SandboxConfig | None = None
    workload: WorkloadConfig | None = None

    def runs(self, part: Part) -> bool:
        return self.part in (Part.ALL, part)

    @property
    def workload_tenant(self) -> TenantConfig | None:
        return next((t for t in self.tenants if t.hosts_workload), None)


# --------------------------------------------------------------------------- reading
class _Block:
    """A config mapping that knows its key path, so every error names `gke-sandbox:a.b.c`."""

    def __init__(self, path: str, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(path, "must be a mapping", value=raw, expected="key: value pairs")
        self.path = path
        self.raw = raw
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}"

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def _get(self, name: str, default: Any, required: bool, expected: str) -> Any:
        self._read.add(name)
        value = self.raw.get(name)
        if value is None:
            if required:
                raise ConfigError(self.key(name), "is required", expected=expected)
            return default
        return value

    def str(
        self,
        name: str,
        *,
        pattern: re.Pattern[str] | None = None,
        expected: str = "a string",
        default: str | None = None,
        required: bool = True,
    ) -> Any:
        value = self._get(name, default, required and default is None, expected)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ConfigError(self.key(name), "must be a string", value=value, expected=expected)
        value = str(value)
        if pattern is not None and not pattern.match(value):
            raise ConfigError(self.key(name), "is malformed", value=value, expected=expected)
        return value

    def int(self, name: str, *, default: int, minimum: int, maximum: int) -> int:
        value = self._get(name, default, False, "")
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise ConfigError(
                self.key(name),
                "is out of range",
                value=value,
                expected=f"an integer {minimum}..{maximum}",
            )
        return value

    def enum(self, name: str, kind: type[StrEnum], *, default: StrEnum | None = None) -> Any:
        choices = ", ".join(m.value for m in kind)
        value = self._get(name, default, default is None, f"one of {choices}")
        try:
            return kind(value)
        except ValueError:
            raise ConfigError(
                self.key(name), "is not a known value", value=value, expected=f"one of {choices}"
            ) from None

    def list(self, name: str, *, default: Iterable[Any] = (), required: bool = False) -> list[Any]:
        value = self._get(name, None, required, "a list")
        if value is None:
            return list(default)
        if not isinstance(value, list):
            raise ConfigError(self.key(name), "must be a list", value=value, expected="a YAML list")
        return value

    def strings(
        self,
        name: str,
        *,
        pattern: re.Pattern[str] | None = None,
        expected: str = "strings",
        default: Iterable[str] = (),
        required: bool = False,
    ) -> tuple[str, ...]:
        out = []
        for index, item in enumerate(self.list(name, default=default, required=required)):
            if not isinstance(item, str) or (pattern is not None and not pattern.match(item)):
                raise ConfigError(
                    f"{self.key(name)}[{index}]", "is malformed", value=item, expected=expected
                )
            out.append(item)
        return tuple(out)

    def block(self, name: str, *, required: bool = True) -> _Block | None:
        value = self._get(name, None, required, "a mapping")
        return None if value is None else _Block(self.key(name), value)

    def done(self) -> None:
        """Reject keys nobody read: a typo must not silently fall back to a default."""
        unknown = sorted(set(self.raw) - self._read)
        if unknown:
            raise ConfigError(
                self.key(unknown[0]),
                "is not a known key",
                expected=f"one of {', '.join(sorted(self._read))}",
            )


def _cidr(block: _Block, name: str, default: str | None = None) -> str:
    value = block.str(name, default=default, expected="an IPv4 CIDR such as 10.0.0.0/24")
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise ConfigError(
            block.key(name),
            "is not a CIDR",
            value=value,
            expected="an IPv4 CIDR such as 10.0.0.0/24",
        ) from None


def _cidrs(block: _Block, name: str, default: Iterable[str]) -> tuple[str, ...]:
    out = []
    for index, value in enumerate(block.strings(name, default=default, expected="IPv4 CIDRs")):
        try:
            out.append(str(ipaddress.ip_network(value, strict=True)))
        except ValueError:
            raise ConfigError(
                f"{block.key(name)}[{index}]", "is not a CIDR", value=value, expected="an IPv4 CIDR"
            ) from None
    return tuple(out)


def _duration_seconds(block: _Block, name: str, default: str) -> str:
    value = block.str(name, default=default, expected="a duration such as 90d or 7776000s")
    match = DURATION.match(value)
    if not match:
        raise ConfigError(
            block.key(name),
            "is malformed",
            value=value,
            expected="a duration such as 90d or 7776000s",
        )
    seconds = int(match["n"]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match["unit"]]
    if not MIN_ROTATION_SECONDS <= seconds <= MAX_ROTATION_SECONDS:
        raise ConfigError(
            block.key(name), "is out of range", value=value, expected="between 1d and 90d"
        )
    return f"{seconds}s"


def _image(block: _Block, name: str, *, required: bool = True) -> str | None:
    value = block.str(
        name, required=required, expected="an image by digest, <registry>/<path>@sha256:<64 hex>"
    )
    return None if value is None else _image_value(block, name, value)


def _image_value(block: _Block, name: str, value: str) -> str:
    if not IMAGE_BY_DIGEST.match(value):
        problem = "is given by tag, not by digest" if "@" not in value else "is malformed"
        raise ConfigError(
            block.key(name),
            problem,
            value=value,
            expected="an image by digest, <registry>/<path>@sha256:<64 hex>",
        )
    return value


def _sealed_metadata(block: _Block) -> tuple[tuple[str, str], ...]:
    """The object metadata exactly as the sealer wrote it; the harness refuses anything less."""
    meta = block.block("metadata")
    assert meta is not None
    checks = {
        # The one format the harness reads (harness/sealed.py SEALED_FORMAT; a test keeps them equal).
        "sealed-format": (
            re.compile(r"^gke-sandbox/tink-streaming-aead/v1$"),
            "gke-sandbox/tink-streaming-aead/v1",
        ),
        "encryption-key": (
            re.compile(r"^[A-Za-z0-9+/=]{16,}$"),
            "the base64 KMS-wrapped Tink keyset",
        ),
        "plaintext-sha256": (SHA256_HEX, "64 lowercase hex digits"),
        "plaintext-size": (re.compile(r"^[1-9][0-9]*$"), "the plaintext size in bytes"),
        "sealed-for": (re.compile(r"^gs://[^/]+/.+$"), "gs://<bucket>/<object>"),
        "kms-key": (KMS_KEY_URI, "the gcp-kms:// key URI that wrapped the keyset"),
        "kms-key-version": (
            re.compile(r"^[0-9]+$|^projects/.+/cryptoKeyVersions/[0-9]+$"),
            "a key version",
        ),
        "sealed-at": (re.compile(r"^[0-9TZ:.+-]+$"), "an RFC 3339 time"),
    }
    values = []
    for key in (*SEALED_REQUIRED_METADATA, *SEALED_OPTIONAL_METADATA):
        pattern, expected = checks[key]
        value = meta.str(
            key, pattern=pattern, expected=expected, required=key in SEALED_REQUIRED_METADATA
        )
        if value is not None:
            values.append((key, value))
    meta.done()
    return tuple(values)


def _parse_model(block: _Block) -> ModelConfig:
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
    attestor_config = AttestorConfig(
        name=attestor.str("name", pattern=RESOURCE_ID, expected="an attestor id"),
        note=attestor.str("note", pattern=RESOURCE_ID, expected="a Container Analysis note id"),
        key=key_kind,
        pgp_public_key=pgp,
    )
    attestor.done()
    sealed = None
    sealed_block = block.block("sealed", required=False)
    if sealed_block is not None:
        sealed = SealedObjectConfig(
            source=sealed_block.str(
                "source", expected="path of the ciphertext written by `python -m infra seal --out`"
            ),
            metadata=_sealed_metadata(sealed_block),
        )
        sealed_block.done()
    config = ModelConfig(
        kms_key_uri=block.str(
            "kmsKeyUri",
            pattern=KMS_KEY_URI,
            expected="gcp-kms://projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>",
        ),
        bucket=block.str(
            "bucket", pattern=BUCKET, expected="a bucket name (3-63 lowercase letters, digits, -_.)"
        ),
        object_name=block.str("object", pattern=OBJECT_NAME, expected="an object name"),
        attestor=attestor_config,
        rotation_period=_duration_seconds(block, "rotationPeriod", "90d"),
        protection_level=block.enum(
            "protectionLevel", ProtectionLevel, default=ProtectionLevel.SOFTWARE
        ),
        sealed=sealed,
    )
    block.done()
    if sealed is not None:
        meta = sealed.metadata_map
        for key, want in (("sealed-for", config.model_uri), ("kms-key", config.kms_key_uri)):
            if meta[key] != want:
                # The harness would refuse it: the ciphertext is bound to another object or key.
                raise ConfigError(
                    f"{NAMESPACE}:model.sealed.metadata.{key}",
                    "does not match this model block",
                    value=meta[key],
                    expected=want,
                )
    return config


def _parse_harness(block: _Block) -> HarnessConfig:
    config = HarnessConfig(
        project=block.str("project", pattern=PROJECT_ID, expected="a GCP project id"),
        location=block.str("location", pattern=LOCATION, expected="a region such as us-central1"),
        repository=block.str(
            "repository", pattern=RESOURCE_ID, expected="an Artifact Registry repository id"
        ),
        image=_image(block, "image"),
        node_service_account=block.str(
            "nodeServiceAccount",
            required=False,
            pattern=re.compile(r"^[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$"),
            expected="the cluster's node service account email (cluster stack output nodeServiceAccount)",
        ),
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


def _parse_cluster(block: _Block) -> ClusterConfig:
    networks = []
    for index, raw in enumerate(block.list("authorizedNetworks")):
        item = _Block(f"{block.key('authorizedNetworks')}[{index}]", raw)
        networks.append(AuthorizedNetwork(name=item.str("name"), cidr=_cidr(item, "cidr")))
        item.done()
    deny = None
    deny_block = block.block("denyPolicy", required=False)
    if deny_block is not None:
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
    config = ClusterConfig(
        organization=block.str(
            "organization", pattern=ORG_ID, expected="a numeric organization id"
        ),
        billing_account=block.str(
            "billingAccount",
            pattern=BILLING_ACCOUNT,
            expected="a billing account id such as 018B55-7FDD84-7F175A",
        ),
        folder=block.str(
            "folder", pattern=re.compile(r"^[\w .-]{3,30}$"), expected="a folder display name"
        ),
        project=block.str("project", pattern=PROJECT_ID, expected="a GCP project id"),
        region=block.str("region", pattern=LOCATION, expected="a region such as us-central1"),
        location=block.str(
            "location", pattern=LOCATION, expected="a zone or region for the cluster"
        ),
        name=block.str("name", pattern=DNS_LABEL, default="sandbox", expected="a cluster name"),
        machine_type=block.str(
            "machineType", default="n2d-standard-2", expected="an AMD SEV machine type"
        ),
        node_count=block.int("nodeCount", default=2, minimum=1, maximum=100),
        release_channel=block.enum(
            "releaseChannel", ReleaseChannel, default=ReleaseChannel.REGULAR
        ),
        subnet_cidr=_cidr(block, "subnetCidr", "10.10.0.0/20"),
        pods_cidr=_cidr(block, "podsCidr", "10.20.0.0/16"),
        services_cidr=_cidr(block, "servicesCidr", "10.30.0.0/20"),
        master_cidr=_cidr(block, "masterCidr", "172.16.0.16/28"),
        authorized_networks=tuple(networks),
        node_service_account=block.str(
            "nodeServiceAccount", pattern=SA_ACCOUNT_ID, default="gke-node"
        ),
        workload_service_account=block.str(
            "workloadServiceAccount", pattern=SA_ACCOUNT_ID, default="model-reader"
        ),
        deny_policy=deny,
        binauthz_allowlist=tuple(
            _image_value(block, f"binauthzAllowlist[{i}]", v)
            for i, v in enumerate(block.strings("binauthzAllowlist"))
        ),
    )
    block.done()
    if not config.machine_type.startswith(SEV_MACHINE_FAMILIES):
        raise ConfigError(
            block.key("machineType"),
            "cannot run Confidential GKE Nodes",
            value=config.machine_type,
            expected="an AMD SEV machine type (n2d-, c2d- or c3d-)",
        )
    if not config.location.startswith(config.region):
        raise ConfigError(
            block.key("location"),
            "is not in the region",
            value=config.location,
            expected=f"{config.region} or a zone in it",
        )
    return config


def _parse_tenants(raw: Any) -> tuple[TenantConfig, ...]:
    key = f"{NAMESPACE}:tenants"
    if not isinstance(raw, list) or not raw:
        raise ConfigError(key, "must be a non-empty list", value=raw, expected="a list of tenants")
    tenants = []
    for index, item_raw in enumerate(raw):
        item = _Block(f"{key}[{index}]", item_raw)
        quota_block = item.block("quota", required=False)
        quota = Quota()
        if quota_block is not None:
            quota = Quota(
                cpu=quota_block.str(
                    "cpu",
                    pattern=QUANTITY,
                    default="4",
                    expected="a CPU quantity such as 4 or 500m",
                ),
                memory=quota_block.str(
                    "memory",
                    pattern=QUANTITY,
                    default="8Gi",
                    expected="a memory quantity such as 8Gi",
                ),
                pods=quota_block.int("pods", default=10, minimum=1, maximum=1000),
            )
            quota_block.done()
        namespace = item.str("namespace", pattern=DNS_LABEL, expected="a Kubernetes namespace name")
        if namespace in RESERVED_NAMESPACES or namespace.startswith("kube-"):
            raise ConfigError(
                item.key("namespace"),
                "is reserved for the platform",
                value=namespace,
                expected="a tenant's own namespace",
            )
        tenants.append(
            TenantConfig(
                name=item.str("name", pattern=DNS_LABEL, expected="a short tenant name"),
                namespace=namespace,
                members=item.strings(
                    "members",
                    required=True,
                    pattern=MEMBER,
                    expected="user:<email>, group:<email> or serviceAccount:<email>",
                ),
                quota=quota,
                workload_service_account=item.str(
                    "workloadServiceAccount",
                    required=False,
                    pattern=DNS_LABEL,
                    expected="a Kubernetes service account name",
                ),
            )
        )
        item.done()
        if not tenants[-1].members:
            raise ConfigError(item.key("members"), "is empty", expected="at least one member")
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
    return tuple(tenants)


def _parse_cluster_access(block: _Block) -> ClusterAccess | None:
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
            "clusterName", pattern=DNS_LABEL, expected="the cluster name"
        ),
    )
    access_block.done()
    return access


def _parse_sandbox(block: _Block) -> SandboxConfig:
    gk = block.block("gatekeeper")
    assert gk is not None
    gatekeeper = GatekeeperConfig(
        version=gk.str(
            "version",
            pattern=re.compile(r"^v?[0-9]+\.[0-9]+\.[0-9]+$"),
            expected="a Gatekeeper release such as 3.20.1",
        ),
        image=_image(gk, "image"),
        crd_image=_image(gk, "crdImage"),
        chart_repository=gk.str(
            "chartRepository", default="https://open-policy-agent.github.io/gatekeeper/charts"
        ),
    )
    gk.done()
    access = _parse_cluster_access(block)
    config = SandboxConfig(
        gatekeeper=gatekeeper,
        approved_digests=block.strings(
            "approvedDigests", required=True, pattern=DIGEST, expected="sha256:<64 hex>"
        ),
        allowed_repositories=block.strings(
            "allowedRepositories",
            pattern=re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+/$"),
            expected="an image prefix ending in /, such as us-central1-docker.pkg.dev/p/repo/",
        ),
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
        google_api_cidrs=_cidrs(block, "googleApiCidrs", ("199.36.153.8/30", "199.36.153.4/30")),
        load_balancer_cidrs=_cidrs(block, "loadBalancerCidrs", ("35.191.0.0/16", "130.211.0.0/22")),
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


def _parse_workload(block: _Block) -> WorkloadConfig:
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
        replicas=block.int("replicas", default=2, minimum=1, maximum=20),
        image=_image(block, "image", required=False),
        model_uri=block.str(
            "modelUri",
            required=False,
            pattern=re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]/.+$"),
            expected="gs://<bucket>/<object> (model stack output modelUri)",
        ),
        kms_key_uri=block.str(
            "kmsKeyUri",
            required=False,
            pattern=KMS_KEY_URI,
            expected="gcp-kms://projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>",
        ),
        model_sha256=block.str(
            "modelSha256", required=False, pattern=SHA256_HEX, expected="64 lowercase hex digits"
        ),
        cluster_access=_parse_cluster_access(block),
    )
    block.done()
    return config


DEFAULT_DENIED_PERMISSIONS = (
    # Paths around the sandbox: long-lived keys for its service accounts, and reading a
    # node's disks or injecting startup code through instance metadata. Workload Identity
    # needs iam.serviceAccounts.getAccessToken, so that one is deliberately not here.
    "iam.googleapis.com/serviceAccountKeys.create",
    "iam.googleapis.com/serviceAccountKeys.upload",
    "compute.googleapis.com/instances.setMetadata",
    "compute.googleapis.com/instances.attachDisk",
    "compute.googleapis.com/disks.createSnapshot",
)


def parse(raw: Mapping[str, Any]) -> StackConfig:
    """Validate engine-form config (keys without the `gke-sandbox:` prefix) into a StackConfig."""
    part_value = raw.get("part")
    try:
        part = Part(part_value)
    except ValueError:
        raise ConfigError(
            f"{NAMESPACE}:part",
            "is not a known part",
            value=part_value,
            expected=f"one of {', '.join(p.value for p in Part)}",
        ) from None
    needed = BLOCKS[part]
    for name in sorted(set(raw) - {"part", *SECRET_KEYS}):
        if name not in BLOCKS[Part.ALL]:
            raise ConfigError(
                f"{NAMESPACE}:{name}",
                "is not a known key",
                expected=f"one of part, {', '.join(sorted(BLOCKS[Part.ALL]))}",
            )
        if name not in needed:
            raise ConfigError(
                f"{NAMESPACE}:{name}",
                f"is not used by part {part.value}",
                expected=f"only {', '.join(sorted(needed))}",
            )
    for name in sorted(needed):
        if raw.get(name) is None:
            raise ConfigError(
                f"{NAMESPACE}:{name}",
                f"is required for part {part.value}",
                expected="a mapping" if name != "tenants" else "a list",
            )

    def block(name: str) -> _Block | None:
        return _Block(f"{NAMESPACE}:{name}", raw[name]) if name in needed else None

    model = _parse_model(b) if (b := block("model")) else None
    harness = _parse_harness(b) if (b := block("harness")) else None
    cluster = _parse_cluster(b) if (b := block("cluster")) else None
    tenants = _parse_tenants(raw["tenants"]) if "tenants" in needed else ()
    sandbox = _parse_sandbox(b) if (b := block("sandbox")) else None
    workload = _parse_workload(b) if (b := block("workload")) else None
    config = _fill_from_blocks(
        StackConfig(part, model, harness, cluster, tenants, sandbox, workload)
    )
    _check_cross_block(config)
    return config


def _fill_from_blocks(config: StackConfig) -> StackConfig:
    """In an all-in-one stack, values another party would hand over come from its block."""
    if config.part is not Part.ALL:
        return config
    assert config.model and config.harness and config.sandbox and config.workload
    model, harness, workload = config.model, config.harness, config.workload
    derived = {
        "image": harness.image,
        "model_uri": model.model_uri,
        "kms_key_uri": model.kms_key_uri,
        "model_sha256": model.sealed.plaintext_sha256 if model.sealed else None,
    }
    camel = {
        "image": "image",
        "model_uri": "modelUri",
        "kms_key_uri": "kmsKeyUri",
        "model_sha256": "modelSha256",
    }
    for attr, value in derived.items():
        given = getattr(workload, attr)
        if given is not None and given != value:
            raise ConfigError(
                f"{NAMESPACE}:workload.{camel[attr]}",
                "disagrees with the block it comes from",
                value=given,
                expected=f"{value!r} or leave it out",
            )
    sandbox = config.sandbox
    if not sandbox.allowed_repositories:
        sandbox = replace(sandbox, allowed_repositories=(harness.repository_url + "/",))
    return replace(config, workload=replace(workload, **derived), sandbox=sandbox)


def _check_cross_block(config: StackConfig) -> None:
    """Combinations that each block alone cannot see."""
    if config.tenants and config.workload_tenant is None:
        raise ConfigError(
            f"{NAMESPACE}:tenants",
            "no tenant has workloadServiceAccount",
            expected="exactly one tenant that hosts the harness",
        )
    sandbox, workload = config.sandbox, config.workload
    if config.part is Part.WORKLOAD and workload:
        for attr, key in (
            ("image", "image"),
            ("model_uri", "modelUri"),
            ("kms_key_uri", "kmsKeyUri"),
        ):
            if getattr(workload, attr) is None:
                raise ConfigError(
                    f"{NAMESPACE}:workload.{key}",
                    "is required for part workload",
                    expected="the value Alice handed over (see README, 'what crosses')",
                )
    if sandbox and not sandbox.allowed_repositories:
        raise ConfigError(
            f"{NAMESPACE}:sandbox.allowedRepositories",
            "is required",
            expected="the harness repository prefix, e.g. us-central1-docker.pkg.dev/p/repo/",
        )
    if sandbox and workload and workload.image:
        digest = workload.image.rsplit("@", 1)[1]
        if digest not in sandbox.approved_digests:
            # The sandbox would deploy a harness its own admission rules deny.
            raise ConfigError(
                f"{NAMESPACE}:sandbox.approvedDigests",
                "does not include the harness image digest",
                value=digest,
                expected="the digest Alice reviewed and signed",
            )
        if not workload.image.startswith(sandbox.allowed_repositories):
            raise ConfigError(
                f"{NAMESPACE}:workload.image",
                "is outside the allowed repositories",
                value=workload.image,
                expected=f"an image under {', '.join(sandbox.allowed_repositories)}",
            )
    tenant = config.workload_tenant
    if (
        config.part is Part.ALL
        and workload
        and tenant
        and (workload.namespace, workload.service_account)
        != (tenant.namespace, tenant.workload_service_account)
    ):
        raise ConfigError(
            f"{NAMESPACE}:workload.namespace",
            "does not match the tenant that hosts the harness",
            value=f"{workload.namespace}/{workload.service_account}",
            expected=f"{tenant.namespace}/{tenant.workload_service_account}",
        )
    if (
        config.part is Part.SANDBOX
        and sandbox
        and not (sandbox.cluster_stack or sandbox.cluster_access)
    ):
        raise ConfigError(
            f"{NAMESPACE}:sandbox.clusterStack",
            "is required for part sandbox",
            expected="clusterStack or clusterAccess",
        )
    if sandbox and config.cluster:
        for label, image in (
            ("image", sandbox.gatekeeper.image),
            ("crdImage", sandbox.gatekeeper.crd_image),
        ):
            if image not in config.cluster.binauthz_allowlist:
                # Binary Authorization would refuse to start Gatekeeper, and with it every tenant pod.
                raise ConfigError(
                    f"{NAMESPACE}:cluster.binauthzAllowlist",
                    f"does not admit sandbox.gatekeeper.{label}",
                    value=image,
                    expected="the Gatekeeper images by digest",
                )


def from_engine(values: Mapping[str, str]) -> dict[str, Any]:
    """Turn the engine's flat `gke-sandbox:key -> string` config into plain Python values."""
    out: dict[str, Any] = {}
    for full_key, text in values.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE or key in SECRET_KEYS:
            continue
        try:
            out[key] = json.loads(text)
        except (TypeError, ValueError):
            out[key] = text
    return out
