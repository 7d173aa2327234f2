"""Bob's deployment of the signed harness in his namespace (seed 003 step 14).

The pod runs the image by digest under the workload service account, as non-root on a
read-only root filesystem, with no command/args override, an env allowlist only, and just
two secret volumes: its TLS pair and the bearer token (mounted as a directory, so a
rotated token reaches the running harness without a restart).

The Kubernetes objects are built by the pure functions below (`harness_pod_spec`,
`deployment_spec`, `service_spec`, `ingress_spec`...), which tests call without mocks; the
component only registers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from components._common import child
from harness import contract
from policy.facts import BY_DIGEST_HINT, FRONTEND_CONFIG_ANNOTATION, IMAGE_BY_DIGEST

# Every object of the workload is called this in its namespace; the Gatekeeper and
# NetworkPolicy rules select the pods by label (contract.SELECTOR_LABELS), not by name.
NAME = "harness"
TOKEN_SECRET = "harness-token"
TLS_SECRET = "harness-tls"
# The port the Service (and through it the load balancer) speaks HTTPS on.
SERVICE_PORT = 443
# Files in the two secret volumes: readable by the harness's group only.
SECRET_FILE_MODE = 0o440


@dataclass
class HarnessWorkloadArgs:
    namespace: str
    service_account: str
    image: str
    host: str
    model_uri: pulumi.Input[str]
    kms_key_uri: pulumi.Input[str]
    model_sha256: str | None = None
    replicas: int = 2
    rate_limit_per_minute: int = 100
    memory: str = "2Gi"
    cpu: str = "1"
    # Bring your own secrets, or let the component generate them (kept secret in state).
    token: pulumi.Input[str] | None = None
    tls_certificate: pulumi.Input[str] | None = None
    tls_private_key: pulumi.Input[str] | None = None
    # Name of the compute SSL policy (TLS 1.2+, MODERN/RESTRICTED) in the cluster project; GCLB's
    # default policy allows TLS 1.0 (issue 10). Required: see check_args.
    ssl_policy: pulumi.Input[str] | None = None


def check_args(args: HarnessWorkloadArgs) -> None:
    """Refuse what would deploy an unsigned image or a half-configured harness."""
    if not IMAGE_BY_DIGEST.match(args.image):
        raise ValueError(f"image {args.image!r} must be pinned by digest ({BY_DIGEST_HINT})")
    if args.ssl_policy is None:
        raise ValueError("ssl_policy is required: the load balancer would accept TLS 1.0")
    if (args.tls_certificate is None) != (args.tls_private_key is None):
        raise ValueError("tls_certificate and tls_private_key go together")
    if not 1 <= args.rate_limit_per_minute <= 100_000:
        raise ValueError(
            f"rate_limit_per_minute must be 1..100000, got {args.rate_limit_per_minute}"
        )


def metadata(namespace: str, name: str = NAME, **extra: Any) -> dict[str, Any]:
    """Object metadata of every workload object: its name, the tenant namespace, the pod labels."""
    return {"name": name, "namespace": namespace, "labels": contract.POD_LABELS, **extra}


def harness_env(args: HarnessWorkloadArgs) -> list[dict[str, Any]]:
    """The container's whole environment: the image's documented variables, nothing else."""
    env: list[dict[str, Any]] = [
        {"name": contract.ENV_MODEL_URI, "value": args.model_uri},
        {"name": contract.ENV_KMS_KEY_URI, "value": args.kms_key_uri},
        {"name": contract.ENV_PORT, "value": str(contract.PORT)},
        {"name": contract.ENV_TLS_DIR, "value": contract.TLS_DIR},
        {"name": contract.ENV_TOKEN_FILE, "value": contract.TOKEN_FILE},
        {"name": contract.ENV_RATE_LIMIT, "value": str(args.rate_limit_per_minute)},
    ]
    if args.model_sha256:
        env.append({"name": contract.ENV_MODEL_SHA256, "value": args.model_sha256})
    return env


def _https_probe(path: str, **timing: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": contract.PORT, "scheme": "HTTPS"},
        **timing,
    }


def harness_container(args: HarnessWorkloadArgs) -> dict[str, Any]:
    """The one container: the signed image as built (no command/args), unprivileged, probed."""
    return {
        "name": NAME,
        "image": args.image,
        "ports": [{"name": contract.PORT_NAME, "containerPort": contract.PORT}],
        "env": harness_env(args),
        "volumeMounts": [
            {"name": "tls", "mountPath": contract.TLS_DIR, "readOnly": True},
            {"name": "token", "mountPath": contract.TOKEN_DIR, "readOnly": True},
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {
            "requests": {"cpu": args.cpu, "memory": args.memory},
            "limits": {"cpu": args.cpu, "memory": args.memory},
        },
        # Decrypting a large model takes a while: up to 10 minutes before liveness counts.
        "startupProbe": _https_probe(
            contract.READINESS_PATH, periodSeconds=5, failureThreshold=120
        ),
        "readinessProbe": _https_probe(contract.READINESS_PATH, periodSeconds=10),
        "livenessProbe": _https_probe(contract.LIVENESS_PATH, periodSeconds=20),
    }


def harness_pod_spec(args: HarnessWorkloadArgs) -> dict[str, Any]:
    """The pod: the workload KSA, no token volume, non-root, the two secret volumes only."""
    return {
        "serviceAccountName": args.service_account,
        # Workload Identity tokens come from the GKE metadata server, not a volume.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": contract.UID,
            "runAsGroup": contract.UID,
            "fsGroup": contract.UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [harness_container(args)],
        "volumes": [
            {
                "name": "tls",
                "secret": {"secretName": TLS_SECRET, "defaultMode": SECRET_FILE_MODE},
            },
            {
                "name": "token",
                "secret": {"secretName": TOKEN_SECRET, "defaultMode": SECRET_FILE_MODE},
            },
        ],
    }


def deployment_spec(args: HarnessWorkloadArgs) -> dict[str, Any]:
    """The Deployment's spec: `replicas` copies of the harness pod, selected by the pod labels."""
    return {
        "replicas": args.replicas,
        "selector": {"matchLabels": contract.POD_LABELS},
        "template": {
            "metadata": {"labels": contract.POD_LABELS},
            "spec": harness_pod_spec(args),
        },
    }


