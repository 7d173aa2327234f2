"""BinAuthzPolicy: only images Alice attested run in the cluster project, and the project may verify her attestor."""

from __future__ import annotations

from typing import Any

import pytest

from components.binauthz_policy import AttestorRef, BinAuthzPolicy, BinAuthzPolicyArgs
from tests.conftest import resolve

COMPONENT = "gke-sandbox:binauthz_policy:BinAuthzPolicy"
POLICY = "gcp:binaryauthorization/policy:Policy"
VERIFIER = "gcp:binaryauthorization/attestorIamMember:AttestorIamMember"
ATTESTOR_ID = "projects/a-demo-model/attestors/harness-attestor"
SECOND_ID = "projects/a-demo-model/attestors/second-attestor"
GATEKEEPER = "docker.io/openpolicyagent/gatekeeper@sha256:" + "4e" * 32
AGENT = "serviceAccount:service-344938913219@gcp-sa-binaryauthorization.iam.gserviceaccount.com"


def policy_args(**overrides: Any) -> BinAuthzPolicyArgs:
    base: dict[str, Any] = {
        "project_id": "ab-demo-cluster",
        "project_number": "344938913219",
        "attestors": [AttestorRef(project="a-demo-model", attestor_id=ATTESTOR_ID)],
        "allowlist_patterns": [GATEKEEPER],
    }
    return BinAuthzPolicyArgs(**{**base, **overrides})


def test_policy_requires_attestation_and_blocks(run):
    plan = run(lambda: BinAuthzPolicy("binauthz", policy_args()))
    policy = plan.one(POLICY)
    assert policy.inputs["project"] == "ab-demo-cluster", policy.urn
    assert policy.inputs["globalPolicyEvaluationMode"] == "ENABLE", policy.urn
    assert policy.inputs["defaultAdmissionRule"] == {
        "evaluationMode": "REQUIRE_ATTESTATION",
        "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG",
        "requireAttestationsBies": [ATTESTOR_ID],
    }, policy.urn
    assert policy.inputs["admissionWhitelistPatterns"] == [{"namePattern": GATEKEEPER}], policy.urn


def test_every_attestor_is_required_and_verifiable_by_the_service_agent(run):
    attestors = [
        AttestorRef(project="a-demo-model", attestor_id=ATTESTOR_ID),
        AttestorRef(project="a-demo-model", attestor_id=SECOND_ID),
    ]
    plan = run(lambda: BinAuthzPolicy("binauthz", policy_args(attestors=attestors)))
    policy = plan.one(POLICY)
    assert policy.inputs["defaultAdmissionRule"]["requireAttestationsBies"] == [
        ATTESTOR_ID,
        SECOND_ID,
    ], policy.urn
    grants = plan.of_type(VERIFIER)
    assert sorted(g.inputs["attestor"] for g in grants) == [ATTESTOR_ID, SECOND_ID], [
        g.urn for g in grants
    ]
    for grant in grants:
        assert grant.inputs["member"] == AGENT, grant.urn
        assert grant.inputs["role"] == "roles/binaryauthorization.attestorsVerifier", grant.urn
        assert grant.inputs["project"] == "a-demo-model", grant.urn


def test_policy_waits_for_the_verifier_grants(run, registrations):
    plan = run(lambda: BinAuthzPolicy("binauthz", policy_args()))
    policy = plan.one(POLICY)
    grant = plan.one(VERIFIER)
    assert grant.urn in registrations.dependencies[policy.urn], policy.urn


def test_registered_outputs_give_the_policy_id(run, registrations):
    made: dict[str, BinAuthzPolicy] = {}
    plan = run(lambda: made.setdefault("c", BinAuthzPolicy("binauthz", policy_args())))
    component = plan.one(COMPONENT)
    # The policy resource's own id, whatever the cloud assigns.
    assert registrations.outputs[component.urn] == {"policyId": resolve(made["c"].policy.id)}, (
        component.urn
    )


def test_policy_without_attestors_is_refused():
    with pytest.raises(ValueError, match="without attestors would admit nothing or everything"):
        BinAuthzPolicy("binauthz", policy_args(attestors=[]))


@pytest.mark.parametrize(
    "pattern",
    [
        "docker.io/openpolicyagent/gatekeeper*",
        "docker.io/openpolicyagent/gatekeeper:v3.15.0",
        GATEKEEPER + "*",
    ],
)
def test_allowlist_wildcard_or_tag_is_refused(pattern):
    with pytest.raises(ValueError, match="must name one image by digest, not a wildcard"):
        BinAuthzPolicy("binauthz", policy_args(allowlist_patterns=[pattern]))
