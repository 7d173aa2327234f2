"""GKE checks that need more than one property of one resource (the single-property ones are
rows of `table.py`): node pools the cluster really runs, the workload pool of the cluster's own
project, Binary Authorization cluster rules and allowlists, network policy enforcement, and
the node service account's grants.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from policy.facts import SEV_MACHINE_FAMILIES, is_sev_machine_type

from .engine import (
    Violation,
    expect,
    nonempty_list,
    nonempty_str,
    not_true,
    one_of,
    present,
    truthy_flag,
    violation,
)
from .gcp_iam import iam_grants, member_email
from .plan import (
    Resource,
    as_list,
    get,
    inputs_of,
    is_unknown,
    of_type,
    same_component,
    show,
    type_of,
)
from .tokens import ATTESTOR, BINAUTHZ_POLICY, CLUSTER, FOLDER, NODE_POOL, ORG_POLICY, REPOSITORY


def node_configs(
    resources: Sequence[Resource], *, with_removed_default: bool = False
) -> Iterator[tuple[Resource, str]]:
    """(resource, path of a nodeConfig) for each node pool the plan creates: NodePool resources,
    a cluster's inline `nodePools`, and the cluster's default pool (`nodeConfig`) unless it is
    removed after creation (`removeDefaultNodePool`), inline pools replace it, or it is
    Autopilot. `with_removed_default` includes the transient default pool too."""
    for cluster in of_type(resources, CLUSTER):
        ins = inputs_of(cluster)
        inline = as_list(ins.get("nodePools"))
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


def check_confidential_machine_types(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Memory encryption (AMD SEV) needs an SEV-capable machine series on every pool, the
    transient default pool included."""
    rule = "gke-confidential-nodes"
    machine = (
        f"Confidential GKE Nodes need an AMD SEV machine type "
        f"({'/'.join(SEV_MACHINE_FAMILIES)}, e.g. n2d-standard-2)"
    )
    for resource, prefix in node_configs(resources, with_removed_default=True):
        extra = (
            " (the default pool is created before it is removed; the GKE default "
            "e2-medium is not SEV-capable)"
            if prefix == "nodeConfig" and type_of(resource) == CLUSTER
            else ""
        )
        found = expect(
            rule, resource, f"{prefix}.machineType", is_sev_machine_type, machine + extra
        )
        if found:
            yield found


