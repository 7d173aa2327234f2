"""The named security rules of gke-sandbox, written once and run by two enforcers.

Every rule reads a *plan*: a list of resource dicts shaped like the `resources` of
`build/plan/<stack>.json` (`urn`, `type`, `name`, `parent`, `inputs` with camelCase keys, secrets
as the string `[secret]`). `infra/review.py` feeds it the offline plan; the CrossGuard pack
(`policy/__main__.py`) converts the engine's resources into the same dicts. This module therefore
imports nothing from the project and no Pulumi SDK: it must load as `policy.rules` and as a plain
sibling module `rules` inside the pack.

Conventions the checks share:
- A missing key, or `null`, is *unset*. Paths in messages use the engine's camelCase names.
- A value equal to `UNKNOWN` (what the pack substitutes for values Pulumi cannot know during a
  preview, such as emails of accounts not created yet) is skipped: it cannot be judged now, and
  the stack policies run again on `pulumi up` when the value is known.
- A rule is *not applicable* when the plan holds no resource whose type is in `applies_to`.

Adding a rule: write a `check(resources) -> Iterable[Violation]` (the helpers below make the
message format uniform), then append a `Rule(...)` to `RULES`. Its name must be unique kebab-case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any

Resource = Mapping[str, Any]
Check = Callable[[Sequence[Resource]], Iterable["Violation"]]

SECRET = "[secret]"
"""How the plan writes a secret value; presence checks accept it, value checks cannot."""

UNKNOWN = "[unknown]"
"""What the CrossGuard adapter writes for a value unknown during preview; checks skip it."""


# --------------------------------------------------------------------------------------------
# Rule model
# --------------------------------------------------------------------------------------------


class Severity(StrEnum):
    """How bad a failure is; every failure fails the review, severity orders the work."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Status(StrEnum):
    """Outcome of one rule over one plan."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not-applicable"


@dataclass(frozen=True)
class Violation:
    """One broken property: which rule, which resource (URN) and a message naming path and value."""

    rule: str
    urn: str
    message: str


_KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Rule:
    """A named concern with the resource types it judges and the function that judges them.

    `applies_to` holds Pulumi type tokens; an entry containing `*` is a case-sensitive
    `fnmatch` pattern (used for "every IAM member/binding/policy type of the gcp provider").
    `check` receives the whole plan because several concerns span resources (an IAM grant and
    the Workload Identity binding that makes it acceptable).
    """

    name: str
    description: str
    severity: Severity
    remediation: str
    applies_to: tuple[str, ...]
    check: Check

    def __post_init__(self) -> None:
        if not _KEBAB.match(self.name):
            raise ValueError(f"rule name {self.name!r} is not kebab-case")
        if not isinstance(self.severity, Severity):
            raise TypeError(f"rule {self.name}: severity must be a Severity, got {self.severity!r}")
        if not self.applies_to:
            raise ValueError(f"rule {self.name}: applies_to must name at least one type token")

    def applies(self, type_token: str) -> bool:
        """True when resources of this type are judged by the rule."""
        return _matches(type_token, self.applies_to)

    def run(self, resources: Sequence[Resource]) -> RuleResult:
        """Judge one plan. A crash inside a check fails the rule (closed), naming the error."""
        if not any(self.applies(type_of(r)) for r in resources):
            return RuleResult(self, Status.NOT_APPLICABLE, ())
        try:
            found = [
                v if v.rule == self.name else replace(v, rule=self.name)
                for v in self.check(resources)
            ]
        except Exception as exc:  # a rule bug must not pass silently
            found = [
                Violation(
                    self.name,
                    "",
                    f"internal error in rule {self.name}: {type(exc).__name__}: {exc}",
                )
            ]
        unique = tuple(dict.fromkeys(found))
        return RuleResult(self, Status.FAIL if unique else Status.PASS, unique)


@dataclass(frozen=True)
class RuleResult:
    """What one rule found in one plan."""

    rule: Rule
    status: Status
    violations: tuple[Violation, ...]


@lru_cache(maxsize=4096)
def _matches(type_token: str, entries: tuple[str, ...]) -> bool:
    """Cached: plans repeat a few dozen type tokens thousands of times."""
    return any(
        fnmatchcase(type_token, entry) if "*" in entry else type_token == entry for entry in entries
    )


class UnknownRuleError(ValueError):
    """A rule name that is not in the rule set; the message lists the known names."""


def evaluate(
    resources: Sequence[Resource], rules: Sequence[Rule] | None = None
) -> list[RuleResult]:
    """Run every rule (default: `RULES`) over one plan's resources, in rule order."""
    return [rule.run(resources) for rule in (RULES if rules is None else rules)]


def select_rules(names: Iterable[str], rules: Sequence[Rule] | None = None) -> tuple[Rule, ...]:
    """The rules with these names, in rule-set order; an unknown name raises UnknownRuleError."""
    pool = RULES if rules is None else tuple(rules)
    known = {rule.name: rule for rule in pool}
    wanted = list(dict.fromkeys(names))
    missing = [n for n in wanted if n not in known]
    if missing:
        raise UnknownRuleError(
            f"unknown rule {', '.join(repr(n) for n in missing)}; known rules: {', '.join(known)}"
        )
    return tuple(rule for rule in pool if rule.name in wanted)


# --------------------------------------------------------------------------------------------
# Reading resources and writing messages
# --------------------------------------------------------------------------------------------

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _split_path(path: str) -> list[str | int]:
    """`a.b[0].c` -> ["a", "b", 0, "c"]."""
    return [int(index) if index else key for key, index in _PATH_PART.findall(path)]


def is_unknown(value: Any) -> bool:
    """True for the preview placeholder; such values are skipped, not judged."""
    return isinstance(value, str) and value == UNKNOWN


def get(obj: Any, path: str | Sequence[str | int]) -> Any:
    """Value at a camelCase path like `nodeConfig.shieldedInstanceConfig.enableSecureBoot` or
    `spec.rules[0].values`; None when any step is missing or of the wrong shape (= unset).
    A tuple path is taken literally (for keys that contain dots). Crossing an unknown value
    yields UNKNOWN."""
    parts = _split_path(path) if isinstance(path, str) else list(path)
    node = obj
    for part in parts:
        if is_unknown(node):
            return UNKNOWN
        if isinstance(part, int):
            items = _as_list(node)
            if 0 <= part < len(items):
                node = items[part]
            else:
                return None
        elif isinstance(node, Mapping):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def type_of(resource: Resource) -> str:
    """The Pulumi type token, or "" for a malformed entry (never raises)."""
    value = resource.get("type")
    return value if isinstance(value, str) else ""


def inputs_of(resource: Resource) -> Mapping[str, Any]:
    """The inputs map, or {} for a malformed entry (never raises)."""
    value = resource.get("inputs")
    return value if isinstance(value, Mapping) else {}


def of_type(resources: Iterable[Resource], *tokens: str) -> list[Resource]:
    """The resources whose type is one of `tokens`, in plan order."""
    return [r for r in resources if type_of(r) in tokens]


def label(resource: Resource) -> str:
    """`<type> "<name>"`: how every message names the offending resource."""
    return f'{type_of(resource)} "{resource.get("name", "")}"'


def show(value: Any, limit: int = 120) -> str:
    """A value as it appears in a message: JSON, or `unset`; long values are shortened."""
    if value is None:
        return "unset"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def violation(rule: str, resource: Resource, text: str) -> Violation:
    """A violation whose message starts with the resource's type and name."""
    return Violation(rule, str(resource.get("urn", "")), f"{label(resource)}: {text}")


def expect(
    rule: str, resource: Resource, path: str, ok: Callable[[Any], bool], requirement: str
) -> Violation | None:
    """None when the input at `path` satisfies `ok` (or is unknown), else a violation reading
    `<type> "<name>": <path> is <value>; <requirement>`."""
    value = get(inputs_of(resource), path)
    if is_unknown(value) or ok(value):
        return None
    return violation(rule, resource, f"{path} is {show(value)}; {requirement}")


def _is_true(value: Any) -> bool:
    """Booleans must be literally true; "true" strings or 1 do not count."""
    return value is True


def _not_true(value: Any) -> bool:
    return value is not True


def _equals(expected: str) -> Callable[[Any], bool]:
    return lambda value: value == expected


