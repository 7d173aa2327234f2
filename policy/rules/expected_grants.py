"""The grants the design calls for, computed from the plan's own config-derived facts (issue 14).

Least privilege as an exact shape: who, which role, on which resource, with which condition.
The facts are read from the resources the program built from config, never from the grants
being judged:
- the cluster project and its workload pool (the Cluster), the node service account (every
  node pool's `nodeConfig.serviceAccount`);
- the workload service account (every other `serviceaccount.Account`) and the Kubernetes service
  account annotated with it (`iam.gke.io/gcp-service-account`): its namespace and name;
- the model key (a symmetric CryptoKey: `<keyRing>/cryptoKeys/<name>`), the model bucket and
  the sealed model object in it;
- the harness repository, the attestor;
- the tenants: the User/Group subjects of RoleBindings in tenant namespaces.
A per-party plan does not hold every fact (the cluster stack gets the key and the object as
config values, not as resources); a missing fact becomes a pattern of the right shape (any
crypto key, any object of the bucket), so role, scope kind, member kind and condition are
still exact. The table of who gets what is `_design_grants`; adding a grant the design calls
for is one entry there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from policy.facts import SPACE_VM_ROLES

from .attestation import pools as attestation_pools
from .attestation import space_vms
from .gcp_iam import Grant, iam_grants, iam_kind, policy_bindings, service_account_email
from .key_roles import model_keys
from .party_facts import recorded_ksas
from .plan import UNKNOWN, Resource, as_list, get, inputs_of, is_unknown, of_type, show, type_of
from .tokens import (
    ATTESTOR,
    ATTESTOR_IAM,
    BUCKET,
    BUCKET_IAM,
    BUCKET_OBJECT,
    CLUSTER,
    CRYPTO_KEY_IAM,
    FOLDER_IAM,
    K8S_NAMESPACE,
    K8S_SERVICE_ACCOUNT,
    KEY_RING_IAM,
    NODE_POOL,
    ORG_IAM,
    PROJECT_IAM,
    RBAC_ROLE_BINDING,
    REPOSITORY,
    REPOSITORY_IAM,
    SERVICE_ACCOUNT,
    SERVICE_ACCOUNT_IAM,
)

TENANT_LABEL = "gke-sandbox/tenant"
"""The label the sandbox puts on each tenant's Namespace (components/tenant_sandbox.py)."""
GSA_ANNOTATION = "iam.gke.io/gcp-service-account"
"""GKE Workload Identity: the KSA annotation naming the Google service account it acts as
(cloud.google.com/kubernetes-engine/docs/how-to/workload-identity)."""


@dataclass(frozen=True)
class Want:
    """One expected value: exact text, or (when the plan does not hold the fact) a pattern
    whose `text` says what it stands for."""

    text: str
    pattern: re.Pattern[str] | None = None

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return bool(self.pattern.fullmatch(value)) if self.pattern else value == self.text


def exact(value: str) -> Want:
    return Want(value)


def shape(regex: str, text: str) -> Want:
    return Want(text, re.compile(regex))


NO_CONDITION = Want("none")


@dataclass(frozen=True)
class ExpectedGrant:
    """A grant the design calls for (or config allows): member, role, scope, condition."""

    member: Want
    role: str
    scope_kind: str
    scope: Want
    condition: Want
    why: str

    def accepts(self, actual: ActualGrant) -> bool:
        return (
            self.role == actual.role
            and self.scope_kind == actual.scope_kind
            and self.scope.accepts(actual.scope)
            and self.member.accepts(actual.member)
            and self._accepts_condition(actual.condition)
        )

    def _accepts_condition(self, condition: Any) -> bool:
        if is_unknown(condition):
            return True  # a preview unknown: the rest of the grant is still judged
        if self.condition is NO_CONDITION:
            return condition is None
        return self.condition.accepts(condition)

    def describe(self) -> str:
        cond = "" if self.condition is NO_CONDITION else f" if {self.condition.text}"
        return (
            f"{self.role} on {self.scope_kind} {self.scope.text} to {self.member.text}{cond} "
            f"({self.why})"
        )


