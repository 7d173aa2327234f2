"""`key-release-attested` on the real `space` plan: it passes as shipped, and each broken clause
of the attested key release fails it with a message naming what is missing.

Every failing fixture is the shipped plan with one change (the real program's output, never a
hand-written resource list).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policy.access import analyse
from policy.rules import Status, evaluate

RULE = "key-release-attested"
DIGEST = "sha256:79bd5f912186c23fbd086440a18b4ea73aab1a52f0dc873dd2c22aab92b9e315"
VM_SA = "space-harness@a-demo-space.iam.gserviceaccount.com"
PRINCIPAL = (
    "principalSet://iam.googleapis.com/projects/314159265358/locations/global/"
    f"workloadIdentityPools/confidential-space/attribute.image_digest/{DIGEST}"
)
PROVIDER = 'gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider "space-provider"'
DECRYPTER = 'gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember "space-decrypter"'
KEY = "projects/a-demo-model/locations/us-central1/keyRings/model-ring/cryptoKeys/model-key"


@pytest.fixture
def resources(space_plan: dict[str, Any]) -> list[dict[str, Any]]:
    return copy.deepcopy(space_plan["resources"])


def named(resources: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (found,) = [r for r in resources if r["name"] == name]
    return found


def messages(resources: list[dict[str, Any]], rule: str = RULE) -> list[str]:
    (result,) = [r for r in evaluate(resources) if r.rule.name == rule]
    return [v.message for v in result.violations]


def replace_condition(resources: list[dict[str, Any]], old: str, new: str) -> None:
    provider = named(resources, "space-provider")["inputs"]
    assert old in provider["attributeCondition"]
    provider["attributeCondition"] = provider["attributeCondition"].replace(old, new)


def test_the_shipped_space_plan_passes_every_applicable_rule(resources):
    results = {r.rule.name: r for r in evaluate(resources)}
    assert results[RULE].status is Status.PASS
    failed = {n: [v.message for v in r.violations] for n, r in results.items() if r.violations}
    assert failed == {}


def test_a_condition_without_the_digest_clause_fails(resources):
    replace_condition(resources, f" && assertion.submods.container.image_digest == '{DIGEST}'", "")
    assert (
        f"{PROVIDER}: attributeCondition lacks the image digest clause for {DIGEST}: "
        f"assertion.submods.container.image_digest == '{DIGEST}' (it admits the principalSet "
        f'that can decrypt: role "roles/cloudkms.cryptoKeyDecrypter" granted to member '
        f'"{PRINCIPAL[:116]}...)'
    ) in messages(resources)


def test_a_condition_without_dbgstat_fails(resources):
    replace_condition(resources, " && assertion.dbgstat == 'disabled-since-boot'", "")
    found = messages(resources)
    assert any(
        m.startswith(
            f"{PROVIDER}: attributeCondition lacks the dbgstat clause (the production, non-debug "
            "image): assertion.dbgstat == 'disabled-since-boot'"
        )
        for m in found
    ), found


def test_a_condition_accepting_usable_fails(resources):
    replace_condition(resources, "'STABLE' in", "'USABLE' in")
    found = messages(resources)
    assert any(
        m.startswith(f"{PROVIDER}: attributeCondition lacks the STABLE support attribute clause")
        for m in found
    ), found
    assert any(
        m.startswith(
            f"{PROVIDER}: attributeCondition accepts USABLE images, which are out of support"
        )
        for m in found
    ), found


def test_a_decrypt_grant_to_a_plain_service_account_fails(resources):
    named(resources, "space-decrypter")["inputs"]["member"] = f"serviceAccount:{VM_SA}"
    assert messages(resources) == [
        f'{DECRYPTER}: role "roles/cloudkms.cryptoKeyDecrypter" granted to member '
        f'"serviceAccount:{VM_SA}"; on the Confidential Space path only the principalSet '
        "attribute.image_digest/<digest> of an attestation pool may decrypt, never a service "
        "account, person or group"
    ]


def test_a_disjunction_voids_the_clauses_and_fails(resources):
    provider = named(resources, "space-provider")["inputs"]
    provider["attributeCondition"] = f"({provider['attributeCondition']}) || true"
    found = messages(resources)
    assert any("uses ||, ! or ?: in its condition" in m for m in found), found


def test_a_second_provider_without_the_clauses_fails(resources):
    second = copy.deepcopy(named(resources, "space-provider"))
    second["name"] = "space-provider-2"
    second["urn"] = second["urn"] + "-2"
    second["inputs"]["attributeCondition"] = "assertion.swname == 'CONFIDENTIAL_SPACE'"
    resources.append(second)
    found = messages(resources)
    assert any(
        m.startswith(
            'gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider "space-provider-2": '
            "attributeCondition lacks the dbgstat clause"
        )
        for m in found
    ), found


def test_the_debug_image_fails(resources):
    vm = named(resources, "space-vm")["inputs"]
    vm["bootDisk"]["initializeParams"]["image"] = (
        "projects/confidential-space-images/global/images/family/confidential-space-debug"
    )
    found = messages(resources)
    assert (
        'gcp:compute/instance:Instance "space-vm": boots '
        '"projects/confidential-space-images/global/images/family/confidential-space-debug", '
        "not the production image "
        "projects/confidential-space-images/global/images/family/confidential-space; its "
        "attestation would not hold"
    ) in found
    # The condition's service account is no longer that of a production Confidential VM.
    assert any("lacks the service account clause" in m for m in found), found


def test_a_vm_that_is_not_confidential_fails(resources):
    del named(resources, "space-vm")["inputs"]["confidentialInstanceConfig"]
    assert (
        'gcp:compute/instance:Instance "space-vm": is not a Confidential VM '
        "(confidentialInstanceConfig.confidentialInstanceType unset); its attestation would not "
        "hold"
    ) in messages(resources)


def test_the_access_report_says_which_image_on_which_tee_can_decrypt(resources):
    report = analyse(resources)
    decrypt = [p for p in report.paths if p.capability == "decrypt"]
    assert [(p.principal, p.flagged) for p in decrypt] == [
        (
            f"only the image {DIGEST} running on a Confidential VM (AMD SEV, n2d-standard-2) "
            "booting Google's production Confidential Space image, as Google Cloud Attestation "
            "attests it (pool confidential-space)",
            False,
        )
    ]
    assert decrypt[0].target == f"KMS key {KEY}"


def test_the_access_report_flags_an_unattested_release(resources):
    replace_condition(resources, " && assertion.dbgstat == 'disabled-since-boot'", "")
    flagged = analyse(resources).flagged
    assert {p.capability for p in flagged} == {"decrypt", "read"}
    assert all("lacks the dbgstat clause" in p.hops[-1].detail for p in flagged)


def test_a_condition_unknown_during_preview_is_judged_on_up_not_failed(resources):
    named(resources, "space-provider")["inputs"]["attributeCondition"] = "[unknown]"
    assert messages(resources) == []


def test_a_vm_account_unknown_during_preview_is_judged_on_up_not_failed(resources):
    named(resources, "space-vm")["inputs"]["serviceAccount"]["email"] = "[unknown]"
    assert messages(resources) == []