def _nonempty_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str | bytes) else []


def _truthy_flag(value: Any) -> bool:
    """Org policy flags are the strings "TRUE"/"FALSE"; accept a real bool as well."""
    return value is True or (isinstance(value, str) and value.strip().upper() == "TRUE")


def _one_of(value: Any, options: Iterable[str]) -> bool:
    """Membership that tolerates malformed (unhashable) input values instead of raising."""
    return isinstance(value, str) and value in options


def _present(items: Iterable[Violation | None]) -> Iterator[Violation]:
    return (item for item in items if item is not None)


# --------------------------------------------------------------------------------------------
# Type tokens (checked against pulumi-gcp 10.2.0 and pulumi-kubernetes 4.34.2)
# --------------------------------------------------------------------------------------------

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
BINAUTHZ_POLICY = "gcp:binaryauthorization/policy:Policy"
ATTESTOR = "gcp:binaryauthorization/attestor:Attestor"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_OBJECT = "gcp:storage/bucketObject:BucketObject"
FOLDER = "gcp:organizations/folder:Folder"
ORG_POLICY = "gcp:orgpolicy/policy:Policy"
SERVICE_ACCOUNT_KEY = "gcp:serviceaccount/key:Key"
PROJECT_CUSTOM_ROLE = "gcp:projects/iAMCustomRole:IAMCustomRole"
ORG_CUSTOM_ROLE = "gcp:organizations/iAMCustomRole:IAMCustomRole"

IAM_TYPE_PATTERNS = (
    "gcp:*IAMMember",
    "gcp:*IamMember",
    "gcp:*IAMBinding",
    "gcp:*IamBinding",
    "gcp:*IAMPolicy",
    "gcp:*IamPolicy",
)
"""Every IAM member/binding/policy resource of the gcp provider (projects/iAMMember:IAMMember,
kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding, artifactregistry/repositoryIamMember:..., ...)."""


CRYPTO_KEY_IAM = (
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
    "gcp:kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding",
    "gcp:kms/cryptoKeyIAMPolicy:CryptoKeyIAMPolicy",
)
KEY_RING_IAM = (
    "gcp:kms/keyRingIAMMember:KeyRingIAMMember",
    "gcp:kms/keyRingIAMBinding:KeyRingIAMBinding",
    "gcp:kms/keyRingIAMPolicy:KeyRingIAMPolicy",
)
PROJECT_IAM = (
    "gcp:projects/iAMMember:IAMMember",
    "gcp:projects/iAMBinding:IAMBinding",
    "gcp:projects/iAMPolicy:IAMPolicy",
)
FOLDER_IAM = (
    "gcp:folder/iAMMember:IAMMember",
    "gcp:folder/iAMBinding:IAMBinding",
    "gcp:folder/iAMPolicy:IAMPolicy",
)
ORG_IAM = (
    "gcp:organizations/iAMMember:IAMMember",
    "gcp:organizations/iAMBinding:IAMBinding",
    "gcp:organizations/iAMPolicy:IAMPolicy",
)
SERVICE_ACCOUNT_IAM = (
    "gcp:serviceaccount/iAMMember:IAMMember",
    "gcp:serviceaccount/iAMBinding:IAMBinding",
    "gcp:serviceaccount/iAMPolicy:IAMPolicy",
)

STORAGE_ACL_TYPES = (
    "gcp:storage/bucketACL:BucketACL",
    "gcp:storage/bucketAccessControl:BucketAccessControl",
    "gcp:storage/defaultObjectACL:DefaultObjectACL",
    "gcp:storage/defaultObjectAccessControl:DefaultObjectAccessControl",
    "gcp:storage/objectACL:ObjectACL",
    "gcp:storage/objectAccessControl:ObjectAccessControl",
)

K8S_POD_SPEC_PATHS = {
    "Pod": "spec",
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}
K8S_WORKLOAD_TYPES = {
    "kubernetes:core/v1:Pod": "Pod",
    "kubernetes:apps/v1:Deployment": "Deployment",
    "kubernetes:apps/v1:StatefulSet": "StatefulSet",
    "kubernetes:apps/v1:DaemonSet": "DaemonSet",
    "kubernetes:apps/v1:ReplicaSet": "ReplicaSet",
    "kubernetes:batch/v1:Job": "Job",
    "kubernetes:batch/v1:CronJob": "CronJob",
}
HELM_TYPES = ("kubernetes:helm.sh/v4:Chart", "kubernetes:helm.sh/v3:Release")
CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"


def is_iam_type(type_token: str) -> bool:
    """Any IAM member/binding/policy resource type of the gcp provider."""
    return _matches(type_token, IAM_TYPE_PATTERNS)


def _iam_kind(type_token: str) -> str:
    cls = type_token.rsplit(":", 1)[-1].lower()
    for kind in ("member", "binding", "policy"):
        if cls.endswith("iam" + kind):
            return kind
    return ""


# --------------------------------------------------------------------------------------------
# IAM grants, service accounts and Workload Identity
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """One (role, member) pair granted by an IAM member, binding or policy resource."""

    resource: Resource
    role: Any
    member: Any
    path: str  # where the member sits in the inputs: member, members[2], policyData.bindings[0]...

    def describe(self) -> str:
        return f"role {show(self.role)} granted to {self.path} {show(self.member)}"


def _policy_bindings(value: Any) -> tuple[list[Any] | None, str]:
    """Bindings of an IAM policyData value (JSON text); (None, reason) when unreadable."""
    if is_unknown(value):
        return [], ""
    if value == SECRET:
        return None, "policyData is a secret"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            where = getattr(exc, "pos", "?")
            return None, f"policyData is not JSON ({type(exc).__name__} at char {where})"
    if not isinstance(value, Mapping):
        return None, f"policyData is {type(value).__name__}, not an IAM policy object"
    bindings = value.get("bindings", [])
    if not isinstance(bindings, list):
        return None, "policyData.bindings is not a list"
    return bindings, ""


def iam_grants(resources: Iterable[Resource]) -> Iterator[Grant]:
    """Every grant in the plan's IAM resources (unreadable policyData is skipped here and
    reported by `unreadable_policies`)."""
    for resource in resources:
        token = type_of(resource)
        if not is_iam_type(token):
            continue
        ins = inputs_of(resource)
        kind = _iam_kind(token)
        if kind == "member":
            yield Grant(resource, ins.get("role"), ins.get("member"), "member")
        elif kind == "binding":
            members = ins.get("members")
            if is_unknown(members):
                yield Grant(resource, ins.get("role"), UNKNOWN, "members")
            for i, member in enumerate(_as_list(members)):
                yield Grant(resource, ins.get("role"), member, f"members[{i}]")
        elif kind == "policy":
            bindings, _ = _policy_bindings(ins.get("policyData"))
            for b, binding in enumerate(bindings or []):
                if not isinstance(binding, Mapping):
                    continue
                for m, member in enumerate(_as_list(binding.get("members"))):
                    yield Grant(
                        resource,
                        binding.get("role"),
                        member,
                        f"policyData.bindings[{b}].members[{m}]",
                    )


def unreadable_policies(rule: str, resources: Iterable[Resource]) -> Iterator[Violation]:
    """IAM policy resources whose policyData cannot be read, so no rule can vouch for them."""
    for resource in resources:
        token = type_of(resource)
        if is_iam_type(token) and _iam_kind(token) == "policy":
            _, reason = _policy_bindings(inputs_of(resource).get("policyData"))
            if reason:
                yield violation(
                    rule,
                    resource,
                    f"{reason}; the grants it makes cannot be verified, write "
                    'policyData as JSON {"bindings": [...]}',
                )


def service_account_email(value: Any) -> str | None:
    """The email in `projects/<p>/serviceAccounts/<email>` or a bare email, lower-cased."""
    if not isinstance(value, str) or is_unknown(value):
        return None
    email = value.rsplit("/serviceAccounts/", 1)[-1]
    return email.lower() if "@" in email else None


def member_email(member: Any) -> str | None:
    """The email of a `serviceAccount:<email>` member, lower-cased; None for anything else."""
    if isinstance(member, str) and member.startswith("serviceAccount:"):
        email = member.split(":", 1)[1]
        return email.lower() if "@" in email and "[" not in email else None
    return None


