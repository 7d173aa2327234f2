"""The access analysis' vocabulary: what a chain is made of, the role sets it follows, and
reading the plan's Kubernetes objects."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..rules.gcp_iam import (
    PUBLIC_MEMBERS,
)

Resource = Mapping[str, Any]

# Roles that can read object bytes when granted on the bucket or its project.
OBJECT_READ_ROLES = frozenset(
    {
        "roles/storage.objectViewer",
        "roles/storage.objectUser",
        "roles/storage.objectAdmin",
        "roles/storage.admin",
        "roles/storage.legacyObjectReader",
        "roles/storage.legacyObjectOwner",
        "roles/owner",
        "roles/editor",
        "roles/viewer",
    }
)
# GKE IAM roles that let their holder create workloads in any namespace, bypassing RBAC.
GKE_WRITE_ROLES = frozenset(
    {"roles/container.developer", "roles/container.admin", "roles/owner", "roles/editor"}
)
# The admission rules that together make "pods as the workload KSA" mean "the signed harness".
REQUIRED_WORKLOAD_CONSTRAINTS = (
    "SandboxApprovedDigests",
    "SandboxNoCommandOverride",
    "SandboxEnvAllowlist",
    "SandboxWorkloadVolumes",
    "SandboxWorkloadPodShape",
)
# RBAC requests that run code inside an existing pod (no admission rule sees the code).
_IN_POD_REQUESTS = ("core/pods/exec", "core/pods/attach", "core/pods/ephemeralcontainers")
LIMITS = (
    "Only what the plan declares is analysed: grants made outside it (organization IAM, "
    "manual gcloud), Kubernetes `system:masters`, and authorizers other than RBAC and the GKE "
    "IAM roles container.developer/admin, owner and editor are not modelled."
)

_OBJECT_CONDITION = re.compile(
    r'resource\.name\s*(==|\.startsWith\()\s*"projects/_/buckets/(?P<bucket>[^/"]+)/objects/(?P<object>[^"]*)"'
)


@dataclass(frozen=True)
class Hop:
    """One link of a chain, with the plan resource that makes it (when there is one)."""

    step: str  # iam-grant, impersonation, key, workload-identity, kubernetes, admission, ...
    detail: str
    urn: str | None = None


@dataclass(frozen=True)
class Goal:
    """What a path leads to: a target (a KMS key, a model object) and the capability on it."""

    target: str
    capability: str  # decrypt | read


@dataclass(frozen=True)
class Path:
    """A way for `principal` to use `capability` on `target`."""

    target: str
    capability: str  # decrypt | read
    principal: str
    principal_kind: str  # person, group, public, workload, service-account, unresolved
    hops: tuple[Hop, ...]
    flagged: bool
    verdict: str


@dataclass
class Report:
    targets: dict[str, str] = field(default_factory=dict)  # target -> capability
    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[Path]:
        return [p for p in self.paths if p.flagged]

    def paths_to(self, target: str) -> list[Path]:
        return [p for p in self.paths if p.target == target]


# -------------------------------------------------------------------------- plan helpers
def _text(value: Any) -> str | None:
    """Plans can hold anything where a string is expected; compare only real strings."""
    return value if isinstance(value, str) else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def kubernetes_objects(resources: Iterable[Resource]) -> list[dict[str, Any]]:
    """Plan resources that are Kubernetes objects, as manifests (apiVersion/kind first)."""
    objects = []
    for resource in resources:
        inputs = _map(resource.get("inputs"))
        if not str(resource.get("type", "")).startswith("kubernetes:"):
            continue
        if not _text(inputs.get("kind")) or not _text(inputs.get("apiVersion")):
            continue
        manifest = {"apiVersion": inputs["apiVersion"], "kind": inputs["kind"]}
        manifest.update({k: v for k, v in inputs.items() if k not in manifest})
        objects.append(manifest)
    return objects


def _inputs(resource: Resource) -> Mapping[str, Any]:
    return _map(resource.get("inputs"))


def key_id(resource: Resource) -> str | None:
    ins = _inputs(resource)
    ring, name = ins.get("keyRing"), ins.get("name")
    return f"{ring}/cryptoKeys/{name}" if isinstance(ring, str) and isinstance(name, str) else None


def _project_of_key(key: str) -> str | None:
    match = re.match(r"^projects/([^/]+)/", key)
    return match.group(1) if match else None


def _kind_of_member(member: str) -> str:
    if member in PUBLIC_MEMBERS:
        return "public"
    if member.startswith(("user:", "principal://goog/subject/")):
        return "person"
    if member.startswith(("group:", "domain:", "principalSet://")):
        return "group"
    return "unresolved"
