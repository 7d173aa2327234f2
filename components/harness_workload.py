"""Bob's deployment of the signed harness in his namespace (seed 003 step 14).

The pod runs the image by digest under the workload service account, as non-root on a
read-only root filesystem, with no command/args override, an env allowlist only, and just
two secret volumes: its TLS pair and the bearer token (mounted as a directory, so a
rotated token reaches the running harness without a restart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from components._common import child

IMAGE_BY_DIGEST = re.compile(r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$")
HARNESS_PORT = 8443
HARNESS_UID = 65532
TLS_DIR = "/etc/harness/tls"
TOKEN_DIR = "/etc/harness/token"
LABELS = {"app.kubernetes.io/name": "harness", "app.kubernetes.io/part-of": "gke-sandbox"}


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
    ssl_policy: str | None = None


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
        if not IMAGE_BY_DIGEST.match(args.image):
            raise ValueError(
                f"image {args.image!r} must be pinned by digest (<repo>@sha256:<64 hex>)"
            )
        if (args.tls_certificate is None) != (args.tls_private_key is None):
            raise ValueError("tls_certificate and tls_private_key go together")
        if not 1 <= args.rate_limit_per_minute <= 100_000:
            raise ValueError("rate_limit_per_minute must be 1..100000")
        ns = args.namespace
        super().__init__("gke-sandbox:harness_workload:HarnessWorkload", name, None, opts)

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

        self.token_secret = k8s.core.v1.Secret(
            f"{name}-token",
            metadata={"name": "harness-token", "namespace": ns, "labels": LABELS},
            type="Opaque",
            string_data={"token": pulumi.Output.secret(token)},
            opts=child(self),
        )
        self.tls_secret = k8s.core.v1.Secret(
            f"{name}-tls",
            metadata={"name": "harness-tls", "namespace": ns, "labels": LABELS},
            type="kubernetes.io/tls",
            string_data={"tls.crt": cert, "tls.key": pulumi.Output.secret(key)},
            opts=child(self),
        )
        env = [
            {"name": "MODEL_URI", "value": args.model_uri},
            {"name": "KMS_KEY_URI", "value": args.kms_key_uri},
            {"name": "HARNESS_PORT", "value": str(HARNESS_PORT)},
            {"name": "HARNESS_TLS_DIR", "value": TLS_DIR},
            {"name": "HARNESS_TOKEN_FILE", "value": f"{TOKEN_DIR}/token"},
            {"name": "HARNESS_RATE_LIMIT", "value": str(args.rate_limit_per_minute)},
        ]
        if args.model_sha256:
            env.append({"name": "MODEL_SHA256", "value": args.model_sha256})
        probe = {"httpGet": {"path": "/readyz", "port": HARNESS_PORT, "scheme": "HTTPS"}}
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": "harness", "namespace": ns, "labels": LABELS},
            spec={
                "replicas": args.replicas,
                "selector": {"matchLabels": LABELS},
                "template": {
                    "metadata": {"labels": LABELS},
                    "spec": {
                        "serviceAccountName": args.service_account,
                        # Workload Identity tokens come from the GKE metadata server, not a volume.
                        "automountServiceAccountToken": False,
                        "enableServiceLinks": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": HARNESS_UID,
                            "runAsGroup": HARNESS_UID,
                            "fsGroup": HARNESS_UID,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "harness",
                                "image": args.image,
                                "ports": [{"name": "https", "containerPort": HARNESS_PORT}],
                                "env": env,
                                "volumeMounts": [
                                    {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                                    {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
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
                                "startupProbe": {
                                    **probe,
                                    "periodSeconds": 5,
                                    "failureThreshold": 120,
                                },
                                "readinessProbe": {**probe, "periodSeconds": 10},
                                "livenessProbe": {
                                    "httpGet": {
                                        "path": "/healthz",
                                        "port": HARNESS_PORT,
                                        "scheme": "HTTPS",
                                    },
                                    "periodSeconds": 20,
                                },
                            }
                        ],
                        "volumes": [
                            {
                                "name": "tls",
                                "secret": {"secretName": "harness-tls", "defaultMode": 0o440},
                            },
                            {
                                "name": "token",
                                "secret": {"secretName": "harness-token", "defaultMode": 0o440},
                            },
                        ],
                    },
                },
            },
            opts=child(self, depends_on=[self.token_secret, self.tls_secret]),
        )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={
                "name": "harness",
                "namespace": ns,
                "labels": LABELS,
                "annotations": {
                    # Container-native load balancing, and HTTPS from the load balancer to the pod.
                    "cloud.google.com/neg": '{"ingress": true}',
                    "cloud.google.com/app-protocols": '{"https": "HTTPS"}',
                },
            },
            spec={
                "type": "ClusterIP",
                "selector": LABELS,
                "ports": [{"name": "https", "port": 443, "targetPort": HARNESS_PORT}],
            },
            opts=child(self),
        )
        frontend_spec: dict = {"redirectToHttps": {"enabled": True}}
        if args.ssl_policy:
            frontend_spec["sslPolicy"] = args.ssl_policy
        self.frontend_config = k8s.apiextensions.CustomResource(
            f"{name}-frontend",
            api_version="networking.gke.io/v1beta1",
            kind="FrontendConfig",
            metadata={"name": "harness", "namespace": ns, "labels": LABELS},
            spec=frontend_spec,
            opts=child(self),
        )
        self.ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={
                "name": "harness",
                "namespace": ns,
                "labels": LABELS,
                "annotations": {
                    "kubernetes.io/ingress.class": "gce",
                    "kubernetes.io/ingress.allow-http": "false",
                    "networking.gke.io/v1beta1.FrontendConfig": "harness",
                },
            },
            spec={
                "tls": [{"hosts": [args.host], "secretName": "harness-tls"}],
                "rules": [
                    {
                        "host": args.host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": "harness", "port": {"number": 443}}
                                    },
                                }
                            ]
                        },
                    }
                ],
            },
            opts=child(self, depends_on=[self.service, self.frontend_config]),
        )
        self.token = pulumi.Output.secret(token)
        self.certificate = pulumi.Output.from_input(cert)
        self.url = f"https://{args.host}"
        self.register_outputs(
            {"url": self.url, "token": self.token, "certificate": self.certificate}
        )
