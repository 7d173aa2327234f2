"""Bob's deployment of the signed harness in his namespace (seed 003 step 14).

The pod runs the image by digest under the workload service account, as non-root on a
read-only root filesystem, with no command/args override, an env allowlist only, and just
two secret volumes: its TLS pair and the bearer token (mounted as a directory, so a
rotated token reaches the running harness without a restart).

It scales on the engine already there (issue 12): an optional HorizontalPodAutoscaler on
CPU, a PodDisruptionBudget that never blocks a node drain, soft spread across zones, and a
one-pod rollout surge the tenant quota is sized for (components/tenant_sandbox.py). The
harness trusts X-Forwarded-For from the load balancer only, and runs one worker per core
of its CPU limit.

The Kubernetes objects are built by the pure functions below (`harness_pod_spec`,
`deployment_spec`, `autoscaler_spec`, `disruption_budget_spec`, `service_spec`,
`ingress_spec`...), which tests call without mocks; the component only registers them.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from components._common import as_args, child, secret_inputs, secret_outputs, token
from harness import contract
from policy.facts import (
    BY_DIGEST_HINT,
    FRONTEND_CONFIG_ANNOTATION,
    GOOGLE_FRONT_END_CIDRS,
    IMAGE_BY_DIGEST,
    STATIC_IP_ANNOTATION,
    WhenUnsatisfiable,
    cpu_millis,
)

# Every object of the workload is called this in its namespace; the Gatekeeper and
# NetworkPolicy rules select the pods by label (contract.SELECTOR_LABELS), not by name.
NAME = "harness"
TOKEN_SECRET = "harness-token"
TLS_SECRET = "harness-tls"
# The port the Service (and through it the load balancer) speaks HTTPS on.
SERVICE_PORT = 443
# Files in the two secret volumes: readable by the harness's group only.
SECRET_FILE_MODE = 0o440
# A rolling update starts one new pod before it stops an old one (maxUnavailable 0), so a
# release never drops below the running count; the tenant quota holds room for it.
ROLLOUT_SURGE = 1
ZONE_KEY = "topology.kubernetes.io/zone"
# A budget that names neither bound evicts at most this many pods at once.
DEFAULT_MAX_UNAVAILABLE = 1


WHEN_UNSATISFIABLE = tuple(WhenUnsatisfiable)


@dataclass
class Autoscaling:
    """HorizontalPodAutoscaler bounds; CPU utilization is relative to the pod's request."""

    min_replicas: int | None = 2
    """The fewest harness pods."""
    max_replicas: int | None = 3
    """The most harness pods (the tenant quota must hold them plus one rollout surge pod)."""
    cpu_target_percent: int | None = 70
    """Average CPU utilization the HPA aims for, in percent of the pod's request (1-100)."""


@dataclass
class DisruptionBudget:
    """At most this many harness pods evicted at once (node drains, upgrades).

    maxUnavailable rather than minAvailable by default: with one replica, minAvailable 1 would
    block every drain forever, while maxUnavailable 1 still lets the node go. At most one of
    the two; neither means maxUnavailable 1 (a null cannot travel from another language, so
    "min_available instead" is said by giving min_available alone)."""

    max_unavailable: int | None = None
    """Most harness pods evicted at once (at least 1); 1 when neither bound is given."""
    min_available: int | None = None
    """Instead of maxUnavailable: fewest harness pods kept (below the minimum replica count)."""


@dataclass
class ZoneSpread:
    """Harness pods spread across zones (a topology spread constraint on the zone label)."""

    max_skew: int | None = 1
    """Most pods one zone may run beyond another (at least 1)."""
    when_unsatisfiable: WhenUnsatisfiable | None = WhenUnsatisfiable.SCHEDULE_ANYWAY
    """What the scheduler does when the zones are out of balance."""
    enabled: bool | None = True
    """False: no spread constraint. Python may pass `zone_spread=None` instead; another
    language cannot (a null input never reaches the component: it takes the default)."""


