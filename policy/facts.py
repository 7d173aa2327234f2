"""Platform facts that builders (config, components) and judges (review rules, Gatekeeper
parameters) both need. Each is written once, here, with where it comes from.

This module imports nothing but the standard library, so every layer may import it.
"""

from __future__ import annotations

import re
from types import MappingProxyType

# --------------------------------------------------------------------------- Confidential nodes
# Confidential GKE Nodes on AMD SEV run on these machine series only.
# Source: cloud.google.com/kubernetes-engine/docs/how-to/confidential-gke-nodes ("Supported
# machine types": N2D, C2D, C3D for AMD SEV); the seed uses n2d-standard-2.
SEV_MACHINE_FAMILIES: tuple[str, ...] = ("n2d", "c2d", "c3d")
# confidentialNodes.confidentialInstanceType values that mean AMD memory encryption.
AMD_CONFIDENTIAL_TYPES: tuple[str, ...] = ("SEV", "SEV_SNP")


def machine_family(machine_type: str) -> str:
    """`n2d-standard-2` -> `n2d` (the series is everything before the first dash)."""
    return machine_type.split("-", 1)[0]


def is_sev_machine_type(machine_type: object) -> bool:
    """True when the machine type belongs to an AMD SEV capable series."""
    return (
        isinstance(machine_type, str)
        and "-" in machine_type
        and machine_family(machine_type) in SEV_MACHINE_FAMILIES
    )


# --------------------------------------------------------------------------- Cloud KMS
# A symmetric key rotates at least every 90 days (CIS Google Cloud Foundations benchmark 1.10;
# Cloud KMS "Key rotation" recommends 90 days for symmetric encryption keys).
MAX_KEY_ROTATION_SECONDS = 90 * 24 * 3600
# Cloud KMS refuses a rotation period shorter than one day (cryptoKeys.rotationPeriod docs).
MIN_KEY_ROTATION_SECONDS = 24 * 3600

# --------------------------------------------------------------------------- images
# `sha256:` and 64 lowercase hex digits: an OCI content digest as registries print it.
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# A repository: registry host (optional :port), then one or more lowercase path components
# (OCI distribution spec's path grammar: [a-z0-9]+ joined by `.`, `_`, `__` or `-`).
_REPOSITORY = (
    r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?"
    r"(/[a-z0-9]+([._-][a-z0-9]+|__[a-z0-9]+)*)+"
)
REPOSITORY = re.compile(rf"^{_REPOSITORY}$")
# An allowed-repository prefix as config and the Gatekeeper constraint take it: a repository,
# optionally with a trailing slash (a prefix that must match whole path components).
REPOSITORY_PREFIX = re.compile(rf"^{_REPOSITORY}/?$")
# An image by digest: `<repository>@sha256:<64 hex>`, with named groups `repo` and `digest`.
IMAGE_BY_DIGEST = re.compile(rf"^(?P<repo>{_REPOSITORY})@(?P<digest>sha256:[0-9a-f]{{64}})$")
# Anything that ends in a digest (a pattern or reference whose repository part is not checked).
ENDS_IN_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
BY_DIGEST_HINT = "<repository>@sha256:<64 hex>"
# An Artifact Registry docker image: `<location>-docker.pkg.dev/<project>/<repository>/<image...>`
# (Artifact Registry "Repository and image names"); named groups `location`, `project`, `repository`.
ARTIFACT_REGISTRY_IMAGE = re.compile(
    r"^(?P<location>[a-z0-9-]+)-docker\.pkg\.dev/(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9])"
    r"/(?P<repository>[a-z][a-z0-9-]*)/"
)
# Roles that include artifactregistry.repositories.downloadArtifacts (IAM predefined roles).
ARTIFACT_READER_ROLES: frozenset[str] = frozenset(
    {
        "roles/artifactregistry.reader",
        "roles/artifactregistry.writer",
        "roles/artifactregistry.repoAdmin",
        "roles/artifactregistry.admin",
    }
)

# --------------------------------------------------------------------------- load balancers
# What a sandbox SSL policy may be: MODERN or RESTRICTED, TLS 1.2 or newer (seed 003 set
# MODERN + TLS 1.2; GCLB's default is COMPATIBLE + TLS 1.0, pulumi-gcp 10.2.0
# compute/ssl_policy.py; TLS_1_3 requires RESTRICTED, same docstring).
TLS_POLICY_PROFILES: tuple[str, ...] = ("MODERN", "RESTRICTED")
TLS_MIN_VERSIONS: tuple[str, ...] = ("TLS_1_2", "TLS_1_3")
# The Ingress annotation that names a GKE FrontendConfig ("Ingress configuration on Google Cloud").
FRONTEND_CONFIG_ANNOTATION = "networking.gke.io/v1beta1.FrontendConfig"

