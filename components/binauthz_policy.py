"""Binary Authorization in the cluster project: only Alice-attested images run (seed 003 steps 6, 9).

Also grants the cluster project's BinAuthz service agent `attestorsVerifier` on each
attestor, since the attestors live in Alice's model project.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components._common import child
from policy.facts import ENDS_IN_DIGEST


@dataclass
class AttestorRef:
    project: pulumi.Input[str]
    attestor_id: pulumi.Input[str]  # projects/<p>/attestors/<name>


@dataclass
class BinAuthzPolicyArgs:
    project_id: pulumi.Input[str]
    project_number: pulumi.Input[str]
    attestors: Sequence[AttestorRef]
    # Images admitted without attestation (e.g. Gatekeeper pinned by digest); keep this short.
    allowlist_patterns: Sequence[str] = field(default_factory=list)
    # Must exist first: the cluster project's binaryauthorization.googleapis.com enablement,
    # which also creates the BinAuthz service agent the verifier grant names.
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class BinAuthzPolicy(pulumi.ComponentResource):
    """Project policy: require every attestor, block and audit; Google system images allowed."""

    policy: gcp.binaryauthorization.Policy
    verifier_grants: list[gcp.binaryauthorization.AttestorIamMember]

    def __init__(
        self, name: str, args: BinAuthzPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        if not args.attestors:
            raise ValueError(
                "a Binary Authorization policy without attestors would admit nothing or everything"
            )
        for pattern in args.allowlist_patterns:
            if not ENDS_IN_DIGEST.search(pattern):
                raise ValueError(
                    f"allowlist pattern {pattern!r} must name one image by digest, not a wildcard"
                )
        super().__init__("gke-sandbox:binauthz_policy:BinAuthzPolicy", name, None, opts)

        agent = pulumi.Output.from_input(args.project_number).apply(
            lambda number: (
                f"serviceAccount:service-{number}@gcp-sa-binaryauthorization.iam.gserviceaccount.com"
            )
        )
        self.verifier_grants = [
            gcp.binaryauthorization.AttestorIamMember(
                f"{name}-verifier-{index}",
                project=ref.project,
                attestor=ref.attestor_id,
                role="roles/binaryauthorization.attestorsVerifier",
                member=agent,
                opts=child(self, depends_on=list(args.depends_on)),
            )
            for index, ref in enumerate(args.attestors)
        ]
        self.policy = gcp.binaryauthorization.Policy(
            f"{name}-policy",
            project=args.project_id,
            description="gke-sandbox: only images attested by the model owner",
            # Google-maintained system images (GKE add-ons) stay admitted.
            global_policy_evaluation_mode="ENABLE",
            default_admission_rule={
                "evaluation_mode": "REQUIRE_ATTESTATION",
                "enforcement_mode": "ENFORCED_BLOCK_AND_AUDIT_LOG",
                "require_attestations_bies": [ref.attestor_id for ref in args.attestors],
            },
            admission_whitelist_patterns=[{"name_pattern": p} for p in args.allowlist_patterns],
            opts=child(self, depends_on=[*args.depends_on, *self.verifier_grants]),
        )
        self.register_outputs({"policyId": self.policy.id})