@dataclass
class HarnessWorkloadArgs:
    """Where the signed harness runs, what it serves, its secrets, its size and how it scales."""

    namespace: pulumi.Input[str]
    """The tenant namespace (the TenantSandbox's `namespaceName`)."""
    service_account: pulumi.Input[str]
    """The workload Kubernetes service account (Workload Identity to the model reader)."""
    image: str
    """The signed harness image, by digest (`<repository>@sha256:<64 hex>`)."""
    host: str
    """The DNS name the Ingress serves over HTTPS."""
    model_uri: pulumi.Input[str]
    """The sealed model object, `gs://<bucket>/<object>`."""
    kms_key_uri: pulumi.Input[str]
    """The key that unwraps the model's keyset, `gcp-kms://projects/.../cryptoKeys/<key>`."""
    ssl_policy: pulumi.Input[str]
    """The compute SSL policy (TLS 1.2+, MODERN/RESTRICTED) of the cluster project that the
    load balancer uses; GCLB's default policy allows TLS 1.0 (issue 10)."""
    model_sha256: str | None = None
    """The model plaintext's SHA-256 the harness must verify before serving."""
    replicas: int | None = 2
    """Harness pods, unless `autoscaling` is given (then the HPA owns the count)."""
    rate_limit_per_minute: int | None = 100
    """Requests per client per minute (1-100000)."""
    memory: str | None = "2Gi"
    """Each pod's memory, request = limit (a Kubernetes quantity)."""
    cpu: str | None = "1"
    """Each pod's CPU, request = limit (a Kubernetes quantity); one worker per whole core."""
    token: pulumi.Input[str] | None = None
    """The bearer token clients present; absent: generated (and kept secret in state)."""
    tls_certificate: pulumi.Input[str] | None = None
    """The serving certificate (PEM), with `tlsPrivateKey`; absent: a self-signed one."""
    tls_private_key: pulumi.Input[str] | None = None
    """The serving certificate's private key (PEM), with `tlsCertificate`."""
    autoscaling: Autoscaling | None = None
    """HPA bounds on CPU; absent: a fixed `replicas`."""
    disruption_budget: DisruptionBudget | None = field(default_factory=DisruptionBudget)
    """The PodDisruptionBudget's bound; absent: maxUnavailable 1."""
    zone_spread: ZoneSpread | None = field(default_factory=ZoneSpread)
    """Spread across zones; absent: skew 1, ScheduleAnyway. Python None or `enabled: false`: off."""
    trusted_proxies: Sequence[str] | None = GOOGLE_FRONT_END_CIDRS
    """CIDRs whose X-Forwarded-For hops are believed: the load balancer's proxies."""
    ingress_address: pulumi.Input[str] | None = None
    """The Ingress's external address, which the load balancer appends to X-Forwarded-For
    after the client's; trusted as a /32 (see trusted_proxy_cidrs). Pass the reserved global
    address's output (IngressAddress.address) so no copied value can go stale."""
    ingress_address_name: str | None = None
    """The reserved global address the Ingress takes by name
    (`kubernetes.io/ingress.global-static-ip-name`); unset, GKE picks an ephemeral IP."""


def max_replicas(args: HarnessWorkloadArgs) -> int:
    """The most harness pods that run outside a rollout: the HPA's ceiling, or the fixed count."""
    return args.autoscaling.max_replicas if args.autoscaling else args.replicas


def min_replicas(args: HarnessWorkloadArgs) -> int:
    return args.autoscaling.min_replicas if args.autoscaling else args.replicas


def _check_scale(args: HarnessWorkloadArgs) -> None:
    """Refuse an HPA that cannot hold, a budget that blocks drains, an unknown spread mode."""
    scale = args.autoscaling
    if scale and not 1 <= scale.min_replicas <= scale.max_replicas:
        raise ValueError(
            f"autoscaling needs 1 <= min_replicas <= max_replicas, got "
            f"{scale.min_replicas}..{scale.max_replicas}"
        )
    if scale and not 1 <= scale.cpu_target_percent <= 100:
        raise ValueError(f"cpu_target_percent must be 1..100, got {scale.cpu_target_percent}")
    budget = args.disruption_budget or DisruptionBudget()
    if budget.max_unavailable is not None and budget.min_available is not None:
        raise ValueError("disruption_budget takes one of max_unavailable, min_available, not both")
    if budget.max_unavailable is not None and budget.max_unavailable < 1:
        raise ValueError("disruption_budget.max_unavailable below 1 would block every node drain")
    if budget.min_available is not None and budget.min_available >= min_replicas(args):
        raise ValueError(
            f"disruption_budget.min_available {budget.min_available} would block node drains "
            f"at {min_replicas(args)} replica(s); use a smaller value or max_unavailable"
        )
    spread = spreading(args)
    if spread and (spread.when_unsatisfiable not in WHEN_UNSATISFIABLE or spread.max_skew < 1):
        raise ValueError(
            f"zone_spread needs max_skew >= 1 and when_unsatisfiable in {WHEN_UNSATISFIABLE}"
        )


