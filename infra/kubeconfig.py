"""Kubeconfigs that authenticate with the caller's own Google identity (gke-gcloud-auth-plugin).

Seed 004 handed users long-lived service account tokens; here nobody holds a token: each
person's kubectl asks gcloud for a short-lived one, and IAM + RBAC decide the rest.
"""

from __future__ import annotations

import yaml


def render(
    cluster_name: str, endpoint: str, ca_certificate_b64: str, namespace: str | None = None
) -> str:
    """A kubeconfig for one cluster, optionally defaulting to a tenant namespace."""
    context: dict[str, str] = {"cluster": cluster_name, "user": "gke"}
    if namespace:
        context["namespace"] = namespace
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {
                    "server": f"https://{endpoint}",
                    "certificate-authority-data": ca_certificate_b64,
                },
            }
        ],
        "contexts": [{"name": cluster_name, "context": context}],
        "current-context": cluster_name,
        "users": [
            {
                "name": "gke",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "gke-gcloud-auth-plugin",
                        "provideClusterInfo": True,
                        "interactiveMode": "IfAvailable",
                    }
                },
            }
        ],
    }
    return yaml.safe_dump(document, sort_keys=False)
