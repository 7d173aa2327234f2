"""Failing cases for the issue 10 Kubernetes-side rules (policy/rules/deploy_k8s.py): one change
each to the real dev plan, with the message it must produce. `test_policy_rules` runs them with
every other case (`deploy_k8s_cases(Case, Change, set_, delete)` builds them with its helpers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.policy.conftest import CLUSTER_PROJECT, NODE_SA

CHART = 'kubernetes:helm.sh/v4:Chart "gatekeeper-chart"'
DEPLOY = 'kubernetes:apps/v1:Deployment "harness-deployment"'
ROLE = 'kubernetes:rbac.authorization.k8s.io/v1:Role "tenant-bob-role"'
SSL = 'gcp:compute/sSLPolicy:SSLPolicy "tls-ssl-policy"'
FRONTEND = 'kubernetes:networking.gke.io/v1beta1:FrontendConfig "harness-frontend"'
INGRESS = 'kubernetes:networking.k8s.io/v1:Ingress "harness-ingress"'
GK_DIGEST = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
GK_MIRROR = f"us-central1-docker.pkg.dev/{CLUSTER_PROJECT}/mirror/gatekeeper@{GK_DIGEST}"
HARNESS = (
    "us-central1-docker.pkg.dev/b-demo-harness/repo1/harness@sha256:"
    "79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"
)
# The tenant Role's rules with the FrontendConfig row left out, and with pods/log added back.
APPLY = ["create", "delete", "get", "patch", "update"]
APPLY_AWAIT = ["create", "delete", "get", "list", "patch", "update", "watch"]
READ = ["get", "list", "watch"]
ROLE_ROWS: list[dict[str, Any]] = [
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": APPLY_AWAIT},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": READ},
    {"apiGroups": [""], "resources": ["services"], "verbs": APPLY_AWAIT},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": APPLY_AWAIT},
    {
        "apiGroups": [""],
        "resources": ["pods", "persistentvolumeclaims", "endpoints", "events"],
        "verbs": READ,
    },
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": APPLY_AWAIT},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": APPLY_AWAIT},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": APPLY_AWAIT},
]
WITH_LOGS = [
    *ROLE_ROWS,
    {"apiGroups": ["networking.gke.io"], "resources": ["frontendconfigs"], "verbs": APPLY_AWAIT},
    {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
]
# The Role as it was before deletions were awaited: secrets without list and watch.
NO_DELETE_AWAIT: list[dict[str, Any]] = [
    {**row, "verbs": APPLY} if row["resources"] == ["secrets"] else row for row in WITH_LOGS[:-1]
]


def deploy_k8s_cases(
    case: Callable[..., Any],
    change: Callable[..., Any],
    set_: Callable[..., Any],
    delete: Callable[..., Any],
) -> list[Any]:
    """The cases, built with test_policy_rules' `Case`, `Change` and change helpers."""
    return [
        # images-pullable
        case(
            "gatekeeper-from-docker-hub",
            "images-pullable",
            set_(
                "gatekeeper-chart",
                "values.image.repository",
                f"docker.io/openpolicyagent/gatekeeper@{GK_DIGEST}",
            ),
            f'{CHART}: values.image.repository is "docker.io/openpolicyagent/gatekeeper@{GK_DIGEST}"; '
            "private nodes pull only from Artifact Registry, by digest: "
            "<location>-docker.pkg.dev/<project>/<repo>/<image>@sha256:<64 hex>",
        ),
        case(
            "harness-repo-unreadable-by-nodes",
            "images-pullable",
            change("remove", "registry-reader-0"),
            f'{DEPLOY}: spec.template.spec.containers[0].image is "{HARNESS}"; node service '
            f"account serviceAccount:{NODE_SA} has no Artifact Registry read role on "
            "b-demo-harness/repo1",
        ),
        case(
            "gatekeeper-allowlisted-by-another-digest",
            "images-pullable",
            set_(
                "binauthz-policy",
                "admissionWhitelistPatterns[0].namePattern",
                GK_MIRROR.replace("sha256:00000000", "sha256:11111111"),
            ),
            f'{CHART}: values.image.repository is "{GK_MIRROR}"; Binary Authorization must '
            "allowlist exactly this digest reference (admissionWhitelistPatterns[].namePattern)",
        ),
        # tenant-can-deploy
        case(
            "tenant-cannot-create-frontendconfig",
            "tenant-can-deploy",
            set_("tenant-bob-role", "rules", ROLE_ROWS),
            f"{ROLE}: does not let bob@example.com create networking.gke.io/frontendconfigs in "
            'ns1, needed to apply FrontendConfig "harness"',
        ),
        case(
            "tenant-cannot-await-secret-deletion",
            "tenant-can-deploy",
            set_("tenant-bob-role", "rules", NO_DELETE_AWAIT),
            f"{ROLE}: does not let bob@example.com list core/secrets in ns1, needed to "
            'await the deletion of Secret "harness-tls"',
        ),
        case(
            "tenant-reads-logs",
            "tenant-can-deploy",
            set_("tenant-bob-role", "rules", WITH_LOGS),
            f"{ROLE}: lets bob@example.com get core/pods/log in ns1, which applying and "
            "awaiting the tenant's objects does not need",
            # logs are beyond the design's tenant Role too
            frozenset({"rbac-exact-rules"}),
        ),
        # system-namespaces-exempt
        case(
            "kube-system-not-labelled",
            "system-namespaces-exempt",
            change("remove", "gatekeeper-ignore-kube-system"),
            f"{CHART}: namespace kube-system carries no admission.gatekeeper.sh/ignore label "
            "(no Namespace or NamespacePatch sets it); fail-closed webhooks would gate its pods",
        ),
        case(
            "system-namespace-not-exempt",
            "system-namespaces-exempt",
            set_(
                "gatekeeper-chart",
                "values.controllerManager.exemptNamespaces",
                ["gatekeeper-system", "kube-system"],
            ),
            f'{CHART}: values.controllerManager.exemptNamespaces is ["gatekeeper-system", '
            '"kube-system"]; it must list every system namespace (missing gke-managed-system, '
            "gmp-public, gmp-system, kube-node-lease, kube-public)",
        ),
        case(
            "gmp-namespaces-gated-by-the-webhook",
            "system-namespaces-exempt",
            set_(
                "gatekeeper-chart",
                (
                    "values",
                    "validatingWebhookExemptNamespacesLabels",
                    "kubernetes.io/metadata.name",
                ),
                [
                    "gatekeeper-system",
                    "gke-managed-system",
                    "kube-node-lease",
                    "kube-public",
                    "kube-system",
                ],
            ),
            f"{CHART}: values.validatingWebhookExemptNamespacesLabels[kubernetes.io/metadata.name]"
            ' is ["gatekeeper-system", "gke-managed-system", "kube-node-lease", "kube-public", '
            '"kube-system"]; it must list every GKE-managed and system namespace (missing '
            "gmp-public, gmp-system)",
        ),
        # lb-tls-policy
        case(
            "ssl-policy-compatible",
            "lb-tls-policy",
            set_("tls-ssl-policy", "profile", "COMPATIBLE"),
            f'{SSL}: profile is "COMPATIBLE" and minTlsVersion "TLS_1_2"; a sandbox load '
            "balancer needs profile MODERN or RESTRICTED and minTlsVersion TLS_1_2 or TLS_1_3",
        ),
        case(
            "ssl-policy-tls10",
            "lb-tls-policy",
            set_("tls-ssl-policy", "minTlsVersion", "TLS_1_0"),
            f'{SSL}: profile is "MODERN" and minTlsVersion "TLS_1_0"; a sandbox load '
            "balancer needs profile MODERN or RESTRICTED and minTlsVersion TLS_1_2 or TLS_1_3",
        ),
        case(
            "frontend-without-ssl-policy",
            "lb-tls-policy",
            delete("harness-frontend", "spec.sslPolicy"),
            f"{FRONTEND}: spec.sslPolicy is unset; name the TLS 1.2+ SSL policy of the cluster "
            "project (the default allows TLS 1.0)",
        ),
        case(
            "ingress-without-frontend",
            "lb-tls-policy",
            delete(
                "harness-ingress",
                ("metadata", "annotations", "networking.gke.io/v1beta1.FrontendConfig"),
            ),
            f"{INGRESS}: annotation networking.gke.io/v1beta1.FrontendConfig is unset; it must "
            "name a FrontendConfig of this plan in the same namespace",
        ),
    ]