def spreading(args: HarnessWorkloadArgs) -> ZoneSpread | None:
    """The zone spread in force: None when Python passed None or another language `enabled: false`."""
    spread = args.zone_spread
    return spread if spread is not None and spread.enabled is not False else None


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
    _check_scale(args)
    workers(args.cpu)  # a malformed CPU quantity fails here, not in the pod


def workers(cpu: str) -> int:
    """Serving processes for a CPU limit: whole cores, at least one.

    The harness defaults to os.cpu_count(), which in a pod is the node's core count, not
    the limit: more workers than cores only adds memory (~11 MiB each, harness/README.md)
    and CFS throttling."""
    return max(1, cpu_millis(cpu) // 1000)


def trusted_proxy_cidrs(args: HarnessWorkloadArgs) -> list[str]:
    """The load balancer's proxy ranges, plus the Ingress's own address as a /32.

    Google's load balancer appends `<client IP>, <forwarding rule IP>` to X-Forwarded-For
    (https://cloud.google.com/load-balancing/docs/https#x-forwarded-for_header) and the
    harness takes the rightmost hop it does not trust; without the forwarding rule's address
    every client would resolve to it and share one rate-limit bucket."""
    cidrs = list(args.trusted_proxies)
    if isinstance(args.ingress_address, str) and args.ingress_address:
        cidrs.append(f"{args.ingress_address}/32")
    return cidrs


def trusted_proxies_value(args: HarnessWorkloadArgs) -> pulumi.Input[str]:
    """HARNESS_TRUSTED_PROXIES: known now for a plain address, else once the address is."""
    if args.ingress_address is None or isinstance(args.ingress_address, str):
        return ",".join(trusted_proxy_cidrs(args))
    fixed = list(args.trusted_proxies)
    return pulumi.Output.from_input(args.ingress_address).apply(
        lambda address: ",".join([*fixed, f"{address}/32"])
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
        {"name": contract.ENV_TRUSTED_PROXIES, "value": trusted_proxies_value(args)},
        {"name": contract.ENV_WORKERS, "value": str(workers(args.cpu))},
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
        **(
            {"topologySpreadConstraints": zone_spread(spread)}
            if (spread := spreading(args))
            else {}
        ),
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


def zone_spread(spread: ZoneSpread) -> list[dict[str, Any]]:
    """Harness pods spread across zones, so one zone's outage leaves the others serving."""
    return [
        {
            "maxSkew": spread.max_skew,
            "topologyKey": ZONE_KEY,
            # The enum's plain string, whether the caller gave the member or its value.
            "whenUnsatisfiable": WhenUnsatisfiable(spread.when_unsatisfiable).value,
            "labelSelector": {"matchLabels": contract.SELECTOR_LABELS},
        }
    ]


def deployment_spec(args: HarnessWorkloadArgs) -> dict[str, Any]:
    """The Deployment's spec: the harness pod, selected by the pod labels, rolled one surge pod
    at a time. Under autoscaling `replicas` is left out, so `pulumi up` never resets the
    count the HPA chose (the HPA raises a new Deployment to its minimum)."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": contract.POD_LABELS},
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": ROLLOUT_SURGE, "maxUnavailable": 0},
        },
        "template": {
            "metadata": {"labels": contract.POD_LABELS},
            "spec": harness_pod_spec(args),
        },
    }
    if args.autoscaling is None:
        spec = {"replicas": args.replicas, **spec}
    return spec


def autoscaler_spec(scale: Autoscaling) -> dict[str, Any]:
    """autoscaling/v2 HorizontalPodAutoscaler on the harness Deployment's CPU utilization."""
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": NAME},
        "minReplicas": scale.min_replicas,
        "maxReplicas": scale.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {
                        "type": "Utilization",
                        "averageUtilization": scale.cpu_target_percent,
                    },
                },
            }
        ],
    }


