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


def deploy_round2_cases(
    case: Callable[..., Any],
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
    ]
