"""One failing case per settings rule (policy/rules/settings.py) in the shape `test_policy_rules`
runs every rule's case in (`settings_cases(Case, Change, set_)` builds them with its helpers):
exactly that rule fails, with the message `test_settings_rules` asserts for the same change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.policy.test_settings_rules import CASES, OTHER_KEY, POD

_BY_ID = {case.id: case for case in CASES}

# (case id in test_settings_rules, rule, resource, path, value); path "protect" is the option.
_CHANGES: tuple[tuple[str, str, str, Any, Any], ...] = (
    (
        "mutable-tags",
        "registry-immutable-tags",
        "registry-repository",
        "dockerConfig.immutableTags",
        False,
    ),
    ("default-network", "project-defaults-safe", "project-project", "autoCreateNetwork", True),
    (
        "deny-nobody",
        "deny-policy-effective",
        "folder-deny",
        "rules[0].denyRule.deniedPrincipals",
        [],
    ),
    (
        "legacy-metadata",
        "gke-legacy-metadata-off",
        "cluster-pool",
        ("nodeConfig", "metadata", "disable-legacy-endpoints"),
        "false",
    ),
    (
        "dns-endpoint-tokens",
        "gke-dns-endpoint-iam-only",
        "cluster-cluster",
        "controlPlaneEndpointsConfig.dnsEndpointConfig.enableK8sTokensViaDns",
        True,
    ),
    (
        "authorized-anywhere",
        "gke-authorized-networks",
        "cluster-cluster",
        "masterAuthorizedNetworksConfig.cidrBlocks[0].cidrBlock",
        "0.0.0.0/0",
    ),
    (
        "pod-security-latest",
        "tenant-pod-security",
        "tenant-bob-namespace",
        ("metadata", "labels", "pod-security.kubernetes.io/enforce-version"),
        "latest",
    ),
    (
        "secret-world-readable",
        "secret-volumes-private",
        "harness-deployment",
        f"{POD}.volumes[1].secret.defaultMode",
        0o444,
    ),
    (
        "perimeter-no-identity",
        "perimeter-ingress-named",
        "perimeter-perimeter",
        "status.ingressPolicies[0].ingressFrom.identities",
        [],
    ),
    (
        "private-vip-cname",
        "google-apis-restricted-vip",
        "cluster-googleapis-com-cname",
        "rrdatas",
        ["private.googleapis.com."],
    ),
    (
        "attestor-key-not-from-plan",
        "attestor-one-reviewed-key",
        "attestor-attestor",
        "attestationAuthorityNote.publicKeys[0].id",
        OTHER_KEY,
    ),
    (
        "harness-told-another-digest",
        "harness-knows-model-digest",
        "harness-deployment",
        f"{POD}.containers[0].env[8].value",
        "b" * 64,
    ),
    ("signing-key-unprotected", "attestor-key-protected", "attestor-signing-key", "protect", False),
)


_ALSO = {
    # a CNAME to private.googleapis.com. also leaves the name without an A record in the zone
    "private-vip-cname": frozenset({"google-apis-resolvable"}),
    # no ingress identity at all also leaves out CI's deploy identity
    "perimeter-no-identity": frozenset({"ci-identity-in-perimeter"}),
}


def settings_cases(
    case: Callable[..., Any], change: Callable[..., Any], set_: Callable[..., Any]
) -> list[Any]:
    """The cases, built with test_policy_rules' Case/Change/set_."""
    out = []
    for case_id, rule, target, path, value in _CHANGES:
        made = (
            change("field", target, path, value) if path == "protect" else set_(target, path, value)
        )
        out.append(
            case(case_id, rule, made, _BY_ID[case_id].message, _ALSO.get(case_id, frozenset()))
        )
    return out
