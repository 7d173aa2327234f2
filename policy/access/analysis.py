"""The walk from the model's key and object to whoever can use them (see `policy.access`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .. import rbac
from ..rules.attestation import attested_release
from ..rules.gcp_iam import (
    IMPERSONATION_ROLES,
    WORKLOAD_IDENTITY_USER,
    Grant,
    Principal,
    can_decrypt,
    custom_role_permissions,
    iam_grants,
    member_email,
    service_account_email,
    workload_principal,
)
from ..rules.plan import is_unknown, of_type, type_of
from ..rules.tokens import (
    BUCKET,
    BUCKET_IAM,
    BUCKET_OBJECT,
    CRYPTO_KEY,
    CRYPTO_KEY_IAM,
    KEY_RING_IAM,
    PROJECT_IAM,
    SERVICE_ACCOUNT_IAM,
    SERVICE_ACCOUNT_KEY,
)
from .model import (
    _IN_POD_REQUESTS,
    _OBJECT_CONDITION,
    GKE_WRITE_ROLES,
    LIMITS,
    OBJECT_READ_ROLES,
    REQUIRED_WORKLOAD_CONSTRAINTS,
    Goal,
    Hop,
    Path,
    Report,
    Resource,
    _inputs,
    _kind_of_member,
    _list,
    _map,
    _project_of_key,
    _text,
    key_id,
    kubernetes_objects,
)


# -------------------------------------------------------------------------- analysis
class _Analysis:
    def __init__(self, resources: Sequence[Resource]) -> None:
        self.resources = resources
        self.customs = custom_role_permissions(resources)
        self.grants = list(iam_grants(resources))
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
            for r in of_type(self.resources, CRYPTO_KEY)
            if _inputs(r).get("purpose", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
            and (k := key_id(r))
        }
        for grant in self.grants:
            if type_of(grant.resource) in CRYPTO_KEY_IAM:
                key = _inputs(grant.resource).get("cryptoKeyId")
                if isinstance(key, str) and can_decrypt(grant.role, self.customs):
                    found.add(key)
        return found

    def objects(self) -> set[tuple[str, str]]:
        found = {
            (str(_inputs(r).get("bucket")), str(_inputs(r).get("name")))
            for r in of_type(self.resources, BUCKET_OBJECT)
        }
        for grant in self.grants:
            if type_of(grant.resource) in BUCKET_IAM:
                condition = _map(_inputs(grant.resource).get("condition"))
                match = _OBJECT_CONDITION.search(_text(condition.get("expression")) or "")
                if match:
                    found.add((match["bucket"], match["object"]))
        return found

    # ---- IAM on the targets ---------------------------------------------------------------
    def key_grants(self, key: str) -> Iterable[Grant]:
        ring = key.rsplit("/cryptoKeys/", 1)[0]
        project = _project_of_key(key)
        for grant in self.grants:
            token, ins = type_of(grant.resource), _inputs(grant.resource)
            if not can_decrypt(grant.role, self.customs):
                continue
            if (
                (token in CRYPTO_KEY_IAM and ins.get("cryptoKeyId") == key)
                or (token in KEY_RING_IAM and ins.get("keyRingId") == ring)
                or (token in PROJECT_IAM and ins.get("project") == project)
            ):
                yield grant

    def object_grants(self, bucket: str, name: str) -> Iterable[Grant]:
        projects = {
            project
            for r in of_type(self.resources, BUCKET)
            if _inputs(r).get("name") == bucket and (project := _text(_inputs(r).get("project")))
        }
        for grant in self.grants:
            token, ins = type_of(grant.resource), _inputs(grant.resource)
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
            elif token in PROJECT_IAM and _text(ins.get("project")) in projects:
                yield grant

    # ---- from a member to whoever ends up using it ----------------------------------------
    def expand(self, goal: Goal, grant: Grant) -> None:
        """Follow one grant on the target to whoever ends up using it."""
        if is_unknown(grant.member):
            return  # unknown during a preview; the stack policy runs again with known values
        member = grant.member if isinstance(grant.member, str) else str(grant.member)
        first = Hop("iam-grant", f"{grant.role} to {member}", grant.resource.get("urn"))
        release = attested_release(self.resources, member)
        if release is not None:
            attested, words = release
            hop = Hop(
                "attestation",
                "the pool's provider checks Google Cloud Attestation's token"
                + ("" if attested else f" ({words.split('; but ', 1)[-1]})"),
                first.urn,
            )
            self.add(
                goal,
                principal=words.split(";", 1)[0],
                kind="attested-workload",
                hops=(first, hop),
                flagged=not attested,
                verdict="released only on hardware attestation"
                if attested
                else "attested principalSet whose provider does not hold every clause",
            )
            return
        principal = workload_principal(member)
        if principal:
            self.kubernetes(goal, (first,), principal)
            return
        email = member_email(member)
        if email is None:
            self.add(
                goal,
                principal=member,
                kind=_kind_of_member(member),
                hops=(first,),
                flagged=True,
                verdict="granted directly to a person, group or the public",
            )
            return
        self.service_account(goal, (first,), email)

    def impersonations(self, email: str) -> Iterable[Grant]:
        """Grants of an impersonation role on the service account or on its project."""
        home = email.split("@", 1)[1].split(".", 1)[0]
        for grant in self.grants:
            if not isinstance(grant.role, str) or grant.role not in IMPERSONATION_ROLES:
                continue
            if is_unknown(grant.member):
                continue
            token, ins = type_of(grant.resource), _inputs(grant.resource)
            on_account = (
                token in SERVICE_ACCOUNT_IAM
                and service_account_email(ins.get("serviceAccountId")) == email
            )
            if on_account or (token in PROJECT_IAM and ins.get("project") == home):
                yield grant

    def impersonation(self, goal: Goal, hops: tuple[Hop, ...], email: str, grant: Grant) -> None:
        """One member that can act as the service account `email`."""
        member = str(grant.member)
        principal = workload_principal(member)
        hop = Hop(
            "workload-identity" if principal else "impersonation",
            f"{grant.role} on {email} to {member}",
            grant.resource.get("urn"),
        )
        if principal and grant.role == WORKLOAD_IDENTITY_USER:
            self.kubernetes(goal, (*hops, hop), principal)
        elif member_email(member):
            self.add(
                goal,
                principal=member,
                kind="service-account",
                hops=(*hops, hop),
                flagged=True,
                verdict="another service account can act as the decrypting one",
            )
        else:
            self.add(
                goal,
                principal=member,
                kind=_kind_of_member(member) if not principal else "workload",
                hops=(*hops, hop),
                flagged=True,
                verdict="can act as the service account directly (impersonation)",
            )

    def service_account(self, goal: Goal, hops: tuple[Hop, ...], email: str) -> None:
        """Whoever can act as the service account `email`: impersonation, keys, Workload Identity."""
        reached = False
        for grant in self.impersonations(email):
            reached = True
            self.impersonation(goal, hops, email, grant)
        for key in of_type(self.resources, SERVICE_ACCOUNT_KEY):
            if service_account_email(_inputs(key).get("serviceAccountId")) == email:
                reached = True
                self.add(
                    goal,
                    principal=f"holder of a key for {email}",
                    kind="unresolved",
                    hops=(*hops, Hop("key", f"service account key for {email}", key.get("urn"))),
                    flagged=True,
                    verdict="a downloadable key works anywhere, outside every sandbox rule",
                )
        if not reached:
            self.add(
                goal,
                principal=f"serviceAccount:{email}",
                kind="service-account",
                hops=hops,
                flagged=False,
                verdict="no one in this plan can act as it",
            )

    def kubernetes(self, goal: Goal, hops: tuple[Hop, ...], principal: Principal) -> None:
        """Who may get code running as the Kubernetes service account `principal`."""
        pool, ns, ksa = principal
        chain = (*hops, Hop("kubernetes", f"Kubernetes service account {ns}/{ksa} (pool {pool})"))
        self.gke_iam(goal, chain, pool, ns, ksa)
        pods = f"pods running as {ns}/{ksa}"
        if ns not in self.namespaces:
            self.add(
                goal,
                principal=pods,
                kind="unresolved",
                hops=chain,
                flagged=False,
                verdict="the Kubernetes side is not in this plan; analyse it together with the sandbox plan",
            )
            return
        if self.rbac_error:
            self.add(
                goal,
                principal=pods,
                kind="unresolved",
                hops=chain,
                flagged=True,
                verdict=f"RBAC objects are malformed: {self.rbac_error}",
            )
            return
        runners = self.pod_runners(goal, chain, ns, ksa)
        self.token_minters(goal, chain, ns, ksa)
        if not runners:
            self.add(
                goal,
                principal=pods,
                kind="workload",
                hops=chain,
                flagged=False,
                verdict="no RBAC subject in this plan may create pods in the namespace",
            )

    def admission_hop(self, constraints: Mapping[str, list[Mapping[str, Any]]]) -> Hop:
        """What admission lets run as the workload KSA: the approved digests, the constraints."""
        digests = sorted(
            {
                d
                for c in constraints.get("SandboxApprovedDigests", [])
                for d in _list(_map(_map(c.get("spec")).get("parameters")).get("digests"))
                if isinstance(d, str)
            }
        )
        names = sorted(
            str(_map(c.get("metadata")).get("name")) for cs in constraints.values() for c in cs
        )
        images = f"approved digests {', '.join(digests)}" if digests else "ANY image"
        return Hop("admission", f"admitted only as {images} under {', '.join(names)}")

    def pod_runners(
        self, goal: Goal, chain: tuple[Hop, ...], ns: str, ksa: str
    ) -> list[tuple[rbac.Subject, Any]]:
        """RBAC subjects that may create or change pods in `ns` (or exec/attach into them),
        judged against the admission rules that hold pods running as `ksa`."""
        constraints = self.workload_constraints(ns, ksa)
        missing = [kind for kind in REQUIRED_WORKLOAD_CONSTRAINTS if kind not in constraints]
        admission = self.admission_hop(constraints)
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
            direct = [r for r in requests if r.split()[1] in _IN_POD_REQUESTS]
            who, kind = str(subject), self.subject_kind(subject)
            if direct:
                verdict = f"can run its own code inside running pods ({', '.join(direct)})"
                self.add(
                    goal,
                    principal=who,
                    kind=kind,
                    hops=(*chain, rbac_hop),
                    flagged=True,
                    verdict=verdict,
                )
            elif missing:
                verdict = (
                    f"can create pods as {ns}/{ksa} without {', '.join(missing)}: any code "
                    "would run as the decrypting identity"
                )
                hops = (*chain, rbac_hop, admission)
                self.add(goal, principal=who, kind=kind, hops=hops, flagged=True, verdict=verdict)
            else:
                self.add(
                    goal,
                    principal=f"harness pods in {ns} (deployed by {who})",
                    kind="workload",
                    hops=(*chain, rbac_hop, admission),
                    flagged=False,
                    verdict="only the approved harness can run as this identity",
                )
        return runners

    def token_minters(self, goal: Goal, chain: tuple[Hop, ...], ns: str, ksa: str) -> None:
        """Subjects that can get a token for the workload KSA: the token subresource, or a
        service-account-token Secret when no rule forbids that Secret type."""
        for access in self.rbac.who_can("create", "serviceaccounts/token", ns, name=ksa):
            hop = Hop("rbac", f"{access.subject} may create serviceaccounts/token for {ns}/{ksa}")
            self.add(
                goal,
                principal=str(access.subject),
                kind=self.subject_kind(access.subject),
                hops=(*chain, hop),
                flagged=True,
                verdict="can mint tokens for the workload service account",
            )
        if "SandboxSecretTypes" in self.namespace_constraints(ns):
            return
        for access in self.rbac.who_can("create", "secrets", ns):
            hop = Hop(
                "rbac",
                f"{access.subject} may create secrets in {ns}, and no rule forbids "
                "service-account-token Secrets",
            )
            self.add(
                goal,
                principal=str(access.subject),
                kind=self.subject_kind(access.subject),
                hops=(*chain, hop),
                flagged=True,
                verdict="can have a token minted for the workload service account",
            )

    def gke_iam(self, goal: Goal, chain: tuple[Hop, ...], pool: str, ns: str, ksa: str) -> None:
        """GKE IAM roles on the cluster project authorize pod creation before RBAC is consulted."""
        project = pool.removesuffix(".svc.id.goog")
        for grant in self.grants:
            if not (
                type_of(grant.resource) in PROJECT_IAM
                and _inputs(grant.resource).get("project") == project
                and isinstance(grant.role, str)
                and grant.role in GKE_WRITE_ROLES
            ):
                continue
            member = str(grant.member)
            hop = Hop(
                "gke-iam",
                f"{grant.role} on project {project} to {member}",
                grant.resource.get("urn"),
            )
            self.add(
                goal,
                principal=member,
                kind=_kind_of_member(member),
                hops=(*chain, hop),
                flagged=True,
                verdict=f"GKE IAM lets it create pods as {ns}/{ksa} regardless of RBAC",
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
        goal: Goal,
        *,
        principal: str,
        kind: str,
        hops: tuple[Hop, ...],
        flagged: bool,
        verdict: str,
    ) -> None:
        """Record one path to the goal (once)."""
        path = Path(
            target=goal.target,
            capability=goal.capability,
            principal=principal,
            principal_kind=kind,
            hops=hops,
            flagged=flagged,
            verdict=verdict,
        )
        if path not in self.report.paths:
            self.report.paths.append(path)

    # ---- entry -----------------------------------------------------------------------------
    def run(self) -> Report:
        for key in sorted(self.keys()):
            goal = Goal(f"KMS key {key}", "decrypt")
            self.report.targets[goal.target] = goal.capability
            for grant in self.key_grants(key):
                self.expand(goal, grant)
        for bucket, name in sorted(self.objects()):
            goal = Goal(f"object gs://{bucket}/{name}", "read")
            self.report.targets[goal.target] = goal.capability
            for grant in self.object_grants(bucket, name):
                self.expand(goal, grant)
        if self.rbac_error:
            self.report.notes.append(f"RBAC: {self.rbac_error}")
        self.report.notes.extend(self.rbac.warnings)
        self.report.notes.append(LIMITS)
        return self.report
