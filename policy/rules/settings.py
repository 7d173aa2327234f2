"""Settings that only matter when someone turns them off: each check here judges one setting the
program fixes today, so a change that drops it fails the review instead of passing unnoticed.

Every value below is checked against the pinned SDKs (pulumi-gcp 10.2.0, pulumi-kubernetes
4.34.2) and the Google/Kubernetes documentation cited beside it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from harness.contract import ENV_MODEL_SHA256, ENV_MODEL_URI, META_SHA256, SHA256_HEX
from policy.facts import POD_SPEC_PATHS, RESTRICTED_GOOGLE_APIS_CIDR

from .engine import Violation, violation
from .expected_grants import TENANT_LABEL
from .gke import node_configs
from .key_roles import KMS_VERSION_PREFIX, key_id, signing_keys
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, show, type_of
from .tokens import (
    ATTESTOR,
    BUCKET_OBJECT,
    CLUSTER,
    CRYPTO_KEY,
    DENY_POLICY,
    K8S_NAMESPACE,
    K8S_RESOURCE_QUOTA,
    K8S_SERVICE_ACCOUNT,
    K8S_WORKLOAD_TYPES,
    MANAGED_ZONE,
    PROJECT,
    RECORD_SET,
    REPOSITORY,
    SERVICE_PERIMETER,
)


# ------------------------------------------------------------------------- registry
def check_immutable_tags(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A mutable tag can be moved to another image after review; the deploy uses digests, but the
    registry must not let anyone rewrite what a reviewed tag names either (pulumi-gcp 10.2.0
    `artifactregistry.RepositoryDockerConfig.immutable_tags`: "prevents all tags from being
    modified, moved or deleted")."""
    for repo in of_type(resources, REPOSITORY):
        ins = inputs_of(repo)
        if ins.get("format") not in ("DOCKER", None):
            continue
        value = get(ins, "dockerConfig.immutableTags")
        if value is True or is_unknown(value):
            continue
        yield violation(
            "registry-immutable-tags",
            repo,
            f"dockerConfig.immutableTags is {show(value)}; must be true so no tag can be moved "
            "to another image after review",
        )


# ------------------------------------------------------------------------- project
def check_project_defaults(resources: Sequence[Resource]) -> Iterator[Violation]:
    """pulumi-gcp 10.2.0 `organizations.Project`: `auto_create_network` defaults to true (a
    `default` network with permissive firewall rules, outside the sandbox's network), and
    `deletion_policy` is one of PREVENT, ABANDON, DELETE."""
    rule = "project-defaults-safe"
    for project in of_type(resources, PROJECT):
        ins = inputs_of(project)
        auto = ins.get("autoCreateNetwork")
        if auto is not False and not is_unknown(auto):
            yield violation(
                rule,
                project,
                f"autoCreateNetwork is {show(auto)}; must be false: the auto-created default "
                "network opens SSH, RDP and ICMP from anywhere (default-allow-* firewall rules)",
            )
        policy = ins.get("deletionPolicy")
        if policy != "PREVENT" and not is_unknown(policy):
            yield violation(
                rule,
                project,
                f'deletionPolicy is {show(policy)}; must be "PREVENT" so `pulumi destroy` or a '
                "replacement cannot delete the project that runs the sandbox",
            )


# ------------------------------------------------------------------------- IAM deny policy
EVERYONE = "principalSet://goog/public:all"
"""IAM v2 principal identifier for every principal (cloud.google.com/iam/docs/
principal-identifiers#v2)."""


def _deny_rule_problems(rule: Any) -> Iterator[str]:
    deny = get(rule, "denyRule")
    if is_unknown(deny):
        return
    denied = [p for p in as_list(get(deny, "deniedPrincipals")) if isinstance(p, str)]
    permissions = [p for p in as_list(get(deny, "deniedPermissions")) if isinstance(p, str)]
    exceptions = [p for p in as_list(get(deny, "exceptionPrincipals")) if isinstance(p, str)]
    if not denied:
        yield "denyRule.deniedPrincipals is empty; a deny rule must deny someone"
    if not permissions:
        yield "denyRule.deniedPermissions is empty; a deny rule must deny some permission"
    wide = sorted(set(exceptions) & ({EVERYONE} | set(denied)))
    wildcard = [p for p in exceptions if "*" in p]
    if wide or wildcard:
        yield (
            f"denyRule.exceptionPrincipals holds {show(wide + wildcard)}; an exception may not "
            "exempt everyone or everyone the rule denies, only named principals"
        )


