"""Key release bound to hardware attestation: the Confidential Space path (`key-release-attested`).

On a plan with a workload identity pool provider or a Compute Engine instance and no GKE
cluster (the `space` stack), every grant that can decrypt the model key must go to a principalSet
`.../workloadIdentityPools/<pool>/attribute.image_digest/<digest>` of a pool in the plan, and
every provider of that pool must be Google Cloud Attestation's OIDC issuer with the STS audience,
map `attribute.image_digest` from the token's container digest, and hold, as conjuncts of its
attribute condition, each clause Google documents for a production workload
("Attestation assertions",
cloud.google.com/confidential-computing/confidential-space/docs/reference/attestation-assertions):
`swname` CONFIDENTIAL_SPACE, STABLE among the support attributes (not merely USABLE), `dbgstat`
disabled-since-boot, the same digest as the principalSet, and a service account that a
Confidential VM of the plan runs as, booting the production Confidential Space image with
Secure Boot. A disjunction anywhere in the condition fails: one `||` can void every clause.
On any other plan (the GKE path) only principalSet decrypt grants are judged here; the GKE
path's Workload Identity decrypter is kms-decrypt-only-workload's.

The access report (`policy.access`) uses `attested_release` to say in words which image on
which TEE can decrypt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.facts import (
    ATTESTATION_ISSUER,
    ATTESTED_PRINCIPAL_SET,
    CONFIDENTIAL_SPACE_IMAGE,
    IMAGE_DIGEST_ASSERTION,
    IMAGE_DIGEST_ATTRIBUTE,
    SPACE_DEBUG_CLAUSE,
    SPACE_SOFTWARE_CLAUSE,
    SPACE_SUPPORT_CLAUSE,
    STS_AUDIENCE,
    space_account_clause,
    space_digest_clause,
)

from .engine import Violation, violation
from .gcp_iam import DECRYPT_SCOPE_TYPES, can_decrypt, custom_role_permissions, iam_grants
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, show, type_of
from .tokens import CLUSTER, COMPUTE_INSTANCE, WIP_POOL, WIP_PROVIDER

RULE = "key-release-attested"

# Confidential type -> the words the report uses.
_TEE_NAMES = {"SEV": "AMD SEV", "SEV_SNP": "AMD SEV-SNP", "TDX": "Intel TDX"}


@dataclass(frozen=True)
class SpaceVm:
    """A Compute Engine instance of the plan, as far as attestation cares."""

    resource: Resource
    email: str | None
    tee: str | None  # confidentialInstanceType, or None when not a Confidential VM
    machine_type: str
    image: str
    workload: str | None  # tee-image-reference
    secure_boot: bool

    @property
    def production(self) -> bool:
        return self.image == CONFIDENTIAL_SPACE_IMAGE

    def problems(self) -> list[str]:
        out = []
        if self.tee is None:
            out.append(
                "is not a Confidential VM (confidentialInstanceConfig.confidentialInstanceType unset)"
            )
        if not self.production:
            out.append(
                f"boots {show(self.image)}, not the production image {CONFIDENTIAL_SPACE_IMAGE}"
            )
        if not self.secure_boot:
            out.append("has Secure Boot off (shieldedInstanceConfig.enableSecureBoot)")
        return out

    def words(self) -> str:
        tee = _TEE_NAMES.get(self.tee or "", self.tee or "no TEE")
        return (
            f"a Confidential VM ({tee}, {self.machine_type}) booting Google's production "
            "Confidential Space image"
        )


def space_vms(resources: Sequence[Resource]) -> list[SpaceVm]:
    out = []
    for vm in of_type(resources, COMPUTE_INSTANCE):
        ins = inputs_of(vm)
        email = get(ins, "serviceAccount.email")
        tee = get(ins, "confidentialInstanceConfig.confidentialInstanceType")
        metadata = ins.get("metadata") if isinstance(ins.get("metadata"), Mapping) else {}
        out.append(
            SpaceVm(
                resource=vm,
                email=email.lower() if isinstance(email, str) else None,
                tee=tee if isinstance(tee, str) else None,
                machine_type=str(ins.get("machineType")),
                image=str(get(ins, "bootDisk.initializeParams.image")),
                workload=metadata.get("tee-image-reference"),
                secure_boot=get(ins, "shieldedInstanceConfig.enableSecureBoot") is True,
            )
        )
    return out


# ------------------------------------------------------------------------- the condition
def _normal(clause: str) -> str:
    """One spelling per clause: single spaces, double quotes as single, outer parentheses off."""
    text = " ".join(clause.replace('"', "'").split())
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for char in _outside_quotes(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _outside_quotes(text: str) -> str:
    """The text with quoted string literals blanked (so `||` inside a literal does not count)."""
    return re.sub(r"'[^']*'|\"[^\"]*\"", lambda m: " " * len(m.group(0)), text)


def conjuncts(condition: str) -> list[str]:
    """The top-level `&&` operands of a CEL condition."""
    blank = _outside_quotes(condition)
    parts, depth, start = [], 0, 0
    i = 0
    while i < len(blank):
        char = blank[i]
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and blank.startswith("&&", i):
            parts.append(condition[start:i])
            start = i + 2
            i += 2
            continue
        i += 1
    parts.append(condition[start:])
    return [_normal(p) for p in parts if p.strip()]


def condition_problems(condition: Any, digest: str, accounts: set[str] | None) -> list[str]:
    """What the condition lacks for an attested release of `digest` to one of `accounts`
    (None: the accounts are unknown during a preview, so that clause is judged on `up`)."""
    if not isinstance(condition, str) or not condition.strip():
        return ["has no attribute condition: every Confidential Space token would be accepted"]
    problems = []
    blank = _outside_quotes(condition)
    if "||" in blank or "?" in blank or "!" in blank.replace("!=", ""):
        problems.append(
            "uses ||, ! or ?: in its condition; a disjunction or negation can void the clauses, "
            "keep it a plain conjunction"
        )
    clauses = set(conjuncts(condition))
    required = {
        SPACE_SOFTWARE_CLAUSE: "swname clause (the Confidential Space image, not plain GCE)",
        SPACE_SUPPORT_CLAUSE: "STABLE support attribute clause (a supported image version)",
        SPACE_DEBUG_CLAUSE: "dbgstat clause (the production, non-debug image)",
        space_digest_clause(digest): f"image digest clause for {digest}",
    }
    for clause, what in required.items():
        if _normal(clause) not in clauses:
            problems.append(f"lacks the {what}: {clause}")
    if accounts is not None and not any(
        _normal(space_account_clause(a)) in clauses for a in accounts
    ):
        shown = ", ".join(sorted(accounts)) or "none in this plan"
        problems.append(
            "lacks the service account clause naming the Confidential Space VM's account "
            f"('<email>' in assertion.google_service_accounts; VM accounts: {shown})"
        )
    if "USABLE" in condition:
        problems.append("accepts USABLE images, which are out of support; require STABLE")
    return problems


def provider_problems(provider: Resource, digest: str, accounts: set[str] | None) -> list[str]:
    ins = inputs_of(provider)
    problems = []
    issuer = get(ins, "oidc.issuerUri")
    if issuer != ATTESTATION_ISSUER:
        problems.append(f"oidc.issuerUri is {show(issuer)}, not {ATTESTATION_ISSUER}")
    audiences = as_list(get(ins, "oidc.allowedAudiences"))
    if audiences != [STS_AUDIENCE]:
        problems.append(f"oidc.allowedAudiences is {show(audiences)}, not [{STS_AUDIENCE}]")
    mapped = get(ins, ("attributeMapping", IMAGE_DIGEST_ATTRIBUTE))
    if mapped != IMAGE_DIGEST_ASSERTION:
        problems.append(
            f"attributeMapping[{IMAGE_DIGEST_ATTRIBUTE}] is {show(mapped)}, not {IMAGE_DIGEST_ASSERTION}"
        )
    if ins.get("disabled") is True:
        problems.append("is disabled")
    condition = ins.get("attributeCondition")
    if is_unknown(condition):
        return problems  # unknown during a preview; judged again on `pulumi up`
    return problems + [
        f"attributeCondition {p}" for p in condition_problems(condition, digest, accounts)
    ]


def providers_of(resources: Sequence[Resource], pool: str) -> list[Resource]:
    return [
        p
        for p in of_type(resources, WIP_PROVIDER)
        if inputs_of(p).get("workloadIdentityPoolId") == pool
    ]


def pools(resources: Sequence[Resource]) -> set[str]:
    return {str(inputs_of(p).get("workloadIdentityPoolId")) for p in of_type(resources, WIP_POOL)}


def _accounts(resources: Sequence[Resource]) -> tuple[set[str] | None, list[SpaceVm]]:
    """The accounts of the plan's sound Confidential VMs; None while one is unknown (preview)."""
    vms = space_vms(resources)
    if any(is_unknown(vm.email) for vm in vms):
        return None, vms
    return {vm.email for vm in vms if vm.email and not vm.problems()}, vms