_WI_MEMBER = re.compile(
    r"^serviceAccount:(?P<pool>[a-z0-9][a-z0-9.:-]*\.svc\.id\.goog)"
    r"\[(?P<ns>[^/\]]+)/(?P<ksa>[^\]]+)\]$"
)
_WI_PRINCIPAL = re.compile(
    r"^principal://iam\.googleapis\.com/projects/\d+/locations/global/workloadIdentityPools/"
    r"(?P<pool>[a-z0-9][a-z0-9.:-]*\.svc\.id\.goog)/subject/ns/(?P<ns>[^/]+)/sa/(?P<ksa>[^/]+)$"
)


def workload_principal(member: Any) -> tuple[str, str, str] | None:
    """(pool, namespace, ksa) for a GKE Workload Identity member, in either the
    `serviceAccount:<pool>[<ns>/<ksa>]` or the `principal://.../subject/ns/<ns>/sa/<ksa>` form."""
    if not isinstance(member, str):
        return None
    match = _WI_MEMBER.match(member) or _WI_PRINCIPAL.match(member)
    return (match["pool"], match["ns"], match["ksa"]) if match else None


def cluster_pools(resources: Iterable[Resource]) -> set[str]:
    """Workload pools of the clusters in the plan (empty when the plan has no cluster)."""
    pools = set()
    for cluster in of_type(resources, CLUSTER):
        pool = get(inputs_of(cluster), "workloadIdentityConfig.workloadPool")
        if isinstance(pool, str) and not is_unknown(pool):
            pools.add(pool)
    return pools


Principal = tuple[str, str, str]
"""(workload pool, namespace, Kubernetes service account)."""


def workload_identity_bindings(
    resources: Sequence[Resource],
) -> dict[str, list[tuple[Grant, Principal]]]:
    """Service account email -> its `roles/iam.workloadIdentityUser` grants to KSA principals."""
    bound: dict[str, list[tuple[Grant, Principal]]] = {}
    for grant in iam_grants(resources):
        if (
            type_of(grant.resource) not in SERVICE_ACCOUNT_IAM
            or grant.role != WORKLOAD_IDENTITY_USER
        ):
            continue
        principal = workload_principal(grant.member)
        email = service_account_email(inputs_of(grant.resource).get("serviceAccountId"))
        if principal and email:
            bound.setdefault(email, []).append((grant, principal))
    return bound


# --------------------------------------------------------------------------------------------
# GKE node configuration
# --------------------------------------------------------------------------------------------

SEV_MACHINE_FAMILIES = ("n2d", "c2d", "c3d")
"""Machine series that run Confidential GKE Nodes with AMD SEV (the seed uses n2d-standard-2)."""

AMD_CONFIDENTIAL_TYPES = ("SEV", "SEV_SNP")


def _sev_capable(machine_type: Any) -> bool:
    return isinstance(machine_type, str) and machine_type.split("-", 1)[0] in SEV_MACHINE_FAMILIES