@dataclass(frozen=True)
class ActualGrant:
    """A grant as the plan makes it, with its scope and condition read from the resource."""

    grant: Grant
    role: Any
    member: Any
    scope_kind: str
    scope: Any
    condition: Any

    def describe(self) -> str:
        cond = "" if self.condition is None else f" if {self.condition}"
        return (
            f"grants {show(self.role)} on {self.scope_kind} {show(self.scope)} "
            f"to {self.grant.path} {show(self.member)}{cond}"
        )


# ------------------------------------------------------------------------- reading grants
def _attestor_id(ins: Mapping[str, Any]) -> Any:
    name = ins.get("attestor")
    if isinstance(name, str) and not name.startswith("projects/"):
        return f"projects/{ins.get('project')}/attestors/{name}"
    return name


def _repository_id(ins: Mapping[str, Any]) -> Any:
    repo = ins.get("repository")
    if isinstance(repo, str) and not repo.startswith("projects/"):
        return f"projects/{ins.get('project')}/locations/{ins.get('location')}/repositories/{repo}"
    return repo


def _bucket_name(value: Any) -> Any:
    return value.removeprefix("b/") if isinstance(value, str) else value


_SCOPES: tuple[tuple[tuple[str, ...], str, Any], ...] = (
    (PROJECT_IAM, "project", lambda ins: ins.get("project")),
    (CRYPTO_KEY_IAM, "crypto key", lambda ins: ins.get("cryptoKeyId")),
    (KEY_RING_IAM, "key ring", lambda ins: ins.get("keyRingId")),
    (BUCKET_IAM, "bucket", lambda ins: _bucket_name(ins.get("bucket"))),
    (
        SERVICE_ACCOUNT_IAM,
        "service account",
        lambda ins: service_account_email(ins.get("serviceAccountId")),
    ),
    (ATTESTOR_IAM, "attestor", _attestor_id),
    (REPOSITORY_IAM, "repository", _repository_id),
    (FOLDER_IAM, "folder", lambda ins: ins.get("folder")),
    (ORG_IAM, "organization", lambda ins: ins.get("orgId")),
)


def scope_of(resource: Resource) -> tuple[str, Any]:
    """(kind, id) of what an IAM resource grants on; an unlisted family is its own kind."""
    token = type_of(resource)
    for tokens, kind, read in _SCOPES:
        if token in tokens:
            return kind, read(inputs_of(resource))
    return token, None


def _condition(grant: Grant) -> Any:
    """The CEL expression conditioning a grant, or None when it is unconditional."""
    ins = inputs_of(grant.resource)
    if iam_kind(type_of(grant.resource)) == "policy":
        bindings, _ = policy_bindings(ins.get("policyData"))
        index = int(grant.path.split("[", 2)[1].split("]", 1)[0])
        binding = (bindings or [])[index]
        condition = binding.get("condition") if isinstance(binding, Mapping) else None
    else:
        condition = ins.get("condition")
    if condition is None:
        return None
    return condition.get("expression") if isinstance(condition, Mapping) else condition


def actual_grants(resources: Iterable[Resource]) -> Iterator[ActualGrant]:
    """Every grant of every IAM resource in the plan, with scope and condition."""
    for grant in iam_grants(resources):
        kind, scope = scope_of(grant.resource)
        yield ActualGrant(grant, grant.role, grant.member, kind, scope, _condition(grant))


# ------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class Facts:
    """The config-derived facts one plan carries (each a tuple; empty = not in this plan)."""

    projects: tuple[str, ...]
    pools: tuple[str, ...]
    node_sas: tuple[str, ...]
    workload_sas: tuple[str, ...]
    model_keys: tuple[str, ...]
    buckets: tuple[str, ...]
    objects: tuple[tuple[str, str], ...]
    repositories: tuple[str, ...]
    attestors: tuple[str, ...]
    ksas: tuple[tuple[str, str, str], ...]  # (gsa email, namespace, name)
    tenants: tuple[str, ...]  # IAM members: user:<email>, group:<email>
    # The Confidential Space path: its VMs' accounts and projects, and (pool, digest) pairs of
    # the workload identity pools and the images the VMs run.
    space_vm_sas: tuple[str, ...] = ()
    space_projects: tuple[str, ...] = ()
    space_releases: tuple[tuple[str, str], ...] = ()


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    """Known facts only: a value built from a preview unknown (`[unknown]/cryptoKeys/k`) is not a
    fact, so the expectation falls back to the shape, never to a wrong exact value."""
    return tuple(sorted({v for v in values if isinstance(v, str) and v and UNKNOWN not in v}))