def check_deny_policy_effective(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Structure only (the permission names are judged elsewhere): a deny policy with no rule,
    nobody denied, no permission, or an exception for everyone denies nothing."""
    rule = "deny-policy-effective"
    for policy in of_type(resources, DENY_POLICY):
        rules = inputs_of(policy).get("rules")
        if is_unknown(rules):
            continue
        if not as_list(rules):
            yield violation(rule, policy, f"rules is {show(rules)}; the policy denies nothing")
        for i, item in enumerate(as_list(rules)):
            for problem in _deny_rule_problems(item):
                yield violation(rule, policy, f"rules[{i}].{problem}")


# ------------------------------------------------------------------------- GKE settings
LEGACY_METADATA_KEY = "disable-legacy-endpoints"
"""GKE node metadata key that turns off the v0.1/v1beta1 metadata endpoints, which answer
without the `Metadata-Flavor` header (cloud.google.com/kubernetes-engine/docs/how-to/
protecting-cluster-metadata#disable-legacy-apis)."""


def check_legacy_metadata_off(resources: Sequence[Resource]) -> Iterator[Violation]:
    for resource, path in node_configs(resources):
        value = get(inputs_of(resource), (*path.split("."), "metadata", LEGACY_METADATA_KEY))
        if value == "true" or is_unknown(value):
            continue
        yield violation(
            "gke-legacy-metadata-off",
            resource,
            f'{path}.metadata["{LEGACY_METADATA_KEY}"] is {show(value)}; must be "true" so '
            "no pod can reach the legacy metadata endpoints that need no request header",
        )


def check_dns_endpoint_iam_only(resources: Sequence[Resource]) -> Iterator[Violation]:
    """pulumi-gcp 10.2.0 `ClusterControlPlaneEndpointsConfigDnsEndpointConfig`:
    `enable_k8s_tokens_via_dns` / `enable_k8s_certs_via_dns` "Controls whether the k8s token
    (certs) auth is allowed via Dns". The DNS endpoint is reachable from anywhere and is fenced
    by IAM only; Kubernetes tokens or certificates there would bypass that fence."""
    for cluster in of_type(resources, CLUSTER):
        config = get(inputs_of(cluster), "controlPlaneEndpointsConfig.dnsEndpointConfig")
        for key in ("enableK8sTokensViaDns", "enableK8sCertsViaDns"):
            value = get(config, key)
            if value is None or value is False or is_unknown(value):
                continue
            yield violation(
                "gke-dns-endpoint-iam-only",
                cluster,
                f"controlPlaneEndpointsConfig.dnsEndpointConfig.{key} is {show(value)}; must "
                "be false: the DNS endpoint accepts only IAM credentials",
            )


MAX_AUTHORIZED_PREFIX = {4: 16, 6: 48}
"""The widest block an authorized network may be: an office or VPN range, not an ISP or cloud
(IPv4 /16 = 65,536 addresses, IPv6 /48 = one site)."""


def check_authorized_networks(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The public IP endpoint is reachable only from the listed ranges (cloud.google.com/
    kubernetes-engine/docs/how-to/authorized-networks); `gcpPublicCidrsAccessEnabled` would add
    every Google Cloud public address."""
    rule = "gke-authorized-networks"
    for cluster in of_type(resources, CLUSTER):
        ins = inputs_of(cluster)
        private_endpoint = get(ins, "privateClusterConfig.enablePrivateEndpoint")
        config = ins.get("masterAuthorizedNetworksConfig")
        if is_unknown(config) or is_unknown(private_endpoint):
            continue
        if config is None:
            if private_endpoint is not True:
                yield violation(
                    rule,
                    cluster,
                    "masterAuthorizedNetworksConfig is unset and the public endpoint is on; "
                    "list the networks that may reach the control plane",
                )
            continue
        gcp = get(config, "gcpPublicCidrsAccessEnabled")
        if gcp is True:
            yield violation(
                rule,
                cluster,
                "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled is true; every "
                "Google Cloud public address could reach the control plane",
            )
        for i, block in enumerate(as_list(get(config, "cidrBlocks"))):
            cidr = get(block, "cidrBlock")
            if is_unknown(cidr):
                continue
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except (TypeError, ValueError):
                net = None
            limit = MAX_AUTHORIZED_PREFIX[net.version] if net else None
            if net is not None and limit is not None and net.prefixlen >= limit:
                continue
            yield violation(
                rule,
                cluster,
                f"masterAuthorizedNetworksConfig.cidrBlocks[{i}].cidrBlock is {show(cidr)}; "
                f"an authorized network must be an IP range no wider than /16 (IPv4) or /48 "
                "(IPv6)",
            )


# ------------------------------------------------------------------------- Kubernetes settings
POD_SECURITY = "pod-security.kubernetes.io/"
_PINNED = re.compile(r"v1\.(\d+)")
MIN_PSS_MINOR = 25
"""Pod Security Admission is stable from Kubernetes 1.25; `<mode>-version` takes `v1.<minor>`
or `latest` (kubernetes.io/docs/concepts/security/pod-security-admission/
#pod-security-admission-labels-for-namespaces). `latest` changes meaning on every upgrade."""


def check_tenant_pod_security(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The built-in floor under Gatekeeper: every tenant namespace enforces `restricted` at a
    pinned standard version."""
    rule = "tenant-pod-security"
    for ns in of_type(resources, K8S_NAMESPACE):
        labels = get(inputs_of(ns), "metadata.labels")
        if is_unknown(labels) or get(labels, (TENANT_LABEL,)) is None:
            continue
        enforce = get(labels, (f"{POD_SECURITY}enforce",))
        if enforce != "restricted":
            yield violation(
                rule,
                ns,
                f'metadata.labels["{POD_SECURITY}enforce"] is {show(enforce)}; a tenant '
                'namespace must enforce the "restricted" Pod Security Standard',
            )
        version = get(labels, (f"{POD_SECURITY}enforce-version",))
        match = _PINNED.fullmatch(version) if isinstance(version, str) else None
        if not match or int(match[1]) < MIN_PSS_MINOR:
            yield violation(
                rule,
                ns,
                f'metadata.labels["{POD_SECURITY}enforce-version"] is {show(version)}; must '
                f"pin the standard's version (v1.{MIN_PSS_MINOR} or later, not latest) so a "
                "cluster upgrade cannot change what is enforced unreviewed",
            )


def _pod_spec(resource: Resource) -> Any:
    kind = K8S_WORKLOAD_TYPES.get(type_of(resource))
    return get(inputs_of(resource), POD_SPEC_PATHS[kind][1]) if kind else None


SECRET_VOLUME_DEFAULT_MODE = 0o644
"""Kubernetes' default for secret volume files when defaultMode is unset (pulumi-kubernetes
4.34.2 `SecretVolumeSourceArgs.default_mode`: "Defaults to 0644")."""


def _modes(volume: Any, at: str) -> Iterator[tuple[str, Any]]:
    """(path, mode) of every secret file mode a volume sets or defaults."""
    secret = get(volume, "secret")
    if isinstance(secret, Mapping):
        yield f"{at}.secret.defaultMode", secret.get("defaultMode", SECRET_VOLUME_DEFAULT_MODE)
        for j, item in enumerate(as_list(secret.get("items"))):
            if get(item, "mode") is not None:
                yield f"{at}.secret.items[{j}].mode", get(item, "mode")
    projected = get(volume, "projected")
    if isinstance(projected, Mapping):
        secrets = [get(s, "secret") for s in as_list(projected.get("sources"))]
        if any(isinstance(s, Mapping) for s in secrets):
            mode = projected.get("defaultMode", SECRET_VOLUME_DEFAULT_MODE)
            yield f"{at}.projected.defaultMode", mode
        for k, source in enumerate(secrets):
            for j, item in enumerate(as_list(get(source, "items"))):
                if get(item, "mode") is not None:
                    yield f"{at}.projected.sources[{k}].secret.items[{j}].mode", get(item, "mode")


def check_secret_volumes_private(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Secret files (the bearer token, the TLS key) readable by the pod's user and group only:
    no bit for others, whatever uid another process in the pod runs as."""
    for resource in resources:
        kind = K8S_WORKLOAD_TYPES.get(type_of(resource))
        if kind is None:
            continue
        base = POD_SPEC_PATHS[kind][1]
        for i, volume in enumerate(as_list(get(_pod_spec(resource), "volumes"))):
            for path, mode in _modes(volume, f"{base}.volumes[{i}]"):
                if isinstance(mode, float) and mode.is_integer():
                    mode = int(mode)  # the engine passes numbers as JSON doubles
                if is_unknown(mode) or (isinstance(mode, int) and mode & 0o007 == 0):
                    continue
                shown = f"{show(mode)} ({oct(mode)})" if isinstance(mode, int) else show(mode)
                yield violation(
                    "secret-volumes-private",
                    resource,
                    f"{path} is {shown}; secret files must give others no access (e.g. 0440 = 288)",
                )


def _harness_containers(resource: Resource) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for i, container in enumerate(as_list(get(_pod_spec(resource), "containers"))):
        env = as_list(get(container, "env"))
        if any(get(e, "name") == ENV_MODEL_URI for e in env):
            yield i, container


def check_harness_knows_digest(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The harness refuses a model whose plaintext digest differs from the pinned one; without
    the pin it serves whatever the object holds (harness/contract.py ENV_MODEL_SHA256)."""
    rule = "harness-knows-model-digest"
    sealed = {
        d
        for o in of_type(resources, BUCKET_OBJECT)
        for d in [get(inputs_of(o), ("metadata", META_SHA256))]
        if isinstance(d, str) and SHA256_HEX.fullmatch(d)
    }
    for resource in resources:
        kind = K8S_WORKLOAD_TYPES.get(type_of(resource))
        if kind is None:
            continue
        base = POD_SPEC_PATHS[kind][1]
        for i, container in _harness_containers(resource):
            env = {get(e, "name"): get(e, "value") for e in as_list(container.get("env"))}
            value = env.get(ENV_MODEL_SHA256)
            if is_unknown(value):
                continue
            where = f"{base}.containers[{i}].env"
            if not (isinstance(value, str) and SHA256_HEX.fullmatch(value)):
                yield violation(
                    rule,
                    resource,
                    f"{where} {ENV_MODEL_SHA256} is {show(value)}; the harness must be told the "
                    "model's plaintext SHA-256 (64 lowercase hex digits) so it serves no other "
                    "model",
                )
            elif sealed and value not in sealed:
                yield violation(
                    rule,
                    resource,
                    f"{where} {ENV_MODEL_SHA256} is {show(value)}; the sealed model records "
                    f"{show(sorted(sealed))}",
                )


# ------------------------------------------------------------------------- VPC-SC, DNS
OPEN_IDENTITY_TYPES = ("ANY_IDENTITY", "ANY_USER_ACCOUNT", "ANY_SERVICE_ACCOUNT")
"""pulumi-gcp 10.2.0 `ServicePerimeterStatusIngressPolicyIngressFrom.identity_type`: possible
values `ANY_IDENTITY`, `ANY_USER_ACCOUNT`, `ANY_SERVICE_ACCOUNT`; unset means "members of
`identities`"."""
_OPEN_MEMBERS = ("allUsers", "allAuthenticatedUsers", EVERYONE)


def check_perimeter_ingress_named(resources: Sequence[Resource]) -> Iterator[Violation]:
    """An ingress policy lets identities outside the perimeter call in; it must name them."""
    rule = "perimeter-ingress-named"
    for perimeter in of_type(resources, SERVICE_PERIMETER):
        for block in ("status", "spec"):
            policies = get(inputs_of(perimeter), f"{block}.ingressPolicies")
            for i, policy in enumerate(as_list(policies)):
                where = f"{block}.ingressPolicies[{i}].ingressFrom"
                kind = get(policy, "ingressFrom.identityType")
                identities = as_list(get(policy, "ingressFrom.identities"))
                if is_unknown(kind) or is_unknown(get(policy, "ingressFrom.identities")):
                    continue
                if kind is not None:
                    yield violation(
                        rule,
                        perimeter,
                        f"{where}.identityType is {show(kind)}; an ingress policy must list "
                        "named identities, never a whole class of them",
                    )
                    continue
                open_ones = [m for m in identities if not isinstance(m, str) or "*" in m]
                open_ones += [m for m in identities if m in _OPEN_MEMBERS]
                if not identities or open_ones:
                    yield violation(
                        rule,
                        perimeter,
                        f"{where}.identities is {show(identities)}; an ingress policy must "
                        "name the users or service accounts it admits",
                    )


RESTRICTED_VIP_NAME = "restricted.googleapis.com."
PRIVATE_VIP_NAME = "private.googleapis.com."
"""Google's two API VIPs for hosts without external addresses: restricted.googleapis.com
(199.36.153.4/30) honours VPC Service Controls, private.googleapis.com (199.36.153.8/30) does
not (cloud.google.com/vpc/docs/configure-private-google-access#domain-options)."""
GOOGLE_API_DOMAINS = ("googleapis.com.", "pkg.dev.")


def _in_google_domain(name: Any) -> bool:
    return isinstance(name, str) and any(
        name == d or name.endswith("." + d) for d in GOOGLE_API_DOMAINS
    )


def check_google_apis_restricted(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Records for Google API names point at the restricted VIP only: the private VIP would let
    the harness reach Cloud Storage and KMS around the service perimeter."""
    rule = "google-apis-restricted-vip"
    restricted = ipaddress.ip_network(RESTRICTED_GOOGLE_APIS_CIDR)
    zones = {
        name: get(inputs_of(z), "dnsName")
        for z in of_type(resources, MANAGED_ZONE)
        for name in [get(inputs_of(z), "name")]
        if isinstance(name, str)
    }
    for record in of_type(resources, RECORD_SET):
        ins = inputs_of(record)
        name, kind, data = ins.get("name"), ins.get("type"), ins.get("rrdatas")
        zone = ins.get("managedZone")
        zone_domain = zones.get(zone) if isinstance(zone, str) else None
        if not (_in_google_domain(name) or _in_google_domain(zone_domain)):
            continue
        if is_unknown(data) or is_unknown(kind):
            continue
        for value in as_list(data):
            if kind == "A":
                try:
                    ok = ipaddress.ip_address(value) in restricted
                except (TypeError, ValueError):
                    ok = False
                if ok:
                    continue
                wanted = f"an address of the restricted VIP {RESTRICTED_GOOGLE_APIS_CIDR}"
            elif kind == "CNAME":
                if value != PRIVATE_VIP_NAME and (
                    value == RESTRICTED_VIP_NAME or _in_google_domain(value)
                ):
                    continue
                wanted = f"{RESTRICTED_VIP_NAME} (or a Google API name the plan maps to it)"
            elif kind == "AAAA":
                wanted = "no AAAA record: only the IPv4 restricted VIP is allowed through egress"
            else:
                continue
            yield violation(
                rule,
                record,
                f"rrdatas holds {show(value)} for {kind} {show(name)}; Google API names must "
                f"resolve to the restricted VIP, so expected {wanted}",
            )


# ------------------------------------------------------------------------- attestor keys
def check_signing_key_protected(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The key whose versions sign for the attestor (by role): losing it means no new harness
    can ever be admitted, and a replacement key is a new trust root nobody reviewed."""
    for key in signing_keys(resources):
        if key.get("protect") is True:
            continue
        yield violation(
            "attestor-key-protected",
            key,
            f"protect is {show(key.get('protect', False))}; the attestor's signing key must be "
            "protected (ResourceOptions(protect=True)) so `pulumi destroy` cannot remove it",
        )


def check_attestor_one_reviewed_key(resources: Sequence[Resource]) -> Iterator[Violation]:
    """One attestor key, and a KMS one must be a version of a signing key this plan creates:
    every extra key is one more signer whose attestations admit images."""
    rule = "attestor-one-reviewed-key"
    created = {key_id(k) for k in of_type(resources, CRYPTO_KEY)} - {None}
    for attestor in of_type(resources, ATTESTOR):
        keys = get(inputs_of(attestor), "attestationAuthorityNote.publicKeys")
        if is_unknown(keys):
            continue
        listed = as_list(keys)
        if len(listed) > 1:
            yield violation(
                rule,
                attestor,
                f"attestationAuthorityNote.publicKeys has {len(listed)} keys; an attestor holds "
                "exactly one key, the reviewed signing key",
            )
        for i, key in enumerate(listed):
            ident = get(key, "id")
            if get(key, "pkixPublicKey") is None or is_unknown(ident):
                continue
            named = (
                ident.removeprefix(KMS_VERSION_PREFIX).split("/cryptoKeyVersions/", 1)[0]
                if isinstance(ident, str) and ident.startswith(KMS_VERSION_PREFIX)
                else None
            )
            if named in created:
                continue
            yield violation(
                rule,
                attestor,
                f"attestationAuthorityNote.publicKeys[{i}].id is {show(ident)}; a PKIX key "
                f"must be a version ({KMS_VERSION_PREFIX}<key>/cryptoKeyVersions/<n>) of the "
                "signing key this plan creates",
            )


# ------------------------------------------------------------------------- tenant namespaces
def _tenant_object(resource: Resource) -> bool:
    """Objects the sandbox stack makes for a tenant carry the tenant label."""
    labels = get(inputs_of(resource), "metadata.labels")
    return isinstance(labels, Mapping) and get(labels, (TENANT_LABEL,)) is not None


def check_tenant_ksa_no_token(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A tenant's service accounts (the workload KSA holds the decrypting identity) do not
    mount their token by default: a pod that forgets `automountServiceAccountToken: false`
    must not get a Kubernetes credential for free (Kubernetes "Configure Service Accounts for
    Pods": the ServiceAccount's own field is the default for every pod that runs as it)."""
    rule = "tenant-ksa-no-token"
    for sa in of_type(resources, K8S_SERVICE_ACCOUNT):
        if not _tenant_object(sa):
            continue
        value = inputs_of(sa).get("automountServiceAccountToken")
        if value is False or is_unknown(value):
            continue
        yield violation(
            rule,
            sa,
            f"automountServiceAccountToken is {show(value)}; a tenant service account must set "
            "it to false so no pod mounts its token unless it asks",
        )


# Kubernetes ResourceQuota object counts (kubernetes.io/docs/concepts/policy/resource-quotas/,
# "Object count quota"): the Services that would open a path around the HTTPS-only Ingress.
EXTERNAL_SERVICE_QUOTAS = ("services.loadbalancers", "services.nodeports")


def check_tenant_quota_no_external_services(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Beside Gatekeeper's service-type constraint, each tenant quota allows no LoadBalancer or
    NodePort Service, so an admission outage cannot expose the harness outside the Ingress."""
    rule = "tenant-quota-no-external-services"
    for quota in of_type(resources, K8S_RESOURCE_QUOTA):
        if not _tenant_object(quota):
            continue
        hard = get(inputs_of(quota), "spec.hard")
        if is_unknown(hard):
            continue
        for key in EXTERNAL_SERVICE_QUOTAS:
            value = get(hard, (key,)) if isinstance(hard, Mapping) else None
            if is_unknown(value) or str(value) == "0":
                continue
            yield violation(
                rule,
                quota,
                f'spec.hard["{key}"] is {show(value)}; a tenant quota must hold it at "0"',
            )