def node_configs(
    resources: Sequence[Resource], *, with_removed_default: bool = False
) -> Iterator[tuple[Resource, str]]:
    """(resource, path of a nodeConfig) for each node pool the plan creates: NodePool resources,
    a cluster's inline `nodePools`, and the cluster's default pool (`nodeConfig`) unless it is
    removed after creation (`removeDefaultNodePool`), inline pools replace it, or it is
    Autopilot. `with_removed_default` includes the transient default pool too."""
    for cluster in of_type(resources, CLUSTER):
        ins = inputs_of(cluster)
        inline = _as_list(ins.get("nodePools"))
        default_lives = (
            ins.get("removeDefaultNodePool") is not True
            and not inline
            and ins.get("enableAutopilot") is not True
        )
        if default_lives or (with_removed_default and ins.get("enableAutopilot") is not True):
            yield cluster, "nodeConfig"
        for i in range(len(inline)):
            yield cluster, f"nodePools[{i}].nodeConfig"
    for pool in of_type(resources, NODE_POOL):
        yield pool, "nodeConfig"


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def check_confidential_nodes(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Memory encryption (AMD SEV) is what keeps the decrypted model from the host."""
    rule = "gke-confidential-nodes"
    machine = (
        f"Confidential GKE Nodes need an AMD SEV machine type "
        f"({'/'.join(SEV_MACHINE_FAMILIES)}, e.g. n2d-standard-2)"
    )
    for cluster in of_type(resources, CLUSTER):
        yield from _present(
            [
                expect(
                    rule,
                    cluster,
                    "confidentialNodes.enabled",
                    _is_true,
                    "Confidential GKE Nodes must be on",
                ),
                expect(
                    rule,
                    cluster,
                    "confidentialNodes.confidentialInstanceType",
                    lambda v: v is None or v in AMD_CONFIDENTIAL_TYPES,
                    "the confidential technology must be AMD SEV or SEV_SNP",
                ),
            ]
        )
    for resource, prefix in node_configs(resources, with_removed_default=True):
        extra = (
            " (the default pool is created before it is removed; the GKE default "
            "e2-medium is not SEV-capable)"
            if prefix == "nodeConfig" and type_of(resource) == CLUSTER
            else ""
        )
        found = expect(rule, resource, f"{prefix}.machineType", _sev_capable, machine + extra)
        if found:
            yield found
    for pool in of_type(resources, NODE_POOL):
        yield from _present(
            [
                expect(
                    rule,
                    pool,
                    "nodeConfig.confidentialNodes.enabled",
                    _is_true,
                    "the node pool must run on Confidential GKE Nodes",
                ),
                expect(
                    rule,
                    pool,
                    "nodeConfig.confidentialNodes.confidentialInstanceType",
                    lambda v: v is None or v in AMD_CONFIDENTIAL_TYPES,
                    "the confidential technology must be AMD SEV or SEV_SNP",
                ),
            ]
        )


def check_shielded_nodes(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A tampered boot chain would undermine the confidential VM guarantees."""
    rule = "gke-shielded-nodes"
    for cluster in of_type(resources, CLUSTER):
        found = expect(
            rule, cluster, "enableShieldedNodes", _is_true, "Shielded GKE Nodes must be on"
        )
        if found:
            yield found
    for resource, prefix in node_configs(resources):
        yield from _present(
            [
                expect(
                    rule,
                    resource,
                    f"{prefix}.shieldedInstanceConfig.enableSecureBoot",
                    _is_true,
                    "nodes must boot with Secure Boot",
                ),
                expect(
                    rule,
                    resource,
                    f"{prefix}.shieldedInstanceConfig.enableIntegrityMonitoring",
                    _is_true,
                    "nodes must have integrity monitoring on",
                ),
            ]
        )


def check_workload_identity(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Without GKE_METADATA every pod could use the node's credentials."""
    rule = "gke-workload-identity"
    for cluster in of_type(resources, CLUSTER):
        ins = inputs_of(cluster)
        project = ins.get("project")
        known = isinstance(project, str) and project != "" and not is_unknown(project)
        expected = f"{project}.svc.id.goog" if known else "<project>.svc.id.goog"

        def pool_ok(value: Any, expected: str = expected, known: bool = known) -> bool:
            if known:
                return value == expected
            return isinstance(value, str) and value.endswith(".svc.id.goog")

        found = expect(
            rule,
            cluster,
            "workloadIdentityConfig.workloadPool",
            pool_ok,
            f"Workload Identity must be on with the cluster project's pool {expected}",
        )
        if found:
            yield found
    for resource, prefix in node_configs(resources):
        found = expect(
            rule,
            resource,
            f"{prefix}.workloadMetadataConfig.mode",
            _equals("GKE_METADATA"),
            "pods must get identities from the GKE metadata server (GKE_METADATA), not the node's",
        )
        if found:
            yield found


def check_binauthz(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Only the harness Alice signed may run under the workload identity."""
    rule = "gke-binauthz-enforced"
    for cluster in of_type(resources, CLUSTER):
        found = expect(
            rule,
            cluster,
            "binaryAuthorization.evaluationMode",
            _equals("PROJECT_SINGLETON_POLICY_ENFORCE"),
            "the cluster must enforce the project's Binary Authorization policy "
            "(PROJECT_SINGLETON_POLICY_ENFORCE)",
        )
        if found:
            yield found
    for policy in of_type(resources, BINAUTHZ_POLICY):
        yield from _present(
            [
                expect(
                    rule,
                    policy,
                    "defaultAdmissionRule.evaluationMode",
                    _equals("REQUIRE_ATTESTATION"),
                    "the default admission rule must require an attestation",
                ),
                expect(
                    rule,
                    policy,
                    "defaultAdmissionRule.enforcementMode",
                    _equals("ENFORCED_BLOCK_AND_AUDIT_LOG"),
                    "images without an attestation must be blocked, not only logged",
                ),
                expect(
                    rule,
                    policy,
                    "defaultAdmissionRule.requireAttestationsBies",
                    _nonempty_list,
                    "the default admission rule must name the image attestor",
                ),
                expect(
                    rule,
                    policy,
                    "globalPolicyEvaluationMode",
                    _equals("ENABLE"),
                    "the Google-maintained global policy must be evaluated (ENABLE) so that "
                    "only Google system images are exempt",
                ),
            ]
        )
        ins = inputs_of(policy)
        for i, cluster_rule in enumerate(_as_list(ins.get("clusterAdmissionRules"))):
            path = f"clusterAdmissionRules[{i}]"
            yield from _present(
                [
                    expect(
                        rule,
                        policy,
                        f"{path}.evaluationMode",
                        lambda v: v not in ("ALWAYS_ALLOW", None),
                        "no cluster may be exempt from attestation",
                    ),
                    expect(
                        rule,
                        policy,
                        f"{path}.enforcementMode",
                        lambda v: v != "DRYRUN_AUDIT_LOG_ONLY",
                        "a dry-run rule admits every image",
                    ),
                ]
            )
            if get(cluster_rule, "evaluationMode") == "REQUIRE_ATTESTATION":
                found = expect(
                    rule,
                    policy,
                    f"{path}.requireAttestationsBies",
                    _nonempty_list,
                    "a rule that requires attestation must name an attestor",
                )
                if found:
                    yield found
        for i, _pattern in enumerate(_as_list(ins.get("admissionWhitelistPatterns"))):
            found = expect(
                rule,
                policy,
                f"admissionWhitelistPatterns[{i}].namePattern",
                lambda v: isinstance(v, str) and v != "" and not v.startswith("*"),
                "an allowlist pattern must name a registry path, not start with a "
                "wildcard that exempts any image",
            )
            if found:
                yield found


def check_no_legacy_auth(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Legacy credentials bypass the RBAC that fences Bob in."""
    rule = "gke-no-legacy-auth"
    for cluster in of_type(resources, CLUSTER):
        yield from _present(
            [
                expect(
                    rule,
                    cluster,
                    "enableLegacyAbac",
                    _not_true,
                    "legacy ABAC bypasses RBAC and must stay off",
                ),
                expect(
                    rule,
                    cluster,
                    "masterAuth.clientCertificateConfig.issueClientCertificate",
                    _not_true,
                    "client certificates are long-lived cluster credentials; keep them off",
                ),
            ]
        )


def check_network_policy(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Tenant NetworkPolicies are inert unless the cluster enforces them."""
    rule = "gke-network-policy"
    for cluster in of_type(resources, CLUSTER):
        ins = inputs_of(cluster)
        datapath = ins.get("datapathProvider")
        if datapath == "ADVANCED_DATAPATH" or is_unknown(datapath):
            continue
        enabled = get(ins, "networkPolicy.enabled")
        if is_unknown(enabled):
            continue
        if enabled is not True:
            yield violation(
                rule,
                cluster,
                f"networkPolicy.enabled is {show(enabled)} and datapathProvider is "
                f"{show(datapath)}; NetworkPolicies must be enforced: use Dataplane V2 "
                "(ADVANCED_DATAPATH) or enable network policy",
            )
            continue
        found = expect(
            rule,
            cluster,
            "addonsConfig.networkPolicyConfig.disabled",
            lambda v: v is False,
            "the network policy add-on must be enabled (disabled: false) for "
            "networkPolicy.enabled to take effect",
        )
        if found:
            yield found


NODE_SA_ROLES = frozenset(
    {
        "roles/monitoring.metricWriter",
        "roles/logging.logWriter",
        "roles/artifactregistry.reader",
        "roles/container.defaultNodeServiceAccount",
    }
)
"""Everything a GKE node service account needs (the last is Google's bundled minimal node role)."""

DEFAULT_COMPUTE_SA_SUFFIX = "-compute@developer.gserviceaccount.com"


def check_node_sa(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Anything on a node can use the node SA; it must be able to do next to nothing."""
    rule = "gke-node-sa-least-privilege"
    emails: set[str] = set()
    for resource, prefix in node_configs(resources):
        path = f"{prefix}.serviceAccount"
        value = get(inputs_of(resource), path)
        if is_unknown(value):
            continue
        if not _nonempty_str(value):
            yield violation(
                rule,
                resource,
                f"{path} is {show(value)}; without it nodes run as the "
                "Compute Engine default service account (Editor)",
            )
        elif value == "default" or value.lower().endswith(DEFAULT_COMPUTE_SA_SUFFIX):
            yield violation(
                rule,
                resource,
                f"{path} is {show(value)}; that is the Compute Engine "
                "default service account, use a dedicated node SA",
            )
        elif not value.lower().endswith(".iam.gserviceaccount.com"):
            yield violation(
                rule,
                resource,
                f"{path} is {show(value)}; expected a dedicated "
                "<id>@<project>.iam.gserviceaccount.com account",
            )
        else:
            emails.add(value.lower())
    allowed = ", ".join(sorted(NODE_SA_ROLES))
    for grant in iam_grants(resources):
        if is_unknown(grant.role) or member_email(grant.member) not in emails:
            continue
        if not _one_of(grant.role, NODE_SA_ROLES):
            yield violation(
                rule,
                grant.resource,
                f"{grant.describe()}, the node service account; it may only hold {allowed}",
            )


KMS_DECRYPT_ROLES = frozenset(
    {
        "roles/cloudkms.cryptoKeyDecrypter",
        "roles/cloudkms.cryptoKeyEncrypterDecrypter",
        "roles/cloudkms.cryptoKeyDecrypterViaDelegation",
        "roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation",
        "roles/cloudkms.cryptoOperator",
        "roles/owner",
        "roles/editor",
    }
)
"""Roles that can decrypt (or are broad enough to be treated so). Any other `roles/cloudkms.*`
role not listed in KMS_ROLES_WITHOUT_DECRYPT is also treated as decrypt-capable, and a custom
role is decrypt-capable unless the plan defines it without a useToDecrypt permission."""

KMS_ROLES_WITHOUT_DECRYPT = frozenset(
    {
        "roles/cloudkms.admin",  # manages keys and IAM, no cryptoKeyVersions.useToDecrypt
        "roles/cloudkms.viewer",
        "roles/cloudkms.publicKeyViewer",
        "roles/cloudkms.signer",
        "roles/cloudkms.signerVerifier",
        "roles/cloudkms.verifier",
        "roles/cloudkms.cryptoKeyEncrypter",
        "roles/cloudkms.importer",
    }
)

DECRYPT_PERMISSIONS = frozenset(
    {
        "cloudkms.cryptoKeyVersions.useToDecrypt",
        "cloudkms.cryptoKeyVersions.useToDecryptViaDelegation",
    }
)

WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"

IMPERSONATION_ROLES = frozenset(
    {
        WORKLOAD_IDENTITY_USER,
        "roles/iam.serviceAccountTokenCreator",
        "roles/iam.serviceAccountUser",
        "roles/iam.serviceAccountOpenIdTokenCreator",
        "roles/iam.serviceAccountKeyAdmin",
        "roles/iam.serviceAccountAdmin",
        "roles/owner",
        "roles/editor",
    }
)
"""Roles that let their holder act as a service account (mint tokens, keys, or re-grant)."""

DECRYPT_SCOPE_TYPES = CRYPTO_KEY_IAM + KEY_RING_IAM + PROJECT_IAM + FOLDER_IAM + ORG_IAM


def custom_role_permissions(resources: Iterable[Resource]) -> dict[str, list[Any]]:
    """Full name (`projects/<p>/roles/<id>`, `organizations/<o>/roles/<id>`) -> permissions."""
    roles: dict[str, list[Any]] = {}
    for resource in resources:
        ins = inputs_of(resource)
        if type_of(resource) == PROJECT_CUSTOM_ROLE:
            name = f"projects/{ins.get('project')}/roles/{ins.get('roleId')}"
        elif type_of(resource) == ORG_CUSTOM_ROLE:
            name = f"organizations/{ins.get('orgId')}/roles/{ins.get('roleId')}"
        else:
            continue
        roles[name] = _as_list(ins.get("permissions"))
    return roles


def can_decrypt(role: Any, custom_roles: Mapping[str, Sequence[Any]]) -> bool:
    """Whether a role may decrypt with a KMS key it is granted on (conservative for unknowns)."""
    if not isinstance(role, str):
        return False
    if role in KMS_DECRYPT_ROLES:
        return True
    if role.startswith("roles/cloudkms."):
        return role not in KMS_ROLES_WITHOUT_DECRYPT
    if role.startswith(("projects/", "organizations/")) and "/roles/" in role:
        permissions = custom_roles.get(role)
        if permissions is None:
            return True  # a custom role defined elsewhere could hold useToDecrypt
        return any(
            p in DECRYPT_PERMISSIONS or p in ("cloudkms.*", "cloudkms.cryptoKeyVersions.*")
            for p in permissions
        )
    return False


def check_decrypt_only_workload(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The model key may only be used by the signed harness in the sandbox namespace."""
    rule = "kms-decrypt-only-workload"
    yield from unreadable_policies(
        rule, [r for r in resources if type_of(r) in DECRYPT_SCOPE_TYPES + SERVICE_ACCOUNT_IAM]
    )
    customs = custom_role_permissions(resources)
    pools = cluster_pools(resources)
    bindings = workload_identity_bindings(resources)
    need = (
        "only a Workload-Identity-bound service account (the sandbox namespace's KSA) may decrypt"
    )
    decrypters: set[str] = set()
    for grant in iam_grants(resources):
        if type_of(grant.resource) not in DECRYPT_SCOPE_TYPES or not can_decrypt(
            grant.role, customs
        ):
            continue
        if is_unknown(grant.member):
            continue
        principal = workload_principal(grant.member)
        if principal:
            if pools and principal[0] not in pools:
                yield violation(
                    rule,
                    grant.resource,
                    f"{grant.describe()}; its pool {principal[0]} is not the workload "
                    f"pool of a cluster in this plan ({', '.join(sorted(pools))})",
                )
            continue
        email = member_email(grant.member)
        if email is None:
            yield violation(rule, grant.resource, f"{grant.describe()}; {need}")
            continue
        bound = [p for _, p in bindings.get(email, []) if not pools or p[0] in pools]
        if not bound:
            yield violation(
                rule,
                grant.resource,
                f"{grant.describe()}; {email} has no {WORKLOAD_IDENTITY_USER} binding "
                f"to a <pool>[<namespace>/<ksa>] member in this plan, and {need}",
            )
            continue
        decrypters.add(email)
    yield from _impersonation(rule, resources, decrypters)


def _impersonation(
    rule: str, resources: Sequence[Resource], decrypters: set[str]
) -> Iterator[Violation]:
    """Whoever can act as a decrypting service account can decrypt too: exactly one Kubernetes
    service account may, and no other member may hold an impersonation role over it."""
    by_principal: dict[str, list[tuple[Grant, Principal]]] = {}
    for grant in iam_grants(resources):
        if type_of(grant.resource) not in SERVICE_ACCOUNT_IAM or not _one_of(
            grant.role, IMPERSONATION_ROLES
        ):
            continue
        principal = workload_principal(grant.member)
        target = service_account_email(inputs_of(grant.resource).get("serviceAccountId"))
        if principal and target in decrypters:
            by_principal.setdefault(target, []).append((grant, principal))
    for email in sorted(by_principal):
        principals = sorted({p for _, p in by_principal[email]})
        if len(principals) > 1:
            names = ", ".join(f"{pool}[{ns}/{ksa}]" for pool, ns, ksa in principals)
            for grant, _ in by_principal[email]:
                yield violation(
                    rule,
                    grant.resource,
                    f"{grant.describe()}; {email} can decrypt and {len(principals)} "
                    f"Kubernetes service accounts can act as it ({names}); allow "
                    "exactly one",
                )
    projects = {email.split("@", 1)[1].split(".", 1)[0] for email in decrypters}
    for grant in iam_grants(resources):
        if not _one_of(grant.role, IMPERSONATION_ROLES) or is_unknown(grant.member):
            continue
        if workload_principal(grant.member):
            continue
        token = type_of(grant.resource)
        ins = inputs_of(grant.resource)
        if token in SERVICE_ACCOUNT_IAM:
            target = service_account_email(ins.get("serviceAccountId"))
            hit, where = target in decrypters, f"on {target}"
        elif token in PROJECT_IAM:
            project = ins.get("project")
            hit = bool(decrypters) and (project is None or _one_of(project, projects))
            where = f"on project {show(project)}, home of the decrypting service account"
        elif token in FOLDER_IAM + ORG_IAM:
            hit, where = bool(decrypters), "above the project of the decrypting service account"
        else:
            continue
        if hit:
            yield violation(
                rule,
                grant.resource,
                f"{grant.describe()} {where}; that member could act as the decrypting "
                "identity outside the sandbox",
            )
    for key in of_type(resources, SERVICE_ACCOUNT_KEY):
        target = service_account_email(inputs_of(key).get("serviceAccountId"))
        if target in decrypters:
            yield violation(
                rule,
                key,
                f"serviceAccountId is {show(target)}; a key for the "
                "decrypting service account works outside the cluster",
            )


def check_kms_rotation(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Rotation bounds how much ciphertext one key version protects."""
    rule = "kms-key-rotation"
    limit = 90 * 24 * 3600
    for key in of_type(resources, CRYPTO_KEY):
        ins = inputs_of(key)
        purpose = ins.get("purpose")
        if is_unknown(purpose) or purpose not in (None, "ENCRYPT_DECRYPT"):
            continue  # only symmetric keys rotate automatically; signing keys are exempt
        period = ins.get("rotationPeriod")
        if is_unknown(period):
            continue
        match = re.fullmatch(r"(\d+)(?:\.\d+)?s", period) if isinstance(period, str) else None
        if not match:
            yield violation(
                rule,
                key,
                f"rotationPeriod is {show(period)}; a symmetric key must "
                f'rotate at least every 90 days (e.g. "{limit}s")',
            )
        elif int(match[1]) > limit:
            yield violation(
                rule,
                key,
                f"rotationPeriod is {show(period)}; at most {limit}s (90 days) is allowed",
            )


def check_bucket_public_access(resources: Sequence[Resource]) -> Iterator[Violation]:
    """ACLs and public grants are the classic way a bucket leaks."""
    rule = "bucket-no-public-access"
    for bucket in of_type(resources, BUCKET):
        yield from _present(
            [
                expect(
                    rule,
                    bucket,
                    "uniformBucketLevelAccess",
                    _is_true,
                    "object ACLs must be disabled (uniform bucket-level access)",
                ),
                expect(
                    rule,
                    bucket,
                    "publicAccessPrevention",
                    _equals("enforced"),
                    'public access prevention must be "enforced"',
                ),
            ]
        )


PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})


def check_no_primitive_roles(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Basic roles carry thousands of permissions, decrypt and impersonation among them."""
    rule = "no-primitive-roles"
    yield from unreadable_policies(rule, resources)
    for grant in iam_grants(resources):
        if _one_of(grant.role, PRIMITIVE_ROLES):
            yield violation(
                rule,
                grant.resource,
                f"{grant.describe()}; basic roles grant far more than any party here needs",
            )


def check_no_public_members(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Nothing in this system is meant for the internet at large."""
    rule = "no-public-members"
    yield from unreadable_policies(rule, resources)
    for grant in iam_grants(resources):
        if _one_of(grant.member, PUBLIC_MEMBERS):
            yield violation(
                rule, grant.resource, f"{grant.describe()}; nothing may be granted to the public"
            )
    for acl in of_type(resources, *STORAGE_ACL_TYPES):
        ins = inputs_of(acl)
        entity = ins.get("entity")
        if isinstance(entity, str) and entity in PUBLIC_MEMBERS:
            yield violation(
                rule, acl, f"entity is {show(entity)}; nothing may be granted to the public"
            )
        for i, pair in enumerate(_as_list(ins.get("roleEntities"))):
            if isinstance(pair, str) and pair.split(":", 1)[-1] in PUBLIC_MEMBERS:
                yield violation(
                    rule,
                    acl,
                    f"roleEntities[{i}] is {show(pair)}; nothing may be granted to the public",
                )
        predefined = ins.get("predefinedAcl")
        if isinstance(predefined, str) and predefined.lower().startswith("public"):
            yield violation(
                rule,
                acl,
                f"predefinedAcl is {show(predefined)}; nothing may be granted to the public",
            )


CONFIDENTIAL_CONSTRAINT = "compute.restrictNonConfidentialComputing"
CONFIDENTIAL_DENIED = "compute.googleapis.com"


def _is_stack_urn(urn: Any) -> bool:
    return not isinstance(urn, str) or "::pulumi:pulumi:Stack::" in urn


def _attached(policy: Resource, folder: Resource) -> bool:
    """An org policy belongs to a folder when the folder is its Pulumi parent, or both share
    the same component parent (the stack itself does not count). The plan cannot match on
    the folder id: it is an output, and plan inputs hold only what the program passed."""
    parent = policy.get("parent")
    if parent == folder.get("urn"):
        return True
    return parent == folder.get("parent") and not _is_stack_urn(parent)


def _for_constraint(policy: Resource) -> bool:
    name = inputs_of(policy).get("name")
    return is_unknown(name) or (
        isinstance(name, str) and name.endswith(f"/policies/{CONFIDENTIAL_CONSTRAINT}")
    )


def _denies_compute(item: Any) -> bool:
    """An unconditional rule (a condition would limit it to tagged resources) denying Compute."""
    denied = get(item, "values.deniedValues")
    return get(item, "condition") is None and (
        is_unknown(denied) or CONFIDENTIAL_DENIED in _as_list(denied)
    )


def check_org_policy(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The folder constraint stops anyone creating non-confidential VMs in the sandbox."""
    rule = "org-policy-confidential-only"
    policies = of_type(resources, ORG_POLICY)
    for folder in of_type(resources, FOLDER):
        mine = [p for p in policies if _attached(p, folder) and _for_constraint(p)]
        if not mine:
            yield violation(
                rule,
                folder,
                f"no {ORG_POLICY} for constraints/{CONFIDENTIAL_CONSTRAINT} is "
                "attached (same Pulumi parent component as the folder); only "
                "Confidential VMs may run in the sandbox folder",
            )
        for policy in mine:
            yield from _present(
                [
                    expect(
                        rule,
                        policy,
                        "parent",
                        lambda v: isinstance(v, str) and v.startswith("folders/"),
                        "the policy must be set on the sandbox folder (folders/<id>)",
                    ),
                    expect(
                        rule,
                        policy,
                        "spec.reset",
                        _not_true,
                        "a reset policy falls back to the constraint default (allow)",
                    ),
                ]
            )
            rules = get(inputs_of(policy), "spec.rules")
            if is_unknown(rules):
                continue
            for i in range(len(_as_list(rules))):
                found = expect(
                    rule,
                    policy,
                    f"spec.rules[{i}].allowAll",
                    lambda v: not _truthy_flag(v),
                    "allowAll would admit non-confidential VMs",
                )
                if found:
                    yield found
            if not any(_denies_compute(item) for item in _as_list(rules)):
                denied = [get(item, "values.deniedValues") for item in _as_list(rules)]
                yield violation(
                    rule,
                    policy,
                    f"spec.rules[*].values.deniedValues is {show(denied)}; an "
                    f'unconditional rule must deny "{CONFIDENTIAL_DENIED}"',
                )


_DIGEST_REF = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HAS_DIGEST = re.compile(r"sha256:[0-9a-f]{64}$")
_BY_DIGEST = "images must be pinned by digest (<repository>@sha256:<64 hex>)"


def _pod_images(
    rule: str, resource: Resource, obj: Any, kind: str, prefix: str
) -> Iterator[Violation]:
    spec_path = K8S_POD_SPEC_PATHS[kind]
    spec = get(obj, spec_path)
    if is_unknown(spec):
        return
    seen = 0
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for i, container in enumerate(_as_list(get(spec, key))):
            seen += 1
            image = get(container, "image")
            if is_unknown(image):
                continue
            if not (isinstance(image, str) and _DIGEST_REF.match(image)):
                path = f"{prefix}{spec_path}.{key}[{i}].image"
                yield violation(rule, resource, f"{path} is {show(image)}; {_BY_DIGEST}")
    if not seen:
        yield violation(
            rule,
            resource,
            f"{prefix}{spec_path}.containers is unset; a workload "
            "without containers cannot be verified",
        )


def _is_image_key(key: Any) -> bool:
    return isinstance(key, str) and (key.endswith("Image") or key.endswith("image"))


def _image_map_problems(image: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
    """Problems of a Helm image map such as {repository, tag|release, digest, crdRepository}.

    Every `*repository` string must carry `@sha256:<64 hex>` itself, except `repository`, which
    may instead be pinned by a sibling `digest` (or `tag`) of `sha256:<64 hex>`. A map without
    repository fields is pinned when one of its strings ends in `sha256:<64 hex>`."""
    sibling_digest = any(
        isinstance(image.get(k), str) and _HAS_DIGEST.search(image[k]) for k in ("digest", "tag")
    )
    repositories = [
        k
        for k, v in image.items()
        if isinstance(v, str) and isinstance(k, str) and k.lower().endswith("repository")
    ]
    for key in repositories:
        value = image[key]
        if _DIGEST_REF.match(value) or (key == "repository" and sibling_digest):
            continue
        yield (
            f"{path}.{key}",
            (
                f"is {show(value)}; pin it by digest: <repository>@sha256:<64 hex>"
                + (" or a digest field sha256:<64 hex>" if key == "repository" else "")
            ),
        )
    texts = [v for v in image.values() if isinstance(v, str)]
    if not repositories and texts and not any(_HAS_DIGEST.search(v) for v in texts):
        yield (
            path,
            (
                f"is {show(dict(image))}; set its digest (sha256:<64 hex>) so the chart "
                "pulls the image by digest"
            ),
        )


def _helm_values(value: Any, path: str, found: list[str]) -> Iterator[tuple[str, str]]:
    """(path, problem) for image-like values not pinned by digest; `found` collects image paths.

    A string under an image-like key (`image`, `*Image`) must be `<repo>@sha256:<64 hex>`; a map
    under one is judged by `_image_map_problems`; a non-empty string under a `digest` key must be
    `sha256:<64 hex>`."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}"
            if _is_image_key(key):
                found.append(here)
                if isinstance(item, str):
                    if not _DIGEST_REF.match(item):
                        yield here, f"is {show(item)}; {_BY_DIGEST}"
                elif isinstance(item, Mapping):
                    yield from _image_map_problems(item, here)
            elif key == "digest" and isinstance(item, str) and item and not _DIGEST.match(item):
                yield here, f"is {show(item)}; a digest is sha256:<64 hex>"
            if isinstance(item, Mapping | list):
                yield from _helm_values(item, here, found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _helm_values(item, f"{path}[{i}]", found)


def _config_group_objects(
    rule: str, group: Resource
) -> tuple[list[tuple[str, Any]], list[Violation]]:
    ins = inputs_of(group)
    objects = [(f"objs[{i}].", obj) for i, obj in enumerate(_as_list(ins.get("objs")))]
    problems: list[Violation] = []
    text = ins.get("yaml")
    if isinstance(text, str) and text.strip() and not is_unknown(text):
        try:
            import yaml  # PyYAML ships with the Pulumi SDK; only needed for this input

            docs = [d for d in yaml.safe_load_all(text) if d is not None]
            objects += [(f"yaml[{i}].", doc) for i, doc in enumerate(docs)]
        except Exception as exc:
            problems.append(
                violation(
                    rule,
                    group,
                    f"yaml cannot be parsed ({type(exc).__name__}); its images cannot be verified",
                )
            )
    return objects, problems


def check_images_by_digest(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A tag can be moved to other bytes; a digest names exactly what was reviewed."""
    rule = "images-by-digest"
    for resource in resources:
        token = type_of(resource)
        if token in K8S_WORKLOAD_TYPES:
            kind = K8S_WORKLOAD_TYPES[token]
            yield from _pod_images(rule, resource, inputs_of(resource), kind, "")
        elif token == CONFIG_GROUP:
            objects, problems = _config_group_objects(rule, resource)
            yield from problems
            for prefix, obj in objects:
                kind = get(obj, "kind")
                if _one_of(kind, K8S_POD_SPEC_PATHS):
                    yield from _pod_images(rule, resource, obj, kind, prefix)
        elif token in HELM_TYPES:
            values = inputs_of(resource).get("values")
            if is_unknown(values):
                continue
            found: list[str] = []
            for path, problem in _helm_values(values or {}, "values", found):
                yield violation(rule, resource, f"{path} {problem}")
            if not found:
                yield violation(
                    rule,
                    resource,
                    "values sets no image; the chart's default images "
                    f"are pinned by tag, override them: {_BY_DIGEST}",
                )


def check_model_object_sealed(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A model object without its wrapped keyset is plaintext (or undecryptable)."""
    rule = "model-object-sealed"
    for obj in of_type(resources, BUCKET_OBJECT):
        metadata = inputs_of(obj).get("metadata")
        if is_unknown(metadata):
            continue
        if metadata == SECRET:
            yield violation(
                rule,
                obj,
                "metadata is a secret as a whole; mark only values secret "
                "so the encryption-key entry can be verified",
            )
            continue
        meta = metadata if isinstance(metadata, Mapping) else {}
        key = meta.get("encryption-key")
        if not (is_unknown(key) or _nonempty_str(key)):
            yield violation(
                rule,
                obj,
                f'metadata["encryption-key"] is {show(key)}; the object '
                "must be sealed: a KMS-wrapped Tink keyset, base64",
            )
        digest = meta.get("plaintext-sha256")
        if not (
            is_unknown(digest)
            or digest == SECRET
            or (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest))
        ):
            yield violation(
                rule,
                obj,
                f'metadata["plaintext-sha256"] is {show(digest)}; expected '
                "the 64 lower-case hex SHA-256 of the plaintext model",
            )


PGP_HEADER = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
PEM_HEADER = "-----BEGIN PUBLIC KEY-----"


def check_attestor_public_key(resources: Sequence[Resource]) -> Iterator[Violation]:
    """An attestor without a key verifies nothing, so nothing could be admitted."""
    rule = "attestor-has-public-key"
    for attestor in of_type(resources, ATTESTOR):
        found = expect(
            rule,
            attestor,
            "attestationAuthorityNote.noteReference",
            _nonempty_str,
            "the attestor must reference its Container Analysis note",
        )
        if found:
            yield found
        keys = get(inputs_of(attestor), "attestationAuthorityNote.publicKeys")
        if is_unknown(keys):
            continue
        if not _as_list(keys):
            yield violation(
                rule,
                attestor,
                f"attestationAuthorityNote.publicKeys is {show(keys)}; "
                "without a public key no attestation can verify",
            )
            continue
        for i, key in enumerate(_as_list(keys)):
            path = f"attestationAuthorityNote.publicKeys[{i}]"
            pgp = get(key, "asciiArmoredPgpPublicKey")
            pem = get(key, "pkixPublicKey.publicKeyPem")
            algorithm = get(key, "pkixPublicKey.signatureAlgorithm")
            if any(is_unknown(v) for v in (pgp, pem, algorithm)):
                continue
            if isinstance(pgp, str) and pgp.strip().startswith(PGP_HEADER):
                continue
            if (
                isinstance(pem, str)
                and pem.strip().startswith(PEM_HEADER)
                and _nonempty_str(algorithm)
            ):
                continue
            yield violation(
                rule,
                attestor,
                f"{path} has asciiArmoredPgpPublicKey {show(pgp, 40)}, "
                f"pkixPublicKey.publicKeyPem {show(pem, 40)} and signatureAlgorithm "
                f"{show(algorithm)}; expected an ASCII-armored PGP key or a PEM "
                "public key with its signature algorithm",
            )


def check_private_nodes(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Nodes without public IPs cannot be reached from the internet."""
    rule = "gke-private-nodes"
    for cluster in of_type(resources, CLUSTER):
        found = expect(
            rule,
            cluster,
            "privateClusterConfig.enablePrivateNodes",
            _is_true,
            "nodes must have internal IP addresses only",
        )
        if found:
            yield found
    for pool in of_type(resources, NODE_POOL):
        found = expect(
            rule,
            pool,
            "networkConfig.enablePrivateNodes",
            lambda v: v is not False,
            "a node pool must not opt out of private nodes",
        )
        if found:
            yield found


RELEASE_CHANNELS = ("RAPID", "REGULAR", "STABLE", "EXTENDED")


def check_release_channel(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Unpatched nodes weaken every other control."""
    rule = "gke-release-channel"
    clusters = of_type(resources, CLUSTER)
    for cluster in clusters:
        found = expect(
            rule,
            cluster,
            "releaseChannel.channel",
            lambda v: v in RELEASE_CHANNELS,
            f"the cluster must follow a release channel ({', '.join(RELEASE_CHANNELS)}) "
            "to receive security patches",
        )
        if found:
            yield found
    for pool in of_type(resources, NODE_POOL):
        found = expect(
            rule,
            pool,
            "management.autoUpgrade",
            lambda v: v is not False,
            "nodes on a release channel must auto-upgrade",
        )
        if found:
            yield found


# --------------------------------------------------------------------------------------------
# The rule set
# --------------------------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule(
        name="gke-confidential-nodes",
        description="GKE clusters and node pools run on Confidential GKE Nodes (AMD SEV machine "
        "types), so node memory is encrypted while the model is in use.",
        severity=Severity.CRITICAL,
        remediation="Set confidentialNodes.enabled=true on the cluster and "
        "nodeConfig.confidentialNodes.enabled=true on every node pool, with an "
        "n2d/c2d/c3d machine type (also on the cluster's nodeConfig, which sizes the "
        "default pool).",
        applies_to=(CLUSTER, NODE_POOL),
        check=check_confidential_nodes,
    ),
    Rule(
        name="gke-shielded-nodes",
        description="Nodes are Shielded VMs with Secure Boot and integrity monitoring.",
        severity=Severity.HIGH,
        remediation="Set enableShieldedNodes=true on the cluster and "
        "nodeConfig.shieldedInstanceConfig {enableSecureBoot: true, "
        "enableIntegrityMonitoring: true} on every node pool.",
        applies_to=(CLUSTER, NODE_POOL),
        check=check_shielded_nodes,
    ),
    Rule(
        name="gke-workload-identity",
        description="Workload Identity is on and pods reach only the GKE metadata server, so the "
        "model identity belongs to one Kubernetes service account, not to the node.",
        severity=Severity.CRITICAL,
        remediation="Set workloadIdentityConfig.workloadPool=<project>.svc.id.goog on the cluster "
        "and nodeConfig.workloadMetadataConfig.mode=GKE_METADATA on every node pool.",
        applies_to=(CLUSTER, NODE_POOL),
        check=check_workload_identity,
    ),
    Rule(
        name="gke-binauthz-enforced",
        description="Only images signed by the attestor are admitted: the cluster enforces the "
        "project singleton Binary Authorization policy and that policy blocks "
        "unattested images, exempting only Google system images.",
        severity=Severity.CRITICAL,
        remediation="Cluster: binaryAuthorization.evaluationMode=PROJECT_SINGLETON_POLICY_ENFORCE. "
        "Policy: defaultAdmissionRule {evaluationMode: REQUIRE_ATTESTATION, "
        "enforcementMode: ENFORCED_BLOCK_AND_AUDIT_LOG, requireAttestationsBies: "
        "[attestor]}, globalPolicyEvaluationMode=ENABLE, no ALWAYS_ALLOW or dry-run "
        "cluster rules, no wildcard allowlist patterns.",
        applies_to=(CLUSTER, BINAUTHZ_POLICY),
        check=check_binauthz,
    ),
    Rule(
        name="gke-no-legacy-auth",
        description="No legacy ABAC and no client certificates: cluster access goes through IAM "
        "and RBAC only.",
        severity=Severity.HIGH,
        remediation="Leave enableLegacyAbac unset or false and set "
        "masterAuth.clientCertificateConfig.issueClientCertificate=false.",
        applies_to=(CLUSTER,),
        check=check_no_legacy_auth,
    ),
    Rule(
        name="gke-network-policy",
        description="NetworkPolicies are enforced, so tenant namespaces can be fenced off.",
        severity=Severity.HIGH,
        remediation="Set datapathProvider=ADVANCED_DATAPATH (Dataplane V2), or networkPolicy "
        "{enabled: true} with addonsConfig.networkPolicyConfig.disabled=false.",
        applies_to=(CLUSTER,),
        check=check_network_policy,
    ),
    Rule(
        name="gke-node-sa-least-privilege",
        description="Nodes run as a dedicated service account holding only logging, monitoring "
        "and Artifact Registry read roles.",
        severity=Severity.HIGH,
        remediation="Create a node service account, set it as nodeConfig.serviceAccount on every "
        "node pool, and grant it only roles/monitoring.metricWriter, "
        "roles/logging.logWriter and roles/artifactregistry.reader "
        "(or roles/container.defaultNodeServiceAccount).",
        applies_to=(CLUSTER, NODE_POOL),
        check=check_node_sa,
    ),
    Rule(
        name="kms-key-rotation",
        description="Symmetric KMS keys rotate at least every 90 days; asymmetric keys are exempt.",
        severity=Severity.MEDIUM,
        remediation='Set rotationPeriod (e.g. "7776000s") on every ENCRYPT_DECRYPT crypto key.',
        applies_to=(CRYPTO_KEY,),
        check=check_kms_rotation,
    ),
    Rule(
        name="kms-decrypt-only-workload",
        description="Only the sandbox workload identity can decrypt: every role able to decrypt "
        "(on a key, key ring, project, folder or organization) goes to a service "
        "account bound by Workload Identity to exactly one Kubernetes service account "
        "of a cluster in the plan, and nobody else can act as that account.",
        severity=Severity.CRITICAL,
        remediation="Grant roles/cloudkms.cryptoKeyDecrypter on the one key to the workload GSA "
        "only, bind that GSA with roles/iam.workloadIdentityUser to "
        "serviceAccount:<project>.svc.id.goog[<ns>/<ksa>], and grant no one token "
        "creator, user, key or admin roles on it.",
        applies_to=DECRYPT_SCOPE_TYPES + SERVICE_ACCOUNT_IAM + (SERVICE_ACCOUNT_KEY,),
        check=check_decrypt_only_workload,
    ),
    Rule(
        name="bucket-no-public-access",
        description="Buckets use uniform bucket-level access with public access prevention "
        "enforced.",
        severity=Severity.CRITICAL,
        remediation='Set uniformBucketLevelAccess=true and publicAccessPrevention="enforced".',
        applies_to=(BUCKET,),
        check=check_bucket_public_access,
    ),
    Rule(
        name="no-primitive-roles",
        description="No IAM resource grants the basic roles owner, editor or viewer.",
        severity=Severity.HIGH,
        remediation="Replace roles/owner, roles/editor and roles/viewer with the predefined role "
        "the member needs.",
        applies_to=IAM_TYPE_PATTERNS,
        check=check_no_primitive_roles,
    ),
    Rule(
        name="no-public-members",
        description="No IAM resource or storage ACL grants anything to allUsers or "
        "allAuthenticatedUsers.",
        severity=Severity.CRITICAL,
        remediation="Remove allUsers/allAuthenticatedUsers members and public ACLs; grant named "
        "principals instead.",
        applies_to=IAM_TYPE_PATTERNS + STORAGE_ACL_TYPES,
        check=check_no_public_members,
    ),
    Rule(
        name="org-policy-confidential-only",
        description="Every folder carries the org policy "
        "constraints/compute.restrictNonConfidentialComputing denying "
        "compute.googleapis.com, so only Confidential VMs can run in it.",
        severity=Severity.CRITICAL,
        remediation="Create a gcp.orgpolicy.Policy in the same component as the folder with "
        "name folders/<id>/policies/compute.restrictNonConfidentialComputing, "
        "parent folders/<id> and spec.rules=[{values: {deniedValues: "
        '["compute.googleapis.com"]}}], no allowAll.',
        applies_to=(FOLDER,),
        check=check_org_policy,
    ),
    Rule(
        name="images-by-digest",
        description="Every container image of every Kubernetes workload (containers, init and "
        "ephemeral containers; Deployments, StatefulSets, DaemonSets, ReplicaSets, "
        "Jobs, CronJobs, Pods, and ConfigGroup objs/yaml) and every image value given "
        "to a Helm chart is pinned by sha256 digest.",
        severity=Severity.HIGH,
        remediation="Reference images as <repository>@sha256:<64 hex>; for Helm charts set the "
        "image values (or their digest field) to the digest.",
        applies_to=tuple(K8S_WORKLOAD_TYPES) + HELM_TYPES + (CONFIG_GROUP,),
        check=check_images_by_digest,
    ),
    Rule(
        name="model-object-sealed",
        description="Model objects are sealed: they carry the KMS-wrapped keyset as "
        'metadata["encryption-key"] and the plaintext digest as '
        'metadata["plaintext-sha256"].',
        severity=Severity.CRITICAL,
        remediation="Upload only the output of `python -m infra seal`, with its encryption-key "
        "and plaintext-sha256 metadata.",
        applies_to=(BUCKET_OBJECT,),
        check=check_model_object_sealed,
    ),
    Rule(
        name="attestor-has-public-key",
        description="Binary Authorization attestors reference their note and hold a public key, "
        "so attestations can be verified.",
        severity=Severity.HIGH,
        remediation="Set attestationAuthorityNote.noteReference and add a publicKeys entry with "
        "pkixPublicKey {publicKeyPem, signatureAlgorithm} (KMS signing key) or "
        "asciiArmoredPgpPublicKey.",
        applies_to=(ATTESTOR,),
        check=check_attestor_public_key,
    ),
    Rule(
        name="gke-private-nodes",
        description="Nodes have no public IP addresses.",
        severity=Severity.MEDIUM,
        remediation="Set privateClusterConfig.enablePrivateNodes=true (with a "
        "masterIpv4CidrBlock) and do not set networkConfig.enablePrivateNodes=false "
        "on node pools.",
        applies_to=(CLUSTER, NODE_POOL),
        check=check_private_nodes,
    ),
    Rule(
        name="gke-release-channel",
        description="The cluster follows a release channel and its nodes auto-upgrade, so "
        "security patches arrive.",
        severity=Severity.LOW,
        remediation="Set releaseChannel.channel (REGULAR or STABLE) and leave node pool "
        "management.autoUpgrade on.",
        applies_to=(CLUSTER,),
        check=check_release_channel,
    ),
    Rule(
        name="model-access-paths",
        description="Every way to read or decrypt the model passes through the sandbox: the "
        "harness pods in the tenant namespace, admitted only with an approved digest. "
        "No grant, impersonation, service account key, GKE IAM role, RBAC permission "
        "(exec, attach, ephemeral containers, token minting) or missing admission "
        "rule reaches a person, a group or the public directly.",
        severity=Severity.CRITICAL,
        remediation="Grant decrypt/read only to the workload service account, bind it only to "
        "the workload KSA with roles/iam.workloadIdentityUser, keep tenants to the "
        "sandbox Role, and deploy every workload-KSA Gatekeeper rule for the "
        "namespace. `python -m infra access <plan>` prints each chain.",
        applies_to=("gcp:kms/cryptoKey:CryptoKey", BUCKET_OBJECT, *IAM_TYPE_PATTERNS),
        check=lambda resources: _access().check_model_access_paths(resources),
    ),
)


def _access():
    """The access analysis imports this module, so it is loaded on first use."""
    if __package__:
        from . import access
    else:  # the CrossGuard pack imports rules and access as sibling modules
        import access  # type: ignore[no-redef]
    return access


def _assert_unique(rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise ValueError(f"duplicate rule name {rule.name!r}")
        seen.add(rule.name)


_assert_unique(RULES)
