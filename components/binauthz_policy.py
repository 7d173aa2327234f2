"""Binary Authorization in the cluster project: only Alice-attested images run (seed 003 steps 6, 9).

Also grants the cluster project's BinAuthz service agent `attestorsVerifier` on each
attestor, since the attestors live in Alice's model project.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components._common import as_args, child, token, waits_for
from policy.facts import ENDS_IN_DIGEST


@dataclass
class AttestorRef:
    """An attestor (in the model owner's project) whose attestation every image needs."""

    project: pulumi.Input[str]
    """The project that holds the attestor."""
    attestor_id: pulumi.Input[str]
    """The attestor's id: `projects/<project>/attestors/<name>`."""


@dataclass
class BinAuthzPolicyArgs:
    """The cluster project and the attestors its Binary Authorization policy requires."""

    project_id: pulumi.Input[str]
    """The cluster project's id."""
    project_number: pulumi.Input[str]
    """The cluster project's number (names its Binary Authorization service agent)."""
    attestors: Sequence[AttestorRef]
    """Every attestor an image needs an attestation from; at least one."""
    allowlist_patterns: Sequence[str] | None = field(default_factory=list)
    """Images admitted without attestation, each one by digest (e.g. Gatekeeper); keep it short."""


class BinAuthzPolicy(pulumi.ComponentResource):
    """Project policy: require every attestor, block and audit; Google system images allowed.

    `depends_on` (resource option) should name the cluster project's
    binaryauthorization.googleapis.com enablement, which also creates the service agent the
    verifier grants name; the policy and the grants wait for it.
    """

    policy_id: pulumi.Output[str]
    """The Binary Authorization policy's id (`projects/<project>`)."""

    def __init__(
        self, name: str, args: BinAuthzPolicyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = as_args(BinAuthzPolicyArgs, args)
        if not args.attestors:
            raise ValueError(
                "a Binary Authorization policy without attestors would admit nothing or everything"
            )
        for pattern in args.allowlist_patterns or []:
            if not ENDS_IN_DIGEST.search(pattern):
                raise ValueError(
                    f"allowlist pattern {pattern!r} must name one image by digest, not a wildcard"
                )
        super().__init__(token("binauthz_policy", "BinAuthzPolicy"), name, None, opts)
        waits = waits_for(opts)

        agent = pulumi.Output.from_input(args.project_number).apply(
            lambda number: (
                f"serviceAccount:service-{number}@gcp-sa-binaryauthorization.iam.gserviceaccount.com"
            )
        )
        self.verifier_grants: list[gcp.binaryauthorization.AttestorIamMember] = [
            gcp.binaryauthorization.AttestorIamMember(
                f"{name}-verifier-{index}",
                project=ref.project,
                attestor=ref.attestor_id,
                role="roles/binaryauthorization.attestorsVerifier",
                member=agent,
                opts=child(self, depends_on=waits),
            )
            for index, ref in enumerate(args.attestors)
        ]
        self.policy: gcp.binaryauthorization.Policy = gcp.binaryauthorization.Policy(
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
            admission_whitelist_patterns=[
                {"name_pattern": p} for p in args.allowlist_patterns or []
            ],
            opts=child(self, depends_on=[*waits, *self.verifier_grants]),
        )
        self.policy_id = self.policy.id
        self.register_outputs({"policyId": self.policy_id})
