"""Issue 10's GCP-side review rules on the real dev plan: it passes each of them, and one change
to it fails the rule with a message naming the resource, what is wrong and what is needed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policy.rules import Status, select_rules
from tests.policy.conftest import CLUSTER_PROJECT, MODEL_PROJECT

RULES = [
    "services-before-use",
    "webhook-reachable",
    "google-apis-resolvable",
    "exfiltration-perimeter",
]
C = 'gcp:container/cluster:Cluster "cluster-cluster"'
PERIMETER = 'gcp:accesscontextmanager/servicePerimeter:ServicePerimeter "perimeter-perimeter"'
GOOGLEAPIS_ZONE = 'gcp:dns/managedZone:ManagedZone "cluster-googleapis-com-zone"'
RESTRICTED_A = '["199.36.153.4", "199.36.153.5", "199.36.153.6", "199.36.153.7"]'
WEBHOOK = (
    f"{C}: privateClusterConfig.enablePrivateNodes is true and no INGRESS "
    "gcp:compute/firewall:Firewall admits the control plane (172.16.0.16/28) to the nodes on "
    "tcp:8443; Gatekeeper's webhook times out and, with failurePolicy Fail, every write is "
    "rejected"
)


def run(name: str, resources: list[dict[str, Any]]) -> tuple[Status, list[str]]:
    (rule,) = select_rules([name])
    result = rule.run(resources)
    return result.status, [v.message for v in result.violations]


@pytest.mark.parametrize("name", RULES)
def test_dev_plan_passes_and_is_judged(valid_resources, name):
    # Judged, not skipped: dev has the cluster, the zones, the firewall and the perimeter.
    assert run(name, valid_resources) == (Status.PASS, [])


def remove(resources: list[dict[str, Any]], name: str) -> None:
    (index,) = [i for i, r in enumerate(resources) if r["name"] == name]
    del resources[index]


def drop_dependencies(resources: list[dict[str, Any]], name: str) -> None:
    (resource,) = [r for r in resources if r["name"] == name]
    resource["dependencies"] = []


Change = Callable[[list[dict[str, Any]], Callable[..., Any]], None]

CASES: list[tuple[str, str, Change, str]] = [
    (
        "repository-does-not-wait-for-its-api",
        "services-before-use",
        lambda rs, _: drop_dependencies(rs, "registry-repository"),
        'gcp:artifactregistry/repository:Repository "registry-repository": dependencies do not '
        'include gcp:projects/service:Service "harness-apis-artifactregistry" '
        '(artifactregistry.googleapis.com in project "b-demo-harness"); the first `pulumi up` '
        "races the API enablement",
    ),
    (
        "key-ring-does-not-wait-for-kms",
        "services-before-use",
        lambda rs, _: drop_dependencies(rs, "model-key-ring"),
        'gcp:kms/keyRing:KeyRing "model-key-ring": dependencies do not include '
        'gcp:projects/service:Service "model-apis-cloudkms" (cloudkms.googleapis.com in project '
        f'"{MODEL_PROJECT}"); the first `pulumi up` races the API enablement',
    ),
    (
        "model-stack-does-not-enable-storage",
        "services-before-use",
        lambda rs, _: remove(rs, "model-apis-storage"),
        'gcp:storage/bucket:Bucket "model-bucket": uses storage.googleapis.com in project '
        f'"{MODEL_PROJECT}", which this plan does not enable there; add a '
        "gcp:projects/service:Service for it and depend on it (a fresh project has it off)",
    ),
    (
        "cluster-project-does-not-enable-dns",
        "services-before-use",
        lambda rs, _: remove(rs, "project-dns"),
        'gcp:dns/managedZone:ManagedZone "cluster-pkg-dev-zone": uses dns.googleapis.com in '
        f'project "{CLUSTER_PROJECT}", which this plan does not enable there; add a '
        "gcp:projects/service:Service for it and depend on it (a fresh project has it off)",
    ),
    (
        "no-webhook-firewall",
        "webhook-reachable",
        lambda rs, _: remove(rs, "cluster-webhook-firewall"),
        WEBHOOK,
    ),
    (
        "firewall-on-the-wrong-port",
        "webhook-reachable",
        lambda rs, m: m(rs, "cluster-webhook-firewall", "allows[0].ports", ["443"]),
        WEBHOOK,
    ),
    (
        "firewall-from-the-wrong-range",
        "webhook-reachable",
        lambda rs, m: m(rs, "cluster-webhook-firewall", "sourceRanges", ["10.0.0.0/8"]),
        WEBHOOK,
    ),
    (
        "firewall-for-other-instances",
        "webhook-reachable",
        lambda rs, m: m(
            rs,
            "cluster-webhook-firewall",
            "targetServiceAccounts",
            ["bastion@ab-demo-cluster.iam.gserviceaccount.com"],
        ),
        WEBHOOK,
    ),
    (
        "no-pkg-dev-zone",
        "google-apis-resolvable",
        lambda rs, _: remove(rs, "cluster-pkg-dev-zone"),
        f"{C}: no private gcp:dns/managedZone:ManagedZone for pkg.dev. is visible on network "
        '"cluster-network-id"; pods reach Google APIs only through the VIPs their NetworkPolicy '
        "allows, and nothing resolves the API names there",
    ),
    (
        "no-gcr-io-zone",
        "google-apis-resolvable",
        lambda rs, _: remove(rs, "cluster-gcr-io-zone"),
        f"{C}: no private gcp:dns/managedZone:ManagedZone for gcr.io. is visible on network "
        '"cluster-network-id"; pods reach Google APIs only through the VIPs their NetworkPolicy '
        "allows, and nothing resolves the API names there",
    ),
    (
        "googleapis-zone-public",
        "google-apis-resolvable",
        lambda rs, m: m(rs, "cluster-googleapis-com-zone", "visibility", "public"),
        f"{C}: no private gcp:dns/managedZone:ManagedZone for googleapis.com. is visible on "
        'network "cluster-network-id"; pods reach Google APIs only through the VIPs their '
        "NetworkPolicy allows, and nothing resolves the API names there",
    ),
    (
        "a-record-outside-the-vip",
        "google-apis-resolvable",
        lambda rs, m: m(rs, "cluster-googleapis-com-a", "rrdatas", ["8.8.8.8"]),
        f'{GOOGLEAPIS_ZONE}: record restricted.googleapis.com. A is ["8.8.8.8"]; every address '
        "must be in a Google API VIP range the NetworkPolicy egress allows (199.36.153.4/30, "
        "199.36.153.8/30)",
    ),
    (
        "cname-to-the-public-name",
        "google-apis-resolvable",
        lambda rs, m: m(rs, "cluster-googleapis-com-cname", "rrdatas", ["googleapis.com."]),
        f'{GOOGLEAPIS_ZONE}: record *.googleapis.com. CNAME is ["googleapis.com."]; it must be '
        "['restricted.googleapis.com.']",
    ),
    (
        "network-policy-allows-only-the-private-vip",
        "google-apis-resolvable",
        lambda rs, m: m(
            rs,
            "tenant-bob-allow-google-apis",
            "spec.egress[0].to",
            [{"ipBlock": {"cidr": "199.36.153.8/30"}}],
        ),
        f"{GOOGLEAPIS_ZONE}: record restricted.googleapis.com. A is {RESTRICTED_A}; every "
        "address must be in a Google API VIP range the NetworkPolicy egress allows "
        "(199.36.153.8/30)",
    ),
    (
        "perimeter-leaves-kms-open",
        "exfiltration-perimeter",
        lambda rs, m: m(
            rs, "perimeter-perimeter", "status.restrictedServices", ["storage.googleapis.com"]
        ),
        f'{PERIMETER}: status.restrictedServices is ["storage.googleapis.com"]; the enforced '
        "perimeter must restrict cloudkms.googleapis.com, storage.googleapis.com (missing "
        "cloudkms.googleapis.com)",
    ),
    (
        "perimeter-holds-one-project",
        "exfiltration-perimeter",
        lambda rs, m: m(rs, "perimeter-perimeter", "status.resources", ["projects/344938913219"]),
        f'{PERIMETER}: status.resources is ["projects/344938913219"]; it must list the model '
        "project and the cluster project as projects/<project number>",
    ),
    (
        "perimeter-is-a-bridge",
        "exfiltration-perimeter",
        lambda rs, m: m(rs, "perimeter-perimeter", "perimeterType", "PERIMETER_TYPE_BRIDGE"),
        f'{PERIMETER}: perimeterType is "PERIMETER_TYPE_BRIDGE"; only a regular perimeter '
        "restricts services",
    ),
    (
        "perimeter-without-the-cluster-project",
        "exfiltration-perimeter",
        lambda rs, _: drop_dependencies(rs, "perimeter-perimeter"),
        f"{PERIMETER}: status.resources does not take the number of cluster project "
        f'"{CLUSTER_PROJECT}" (it does not depend on that project); the cluster must be inside '
        "the perimeter",
    ),
]


@pytest.mark.parametrize(("case", "rule", "change", "message"), CASES, ids=[c[0] for c in CASES])
def test_one_change_fails_the_rule(valid_resources, mutate, case, rule, change, message):
    change(valid_resources, mutate)
    status, messages = run(rule, valid_resources)
    assert status is Status.FAIL, case
    assert message in messages, messages


def test_iam_grant_on_another_partys_resource_is_not_judged(valid_resources):
    """Without the model stack's resources (the cluster stack alone), the grants on Alice's key,
    bucket and attestor are on another party's resources, whose stack enables those APIs."""
    kept = [r for r in valid_resources if not r["name"].startswith(("model-", "attestor-"))]
    grants = {
        "workload-identity-decrypter",
        "workload-identity-object-viewer",
        "binauthz-verifier-0",
    }
    assert grants <= {r["name"] for r in kept}
    assert run("services-before-use", kept) == (Status.PASS, [])


def test_a_stack_that_enables_nothing_fails(valid_resources):
    """The old model stack: resources in Alice's project and no enablement at all there."""
    kept = [r for r in valid_resources if not r["name"].startswith("model-apis-")]
    status, messages = run("services-before-use", kept)
    assert status is Status.FAIL
    assert (
        'gcp:kms/keyRing:KeyRing "model-key-ring": uses cloudkms.googleapis.com in project '
        f'"{MODEL_PROJECT}", which this plan does not enable there; add a '
        "gcp:projects/service:Service for it and depend on it (a fresh project has it off)"
    ) in messages, messages


def test_perimeter_rule_is_not_applicable_without_a_perimeter(valid_resources):
    remove(valid_resources, "perimeter-perimeter")
    assert run("exfiltration-perimeter", valid_resources) == (Status.NOT_APPLICABLE, [])