def disruption_budget_spec(budget: DisruptionBudget) -> dict[str, Any]:
    """policy/v1 PodDisruptionBudget over the harness pods.

    Unhealthy pods (still decrypting, or failing) may always be evicted: they serve nobody,
    and guarding them would only stall a drain."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": contract.SELECTOR_LABELS},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }
    if budget.min_available is not None:
        spec["minAvailable"] = budget.min_available
    else:
        spec["maxUnavailable"] = (
            DEFAULT_MAX_UNAVAILABLE if budget.max_unavailable is None else budget.max_unavailable
        )
    return spec


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


def ingress_metadata(namespace: str, address_name: str | None = None) -> dict[str, Any]:
    """A GCE Ingress that serves no plain HTTP, uses the workload's FrontendConfig and, when
    given, the reserved global address."""
    annotations = {
        "kubernetes.io/ingress.class": "gce",
        "kubernetes.io/ingress.allow-http": "false",
        FRONTEND_CONFIG_ANNOTATION: NAME,
    }
    if address_name:
        annotations[STATIC_IP_ANNOTATION] = address_name
    return metadata(namespace, annotations=annotations)


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


@secret_outputs("token")
@secret_inputs("token", "tls_private_key")
class HarnessWorkload(pulumi.ComponentResource):
    """Token and TLS Secrets, the hardened Deployment (HPA, PDB), a ClusterIP Service, an HTTPS-only Ingress."""

    url: pulumi.Output[str]
    """Where clients reach the harness: `https://<host>`."""
    token: pulumi.Output[str]
    """The bearer token clients present (secret)."""
    certificate: pulumi.Output[str]
    """The serving certificate (PEM) clients trust."""

    def __init__(
        self, name: str, args: HarnessWorkloadArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(HarnessWorkloadArgs, args)
        check_args(args)
        ns = args.namespace
        super().__init__(token("harness_workload", "HarnessWorkload"), name, None, opts)

        bearer, cert, key = self._secrets(name, args)
        self.token_secret: k8s.core.v1.Secret = k8s.core.v1.Secret(
            f"{name}-token",
            metadata=metadata(ns, TOKEN_SECRET),
            type="Opaque",
            string_data={"token": pulumi.Output.secret(bearer)},
            opts=child(self),
        )
        self.tls_secret: k8s.core.v1.Secret = k8s.core.v1.Secret(
            f"{name}-tls",
            metadata=metadata(ns, TLS_SECRET),
            type="kubernetes.io/tls",
            string_data={"tls.crt": cert, "tls.key": pulumi.Output.secret(key)},
            opts=child(self),
        )
        self.deployment: k8s.apps.v1.Deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata(ns),
            spec=deployment_spec(args),
            opts=child(self, depends_on=[self.token_secret, self.tls_secret]),
        )
        self._register_scale(name, args)
        self.service: k8s.core.v1.Service = k8s.core.v1.Service(
            f"{name}-service", metadata=service_metadata(ns), spec=service_spec(), opts=child(self)
        )
        self.frontend_config: k8s.apiextensions.CustomResource = k8s.apiextensions.CustomResource(
            f"{name}-frontend",
            api_version="networking.gke.io/v1beta1",
            kind="FrontendConfig",
            metadata=metadata(ns),
            spec=frontend_spec(args),
            opts=child(self),
        )
        self.ingress: k8s.networking.v1.Ingress = k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata=ingress_metadata(ns, args.ingress_address_name),
            spec=ingress_spec(args),
            opts=child(self, depends_on=[self.service, self.frontend_config]),
        )
        self.token = pulumi.Output.secret(bearer)
        self.certificate = pulumi.Output.from_input(cert)
        self.url = pulumi.Output.from_input(f"https://{args.host}")
        self.register_outputs(
            {"url": self.url, "token": self.token, "certificate": self.certificate}
        )

    def _register_scale(self, name: str, args: HarnessWorkloadArgs) -> None:
        """The HPA (when autoscaling is on) and the disruption budget, beside the Deployment."""
        self.autoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler | None = None
        if args.autoscaling is not None:
            self.autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler",
                metadata=metadata(args.namespace),
                spec=autoscaler_spec(args.autoscaling),
                opts=child(self, depends_on=[self.deployment]),
            )
        self.disruption_budget: k8s.policy.v1.PodDisruptionBudget = (
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-disruption-budget",
                metadata=metadata(args.namespace),
                spec=disruption_budget_spec(args.disruption_budget or DisruptionBudget()),
                opts=child(self),
            )
        )

    def _secrets(
        self, name: str, args: HarnessWorkloadArgs
    ) -> tuple[pulumi.Input[str], pulumi.Input[str], pulumi.Input[str]]:
        """The given token and TLS pair, or generated ones (kept secret in state)."""
        bearer = args.token
        if bearer is None:
            bearer = random.RandomPassword(
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
        return bearer, cert, key