def service_metadata(namespace: str) -> dict[str, Any]:
    """Container-native load balancing, and HTTPS from the load balancer to the pod."""
    return metadata(
        namespace,
        annotations={
            "cloud.google.com/neg": '{"ingress": true}',
            "cloud.google.com/app-protocols": '{"https": "HTTPS"}',
        },
    )


def service_spec() -> dict[str, Any]:
    """ClusterIP only: the Ingress is the one way in."""
    return {
        "type": "ClusterIP",
        "selector": contract.POD_LABELS,
        "ports": [{"name": contract.PORT_NAME, "port": SERVICE_PORT, "targetPort": contract.PORT}],
    }


def frontend_spec(args: HarnessWorkloadArgs) -> dict[str, Any]:
    """GKE FrontendConfig: the TLS 1.2+ SSL policy, and any plain HTTP redirected.

    Fields from "Ingress configuration on Google Cloud"
    (https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration):
    `spec.sslPolicy` names a compute SSL policy; `redirectToHttps` answers HTTP with a 301.
    """
    return {
        "sslPolicy": args.ssl_policy,
        "redirectToHttps": {"enabled": True, "responseCodeName": "MOVED_PERMANENTLY_DEFAULT"},
    }


def ingress_metadata(namespace: str) -> dict[str, Any]:
    """A GCE Ingress that serves no plain HTTP and uses the workload's FrontendConfig."""
    return metadata(
        namespace,
        annotations={
            "kubernetes.io/ingress.class": "gce",
            "kubernetes.io/ingress.allow-http": "false",
            FRONTEND_CONFIG_ANNOTATION: NAME,
        },
    )


def ingress_spec(args: HarnessWorkloadArgs) -> dict[str, Any]:
    """TLS for the one host, every path to the harness Service."""
    backend = {"service": {"name": NAME, "port": {"number": SERVICE_PORT}}}
    return {
        "tls": [{"hosts": [args.host], "secretName": TLS_SECRET}],
        "rules": [
            {
                "host": args.host,
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
            }
        ],
    }


class HarnessWorkload(pulumi.ComponentResource):
    """Token and TLS Secrets, the hardened Deployment, a ClusterIP Service, an HTTPS-only Ingress."""

    token_secret: k8s.core.v1.Secret
    tls_secret: k8s.core.v1.Secret
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    ingress: k8s.networking.v1.Ingress
    frontend_config: k8s.apiextensions.CustomResource

    def __init__(
        self, name: str, args: HarnessWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check_args(args)
        ns = args.namespace
        super().__init__("gke-sandbox:harness_workload:HarnessWorkload", name, None, opts)

        token, cert, key = self._secrets(name, args)
        self.token_secret = k8s.core.v1.Secret(
            f"{name}-token",
            metadata=metadata(ns, TOKEN_SECRET),
            type="Opaque",
            string_data={"token": pulumi.Output.secret(token)},
            opts=child(self),
        )
        self.tls_secret = k8s.core.v1.Secret(
            f"{name}-tls",
            metadata=metadata(ns, TLS_SECRET),
            type="kubernetes.io/tls",
            string_data={"tls.crt": cert, "tls.key": pulumi.Output.secret(key)},
            opts=child(self),
        )
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(ns),
            spec=deployment_spec(args),
            opts=child(self, depends_on=[self.token_secret, self.tls_secret]),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service", metadata=service_metadata(ns), spec=service_spec(), opts=child(self)
        )
        self.frontend_config = k8s.apiextensions.CustomResource(
            f"{name}-frontend",
            api_version="networking.gke.io/v1beta1",
            kind="FrontendConfig",
            metadata=metadata(ns),
            spec=frontend_spec(args),
            opts=child(self),
        )
        self.ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=ingress_metadata(ns),
            spec=ingress_spec(args),
            opts=child(self, depends_on=[self.service, self.frontend_config]),
        )
        self.token = pulumi.Output.secret(token)
        self.certificate = pulumi.Output.from_input(cert)
        self.url = f"https://{args.host}"
        self.register_outputs(
            {"url": self.url, "token": self.token, "certificate": self.certificate}
        )

    def _secrets(
        self, name: str, args: HarnessWorkloadArgs
    ) -> tuple[pulumi.Input[str], pulumi.Input[str], pulumi.Input[str]]:
        """The given token and TLS pair, or generated ones (kept secret in state)."""
        token = args.token
        if token is None:
            token = random.RandomPassword(
                f"{name}-token-value", length=48, special=False, opts=child(self)
            ).result
        cert, key = args.tls_certificate, args.tls_private_key
        if cert is None or key is None:
            private_key = tls.PrivateKey(
                f"{name}-tls-key", algorithm="ECDSA", ecdsa_curve="P256", opts=child(self)
            )
            cert = tls.SelfSignedCert(
                f"{name}-tls-cert",
                private_key_pem=private_key.private_key_pem,
                subject={"common_name": args.host, "organization": "gke-sandbox harness"},
                dns_names=[args.host],
                validity_period_hours=24 * 90,
                allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
                opts=child(self),
            ).cert_pem
            key = private_key.private_key_pem
        return token, cert, key