def tenant_namespaces(resources: Sequence[Resource]) -> set[str]:
    """Names of the Namespaces labelled as a tenant's (malformed names are left out)."""
    return set(
        _strings(
            get(inputs_of(ns), "metadata.name")
            for ns in of_type(resources, K8S_NAMESPACE)
            if get(inputs_of(ns), ("metadata", "labels", TENANT_LABEL)) is not None
        )
    )


def _tenant_members(resources: Sequence[Resource]) -> tuple[str, ...]:
    tenant_ns = tenant_namespaces(resources)
    members = []
    for binding in of_type(resources, RBAC_ROLE_BINDING):
        namespace = get(inputs_of(binding), "metadata.namespace")
        if not (isinstance(namespace, str) and namespace in tenant_ns):
            continue
        for subject in as_list(inputs_of(binding).get("subjects")):
            kind = subject.get("kind") if isinstance(subject, Mapping) else None
            if kind in ("User", "Group"):
                members.append(f"{kind.lower()}:{subject.get('name')}")
    return _strings(members)


def _account_email(account: Resource) -> str:
    ins = inputs_of(account)
    return f"{ins.get('accountId')}@{ins.get('project')}.iam.gserviceaccount.com".lower()


def facts_of(resources: Sequence[Resource]) -> Facts:
    """Read the facts from the resources the program built from config."""
    clusters = of_type(resources, CLUSTER)
    node_sas = _strings(
        service_account_email(get(inputs_of(r), "nodeConfig.serviceAccount"))
        for r in (*clusters, *of_type(resources, NODE_POOL))
    )
    accounts = _strings(_account_email(a) for a in of_type(resources, SERVICE_ACCOUNT))
    space_sas = {vm.email for vm in space_vms(resources)}
    keys = model_keys(resources, from_grants=False)  # by role, not by purpose
    ksas = []
    for ksa in of_type(resources, K8S_SERVICE_ACCOUNT):
        ins = inputs_of(ksa)
        gsa = get(ins, ("metadata", "annotations", GSA_ANNOTATION))
        if isinstance(gsa, str):
            where = (get(ins, "metadata.namespace"), get(ins, "metadata.name"))
            ksas.append((gsa.lower(), str(where[0]), str(where[1])))
    ksas.extend(recorded_ksas(resources))  # the cluster stack alone: its config's KSA
    return Facts(
        projects=_strings(inputs_of(c).get("project") for c in clusters),
        pools=_strings(get(inputs_of(c), "workloadIdentityConfig.workloadPool") for c in clusters),
        node_sas=node_sas,
        workload_sas=tuple(a for a in accounts if a not in node_sas and a not in space_sas),
        model_keys=_strings(
            f"{inputs_of(k).get('keyRing')}/cryptoKeys/{inputs_of(k).get('name')}" for k in keys
        ),
        buckets=_strings(inputs_of(b).get("name") for b in of_type(resources, BUCKET)),
        objects=tuple(
            sorted(
                (bucket, name)
                for o in of_type(resources, BUCKET_OBJECT)
                for bucket in _strings([inputs_of(o).get("bucket")])
                for name in _strings([inputs_of(o).get("name")])
            )
        ),
        repositories=_strings(
            "projects/{project}/locations/{location}/repositories/{repositoryId}".format(
                **{k: inputs_of(r).get(k) for k in ("project", "location", "repositoryId")}
            )
            for r in of_type(resources, REPOSITORY)
        ),
        attestors=_strings(
            f"projects/{inputs_of(a).get('project')}/attestors/{inputs_of(a).get('name')}"
            for a in of_type(resources, ATTESTOR)
        ),
        ksas=tuple(sorted(set(ksas))),
        tenants=_tenant_members(resources),
        **_space_facts(resources, node_sas),
    )


