"""The Kubernetes API resources a tenant could be granted, and the requests that run code as a
namespace's service accounts."""

from __future__ import annotations

from dataclasses import dataclass

from policy.facts import POD_SPEC_PATHS


@dataclass(frozen=True)
class ResourceType:
    """An API resource with its subresources, for enumerating what a subject may do."""

    api_group: str
    resource: str
    namespaced: bool
    subresources: tuple[str, ...] = ()


def _rt(group: str, resource: str, namespaced: bool, *subs: str) -> ResourceType:
    return ResourceType(group, resource, namespaced, subs)


# The resources a tenant could plausibly be granted, including every subresource that runs code,
# mints credentials or proxies traffic. Extend per call with `universe=` for CRDs.
KNOWN_RESOURCES: tuple[ResourceType, ...] = (
    _rt(
        "",
        "pods",
        True,
        "attach",
        "binding",
        "ephemeralcontainers",
        "eviction",
        "exec",
        "log",
        "portforward",
        "proxy",
        "resize",
        "status",
    ),
    _rt("", "services", True, "proxy", "status"),
    _rt("", "endpoints", True),
    _rt("", "configmaps", True),
    _rt("", "secrets", True),
    _rt("", "serviceaccounts", True, "token"),
    _rt("", "events", True),
    _rt("", "persistentvolumeclaims", True, "status"),
    _rt("", "podtemplates", True),
    _rt("", "replicationcontrollers", True, "scale", "status"),
    _rt("", "resourcequotas", True, "status"),
    _rt("", "limitranges", True),
    _rt("", "bindings", True),
    _rt("", "namespaces", False, "finalize", "status"),
    _rt("", "nodes", False, "proxy", "status"),
    _rt("", "persistentvolumes", False, "status"),
    _rt("", "users", False),
    _rt("", "groups", False),
    _rt("apps", "deployments", True, "scale", "status"),
    _rt("apps", "replicasets", True, "scale", "status"),
    _rt("apps", "statefulsets", True, "scale", "status"),
    _rt("apps", "daemonsets", True, "status"),
    _rt("apps", "controllerrevisions", True),
    _rt("batch", "jobs", True, "status"),
    _rt("batch", "cronjobs", True, "status"),
    _rt("autoscaling", "horizontalpodautoscalers", True, "status"),
    _rt("policy", "poddisruptionbudgets", True, "status"),
    _rt("networking.k8s.io", "ingresses", True, "status"),
    _rt("networking.k8s.io", "networkpolicies", True),
    _rt("networking.k8s.io", "ingressclasses", False),
    _rt("discovery.k8s.io", "endpointslices", True),
    _rt("events.k8s.io", "events", True),
    _rt("coordination.k8s.io", "leases", True),
    _rt("rbac.authorization.k8s.io", "roles", True),
    _rt("rbac.authorization.k8s.io", "rolebindings", True),
    _rt("rbac.authorization.k8s.io", "clusterroles", False),
    _rt("rbac.authorization.k8s.io", "clusterrolebindings", False),
    _rt("authorization.k8s.io", "localsubjectaccessreviews", True),
    _rt("authorization.k8s.io", "selfsubjectaccessreviews", False),
    _rt("authorization.k8s.io", "selfsubjectrulesreviews", False),
    _rt("authorization.k8s.io", "subjectaccessreviews", False),
    _rt("authentication.k8s.io", "tokenreviews", False),
    _rt("authentication.k8s.io", "selfsubjectreviews", False),
    _rt("authentication.k8s.io", "userextras", False, "scopes"),
    _rt("certificates.k8s.io", "certificatesigningrequests", False, "approval", "status"),
    _rt("admissionregistration.k8s.io", "validatingwebhookconfigurations", False),
    _rt("admissionregistration.k8s.io", "mutatingwebhookconfigurations", False),
    _rt("admissionregistration.k8s.io", "validatingadmissionpolicies", False, "status"),
    _rt("admissionregistration.k8s.io", "validatingadmissionpolicybindings", False),
    _rt("apiextensions.k8s.io", "customresourcedefinitions", False, "status"),
    _rt("storage.k8s.io", "storageclasses", False),
    _rt("scheduling.k8s.io", "priorityclasses", False),
    _rt("node.k8s.io", "runtimeclasses", False),
    _rt("templates.gatekeeper.sh", "constrainttemplates", False, "status"),
    _rt("constraints.gatekeeper.sh", "*", False),
    _rt("config.gatekeeper.sh", "configs", True),
    _rt("mutations.gatekeeper.sh", "assign", False),
    _rt("mutations.gatekeeper.sh", "assignmetadata", False),
)


# Requests that get code running under a namespace's service accounts: a pod may name any service
# account of its namespace, so whoever can create or change a pod or anything that stamps out pods
# (a changed pod template rolls new pods; a changed pod image restarts the container) can run as
# any of them; ephemeral containers, exec and attach run code inside existing pods.
_POD_STAMPING = tuple(
    (group, kind.lower() + "s") for kind, (group, _) in POD_SPEC_PATHS.items()
)  # the RBAC resource of a built-in kind is its lower-case plural ("replicationcontrollers")
RUN_AS_SERVICE_ACCOUNT_REQUESTS: tuple[tuple[str, str, str], ...] = (
    *(
        (verb, group, resource)
        for group, resource in _POD_STAMPING
        for verb in ("create", "update", "patch")
    ),
    ("update", "", "pods/ephemeralcontainers"),
    ("patch", "", "pods/ephemeralcontainers"),
    ("create", "", "pods/exec"),
    ("get", "", "pods/exec"),
    ("create", "", "pods/attach"),
    ("get", "", "pods/attach"),
)
