"""Kubeconfigs that authenticate with the caller's own Google identity (gke-gcloud-auth-plugin).

Seed 004 handed users long-lived service account tokens; here nobody holds a token: each
person's kubectl asks gcloud for a short-lived one, and IAM + RBAC decide the rest.
"""

from __future__ import annotations

import yaml

from policy.facts import GKE_DNS_ENDPOINT_SUFFIX


def is_dns_endpoint(endpoint: str) -> bool:
    """GKE's DNS-based control-plane endpoint (`<uid>.<location>.gke.goog`)."""
    return endpoint.rstrip(".").endswith(GKE_DNS_ENDPOINT_SUFFIX)


def render(
    cluster_name: str, endpoint: str, ca_certificate_b64: str, namespace: str | None = None
) -> str:
    """A kubeconfig for one cluster, optionally defaulting to a tenant namespace.

    The DNS endpoint is served by Google's front end with a publicly trusted certificate,
    not the cluster CA, so its kubeconfig carries no `certificate-authority-data` (public
    Terraform configs connect with `host = https://<dns endpoint>` and the auth plugin and no
    CA; Google's page on it was not re-read here). The IP endpoint is verified against the
    cluster's own CA.
    """
    server: dict[str, str] = {"server": f"https://{endpoint}"}
    if not is_dns_endpoint(endpoint):
        server["certificate-authority-data"] = ca_certificate_b64
    context: dict[str, str] = {"cluster": cluster_name, "user": "gke"}
    if namespace:
        context["namespace"] = namespace
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": server,
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
