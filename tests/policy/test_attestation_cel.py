"""The space plan's attribute condition, evaluated by Google's CEL engine (cel-expr-python,
the Python binding of cel-cpp) against attestation token claim sets.

The condition is the exact string the plan hands the workload identity pool provider. The
claim sets follow the documented token layout ("Attestation token claims",
https://cloud.google.com/confidential-computing/confidential-space/docs/reference/token-claims,
and its example token): top-level `swname`, `dbgstat`, `hwmodel`, `google_service_accounts`...,
`submods.confidential_space.support_attributes`, `submods.container.{image_reference,
image_digest, restart_policy, ...}`, `submods.gce.{...}`. The provider accepts a token only when
the condition evaluates to boolean true; an evaluation error (a missing claim) refuses it too.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cel_expr_python import cel

PROVIDER = "gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider"
IMAGE = (
    "us-central1-docker.pkg.dev/b-demo-harness/repo1/harness@sha256:"
    "79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"
)
DIGEST = IMAGE.rsplit("@", 1)[1]
VM_SA = "space-harness@a-demo-space.iam.gserviceaccount.com"

# A production token for the approved harness on the space stack's VM.
PASSING: dict[str, Any] = {
    "aud": "https://sts.googleapis.com",
    "iss": "https://confidentialcomputing.googleapis.com",
    "sub": "https://www.googleapis.com/compute/v1/projects/a-demo-space/zones/us-central1-a/"
    "instances/space-vm",
    "iat": 1764800000,
    "nbf": 1764800000,
    "exp": 1764803600,
    "eat_profile": "https://cloud.google.com/confidential-computing/confidential-space/docs/"
    "reference/token-claims",
    "secboot": True,
    "oemid": 11129,
    "hwmodel": "GCP_AMD_SEV",
    "swname": "CONFIDENTIAL_SPACE",
    "swversion": ["251200"],
    "dbgstat": "disabled-since-boot",
    "google_service_accounts": [VM_SA],
    "submods": {
        "confidential_space": {"support_attributes": ["LATEST", "STABLE", "USABLE"]},
        "container": {
            "image_reference": IMAGE,
            "image_digest": DIGEST,
            "restart_policy": "OnFailure",
            "image_id": "sha256:" + "1" * 64,
            "env_override": None,
            "cmd_override": None,
            "env": {
                "HARNESS_WIP_PROVIDER": "projects/314159265358/locations/global/"
                "workloadIdentityPools/confidential-space/providers/attestation"
            },
            "args": ["/venv/bin/python3", "-I", "-B", "-m", "harness"],
        },
        "gce": {
            "zone": "us-central1-a",
            "project_id": "a-demo-space",
            "project_number": "314159265358",
            "instance_name": "space-vm",
            "instance_id": "4242424242424242424",
        },
    },
}


def claims(**changes: Any) -> dict[str, Any]:
    """PASSING with dotted-path changes (`submods.container.image_digest="..."`); None deletes."""
    token = copy.deepcopy(PASSING)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = token
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return token


REFUSED = {
    # The debug image: dbgstat "enabled" and no support attributes ("Attestation assertions").
    "debug-image": claims(dbgstat="enabled", submods__confidential_space__support_attributes=[]),
    # dbgstat alone: the condition must not lean on the debug image lacking support attributes.
    "debug-status": claims(dbgstat="enabled"),
    # Bob changed the harness: another digest in the same repository.
    "wrong-digest": claims(
        submods__container__image_digest="sha256:" + "e" * 64,
        submods__container__image_reference=IMAGE.rsplit("@", 1)[0] + "@sha256:" + "e" * 64,
    ),
    # An image out of support: USABLE only, no longer STABLE.
    "usable-only": claims(submods__confidential_space__support_attributes=["USABLE"]),
    # Not Google's hardened image: a plain Shielded/Confidential VM claiming to be GCE.
    "another-swname": claims(swname="GCE"),
    # A claim the condition reads is absent: evaluation errors, the token is refused.
    "missing-claim": claims(submods__confidential_space=None),
    # A second container on the same VM account: another image launched under Alice's
    # service account is its own token, with its own container digest.
    "second-container": claims(
        submods__container__image_reference="docker.io/library/busybox@sha256:" + "b" * 64,
        submods__container__image_digest="sha256:" + "b" * 64,
        submods__container__cmd_override=["sh", "-c", "cat /proc/self/environ"],
    ),
    # The approved image on someone else's VM: another service account.
    "another-vm-account": claims(
        google_service_accounts=["copycat@another-project.iam.gserviceaccount.com"]
    ),
}


@pytest.fixture(scope="module")
def provider(space_plan: dict[str, Any]) -> dict[str, Any]:
    (found,) = [r for r in space_plan["resources"] if r["type"] == PROVIDER]
    return found["inputs"]


@pytest.fixture(scope="module")
def condition(provider: dict[str, Any]) -> cel.Expression:
    env = cel.NewEnv(variables={"assertion": cel.Type.DYN})
    return env.compile(provider["attributeCondition"])


def accepted(condition: cel.Expression, token: dict[str, Any]) -> bool:
    """Whether the provider would accept the token: the condition is boolean true."""
    result = condition.eval(data={"assertion": token})
    return result.type() == cel.Type.BOOL and result.value() is True


def test_the_production_token_for_the_approved_image_passes(condition):
    assert accepted(condition, PASSING)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_each_unsafe_token_is_refused(condition, case):
    assert not accepted(condition, REFUSED[case])


def test_a_missing_claim_is_an_evaluation_error_not_a_false(condition):
    result = condition.eval(data={"assertion": REFUSED["missing-claim"]})
    assert result.type() == cel.Type.ERROR


def test_the_mapped_digest_is_the_one_the_grants_name(provider, space_plan):
    """`attribute.image_digest` (what the principalSet matches) comes out of the token as the
    approved digest, and the decrypt grant names exactly that principalSet."""
    env = cel.NewEnv(variables={"assertion": cel.Type.DYN})
    mapping = provider["attributeMapping"]["attribute.image_digest"]
    assert env.compile(mapping).eval(data={"assertion": PASSING}).value() == DIGEST
    members = {
        r["inputs"]["member"]
        for r in space_plan["resources"]
        if r["type"] == "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
    }
    assert members == {
        "principalSet://iam.googleapis.com/projects/314159265358/locations/global/"
        f"workloadIdentityPools/confidential-space/attribute.image_digest/{DIGEST}"
    }
