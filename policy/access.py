"""Who can read or decrypt the model, and by which chain.

Walks a plan (one stack, or several merged, e.g. cluster + sandbox) from the model's KMS key
and sealed object outwards:

    IAM grant on the key/bucket/object (or its ring/project)
      -> member: a person, a group, the public, or a Google service account
      -> whoever can act as that service account: impersonation grants, keys, Workload Identity
      -> Kubernetes service account <ns>/<ksa>
      -> who may get code running as it: RBAC (create workloads, exec/attach, ephemeral
         containers, mint tokens) and GKE IAM roles that bypass RBAC
      -> under which admission rules (the Gatekeeper constraints scoped to that namespace/KSA)

Every chain is a `Path`. A path is *flagged* when it reaches a person, a group or the public
without passing through the sandbox's admission rules: the one acceptable way to use the key
is "pods in the tenant namespace, running as the workload KSA, admitted only with an approved
digest, no command override, allowlisted env/volumes and no sidecars".

Limits (said in every report): only what the plan declares is seen. Grants made elsewhere
(org-level IAM outside the plan, manual `gcloud` grants), `system:masters`, and Kubernetes
authorization other than RBAC and the GKE IAM roles named below are not modelled.

Pure standard library plus the sibling `rules` and `rbac` modules, so the CrossGuard pack can
import it from inside `policy/`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

if __package__:
    from . import rbac, rules
else:  # imported as a sibling module by the CrossGuard pack
    import rbac  # type: ignore[no-redef]
    import rules  # type: ignore[no-redef]

Resource = Mapping[str, Any]

CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_OBJECT = "gcp:storage/bucketObject:BucketObject"
SA_KEY = "gcp:serviceaccount/key:Key"
BUCKET_IAM = (
    "gcp:storage/bucketIAMMember:BucketIAMMember",
    "gcp:storage/bucketIAMBinding:BucketIAMBinding",
    "gcp:storage/bucketIAMPolicy:BucketIAMPolicy",
)
# Roles that can read object bytes when granted on the bucket or its project.
OBJECT_READ_ROLES = frozenset(
    {
        "roles/storage.objectViewer",
        "roles/storage.objectUser",
        "roles/storage.objectAdmin",
        "roles/storage.admin",
        "roles/storage.legacyObjectReader",
        "roles/storage.legacyObjectOwner",
        "roles/owner",
        "roles/editor",
        "roles/viewer",
    }
)
# GKE IAM roles that let their holder create workloads in any namespace, bypassing RBAC.
GKE_WRITE_ROLES = frozenset(
    {"roles/container.developer", "roles/container.admin", "roles/owner", "roles/editor"}
)
# The admission rules that together make "pods as the workload KSA" mean "the signed harness".
REQUIRED_WORKLOAD_CONSTRAINTS = (
    "SandboxApprovedDigests",
    "SandboxNoCommandOverride",
    "SandboxEnvAllowlist",
    "SandboxWorkloadVolumes",
    "SandboxWorkloadPodShape",
)
LIMITS = (
    "Only what the plan declares is analysed: grants made outside it (organization IAM, "
    "manual gcloud), Kubernetes `system:masters`, and authorizers other than RBAC and the GKE "
    "IAM roles container.developer/admin, owner and editor are not modelled."
)

_OBJECT_CONDITION = re.compile(
    r'resource\.name\s*(==|\.startsWith\()\s*"projects/_/buckets/(?P<bucket>[^/"]+)/objects/(?P<object>[^"]*)"'
)


@dataclass(frozen=True)
class Hop:
    """One link of a chain, with the plan resource that makes it (when there is one)."""

    step: str  # iam-grant, impersonation, key, workload-identity, kubernetes, admission, ...
    detail: str
    urn: str | None = None


@dataclass(frozen=True)
class Path:
    """A way for `principal` to use `capability` on `target`."""

    target: str
    capability: str  # decrypt | read
    principal: str
    principal_kind: str  # person, group, public, workload, service-account, unresolved
    hops: tuple[Hop, ...]
    flagged: bool
    verdict: str


@dataclass
class Report:
    targets: dict[str, str] = field(default_factory=dict)  # target -> capability
    paths: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[Path]:
        return [p for p in self.paths if p.flagged]

    def paths_to(self, target: str) -> list[Path]:
        return [p for p in self.paths if p.target == target]


# -------------------------------------------------------------------------- plan helpers
def _text(value: Any) -> str | None:
    """Plans can hold anything where a string is expected; compare only real strings."""
    return value if isinstance(value, str) else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def kubernetes_objects(resources: Iterable[Resource]) -> list[dict[str, Any]]:
    """Plan resources that are Kubernetes objects, as manifests (apiVersion/kind first)."""
    objects = []
    for resource in resources:
        inputs = _map(resource.get("inputs"))
        if not str(resource.get("type", "")).startswith("kubernetes:"):
            continue
        if not _text(inputs.get("kind")) or not _text(inputs.get("apiVersion")):
            continue
        manifest = {"apiVersion": inputs["apiVersion"], "kind": inputs["kind"]}
        manifest.update({k: v for k, v in inputs.items() if k not in manifest})
        objects.append(manifest)
    return objects


def _inputs(resource: Resource) -> Mapping[str, Any]:
    return _map(resource.get("inputs"))


def key_id(resource: Resource) -> str | None:
    ins = _inputs(resource)
    ring, name = ins.get("keyRing"), ins.get("name")
    return f"{ring}/cryptoKeys/{name}" if isinstance(ring, str) and isinstance(name, str) else None


def _project_of_key(key: str) -> str | None:
    match = re.match(r"^projects/([^/]+)/", key)
    return match.group(1) if match else None


def _kind_of_member(member: str) -> str:
    if member in rules.PUBLIC_MEMBERS:
        return "public"
    if member.startswith(("user:", "principal://goog/subject/")):
        return "person"
    if member.startswith(("group:", "domain:", "principalSet://")):
        return "group"
    return "unresolved"


# -------------------------------------------------------------------------- analysis
class _Analysis:
    def __init__(self, resources: Sequence[Resource]) -> None:
        self.resources = resources
        self.customs = rules.custom_role_permissions(resources)
        self.grants = list(rules.iam_grants(resources))
        self.k8s = kubernetes_objects(resources)
        try:
            self.rbac = rbac.RbacPolicy(self.k8s)
        except rbac.RbacError as exc:  # malformed RBAC is reported, the GCP side still analysed
            self.rbac = rbac.RbacPolicy([])
            self.rbac_error = str(exc)
        else:
            self.rbac_error = None
        self.namespaces = {
            name
            for o in self.k8s
            if o["kind"] == "Namespace" and (name := _text(_map(o.get("metadata")).get("name")))
        }
        self.constraints = [
            o for o in self.k8s if o["apiVersion"].startswith("constraints.gatekeeper.sh/")
        ]
        self.report = Report()

    # ---- targets --------------------------------------------------------------------------
    def keys(self) -> set[str]:
        found = {
            k
            for r in rules.of_type(self.resources, CRYPTO_KEY)
            if _inputs(r).get("purpose", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
            and (k := key_id(r))
        }
        for grant in self.grants:
            if rules.type_of(grant.resource) in rules.CRYPTO_KEY_IAM:
                key = _inputs(grant.resource).get("cryptoKeyId")
                if isinstance(key, str) and rules.can_decrypt(grant.role, self.customs):
                    found.add(key)
        return found

    def objects(self) -> set[tuple[str, str]]:
        found = {
            (str(_inputs(r).get("bucket")), str(_inputs(r).get("name")))
            for r in rules.of_type(self.resources, BUCKET_OBJECT)
        }
        for grant in self.grants:
            if rules.type_of(grant.resource) in BUCKET_IAM:
                condition = _map(_inputs(grant.resource).get("condition"))
                match = _OBJECT_CONDITION.search(_text(condition.get("expression")) or "")
                if match:
                    found.add((match["bucket"], match["object"]))
        return found

    # ---- IAM on the targets ---------------------------------------------------------------
    def key_grants(self, key: str) -> Iterable[rules.Grant]:
        ring = key.rsplit("/cryptoKeys/", 1)[0]
        project = _project_of_key(key)
        for grant in self.grants:
            token, ins = rules.type_of(grant.resource), _inputs(grant.resource)
            if not rules.can_decrypt(grant.role, self.customs):
                continue
            if (
                (token in rules.CRYPTO_KEY_IAM and ins.get("cryptoKeyId") == key)
                or (token in rules.KEY_RING_IAM and ins.get("keyRingId") == ring)
                or (token in rules.PROJECT_IAM and ins.get("project") == project)
            ):
                yield grant

    def object_grants(self, bucket: str, name: str) -> Iterable[rules.Grant]:
        projects = {
            project
            for r in rules.of_type(self.resources, BUCKET)
            if _inputs(r).get("name") == bucket and (project := _text(_inputs(r).get("project")))
        }
        for grant in self.grants:
            token, ins = rules.type_of(grant.resource), _inputs(grant.resource)
            if _text(grant.role) not in OBJECT_READ_ROLES:
                continue
            if token in BUCKET_IAM and ins.get("bucket") == bucket:
                expression = _text(_map(ins.get("condition")).get("expression")) or ""
                match = _OBJECT_CONDITION.search(expression)
                if match and not (
                    match["bucket"] == bucket
                    and (
                        name == match["object"]
                        or (match.group(1) != "==" and name.startswith(match["object"]))
                    )
                ):
                    continue  # the condition confines the grant to other objects
                yield grant
            elif token in rules.PROJECT_IAM and _text(ins.get("project")) in projects:
                yield grant

    # ---- from a member to whoever ends up using it ----------------------------------------
    def expand(self, target: str, capability: str, grant: rules.Grant) -> None:
        if rules.is_unknown(grant.member):
            return  # unknown during a preview; the stack policy runs again with known values
        member = grant.member if isinstance(grant.member, str) else str(grant.member)
        first = Hop("iam-grant", f"{grant.role} to {member}", grant.resource.get("urn"))
        principal = rules.workload_principal(member)
        if principal:
            self.kubernetes(target, capability, (first,), principal)
            return
        email = rules.member_email(member)
        if email is None:
            kind = _kind_of_member(member)
            self.add(
                target,
                capability,
                member,
                kind,
                (first,),
                True,
                "granted directly to a person, group or the public",
            )
            return
        self.service_account(target, capability, (first,), email)

    def service_account(
        self, target: str, capability: str, hops: tuple[Hop, ...], email: str
    ) -> None:
        reached = False
        for grant in self.grants:
            if not isinstance(grant.role, str) or grant.role not in rules.IMPERSONATION_ROLES:
                continue
            if rules.is_unknown(grant.member):
                continue
            token, ins = rules.type_of(grant.resource), _inputs(grant.resource)
            on_account = (
                token in rules.SERVICE_ACCOUNT_IAM
                and rules.service_account_email(ins.get("serviceAccountId")) == email
            )
            on_project = (
                token in rules.PROJECT_IAM
                and ins.get("project") == email.split("@", 1)[1].split(".", 1)[0]
            )
            if not (on_account or on_project):
                continue
            reached = True
            member = str(grant.member)
            principal = rules.workload_principal(member)
            hop = Hop(
                "workload-identity" if principal else "impersonation",
                f"{grant.role} on {email} to {member}",
                grant.resource.get("urn"),
            )
            if principal and grant.role == rules.WORKLOAD_IDENTITY_USER:
                self.kubernetes(target, capability, (*hops, hop), principal)
            elif rules.member_email(member):
                self.add(
                    target,
                    capability,
                    member,
                    "service-account",
                    (*hops, hop),
                    True,
                    "another service account can act as the decrypting one",
                )
            else:
                self.add(
                    target,
                    capability,
                    member,
                    _kind_of_member(member) if not principal else "workload",
                    (*hops, hop),
                    True,
                    "can act as the service account directly (impersonation)",
                )
        for key in rules.of_type(self.resources, SA_KEY):
            if rules.service_account_email(_inputs(key).get("serviceAccountId")) == email:
                reached = True
                self.add(
                    target,
                    capability,
                    f"holder of a key for {email}",
                    "unresolved",
                    (*hops, Hop("key", f"service account key for {email}", key.get("urn"))),
                    True,
                    "a downloadable key works anywhere, outside every sandbox rule",
                )
        if not reached:
            self.add(
                target,
                capability,
                f"serviceAccount:{email}",
                "service-account",
                hops,
                False,
                "no one in this plan can act as it",
            )

    def kubernetes(
        self, target: str, capability: str, hops: tuple[Hop, ...], principal: tuple[str, str, str]
    ) -> None:
        pool, ns, ksa = principal
        ksa_hop = Hop("kubernetes", f"Kubernetes service account {ns}/{ksa} (pool {pool})")
        chain = (*hops, ksa_hop)
        self.gke_iam(target, capability, chain, pool, ns, ksa)
        if ns not in self.namespaces:
            self.add(
                target,
                capability,
                f"pods running as {ns}/{ksa}",
                "unresolved",
                chain,
                False,
                "the Kubernetes side is not in this plan; analyse it together with the sandbox plan",
            )
            return
        if self.rbac_error:
            self.add(
                target,
                capability,
                f"pods running as {ns}/{ksa}",
                "unresolved",
                chain,
                True,
                f"RBAC objects are malformed: {self.rbac_error}",
            )
            return
        constraints = self.workload_constraints(ns, ksa)
        missing = [kind for kind in REQUIRED_WORKLOAD_CONSTRAINTS if kind not in constraints]
        digests = sorted(
            {
                d
                for c in constraints.get("SandboxApprovedDigests", [])
                for d in _list(_map(_map(c.get("spec")).get("parameters")).get("digests"))
                if isinstance(d, str)
            }
        )
        admission = Hop(
            "admission",
            "admitted only as "
            + (f"approved digests {', '.join(digests)}" if digests else "ANY image")
            + " under "
            + ", ".join(
                sorted(
                    str(_map(c.get("metadata")).get("name"))
                    for cs in constraints.values()
                    for c in cs
                )
            ),
        )
        runners = self.rbac.who_can_any(rbac.RUN_AS_SERVICE_ACCOUNT_REQUESTS, ns)
        for subject, pairs in runners:
            requests = sorted(
                {f"{verb} {group or 'core'}/{resource}" for (verb, group, resource), _ in pairs}
            )
            via = sorted(
                {
                    f"{g.binding_kind} {g.binding_name} -> {g.role_kind} {g.role_name}"
                    for _, g in pairs
                }
            )
            rbac_hop = Hop(
                "rbac", f"{subject} may {', '.join(requests)} in {ns} (via {'; '.join(via)})"
            )
            direct = [
                r
                for r in requests
                if r.split()[1]
                in ("core/pods/exec", "core/pods/attach", "core/pods/ephemeralcontainers")
            ]
            who = str(subject)
            if direct:
                self.add(
                    target,
                    capability,
                    who,
                    self.subject_kind(subject),
                    (*chain, rbac_hop),
                    True,
                    f"can run its own code inside running pods ({', '.join(direct)})",
                )
            elif missing:
                self.add(
                    target,
                    capability,
                    who,
                    self.subject_kind(subject),
                    (*chain, rbac_hop, admission),
                    True,
                    f"can create pods as {ns}/{ksa} without {', '.join(missing)}: any code would run as the decrypting identity",
                )
            else:
                self.add(
                    target,
                    capability,
                    f"harness pods in {ns} (deployed by {who})",
                    "workload",
                    (*chain, rbac_hop, admission),
                    False,
                    "only the approved harness can run as this identity",
                )
        for access in self.rbac.who_can("create", "serviceaccounts/token", ns, name=ksa):
            self.add(
                target,
                capability,
                str(access.subject),
                self.subject_kind(access.subject),
                (
                    *chain,
                    Hop(
                        "rbac", f"{access.subject} may create serviceaccounts/token for {ns}/{ksa}"
                    ),
                ),
                True,
                "can mint tokens for the workload service account",
            )
        if "SandboxSecretTypes" not in self.namespace_constraints(ns):
            for access in self.rbac.who_can("create", "secrets", ns):
                self.add(
                    target,
                    capability,
                    str(access.subject),
                    self.subject_kind(access.subject),
                    (
                        *chain,
                        Hop(
                            "rbac",
                            f"{access.subject} may create secrets in {ns}, and no rule forbids service-account-token Secrets",
                        ),
                    ),
                    True,
                    "can have a token minted for the workload service account",
                )
        if not runners:
            self.add(
                target,
                capability,
                f"pods running as {ns}/{ksa}",
                "workload",
                chain,
                False,
                "no RBAC subject in this plan may create pods in the namespace",
            )

    def gke_iam(
        self, target: str, capability: str, chain: tuple[Hop, ...], pool: str, ns: str, ksa: str
    ) -> None:
        """GKE IAM roles on the cluster project authorize pod creation before RBAC is consulted."""
        project = pool.removesuffix(".svc.id.goog")
        for grant in self.grants:
            if (
                (
                    rules.type_of(grant.resource) in rules.PROJECT_IAM
                    and _inputs(grant.resource).get("project") == project
                )
                and isinstance(grant.role, str)
                and grant.role in GKE_WRITE_ROLES
            ):
                member = str(grant.member)
                self.add(
                    target,
                    capability,
                    member,
                    _kind_of_member(member),
                    (
                        *chain,
                        Hop(
                            "gke-iam",
                            f"{grant.role} on project {project} to {member}",
                            grant.resource.get("urn"),
                        ),
                    ),
                    True,
                    f"GKE IAM lets it create pods as {ns}/{ksa} regardless of RBAC",
                )

    def namespace_constraints(self, ns: str) -> dict[str, list[Mapping[str, Any]]]:
        out: dict[str, list[Mapping[str, Any]]] = {}
        for c in self.constraints:
            spec = _map(c.get("spec"))
            if spec.get("enforcementAction", "deny") != "deny":
                continue
            namespaces = _list(_map(spec.get("match")).get("namespaces"))
            if ns in namespaces or not namespaces:
                out.setdefault(c["kind"], []).append(c)
        return out

    def workload_constraints(self, ns: str, ksa: str) -> dict[str, list[Mapping[str, Any]]]:
        """Deny-mode constraints in `ns` that hold pods running as `ksa` (or every pod)."""
        out: dict[str, list[Mapping[str, Any]]] = {}
        for kind, found in self.namespace_constraints(ns).items():
            for c in found:
                account = _map(_map(c.get("spec")).get("parameters")).get("serviceAccountName")
                if account in (None, ksa):
                    out.setdefault(kind, []).append(c)
        return out

    @staticmethod
    def subject_kind(subject: rbac.Subject) -> str:
        return {"User": "person", "Group": "group"}.get(subject.kind, "service-account")

    def add(
        self,
        target: str,
        capability: str,
        principal: str,
        kind: str,
        hops: tuple[Hop, ...],
        flagged: bool,
        verdict: str,
    ) -> None:
        path = Path(target, capability, principal, kind, hops, flagged, verdict)
        if path not in self.report.paths:
            self.report.paths.append(path)

    # ---- entry -----------------------------------------------------------------------------
    def run(self) -> Report:
        for key in sorted(self.keys()):
            target = f"KMS key {key}"
            self.report.targets[target] = "decrypt"
            for grant in self.key_grants(key):
                self.expand(target, "decrypt", grant)
        for bucket, name in sorted(self.objects()):
            target = f"object gs://{bucket}/{name}"
            self.report.targets[target] = "read"
            for grant in self.object_grants(bucket, name):
                self.expand(target, "read", grant)
        if self.rbac_error:
            self.report.notes.append(f"RBAC: {self.rbac_error}")
        self.report.notes.extend(self.rbac.warnings)
        self.report.notes.append(LIMITS)
        return self.report


def analyse(resources: Sequence[Resource]) -> Report:
    """Every path to the model's key and object in these plan resources."""
    return _Analysis(resources).run()


def check_model_access_paths(resources: Sequence[Resource]) -> Iterable[rules.Violation]:
    """Review rule: no path to the key or the object may reach a person, a group or the public
    except through the sandbox's admission rules. Each violation names the resource that opens
    the path (the last link of the chain the plan declares)."""
    by_urn = {r.get("urn"): r for r in resources}
    stack = next(
        (r for r in resources if r.get("parent") is None),
        {"urn": "", "type": "pulumi:pulumi:Stack", "name": "stack"},
    )
    for path in analyse(resources).flagged:
        culprit = next((by_urn[h.urn] for h in reversed(path.hops) if h.urn in by_urn), stack)
        chain = " -> ".join(hop.detail for hop in path.hops)
        yield rules.violation(
            "model-access-paths",
            culprit,
            f"{path.principal} can {path.capability} {path.target}: {path.verdict} ({chain})",
        )