def check_workload_pool(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Without Workload Identity every pod could use the node's credentials; the pool must be
    the cluster project's own (`<project>.svc.id.goog`)."""
    rule = "gke-workload-identity"
    for cluster in of_type(resources, CLUSTER):
        project = inputs_of(cluster).get("project")
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


def _cluster_rule(rule: str, policy: Resource, i: int, cluster_rule: Any) -> Iterator[Violation]:
    path = f"clusterAdmissionRules[{i}]"
    yield from present(
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
        yield from present(
            [
                expect(
                    rule,
                    policy,
                    f"{path}.requireAttestationsBies",
                    nonempty_list,
                    "a rule that requires attestation must name an attestor",
                )
            ]
        )


def check_binauthz_exemptions(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Per-cluster rules and allowlist patterns must not exempt images from attestation."""
    rule = "gke-binauthz-enforced"
    for policy in of_type(resources, BINAUTHZ_POLICY):
        ins = inputs_of(policy)
        for i, cluster_rule in enumerate(as_list(ins.get("clusterAdmissionRules"))):
            yield from _cluster_rule(rule, policy, i, cluster_rule)
    yield from check_allowlist_patterns(resources)


_DIGEST_REF = re.compile(r"[a-z0-9][a-z0-9.-]*(?::\d+)?(?:/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}")
"""`<host>/<path>@sha256:<64 hex>`: one image, the digest Binary Authorization compares
(cloud.google.com/binary-authorization/docs/policy-yaml-reference#admissionwhitelistpatterns)."""


def _docker_path(repo: Resource) -> str | None:
    """`<location>-docker.pkg.dev/<project>/<repositoryId>` (cloud.google.com/artifact-registry/
    docs/docker/names)."""
    ins = inputs_of(repo)
    parts = [ins.get(k) for k in ("location", "project", "repositoryId")]
    if all(isinstance(p, str) and p and not is_unknown(p) for p in parts):
        return f"{parts[0]}-docker.pkg.dev/{parts[1]}/{parts[2]}"
    return None


def _owned_repositories(resources: Sequence[Resource], project: Any) -> set[str]:
    """Repositories the plan creates in the policy's own project, less any a tenant deploys
    from (a Gatekeeper allowed-repos parameter): only the cluster's owner pushes there."""
    tenant = {
        str(repo).rstrip("/")
        for constraint in resources
        if type_of(constraint).startswith("kubernetes:constraints.gatekeeper.sh/")
        for repo in as_list(get(inputs_of(constraint), "spec.parameters.repos"))
    }
    return {
        path
        for repo in of_type(resources, REPOSITORY)
        if inputs_of(repo).get("project") == project
        for path in [_docker_path(repo)]
        if path and path not in tenant
    }


def allowlist_problem(pattern: Any, owned: set[str]) -> str | None:
    """Why an allowlist pattern may admit an image nobody reviewed, or None.

    Accepted: one exact `<repo>@sha256:<64 hex>`, or `<repo>/*`/`<repo>/**` for a repository
    the plan creates in the cluster project (no tenant can push there). Anything else, a
    tenant's `<repo>/*` included, may match an image the attestor never signed."""
    if not isinstance(pattern, str) or not pattern:
        return "an allowlist pattern must name one image by digest"
    if "*" not in pattern:
        if _DIGEST_REF.fullmatch(pattern):
            return None
        return "an allowlist entry without a wildcard must be <repository>@sha256:<64 hex>"
    prefix, _, rest = pattern.partition("*")
    if prefix.rstrip("/") in owned and prefix.endswith("/") and rest in ("", "*"):
        return None
    return (
        "a wildcard allowlist pattern may only cover a repository this plan creates in the "
        "cluster project (a tenant's repository, or a host or project prefix, would admit "
        "unattested images); list exact <repository>@sha256:<64 hex> references instead"
    )


def check_allowlist_patterns(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Part of `gke-binauthz-enforced`: the allowlist exempts images from attestation."""
    for policy in of_type(resources, BINAUTHZ_POLICY):
        ins = inputs_of(policy)
        owned = _owned_repositories(resources, ins.get("project"))
        for i, entry in enumerate(as_list(ins.get("admissionWhitelistPatterns"))):
            pattern = get(entry, "namePattern")
            if is_unknown(pattern):
                continue
            problem = allowlist_problem(pattern, owned)
            if problem:
                yield violation(
                    "gke-binauthz-enforced",
                    policy,
                    f"admissionWhitelistPatterns[{i}].namePattern is {show(pattern)}; {problem}",
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


def _node_sa_problem(value: Any) -> str | None:
    """Why a nodeConfig.serviceAccount value is not a dedicated node SA (None when it is)."""
    if not nonempty_str(value):
        return "without it nodes run as the Compute Engine default service account (Editor)"
    if value == "default" or value.lower().endswith(DEFAULT_COMPUTE_SA_SUFFIX):
        return "that is the Compute Engine default service account, use a dedicated node SA"
    if not value.lower().endswith(".iam.gserviceaccount.com"):
        return "expected a dedicated <id>@<project>.iam.gserviceaccount.com account"
    return None


def check_node_sa(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Anything on a node can use the node SA; it must be able to do next to nothing."""
    rule = "gke-node-sa-least-privilege"
    emails: set[str] = set()
    for resource, prefix in node_configs(resources):
        path = f"{prefix}.serviceAccount"
        value = get(inputs_of(resource), path)
        if is_unknown(value):
            continue
        problem = _node_sa_problem(value)
        if problem:
            yield violation(rule, resource, f"{path} is {show(value)}; {problem}")
        else:
            emails.add(value.lower())
    allowed = ", ".join(sorted(NODE_SA_ROLES))
    for grant in iam_grants(resources):
        if is_unknown(grant.role) or member_email(grant.member) not in emails:
            continue
        if not one_of(grant.role, NODE_SA_ROLES):
            yield violation(
                rule,
                grant.resource,
                f"{grant.describe()}, the node service account; it may only hold {allowed}",
            )


PGP_HEADER = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
PEM_HEADER = "-----BEGIN PUBLIC KEY-----"


def _usable_key(key: Any) -> bool | None:
    """True for an ASCII-armored PGP key or a PEM key with its algorithm, None if unknown."""
    pgp = get(key, "asciiArmoredPgpPublicKey")
    pem = get(key, "pkixPublicKey.publicKeyPem")
    algorithm = get(key, "pkixPublicKey.signatureAlgorithm")
    if any(is_unknown(v) for v in (pgp, pem, algorithm)):
        return None
    if isinstance(pgp, str) and pgp.strip().startswith(PGP_HEADER):
        return True
    return isinstance(pem, str) and pem.strip().startswith(PEM_HEADER) and nonempty_str(algorithm)


def check_attestor_keys(resources: Sequence[Resource]) -> Iterator[Violation]:
    """An attestor without a key verifies nothing, so nothing could be admitted."""
    rule = "attestor-has-public-key"
    for attestor in of_type(resources, ATTESTOR):
        keys = get(inputs_of(attestor), "attestationAuthorityNote.publicKeys")
        if is_unknown(keys):
            continue
        if not as_list(keys):
            yield violation(
                rule,
                attestor,
                f"attestationAuthorityNote.publicKeys is {show(keys)}; "
                "without a public key no attestation can verify",
            )
            continue
        for i, key in enumerate(as_list(keys)):
            if _usable_key(key) is not False:
                continue
            yield violation(
                rule,
                attestor,
                f"attestationAuthorityNote.publicKeys[{i}] has asciiArmoredPgpPublicKey "
                f"{show(get(key, 'asciiArmoredPgpPublicKey'), 40)}, "
                f"pkixPublicKey.publicKeyPem {show(get(key, 'pkixPublicKey.publicKeyPem'), 40)} "
                f"and signatureAlgorithm {show(get(key, 'pkixPublicKey.signatureAlgorithm'))}; "
                "expected an ASCII-armored PGP key or a PEM public key with its signature "
                "algorithm",
            )


CONFIDENTIAL_CONSTRAINT = "compute.restrictNonConfidentialComputing"
CONFIDENTIAL_DENIED = "compute.googleapis.com"


def _for_constraint(policy: Resource) -> bool:
    name = inputs_of(policy).get("name")
    return is_unknown(name) or (
        isinstance(name, str) and name.endswith(f"/policies/{CONFIDENTIAL_CONSTRAINT}")
    )


def _denies_compute(item: Any) -> bool:
    """An unconditional rule (a condition would limit it to tagged resources) denying Compute."""
    denied = get(item, "values.deniedValues")
    return get(item, "condition") is None and (
        is_unknown(denied) or CONFIDENTIAL_DENIED in as_list(denied)
    )


def _org_policy_rules(rule: str, policy: Resource) -> Iterator[Violation]:
    """The policy's spec denies Compute unconditionally and never allows all."""
    rules = get(inputs_of(policy), "spec.rules")
    if is_unknown(rules):
        return
    for i in range(len(as_list(rules))):
        found = expect(
            rule,
            policy,
            f"spec.rules[{i}].allowAll",
            lambda v: not truthy_flag(v),
            "allowAll would admit non-confidential VMs",
        )
        if found:
            yield found
    if not any(_denies_compute(item) for item in as_list(rules)):
        denied = [get(item, "values.deniedValues") for item in as_list(rules)]
        yield violation(
            rule,
            policy,
            f"spec.rules[*].values.deniedValues is {show(denied)}; an "
            f'unconditional rule must deny "{CONFIDENTIAL_DENIED}"',
        )


def check_org_policy(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The folder constraint stops anyone creating non-confidential VMs in the sandbox. An org
    policy belongs to a folder when they share a Pulumi parent (`plan.same_component`): the plan
    cannot match on the folder id, an output not known offline."""
    rule = "org-policy-confidential-only"
    policies = of_type(resources, ORG_POLICY)
    for folder in of_type(resources, FOLDER):
        mine = [p for p in policies if same_component(p, folder) and _for_constraint(p)]
        if not mine:
            yield violation(
                rule,
                folder,
                f"no {ORG_POLICY} for constraints/{CONFIDENTIAL_CONSTRAINT} is "
                "attached (same Pulumi parent component as the folder); only "
                "Confidential VMs may run in the sandbox folder",
            )
        for policy in mine:
            yield from present(
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
                        not_true,
                        "a reset policy falls back to the constraint default (allow)",
                    ),
                ]
            )
            yield from _org_policy_rules(rule, policy)
