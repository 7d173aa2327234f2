"""Settings the program fixes and no rule used to look at: one change per setting, applied to the
real dev plan, must fail the named rule with its message (and the shipped plan passes them all).
Also: the model key and the signing key are found by what the plan wires them to, not by their
purpose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from policy.rules import evaluate
from policy.rules.engine import Status
from tests.policy.conftest import CLUSTER_PROJECT, KEY_ID, KEY_RING_ID, find, set_input

Resources = list[dict[str, Any]]
HARNESS_REPO = "us-central1-docker.pkg.dev/b-demo-harness/repo1"
MIRROR = f"us-central1-docker.pkg.dev/{CLUSTER_PROJECT}/mirror"
SIGNER_ID = f"{KEY_RING_ID}/cryptoKeys/harness-signer"
DIGEST = "a" * 64
POLICY = 'gcp:binaryauthorization/policy:Policy "binauthz-policy"'
PROJECT = 'gcp:organizations/project:Project "project-project"'
DENY = 'gcp:iam/denyPolicy:DenyPolicy "folder-deny"'
CLUSTER = 'gcp:container/cluster:Cluster "cluster-cluster"'
BOB_NS = 'kubernetes:core/v1:Namespace "tenant-bob-namespace"'
DEPLOYMENT = 'kubernetes:apps/v1:Deployment "harness-deployment"'
PERIMETER = 'gcp:accesscontextmanager/servicePerimeter:ServicePerimeter "perimeter-perimeter"'
ATTESTOR = 'gcp:binaryauthorization/attestor:Attestor "attestor-attestor"'
MODEL_KEY = 'gcp:kms/cryptoKey:CryptoKey "model-key"'
WILDCARD = (
    "a wildcard allowlist pattern may only cover a repository this plan creates in the cluster "
    "project (a tenant's repository, or a host or project prefix, would admit unattested "
    "images); list exact <repository>@sha256:<64 hex> references instead"
)
AUTHORIZED = "an authorized network must be an IP range no wider than /16 (IPv4) or /48 (IPv6)"
POD = "spec.template.spec"
OTHER_KEY = (
    "//cloudkms.googleapis.com/v1/projects/x/locations/global/keyRings/r/cryptoKeys/k/"
    "cryptoKeyVersions/1"
)


def _inputs(resources: Resources, name: str) -> dict[str, Any]:
    return find(resources, name)["inputs"]


def _setter(name: str, path: str, value: Any) -> Callable[[Resources], None]:
    return lambda resources: set_input(resources, name, path, value)


def _env_without_digest(resources: Resources) -> None:
    container = _inputs(resources, "harness-deployment")["spec"]["template"]["spec"]["containers"][
        0
    ]
    container["env"] = [e for e in container["env"] if e["name"] != "MODEL_SHA256"]


def _deny_rule(key: str, value: Any) -> Callable[[Resources], None]:
    return _setter("folder-deny", f"rules[0].denyRule.{key}", value)


def _extra_attestor_key(resources: Resources) -> None:
    keys = _inputs(resources, "attestor-attestor")["attestationAuthorityNote"]["publicKeys"]
    keys.append(
        {
            **keys[0],
            "id": "//cloudkms.googleapis.com/v1/projects/x/locations/global/"
            "keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
        }
    )


def _private_vip(resources: Resources) -> None:
    set_input(resources, "cluster-googleapis-com-cname", "rrdatas", ["private.googleapis.com."])


def _private_vip_addresses(resources: Resources) -> None:
    set_input(resources, "cluster-googleapis-com-a", "rrdatas", ["199.36.153.8"])


def _raw_model_key(resources: Resources) -> None:
    key = _inputs(resources, "model-key")
    key["purpose"] = "RAW_ENCRYPT_DECRYPT"
    key["versionTemplate"]["algorithm"] = "AES_256_GCM"
    del key["rotationPeriod"]


def _raw_model_key_unprotected(resources: Resources) -> None:
    _raw_model_key(resources)
    find(resources, "model-key")["protect"] = False


@dataclass(frozen=True)
class Case:
    id: str
    change: Callable[[Resources], None]
    rule: str
    message: str
    more: str = ""


CASES = [
    Case(
        "lifecycle-deletes-model",
        _setter(
            "model-bucket",
            "lifecycleRules",
            [{"action": {"type": "Delete"}, "condition": {"age": 1}}],
        ),
        "model-data-durable",
        'gcp:storage/bucket:Bucket "model-bucket": lifecycleRules[0].action.type is "Delete" '
        '(condition {"age": 1}); no lifecycle rule may delete or transition the sealed model or '
        "its older generations",
    ),
    Case(
        "lifecycle-moves-model",
        _setter(
            "model-bucket",
            "lifecycleRules",
            [
                {
                    "action": {"type": "SetStorageClass", "storageClass": "ARCHIVE"},
                    "condition": {"age": 30},
                }
            ],
        ),
        "model-data-durable",
        'gcp:storage/bucket:Bucket "model-bucket": lifecycleRules[0].action.type is '
        '"SetStorageClass" (condition {"age": 30}); no lifecycle rule may delete or transition '
        "the sealed model or its older generations",
    ),
    Case(
        "mutable-tags",
        _setter("registry-repository", "dockerConfig.immutableTags", False),
        "registry-immutable-tags",
        'gcp:artifactregistry/repository:Repository "registry-repository": '
        "dockerConfig.immutableTags is false; must be true so no tag can be moved to another "
        "image after review",
    ),
    Case(
        "default-network",
        _setter("project-project", "autoCreateNetwork", True),
        "project-defaults-safe",
        f"{PROJECT}: autoCreateNetwork is true; must be false: the auto-created default network "
        "opens SSH, RDP and ICMP from anywhere (default-allow-* firewall rules)",
    ),
    Case(
        "project-deletable",
        _setter("project-project", "deletionPolicy", "DELETE"),
        "project-defaults-safe",
        f'{PROJECT}: deletionPolicy is "DELETE"; must be "PREVENT" so `pulumi destroy` or a '
        "replacement cannot delete the project that runs the sandbox",
    ),
    Case(
        "deny-exempts-everyone",
        lambda r: _inputs(r, "folder-deny")["rules"][0]["denyRule"]["exceptionPrincipals"].append(
            "principalSet://goog/public:all"
        ),
        "deny-policy-effective",
        f'{DENY}: rules[0].denyRule.exceptionPrincipals holds ["principalSet://goog/public:all"]; '
        "an exception may not exempt everyone or everyone the rule denies, only named principals",
    ),
    Case(
        "deny-nobody",
        _deny_rule("deniedPrincipals", []),
        "deny-policy-effective",
        f"{DENY}: rules[0].denyRule.deniedPrincipals is empty; a deny rule must deny someone",
    ),
    Case(
        "deny-no-permission",
        _deny_rule("deniedPermissions", []),
        "deny-policy-effective",
        f"{DENY}: rules[0].denyRule.deniedPermissions is empty; a deny rule must deny some "
        "permission",
    ),
    Case(
        "deny-no-rules",
        _setter("folder-deny", "rules", []),
        "deny-policy-effective",
        f"{DENY}: rules is []; the policy denies nothing",
    ),
    Case(
        "allowlist-tenant-repo",
        _setter(
            "binauthz-policy", "admissionWhitelistPatterns", [{"namePattern": f"{HARNESS_REPO}/*"}]
        ),
        "gke-binauthz-enforced",
        f'{POLICY}: admissionWhitelistPatterns[0].namePattern is "{HARNESS_REPO}/*"; {WILDCARD}',
    ),
    Case(
        "allowlist-project-prefix",
        _setter(
            "binauthz-policy",
            "admissionWhitelistPatterns",
            [{"namePattern": f"us-central1-docker.pkg.dev/{CLUSTER_PROJECT}/**"}],
        ),
        "gke-binauthz-enforced",
        f'{POLICY}: admissionWhitelistPatterns[0].namePattern is "us-central1-docker.pkg.dev/'
        f'{CLUSTER_PROJECT}/**"; {WILDCARD}',
    ),
    Case(
        "allowlist-tag",
        _setter(
            "binauthz-policy",
            "admissionWhitelistPatterns",
            [{"namePattern": f"{MIRROR}/gatekeeper:v3"}],
        ),
        "gke-binauthz-enforced",
        f'{POLICY}: admissionWhitelistPatterns[0].namePattern is "{MIRROR}/gatekeeper:v3"; an '
        "allowlist entry without a wildcard must be <repository>@sha256:<64 hex>",
    ),
    Case(
        "legacy-metadata",
        _setter("cluster-pool", ("nodeConfig", "metadata", "disable-legacy-endpoints"), "false"),
        "gke-legacy-metadata-off",
        'gcp:container/nodePool:NodePool "cluster-pool": nodeConfig.metadata['
        '"disable-legacy-endpoints"] is "false"; must be "true" so no pod can reach the legacy '
        "metadata endpoints that need no request header",
    ),
    Case(
        "pod-security-latest",
        _setter(
            "tenant-bob-namespace",
            ("metadata", "labels", "pod-security.kubernetes.io/enforce-version"),
            "latest",
        ),
        "tenant-pod-security",
        f'{BOB_NS}: metadata.labels["pod-security.kubernetes.io/enforce-version"] is "latest"; '
        "must pin the standard's version (v1.25 or later, not latest) so a cluster upgrade "
        "cannot change what is enforced unreviewed",
    ),
    Case(
        "pod-security-baseline",
        _setter(
            "tenant-bob-namespace",
            ("metadata", "labels", "pod-security.kubernetes.io/enforce"),
            "baseline",
        ),
        "tenant-pod-security",
        f'{BOB_NS}: metadata.labels["pod-security.kubernetes.io/enforce"] is "baseline"; a '
        'tenant namespace must enforce the "restricted" Pod Security Standard',
    ),
    Case(
        "dns-endpoint-tokens",
        _setter(
            "cluster-cluster",
            "controlPlaneEndpointsConfig.dnsEndpointConfig.enableK8sTokensViaDns",
            True,
        ),
        "gke-dns-endpoint-iam-only",
        f"{CLUSTER}: controlPlaneEndpointsConfig.dnsEndpointConfig.enableK8sTokensViaDns is true; "
        "must be false: the DNS endpoint accepts only IAM credentials",
    ),
    Case(
        "authorized-anywhere",
        _setter(
            "cluster-cluster", "masterAuthorizedNetworksConfig.cidrBlocks[0].cidrBlock", "0.0.0.0/0"
        ),
        "gke-authorized-networks",
        f'{CLUSTER}: masterAuthorizedNetworksConfig.cidrBlocks[0].cidrBlock is "0.0.0.0/0"; '
        f"{AUTHORIZED}",
    ),
    Case(
        "authorized-too-wide",
        _setter(
            "cluster-cluster",
            "masterAuthorizedNetworksConfig.cidrBlocks[1].cidrBlock",
            "203.0.0.0/8",
        ),
        "gke-authorized-networks",
        f'{CLUSTER}: masterAuthorizedNetworksConfig.cidrBlocks[1].cidrBlock is "203.0.0.0/8"; '
        f"{AUTHORIZED}",
    ),
    Case(
        "authorized-all-of-gcp",
        _setter(
            "cluster-cluster", "masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled", True
        ),
        "gke-authorized-networks",
        f"{CLUSTER}: masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled is true; every "
        "Google Cloud public address could reach the control plane",
    ),
    Case(
        "secret-world-readable",
        _setter("harness-deployment", f"{POD}.volumes[1].secret.defaultMode", 0o444),
        "secret-volumes-private",
        f"{DEPLOYMENT}: {POD}.volumes[1].secret.defaultMode is 292 (0o444); secret files must "
        "give others no access (e.g. 0440 = 288)",
    ),
    Case(
        "secret-default-mode-unset",
        lambda r: _inputs(r, "harness-deployment")["spec"]["template"]["spec"]["volumes"][0][
            "secret"
        ].pop("defaultMode"),
        "secret-volumes-private",
        f"{DEPLOYMENT}: {POD}.volumes[0].secret.defaultMode is 420 (0o644); secret files must "
        "give others no access (e.g. 0440 = 288)",
    ),
    Case(
        "perimeter-any-identity",
        lambda r: _inputs(r, "perimeter-perimeter")["status"]["ingressPolicies"][0][
            "ingressFrom"
        ].update(identityType="ANY_IDENTITY", identities=[]),
        "perimeter-ingress-named",
        f'{PERIMETER}: status.ingressPolicies[0].ingressFrom.identityType is "ANY_IDENTITY"; an '
        "ingress policy must list named identities, never a whole class of them",
    ),
    Case(
        "perimeter-no-identity",
        _setter("perimeter-perimeter", "status.ingressPolicies[0].ingressFrom.identities", []),
        "perimeter-ingress-named",
        f"{PERIMETER}: status.ingressPolicies[0].ingressFrom.identities is []; an ingress policy "
        "must name the users or service accounts it admits",
    ),
    Case(
        "private-vip-cname",
        _private_vip,
        "google-apis-restricted-vip",
        'gcp:dns/recordSet:RecordSet "cluster-googleapis-com-cname": rrdatas holds '
        '"private.googleapis.com." for CNAME "*.googleapis.com."; Google API names must resolve '
        "to the restricted VIP, so expected restricted.googleapis.com. (or a Google API name the "
        "plan maps to it)",
    ),
    Case(
        "private-vip-address",
        _private_vip_addresses,
        "google-apis-restricted-vip",
        'gcp:dns/recordSet:RecordSet "cluster-googleapis-com-a": rrdatas holds "199.36.153.8" '
        'for A "restricted.googleapis.com."; Google API names must resolve to the restricted '
        "VIP, so expected an address of the restricted VIP 199.36.153.4/30",
    ),
    Case(
        "signing-key-unprotected",
        lambda r: find(r, "attestor-signing-key").__setitem__("protect", False),
        "attestor-key-protected",
        'gcp:kms/cryptoKey:CryptoKey "attestor-signing-key": protect is false; the attestor\'s '
        "signing key must be protected (ResourceOptions(protect=True)) so `pulumi destroy` "
        "cannot remove it",
    ),
    Case(
        "second-attestor-key",
        _extra_attestor_key,
        "attestor-one-reviewed-key",
        f"{ATTESTOR}: attestationAuthorityNote.publicKeys has 2 keys; an attestor holds exactly "
        "one key, the reviewed signing key",
        f"{ATTESTOR}: attestationAuthorityNote.publicKeys[1].id is "
        '"//cloudkms.googleapis.com/v1/projects/x/locations/global/keyRings/r/cryptoKeys/k/'
        'cryptoKeyVersions/1"; a PKIX key must be a version '
        "(//cloudkms.googleapis.com/v1/<key>/cryptoKeyVersions/<n>) of the signing key this plan "
        "creates",
    ),
    Case(
        "attestor-key-not-from-plan",
        _setter("attestor-attestor", "attestationAuthorityNote.publicKeys[0].id", OTHER_KEY),
        "attestor-one-reviewed-key",
        f'{ATTESTOR}: attestationAuthorityNote.publicKeys[0].id is "{OTHER_KEY}"; a PKIX key '
        "must be a version (//cloudkms.googleapis.com/v1/<key>/cryptoKeyVersions/<n>) of the "
        "signing key this plan creates",
    ),
    Case(
        "raw-model-key-does-not-rotate",
        _raw_model_key,
        "kms-key-rotation",
        f'{MODEL_KEY}: purpose is "RAW_ENCRYPT_DECRYPT"; the model key (the plan wraps the model '
        "keyset with it) must be ENCRYPT_DECRYPT, the only purpose Cloud KMS rotates "
        "automatically",
    ),
    Case(
        "raw-model-key-unprotected",
        _raw_model_key_unprotected,
        "model-data-durable",
        f"{MODEL_KEY}: protect is false; the model key (losing it loses every sealed copy) must "
        "be protected (ResourceOptions(protect=True)) so `pulumi destroy` cannot remove it",
    ),
    Case(
        "harness-not-told-digest",
        _env_without_digest,
        "harness-knows-model-digest",
        f"{DEPLOYMENT}: {POD}.containers[0].env MODEL_SHA256 is unset; the harness must be told "
        "the model's plaintext SHA-256 (64 lowercase hex digits) so it serves no other model",
    ),
    Case(
        "harness-told-another-digest",
        lambda r: [
            e.update(value="b" * 64)
            for e in _inputs(r, "harness-deployment")["spec"]["template"]["spec"]["containers"][0][
                "env"
            ]
            if e["name"] == "MODEL_SHA256"
        ],
        "harness-knows-model-digest",
        f'{DEPLOYMENT}: {POD}.containers[0].env MODEL_SHA256 is "{"b" * 64}"; the sealed model '
        'records ["a92a6376785d5ef3c939829be6c7ad52be89057eadde14e1af27dff9a8018b28"]',
    ),
]


def _failing(resources: Resources) -> dict[str, list[str]]:
    return {
        r.rule.name: [v.message for v in r.violations]
        for r in evaluate(resources)
        if r.status == Status.FAIL
    }


def test_the_dev_plan_passes_every_settings_rule(valid_resources: Resources) -> None:
    results = {r.rule.name: r.status for r in evaluate(valid_resources)}
    for case in CASES:
        assert results[case.rule] == Status.PASS, case.rule


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_setting_dropped_fails_its_rule(case: Case, valid_resources: Resources) -> None:
    case.change(valid_resources)
    failed = _failing(valid_resources)
    assert case.rule in failed, failed
    assert failed[case.rule] == [case.message, *([case.more] if case.more else [])]


def test_a_wildcard_over_the_cluster_projects_own_mirror_passes(
    valid_resources: Resources,
) -> None:
    """Only the cluster's owner pushes to the mirror it creates, so `<mirror>/*` admits nothing a
    tenant chose; the same pattern over the tenant's registry fails (case above)."""
    set_input(
        valid_resources,
        "binauthz-policy",
        "admissionWhitelistPatterns",
        [{"namePattern": f"{MIRROR}/*"}, {"namePattern": f"{MIRROR}/gatekeeper@sha256:{DIGEST}"}],
    )
    assert "gke-binauthz-enforced" not in _failing(valid_resources)


