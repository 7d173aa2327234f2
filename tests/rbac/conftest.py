"""Builders for RBAC manifests, so each test states exactly the objects it is about."""

from __future__ import annotations

from typing import Any

import pytest

from policy.rbac import UserInfo

Obj = dict[str, Any]
API = "rbac.authorization.k8s.io/v1"
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
READ = ["get", "list", "watch"]


def rule(
    verbs: list[str],
    groups: list[str] | None = None,
    resources: list[str] | None = None,
    names: list[str] | None = None,
    urls: list[str] | None = None,
) -> Obj:
    out: Obj = {"verbs": verbs}
    if groups is not None:
        out["apiGroups"] = groups
    if resources is not None:
        out["resources"] = resources
    if names is not None:
        out["resourceNames"] = names
    if urls is not None:
        out["nonResourceURLs"] = urls
    return out


def role(name: str, namespace: str, *rules: Obj) -> Obj:
    return {
        "apiVersion": API,
        "kind": "Role",
        "metadata": {"name": name, "namespace": namespace},
        "rules": list(rules),
    }


def cluster_role(
    name: str, *rules: Obj, labels: dict[str, str] | None = None, aggregate: list[Obj] | None = None
) -> Obj:
    out: Obj = {
        "apiVersion": API,
        "kind": "ClusterRole",
        "metadata": {"name": name},
        "rules": list(rules),
    }
    if labels:
        out["metadata"]["labels"] = labels
    if aggregate is not None:
        out["aggregationRule"] = {"clusterRoleSelectors": aggregate}
    return out


def user(name: str) -> Obj:
    return {"kind": "User", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def group(name: str) -> Obj:
    return {"kind": "Group", "name": name, "apiGroup": "rbac.authorization.k8s.io"}


def sa(name: str, namespace: str | None = None) -> Obj:
    out = {"kind": "ServiceAccount", "name": name}
    if namespace is not None:
        out["namespace"] = namespace
    return out


def role_binding(name: str, namespace: str, role_kind: str, role_name: str, *subjects: Obj) -> Obj:
    return {
        "apiVersion": API,
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role_name},
        "subjects": list(subjects),
    }


def cluster_role_binding(name: str, role_name: str, *subjects: Obj) -> Obj:
    return {
        "apiVersion": API,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role_name,
        },
        "subjects": list(subjects),
    }


def tenant_rbac(namespace: str, username: str) -> list[Obj]:
    """A tenant Role as issue 5 item 3 describes it, bound to one user in its own namespace."""
    return [
        role(
            "tenant",
            namespace,
            rule(WRITE, ["apps"], ["deployments"]),
            rule(WRITE, [""], ["services", "configmaps", "secrets"]),
            rule(WRITE, ["networking.k8s.io"], ["ingresses"]),
            rule(READ, [""], ["pods", "pods/log", "events"]),
            rule(READ, ["events.k8s.io"], ["events"]),
        ),
        role_binding("tenant", namespace, "Role", "tenant", user(username)),
    ]


BOB = UserInfo.user("bob@example.com")
CAROL = UserInfo.user("carol@example.com")


@pytest.fixture
def two_tenants() -> list[Obj]:
    return tenant_rbac("ns1", "bob@example.com") + tenant_rbac("ns2", "carol@example.com")