# --------------------------------------------------------------------------- Kubernetes
# Every built-in kind that creates pods, with its API group and where its pod spec lives.
# Source: kubernetes.io/docs/concepts/workloads (Pod, ReplicationController, ReplicaSet,
# Deployment, StatefulSet, DaemonSet, Job, CronJob).
POD_SPEC_PATHS = MappingProxyType(
    {
        "Pod": ("", "spec"),
        "ReplicationController": ("", "spec.template.spec"),
        "ReplicaSet": ("apps", "spec.template.spec"),
        "Deployment": ("apps", "spec.template.spec"),
        "StatefulSet": ("apps", "spec.template.spec"),
        "DaemonSet": ("apps", "spec.template.spec"),
        "Job": ("batch", "spec.template.spec"),
        "CronJob": ("batch", "spec.jobTemplate.spec.template.spec"),
    }
)
POD_CREATING_KINDS: tuple[str, ...] = tuple(POD_SPEC_PATHS)


def pod_kind_match() -> list[dict[str, list[str]]]:
    """The pod-creating kinds as a Gatekeeper `match.kinds` list, grouped by API group."""
    groups: dict[str, list[str]] = {}
    for kind, (group, _) in POD_SPEC_PATHS.items():
        groups.setdefault(group, []).append(kind)
    return [{"apiGroups": [g], "kinds": sorted(kinds)} for g, kinds in groups.items()]


def pulumi_kubernetes_type(kind: str) -> str:
    """The pulumi-kubernetes type token of a pod-creating kind (`core` for the empty group)."""
    group, _ = POD_SPEC_PATHS[kind]
    return f"kubernetes:{group or 'core'}/v1:{kind}"


# Namespaces the platform owns: tenants may not be named after them, and admission webhooks
# must not gate them (a webhook outage would then block system pods).
SYSTEM_NAMESPACES: frozenset[str] = frozenset(
    {"kube-system", "kube-public", "kube-node-lease", "gatekeeper-system", "gke-managed-system"}
)
RESERVED_NAMESPACES: frozenset[str] = SYSTEM_NAMESPACES | {"default"}
# The system namespaces every Kubernetes cluster creates itself ("Initial namespaces",
# kubernetes.io/docs/concepts/overview/working-with-objects/namespaces), so a patch of an
# existing object can label them; gke-managed-system is not guaranteed on every GKE version.
BUILTIN_NAMESPACES: frozenset[str] = frozenset({"kube-system", "kube-public", "kube-node-lease"})
# The namespace label Gatekeeper's webhooks skip; `exemptNamespaces` only *allows* setting it
# (open-policy-agent.github.io/gatekeeper/website/docs/exempt-namespaces).
GATEKEEPER_IGNORE_LABEL = "admission.gatekeeper.sh/ignore"


# --------------------------------------------------------------------------- pulumi-kubernetes
# What `pulumi up` asks the API server for, per applied object, besides the object itself.
# Source: pulumi-kubernetes provider/pkg/await (mirror tag v4.32.0; notes issue10-facts g):
# informers are per namespace (await.go l.344) and list+watch, reads use get/list;
# Deployment (deployment.go l.163-253): replicasets, pods, persistentvolumeclaims;
# Service (service.go l.136-185): endpoints (core, not EndpointSlices);
# Ingress (ingress.go l.115-177): services, endpoints; Secrets other than
# service-account-token return at once (awaiters.go l.431-). Every create/update/delete also
# lists+watches core `events` in the namespace (NewEventAggregator, await.go l.352).
# Keyed by (API group, kind); values are (API group, resource) pairs read with AWAIT_VERBS.
AWAIT_READS = MappingProxyType(
    {
        ("apps", "Deployment"): (
            ("apps", "deployments"),
            ("apps", "replicasets"),
            ("", "pods"),
            ("", "persistentvolumeclaims"),
        ),
        ("", "Service"): (("", "services"), ("", "endpoints")),
        ("networking.k8s.io", "Ingress"): (
            ("networking.k8s.io", "ingresses"),
            ("", "services"),
            ("", "endpoints"),
        ),
    }
)
AWAIT_EVENTS: tuple[str, str] = ("", "events")
AWAIT_VERBS: tuple[str, ...] = ("get", "list", "watch")
# Server-side apply creates and patches; refresh reads; replacements update; destroy deletes.
APPLY_VERBS: tuple[str, ...] = ("create", "delete", "get", "patch", "update")


def resource_of(kind: str) -> str:
    """A kind's REST resource name: lowercase plural (`Ingress` -> `ingresses`,
    `NetworkPolicy` -> `networkpolicies`), as Kubernetes' default pluralization does."""
    lower = kind.lower()
    if lower == "endpoints":  # already plural
        return lower
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    return lower + "s"