def test_the_mirror_is_no_longer_owned_once_a_tenant_deploys_from_it(
    valid_resources: Resources,
) -> None:
    set_input(
        valid_resources,
        "binauthz-policy",
        "admissionWhitelistPatterns",
        [{"namePattern": f"{MIRROR}/*"}],
    )
    set_input(
        valid_resources,
        "gatekeeper-constraint-ns1-allowed-repos",
        "spec.parameters.repos",
        [f"{MIRROR}/"],
    )
    messages = _failing(valid_resources)["gke-binauthz-enforced"]
    assert (
        f'{POLICY}: admissionWhitelistPatterns[0].namePattern is "{MIRROR}/*"; {WILDCARD}'
        in messages
    )


def test_a_raw_model_key_is_still_the_model_key_for_exact_grants(
    valid_resources: Resources,
) -> None:
    """With the model key RAW_ENCRYPT_DECRYPT, the sealed object still names it: a decrypt grant
    on the signing key instead is not the design's grant."""
    _raw_model_key(valid_resources)
    set_input(valid_resources, "workload-identity-decrypter", "cryptoKeyId", SIGNER_ID)
    messages = " ".join(_failing(valid_resources)["iam-exact-grants"])
    assert f'on crypto key "{SIGNER_ID}"' in messages
    assert f"roles/cloudkms.cryptoKeyDecrypter on crypto key {KEY_ID}" in messages
