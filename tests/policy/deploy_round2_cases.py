"""Failing cases for the second deploy-ready round's rules (policy/rules/iam_names.py,
gatekeeper_release.py): one change each to the real dev plan, with the message it must produce.
`test_policy_rules` runs them with every other case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CHART = 'kubernetes:helm.sh/v4:Chart "gatekeeper-chart"'
VIEWER = 'gcp:projects/iAMMember:IAMMember "tenant-iam-bob-cluster-viewer-0"'
DENY = 'gcp:iam/denyPolicy:DenyPolicy "folder-deny"'
CUSTOM = 'gcp:projects/iAMCustomRole:IAMCustomRole "made-up-role"'
INGRESS = 'kubernetes:networking.k8s.io/v1:Ingress "harness-ingress"'
DEPLOY = 'kubernetes:apps/v1:Deployment "harness-deployment"'
PERIMETER = 'gcp:accesscontextmanager/servicePerimeter:ServicePerimeter "perimeter-perimeter"'
STATIC_IP = "kubernetes.io/ingress.global-static-ip-name"
GK_IMAGE = (
    "us-central1-docker.pkg.dev/ab-demo-cluster/mirror/gatekeeper@sha256:"
    "0000000000000000000000000000000000000000000000000000000000000000"
)
CI = "serviceAccount:gke-sandbox-deploy@a-demo-model.iam.gserviceaccount.com"


def deploy_round2_cases(
    case: Callable[..., Any],
    change: Callable[..., Any],
    set_: Callable[..., Any],
    add: Callable[..., Any],
) -> list[Any]:
    """The cases, built with test_policy_rules' `Case` and change helpers."""
    return [
        case(
            "role-name-typo",
            "iam-names-exist",
            set_("tenant-iam-bob-cluster-viewer-0", "role", "roles/storage.objectReaderX"),
            f'{VIEWER}: role "roles/storage.objectReaderX" is not a predefined role in '
            "Google's catalogue",
            frozenset({"iam-exact-grants"}),
        ),
        case(
            "deny-permission-that-does-not-exist",
            "iam-names-exist",
            set_(
                "folder-deny",
                "rules[0].denyRule.deniedPermissions[0]",
                "iam.googleapis.com/serviceAccountKeys.upload",
            ),
            f'{DENY}: rules[0].denyRule.deniedPermissions[0] "iam.googleapis.com/'
            'serviceAccountKeys.upload" does not exist (iam.serviceAccountKeys.upload is in no '
            "predefined role)",
        ),
        case(
            "custom-role-made-up-permission",
            "iam-names-exist",
            add(
                "folder-deny",
                "gcp:projects/iAMCustomRole:IAMCustomRole",
                "made-up-role",
                {
                    "project": "ab-demo-cluster",
                    "roleId": "madeUp",
                    "title": "made up",
                    "permissions": ["storage.objects.get", "storage.objects.teleport"],
                },
            ),
            f'{CUSTOM}: permissions[1] is "storage.objects.teleport"; no such IAM permission '
            "in Google's catalogue",
        ),
        case(
            "gatekeeper-out-of-support",
            "gatekeeper-release-supported",
            set_("gatekeeper-chart", "version", "3.15.0"),
            f'{CHART}: version is "3.15.0"; Gatekeeper supports only its current and previous '
            "minor releases (3.22, 3.23), and only those are assumed to work with the "
            "Kubernetes versions GKE's REGULAR channel runs",
        ),
        # ingress-static-address
        case(
            "ingress-ephemeral-address",
            "ingress-static-address",
            set_("harness-ingress", ("metadata", "annotations", STATIC_IP), ""),
            f'{INGRESS}: metadata.annotations[{STATIC_IP}] is ""; name the global address '
            "reserved for it, or the load balancer gets an ephemeral IP that the harness cannot "
            "trust and that changes on every re-create",
        ),
        case(
            "trusted-proxies-hand-copied",
            "ingress-static-address",
            change("field", "harness-deployment", "dependencies", []),
            f"{DEPLOY}: HARNESS_TRUSTED_PROXIES is not fed from the reserved address "
            '"sandbox-ingress" (the workload does not depend on it); pass the address '
            "resource's output, not a copied IP",
        ),
        # gatekeeper-after-mirror
        case(
            "gatekeeper-in-the-same-up-as-its-mirror",
            "gatekeeper-after-mirror",
            set_("deploy-facts", "gatekeeper.mirrored", False),
            f'{CHART}: values.image.repository "{GK_IMAGE}" is in a repository this plan '
            "creates, and the plan does not record it as copied there "
            "(sandbox.gatekeeper.mirrored); stage the stack: first `up` with mirrored false, "
            "copy the image, then true",
        ),
        # cross-org-grants
        case(
            "tenant-grant-without-customer-id",
            "cross-org-grants",
            set_("deploy-facts", "allowedCustomerIds.cluster", []),
            f'{VIEWER}: member "user:bob@example.com" is a principal of the tenants\' '
            "organization; where iam.allowedPolicyMemberDomains is enforced this grant fails "
            "unless that organization's customer ID is allowed: list it in "
            "cluster.allowedCustomerIds and in the policy",
        ),
        # ci-identity-in-perimeter
        case(
            "ci-identity-outside-the-perimeter",
            "ci-identity-in-perimeter",
            set_(
                "perimeter-perimeter",
                "status.ingressPolicies[0].ingressFrom.identities",
                ["user:alice@example.com"],
            ),
            f'{PERIMETER}: the CI deploy identity "{CI}" is not an ingress identity '
            '(status.ingressPolicies[].ingressFrom.identities is ["user:alice@example.com"]); '
            "add it to cluster.perimeter.ingressIdentities",
        ),
    ]