# ------------------------------------------------------------------------- for the report
def attested_release(resources: Sequence[Resource], member: Any) -> tuple[bool, str] | None:
    """For a principalSet of an image digest: (whether the release is attested as this rule
    requires, the words saying which image on which TEE). None for any other member."""
    match = ATTESTED_PRINCIPAL_SET.match(member) if isinstance(member, str) else None
    if not match:
        return None
    digest, pool = match["digest"], match["pool"]
    accounts, vms = _accounts(resources)
    providers = providers_of(resources, pool)
    problems = [] if pool in pools(resources) else [f"pool {pool} is not in this plan"]
    if not providers:
        problems.append(f"pool {pool} has no provider in this plan")
    for provider in providers:
        problems.extend(provider_problems(provider, digest, accounts))
    running = [
        vm for vm in vms if vm.email in (accounts or ()) and str(vm.workload).endswith(digest)
    ]
    where = running[0].words() if running else "a Confidential VM"
    if not problems:
        return True, (
            f"only the image {digest} running on {where}, as Google Cloud Attestation attests "
            f"it (pool {pool})"
        )
    return False, f"the image {digest} of pool {pool}; but {'; '.join(problems)}"


# ------------------------------------------------------------------------- the rule
def check_key_release_attested(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Decrypt only through an attested principalSet whose provider holds every clause."""
    accounts, vms = _accounts(resources)
    for vm in vms:
        for problem in vm.problems():
            yield violation(RULE, vm.resource, f"{problem}; its attestation would not hold")
    customs = custom_role_permissions(resources)
    known_pools = pools(resources)
    # A plan of the Confidential Space path: a VM or a pool provider, and no GKE cluster.
    space_path = bool(vms or of_type(resources, WIP_PROVIDER)) and not of_type(resources, CLUSTER)
    for grant in iam_grants(resources):
        if type_of(grant.resource) not in DECRYPT_SCOPE_TYPES or not can_decrypt(
            grant.role, customs
        ):
            continue
        if is_unknown(grant.member):
            continue
        match = (
            ATTESTED_PRINCIPAL_SET.match(grant.member) if isinstance(grant.member, str) else None
        )
        if match is None:
            if not space_path:
                continue  # the GKE path's decrypters: kms-decrypt-only-workload judges them
            yield violation(
                RULE,
                grant.resource,
                f"{grant.describe()}; on the Confidential Space path only the principalSet "
                f"{IMAGE_DIGEST_ATTRIBUTE}/<digest> of an attestation pool may decrypt, never a "
                "service account, person or group",
            )
            continue
        pool, digest = match["pool"], match["digest"]
        if pool not in known_pools:
            yield violation(
                RULE,
                grant.resource,
                f"{grant.describe()}; pool {pool} is not in this plan, so its provider "
                "cannot be judged",
            )
            continue
        providers = providers_of(resources, pool)
        if not providers:
            yield violation(
                RULE, grant.resource, f"{grant.describe()}; pool {pool} has no provider"
            )
        for provider in providers:
            for problem in provider_problems(provider, digest, accounts):
                yield violation(
                    RULE,
                    provider,
                    f"{problem} (it admits the principalSet that can decrypt: {grant.describe()})",
                )