def _space_facts(resources: Sequence[Resource], node_sas: tuple[str, ...]) -> dict[str, Any]:
    vms = [vm for vm in space_vms(resources) if vm.email and vm.email not in node_sas]
    digests = _strings(
        str(vm.workload).rsplit("@", 1)[-1] for vm in vms if isinstance(vm.workload, str)
    )
    return {
        "space_vm_sas": _strings(vm.email for vm in vms),
        "space_projects": _strings(inputs_of(vm.resource).get("project") for vm in vms),
        "space_releases": tuple(
            sorted((pool, d) for pool in attestation_pools(resources) for d in digests)
        ),
    }


# ------------------------------------------------------------------------- the design
NODE_PROJECT_ROLES = (
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/artifactregistry.reader",
)
"""The node service account's project roles (README "The stacks", seed 003 step 6)."""
ARTIFACT_READER = "roles/artifactregistry.reader"
KMS_DECRYPTER = "roles/cloudkms.cryptoKeyDecrypter"
OBJECT_VIEWER = "roles/storage.objectViewer"
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
ATTESTOR_VERIFIER = "roles/binaryauthorization.attestorsVerifier"
TENANT_CLUSTER_ROLE = "roles/container.clusterViewer"

_SA = r"serviceAccount:[a-z0-9-]+@[a-z0-9.-]+\.gserviceaccount\.com"
_PROJECT = r"[a-z][a-z0-9-]{4,28}[a-z0-9]"
_KEY = r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+"
_BINAUTHZ_AGENT = (
    r"serviceAccount:service-\d+@gcp-sa-binaryauthorization\.iam\.gserviceaccount\.com"
)


def _wants(values: Iterable[str], regex: str, text: str) -> list[Want]:
    """One exact Want per fact the plan holds, else one pattern of the fact's shape."""
    found = [exact(v) for v in values]
    return found or [shape(regex, text)]


def object_condition(bucket: str, obj: str) -> str:
    """The CEL condition that limits a bucket grant to one object (cloud.google.com/storage/docs/
    access-control/iam#conditions: `resource.name` of an object is
    `projects/_/buckets/<bucket>/objects/<object>`)."""
    return f'resource.name == "projects/_/buckets/{bucket}/objects/{obj}"'


def _object_conditions(facts: Facts, bucket: Want) -> list[Want]:
    objects = [o for b, o in facts.objects if bucket.pattern is None and b == bucket.text]
    if objects:
        return [exact(object_condition(bucket.text, o)) for o in objects]
    b = re.escape(bucket.text) if bucket.pattern is None else r'[^"/]+'
    shown = bucket.text if bucket.pattern is None else "<bucket>"
    return [
        shape(
            rf'resource\.name == "projects/_/buckets/{b}/objects/[^"*]+"',
            object_condition(shown, "<the sealed model object, from config>"),
        )
    ]


def _wi_members(facts: Facts, gsa: str) -> list[Want]:
    pools = facts.pools or ()
    pool_re = "|".join(re.escape(p) for p in pools) or r"[a-z0-9.-]+\.svc\.id\.goog"
    bound = [(ns, name) for email, ns, name in facts.ksas if email == gsa]
    if bound and pools:
        return [exact(f"serviceAccount:{p}[{ns}/{n}]") for p in pools for ns, n in bound]
    if bound:
        return [
            shape(
                rf"serviceAccount:(?:{pool_re})\[{re.escape(ns)}/{re.escape(n)}\]",
                f"serviceAccount:<pool>[{ns}/{n}]",
            )
            for ns, n in bound
        ]
    return [
        shape(
            rf"serviceAccount:(?:{pool_re})\[[^/\]]+/[^\]]+\]",
            "serviceAccount:<pool>[<namespace>/<ksa>, from config]",
        )
    ]


def _grant(
    member: Want, role: str, kind: str, scope: Want, why: str, condition: Want = NO_CONDITION
) -> ExpectedGrant:
    return ExpectedGrant(member, role, kind, scope, condition, why)


