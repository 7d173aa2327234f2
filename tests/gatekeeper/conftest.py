"""Fixtures for the Gatekeeper tests: the shipped templates, a tenant's constraints, and a valid
harness Deployment that every failing case changes in exactly one place.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from components import gatekeeper_policy as gk

NAMESPACE = "ns1"
KSA = "tee-sa"
REPO = "us-central1-docker.pkg.dev/b-demo-harness/repo1"
DIGEST = "sha256:79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"
OTHER_DIGEST = "sha256:" + "0123456789abcdef" * 4
HARNESS_IMAGE = f"{REPO}/harness@{DIGEST}"
HELPER_IMAGE = f"{REPO}/helper@{OTHER_DIGEST}"
K8S_VERSION = "1.30"

HARNESS_ENV = {
    "MODEL_URI": "gs://a-demo-model-bucket/my_model.tar.gz.enc",
    "KMS_KEY_URI": "gcp-kms://projects/a-demo-model/locations/us-central1/keyRings/mykeyring/cryptoKeys/key1",
    "MODEL_SHA256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "HARNESS_PORT": "8443",
    "HARNESS_TLS_DIR": "/etc/harness/tls",
    "HARNESS_TOKEN_FILE": "/etc/harness/token/token",
    "HARNESS_RATE_LIMIT": "20",
}

HARDENED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "capabilities": {"drop": ["ALL"]},
}


def harness_pod_spec() -> dict[str, Any]:
    """The approved harness pod: workload KSA, no token, one hardened container, two secrets."""
    return {
        "serviceAccountName": KSA,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "fsGroup": 10001,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "harness",
                "image": HARNESS_IMAGE,
                "ports": [{"name": "https", "containerPort": 8443}],
                "env": [{"name": k, "value": v} for k, v in HARNESS_ENV.items()],
                "volumeMounts": [
                    {"name": "tls", "mountPath": "/etc/harness/tls", "readOnly": True},
                    {"name": "token", "mountPath": "/etc/harness/token", "readOnly": True},
                    {"name": "scratch", "mountPath": "/tmp"},
                ],
                "readinessProbe": {"httpGet": {"path": "/check", "port": 8443, "scheme": "HTTPS"}},
                "resources": {
                    "requests": {"cpu": "500m", "memory": "1Gi"},
                    "limits": {"cpu": "2", "memory": "4Gi"},
                },
                "securityContext": copy.deepcopy(HARDENED),
            }
        ],
        "volumes": [
            {"name": "tls", "secret": {"secretName": "harness-tls"}},
            {"name": "token", "secret": {"secretName": "harness-token"}},
            {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        ],
    }


def harness_deployment() -> dict[str, Any]:
    """The Deployment Bob is allowed to apply in ns1."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "harness", "namespace": NAMESPACE, "labels": {"app": "harness"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "harness"}},
            "template": {"metadata": {"labels": {"app": "harness"}}, "spec": harness_pod_spec()},
        },
    }


def helper_pod() -> dict[str, Any]:
    """A hardened pod of the tenant that does not run as the workload KSA (image not approved)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "helper", "namespace": NAMESPACE},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "helper",
                    "image": HELPER_IMAGE,
                    "command": ["/helper", "--serve"],
                    "env": [{"name": "LOG_LEVEL", "value": "debug"}],
                    "securityContext": copy.deepcopy(HARDENED),
                }
            ],
        },
    }


def wrap(kind: str, pod_spec: dict[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """`pod_spec` as the pod (template) of a schema-valid object of `kind`."""
    meta = {"name": "harness", "namespace": namespace, "labels": {"app": "harness"}}
    template = {"metadata": {"labels": {"app": "harness"}}, "spec": pod_spec}
    selector = {"matchLabels": {"app": "harness"}}
    job_template = {
        "metadata": {"labels": {"app": "harness"}},
        "spec": {**pod_spec, "restartPolicy": "Never"},
    }
    builders: dict[str, Callable[[], dict[str, Any]]] = {
        "Pod": lambda: {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec},
        "Deployment": lambda: {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {"selector": selector, "template": template},
        },
        "ReplicaSet": lambda: {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": meta,
            "spec": {"selector": selector, "template": template},
        },
        "StatefulSet": lambda: {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": meta,
            "spec": {"selector": selector, "serviceName": "harness", "template": template},
        },
        "DaemonSet": lambda: {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": meta,
            "spec": {"selector": selector, "template": template},
        },
        "Job": lambda: {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta,
            "spec": {"template": job_template},
        },
        "CronJob": lambda: {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": meta,
            "spec": {
                "schedule": "*/5 * * * *",
                "jobTemplate": {"spec": {"template": job_template}},
            },
        },
        "ReplicationController": lambda: {
            "apiVersion": "v1",
            "kind": "ReplicationController",
            "metadata": meta,
            "spec": {"selector": {"app": "harness"}, "template": template},
        },
    }
    return copy.deepcopy(builders[kind]())


WORKLOAD_KINDS = (
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
)


def service(svc_type: str | None, namespace: str = NAMESPACE) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"app": "harness"},
        "ports": [{"port": 443, "targetPort": 8443}],
    }
    if svc_type is not None:
        spec["type"] = svc_type
    if svc_type == "ExternalName":
        spec = {"type": "ExternalName", "externalName": "metadata.google.internal"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "harness", "namespace": namespace},
        "spec": spec,
    }


def tenant(namespace: str = NAMESPACE, **overrides: Any) -> gk.TenantAdmission:
    """The tenant settings the tests use: ns1, Bob's repo, tee-sa with the approved digest."""
    settings: dict[str, Any] = {
        "namespace": namespace,
        "allowed_repos": (REPO,),
        "workload_service_account": KSA,
        "approved_digests": (DIGEST,),
    }
    settings.update(overrides)
    return gk.TenantAdmission(**settings)


@pytest.fixture(scope="session")
def templates() -> list[dict[str, Any]]:
    return gk.constraint_templates()


@pytest.fixture(scope="session")
def ns1_constraints() -> list[dict[str, Any]]:
    return gk.constraints(tenant())


@pytest.fixture
def deployment() -> dict[str, Any]:
    """A fresh copy of the approved harness Deployment, safe to change."""
    return harness_deployment()
