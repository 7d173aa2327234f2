"""Property rules as a table: one row per (rule, where, property path, predicate, message).

A row reads "every resource `where` selects must have `path` satisfying `ok`, or the review
says `<type> "<name>": <path> is <value>; <message>`". A rule whose concern is a set of such
assertions is only rows here plus its catalogue entry; a rule that also needs logic across
resources adds a check function beside its rows (see `catalogue.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from policy.facts import AMD_CONFIDENTIAL_TYPES

from .engine import (
    Check,
    Violation,
    equals,
    expect,
    is_true,
    nonempty_list,
    nonempty_str,
    not_false,
    not_true,
)
from .gke import node_configs
from .plan import Resource, of_type
from .tokens import ATTESTOR, BINAUTHZ_POLICY, BUCKET, CLUSTER, NODE_POOL

Scope = Callable[[Sequence[Resource]], Iterable[tuple[Resource, str]]]
"""Which resources a row judges, each with the path prefix its property sits under."""


def of(*tokens: str) -> Scope:
    """Every resource of these types, the property at the top of its inputs."""
    return lambda resources: ((r, "") for r in of_type(resources, *tokens))


NODE_CONFIGS: Scope = node_configs
"""Every nodeConfig of a node pool the plan runs (see `gke.node_configs`)."""


@dataclass(frozen=True)
class Prop:
    """One property assertion of one rule."""

    rule: str
    where: Scope
    path: str
    ok: Callable[[Any], bool]
    message: str

    def check(self, resources: Sequence[Resource]) -> Iterator[Violation]:
        for resource, prefix in self.where(resources):
            path = f"{prefix}.{self.path}" if prefix else self.path
            found = expect(self.rule, resource, path, self.ok, self.message)
            if found:
                yield found


def amd_or_unset(value: Any) -> bool:
    """Unset (GKE's default for confidentialNodes is SEV) or an AMD technology."""
    return value is None or value in AMD_CONFIDENTIAL_TYPES


RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED")
_AMD = "the confidential technology must be AMD SEV or SEV_SNP"

# fmt: off
PROPERTIES: tuple[Prop, ...] = (
    Prop("gke-confidential-nodes", of(CLUSTER), "confidentialNodes.enabled", is_true, "Confidential GKE Nodes must be on"),
    Prop("gke-confidential-nodes", of(CLUSTER), "confidentialNodes.confidentialInstanceType", amd_or_unset, _AMD),
    Prop("gke-confidential-nodes", of(NODE_POOL), "nodeConfig.confidentialNodes.enabled", is_true, "the node pool must run on Confidential GKE Nodes"),
    Prop("gke-confidential-nodes", of(NODE_POOL), "nodeConfig.confidentialNodes.confidentialInstanceType", amd_or_unset, _AMD),
    Prop("gke-shielded-nodes", of(CLUSTER), "enableShieldedNodes", is_true, "Shielded GKE Nodes must be on"),
    Prop("gke-shielded-nodes", NODE_CONFIGS, "shieldedInstanceConfig.enableSecureBoot", is_true, "nodes must boot with Secure Boot"),
    Prop("gke-shielded-nodes", NODE_CONFIGS, "shieldedInstanceConfig.enableIntegrityMonitoring", is_true, "nodes must have integrity monitoring on"),
    Prop("gke-workload-identity", NODE_CONFIGS, "workloadMetadataConfig.mode", equals("GKE_METADATA"), "pods must get identities from the GKE metadata server (GKE_METADATA), not the node's"),
    Prop("gke-binauthz-enforced", of(CLUSTER), "binaryAuthorization.evaluationMode", equals("PROJECT_SINGLETON_POLICY_ENFORCE"), "the cluster must enforce the project's Binary Authorization policy (PROJECT_SINGLETON_POLICY_ENFORCE)"),
    Prop("gke-binauthz-enforced", of(BINAUTHZ_POLICY), "defaultAdmissionRule.evaluationMode", equals("REQUIRE_ATTESTATION"), "the default admission rule must require an attestation"),
    Prop("gke-binauthz-enforced", of(BINAUTHZ_POLICY), "defaultAdmissionRule.enforcementMode", equals("ENFORCED_BLOCK_AND_AUDIT_LOG"), "images without an attestation must be blocked, not only logged"),
    Prop("gke-binauthz-enforced", of(BINAUTHZ_POLICY), "defaultAdmissionRule.requireAttestationsBies", nonempty_list, "the default admission rule must name the image attestor"),
    Prop("gke-binauthz-enforced", of(BINAUTHZ_POLICY), "globalPolicyEvaluationMode", equals("ENABLE"), "the Google-maintained global policy must be evaluated (ENABLE) so that only Google system images are exempt"),
    Prop("gke-no-legacy-auth", of(CLUSTER), "enableLegacyAbac", not_true, "legacy ABAC bypasses RBAC and must stay off"),
    Prop("gke-no-legacy-auth", of(CLUSTER), "masterAuth.clientCertificateConfig.issueClientCertificate", not_true, "client certificates are long-lived cluster credentials; keep them off"),
    Prop("gke-private-nodes", of(CLUSTER), "privateClusterConfig.enablePrivateNodes", is_true, "nodes must have internal IP addresses only"),
    Prop("gke-private-nodes", of(NODE_POOL), "networkConfig.enablePrivateNodes", not_false, "a node pool must not opt out of private nodes"),
    Prop("gke-release-channel", of(CLUSTER), "releaseChannel.channel", lambda v: v in RELEASE_CHANNELS, f"the cluster must follow a release channel ({', '.join(RELEASE_CHANNELS)}) to receive security patches"),
    Prop("gke-release-channel", of(NODE_POOL), "management.autoUpgrade", not_false, "nodes on a release channel must auto-upgrade"),
    Prop("bucket-no-public-access", of(BUCKET), "uniformBucketLevelAccess", is_true, "object ACLs must be disabled (uniform bucket-level access)"),
    Prop("bucket-no-public-access", of(BUCKET), "publicAccessPrevention", equals("enforced"), 'public access prevention must be "enforced"'),
    Prop("attestor-has-public-key", of(ATTESTOR), "attestationAuthorityNote.noteReference", nonempty_str, "the attestor must reference its Container Analysis note"),
)
# fmt: on


def properties(rule: str, *more: Check) -> Check:
    """The check of `rule`: its table rows, then any `more` checks for what rows cannot say."""
    rows = tuple(row for row in PROPERTIES if row.rule == rule)
    if not rows:
        raise ValueError(f"no property rows for rule {rule!r}")

    def check(resources: Sequence[Resource]) -> Iterator[Violation]:
        for row in rows:
            yield from row.check(resources)
        for extra in more:
            yield from extra(resources)

    return check