def design_grants(facts: Facts) -> list[ExpectedGrant]:
    """Every grant the design calls for, given this plan's facts (README "The stacks")."""
    nodes = _wants(
        (f"serviceAccount:{e}" for e in facts.node_sas),
        _SA,
        "serviceAccount:<node service account, from config>",
    )
    projects = _wants(facts.projects, _PROJECT, "<cluster project, from config>")
    workloads = _wants(
        (f"serviceAccount:{e}" for e in facts.workload_sas),
        _SA,
        "serviceAccount:<workload service account>",
    )
    out: list[ExpectedGrant] = []
    for node in nodes:
        for project in projects:
            for role in NODE_PROJECT_ROLES:
                out.append(_grant(node, role, "project", project, "node service account"))
        for repo in _wants(
            facts.repositories,
            r"projects/[^/]+/locations/[^/]+/repositories/[^/]+",
            "<harness repository>",
        ):
            out.append(_grant(node, ARTIFACT_READER, "repository", repo, "nodes pull the harness"))
    for attestor in _wants(facts.attestors, r"projects/[^/]+/attestors/[^/]+", "<attestor>"):
        agent = shape(
            _BINAUTHZ_AGENT,
            "serviceAccount:service-<cluster project number>@gcp-sa-binaryauthorization...",
        )
        out.append(
            _grant(
                agent,
                ATTESTOR_VERIFIER,
                "attestor",
                attestor,
                "Binary Authorization verifies attestations",
            )
        )
    if facts.space_vm_sas:
        # The Confidential Space path: the key goes to the attested principalSet, not to an account.
        out.extend(_space_grants(facts))
        workloads = []
    for workload in workloads:
        out.extend(
            _model_reader_grants(
                facts,
                workload,
                "the workload decrypts the model keyset",
                "the workload reads the one sealed object",
            )
        )
        gsa = workload.text.removeprefix("serviceAccount:")
        scope = exact(gsa) if workload.pattern is None else shape(r"[^@\s]+@[^\s]+", "<gsa>")
        for member in _wi_members(facts, gsa):
            out.append(
                _grant(
                    member,
                    WORKLOAD_IDENTITY_USER,
                    "service account",
                    scope,
                    "only the workload KSA acts as the workload service account",
                )
            )
    for tenant in _wants(facts.tenants, r"(?:user|group):[^@\s]+@[^\s]+", "<tenant, from config>"):
        for project in projects:
            out.append(
                _grant(
                    tenant,
                    TENANT_CLUSTER_ROLE,
                    "project",
                    project,
                    "tenants get cluster credentials; RBAC does the rest",
                )
            )
    return out


SPACE_VM_ROLES_WHY = "the Confidential Space launcher obtains the attestation token and writes logs"


def _space_grants(facts: Facts) -> list[ExpectedGrant]:
    """The Confidential Space path: the VM account's one project role; decrypt on the key and
    read on the one object to the principalSet of (pool, digest) only."""
    out = []
    for email in facts.space_vm_sas:
        for project in _wants(facts.space_projects, _PROJECT, "<space project, from config>"):
            for role in SPACE_VM_ROLES:
                out.append(
                    _grant(
                        exact(f"serviceAccount:{email}"),
                        role,
                        "project",
                        project,
                        SPACE_VM_ROLES_WHY,
                    )
                )
    for pool, digest in facts.space_releases:
        member = shape(
            r"principalSet://iam\.googleapis\.com/projects/[0-9]+/locations/global/"
            rf"workloadIdentityPools/{re.escape(pool)}/attribute\.image_digest/{re.escape(digest)}",
            f"principalSet://iam.googleapis.com/projects/<number>/locations/global/"
            f"workloadIdentityPools/{pool}/attribute.image_digest/{digest}",
        )
        out.extend(
            _model_reader_grants(
                facts,
                member,
                "the attested image decrypts the keyset",
                "the attested image reads the one sealed object",
            )
        )
    return out


def _model_reader_grants(
    facts: Facts, member: Want, decrypt_why: str, read_why: str
) -> list[ExpectedGrant]:
    """The two grants of whoever may open the model, on either path: decrypt on the model key,
    and read on the one sealed object (the bucket grant with its object condition)."""
    out = [
        _grant(member, KMS_DECRYPTER, "crypto key", key, decrypt_why)
        for key in _wants(facts.model_keys, _KEY, "<the model key, from config>")
    ]
    for bucket in _wants(facts.buckets, r"[a-z0-9][a-z0-9._-]+", "<the model bucket>"):
        out.extend(
            _grant(member, OBJECT_VIEWER, "bucket", bucket, read_why, cond)
            for cond in _object_conditions(facts, bucket)
        )
    return out
