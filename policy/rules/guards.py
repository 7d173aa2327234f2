"""Issue 14, item 3: the guards guarded. The admission rules only protect the model if the
webhook that runs them fails closed and sees pods (ephemeral containers included), every
constraint is enforced with `deny`, every tenant namespace has the whole constraint set, each
constraint's parameters agree with what the rest of the plan says (the registry, the deployed
digest, the workload KSA), and the cluster project sits in the confidential folder.

"What config says" is judged inside the plan: the stack renders the constraint parameters, the
Artifact Registry repository, the harness Deployment, the tenant ServiceAccount and the
Workload Identity binding from the same config, so they must agree with one another.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy import admission
from policy.access import REQUIRED_WORKLOAD_CONSTRAINTS, kubernetes_objects
from policy.facts import (
    DIGEST,
    IMAGE_BY_DIGEST,
    POD_SPEC_PATHS,
    REPOSITORY_PREFIX,
    SYSTEM_NAMESPACES,
)

from .admission_review import CONSTRAINT_API, NAMESPACE, closed, repo_templates, template_kind
from .engine import Violation, violation
from .gcp_iam import workload_principal
from .party_facts import recorded_digests
from .plan import Resource, as_list, get, inputs_of, is_unknown, show
from .tokens import FOLDER, HELM_TYPES, ORG_POLICY

PROJECT = "gcp:organizations/project:Project"
REPOSITORY = "gcp:artifactregistry/repository:Repository"
CONFIDENTIAL_ONLY = "compute.restrictNonConfidentialComputing"
# Kinds the non-pod templates judge; every other template judges every pod-creating kind.
_TEMPLATE_KINDS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "SandboxServiceTypes": (("", "Service"),),
    "SandboxSecretTypes": (("", "Secret"),),
}
_POD_KINDS = tuple((group, kind) for kind, (group, _) in POD_SPEC_PATHS.items())


def _is_gatekeeper_chart(resource: Resource) -> bool:
    return resource.get("type") in HELM_TYPES and "gatekeeper" in str(
        get(inputs_of(resource), "chart") or ""
    )


def _constraints(resources: Sequence[Resource]) -> list[Resource]:
    return [
        r
        for r in resources
        if str(get(inputs_of(r), "apiVersion") or "").startswith(CONSTRAINT_API)
        and str(r.get("type", "")).startswith("kubernetes:")
    ]


# ------------------------------------------------------------------------ gatekeeper-fail-closed
def _rule_covers(rule: Any, group: str, resource: str, operation: str) -> bool:
    """Whether one admission webhook rule matches (group, resource[/subresource], operation).
    Kubernetes: "*" matches every resource but no subresource, "*/*" everything, "pods/*" every
    pod subresource, "*/x" subresource x of every resource
    (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#matching-requests-rules)."""
    groups, ops = as_list(get(rule, "apiGroups")), as_list(get(rule, "operations"))
    if not ("*" in groups or group in groups) or not ("*" in ops or operation in ops):
        return False
    base, _, sub = resource.partition("/")
    for entry in map(str, as_list(get(rule, "resources"))):
        r_base, _, r_sub = entry.partition("/")
        if (r_base in ("*", base)) and (r_sub == sub or (sub and r_sub == "*")):
            return True
    return False


def _webhook_requirements() -> list[tuple[str, str, str]]:
    """(group, resource, operation) the webhook must see: every pod-creating kind on CREATE and
    UPDATE, and ephemeral containers (an UPDATE of `pods/ephemeralcontainers`)."""
    wanted = [
        (group, f"{kind.lower()}s", op) for group, kind in _POD_KINDS for op in ("CREATE", "UPDATE")
    ]
    return [*wanted, ("", "pods/ephemeralcontainers", "UPDATE")]


@closed("gatekeeper-fail-closed")
def check_gatekeeper_fail_closed(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The Gatekeeper chart's validating webhook fails closed, sees every pod-creating kind and
    ephemeral containers, and exempts system namespaces only. The chart's defaults are
    `validatingWebhookFailurePolicy: Ignore` and no custom rules
    (https://github.com/open-policy-agent/gatekeeper/blob/master/charts/gatekeeper/values.yaml)."""
    rule = "gatekeeper-fail-closed"
    charts = [r for r in resources if _is_gatekeeper_chart(r)]
    if not charts and _constraints(resources):
        for c in _constraints(resources)[:1]:
            yield violation(rule, c, "the plan has Gatekeeper constraints but no Gatekeeper chart")
    for chart in charts:
        values = get(inputs_of(chart), "values") or {}
        if is_unknown(values):
            continue
        policy = get(values, "validatingWebhookFailurePolicy")
        if policy != "Fail":
            yield violation(
                rule,
                chart,
                f'values.validatingWebhookFailurePolicy is {show(policy)}; set it to "Fail" '
                "so a webhook outage refuses pods instead of admitting them unchecked",
            )
        if get(values, "disableValidatingWebhook") is True:
            yield violation(
                rule, chart, "values.disableValidatingWebhook is true; nothing enforces"
            )
        rules = as_list(get(values, "validatingWebhookCustomRules"))
        missing = [
            f"{g or 'core'}/{res} {op}"
            for g, res, op in _webhook_requirements()
            if not any(_rule_covers(r, g, res, op) for r in rules)
        ]
        if missing:
            yield violation(
                rule,
                chart,
                f"values.validatingWebhookCustomRules is {show(rules)}; it must cover "
                f"{', '.join(missing)}",
            )
        yield from _ignored_namespaces(rule, resources)
        for key in ("exemptNamespaces", "exemptNamespacePrefixes"):
            exempt = [
                n
                for n in as_list(get(values, f"controllerManager.{key}"))
                if n not in SYSTEM_NAMESPACES
            ]
            if exempt:
                yield violation(
                    rule,
                    chart,
                    f"values.controllerManager.{key} exempts {show(exempt)}; only system "
                    f"namespaces {sorted(SYSTEM_NAMESPACES)} may be exempt",
                )


# The chart's webhook skips namespaces carrying this label (its namespaceSelector has
# `admission.gatekeeper.sh/ignore DoesNotExist`; charts/gatekeeper/templates/
# gatekeeper-validating-webhook-configuration-validatingwebhookconfiguration.yaml).
IGNORE_LABEL = "admission.gatekeeper.sh/ignore"


def _ignored_namespaces(rule: str, resources: Sequence[Resource]) -> Iterator[Violation]:
    for r in resources:
        labels = get(inputs_of(r), "metadata.labels") or {}
        name = get(inputs_of(r), "metadata.name")
        if r.get("type") == NAMESPACE and name not in SYSTEM_NAMESPACES and IGNORE_LABEL in labels:
            yield violation(
                rule,
                r,
                f"metadata.labels carries {IGNORE_LABEL}; the Gatekeeper webhook skips namespace "
                f"{name}, so nothing is enforced there",
            )


# ------------------------------------------------------------------------ constraints-enforced
@closed("constraints-enforced")
def check_constraints_enforced(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Every Constraint blocks: `enforcementAction` is `deny` (unset means deny in Gatekeeper)."""
    for c in _constraints(resources):
        action = get(inputs_of(c), "spec.enforcementAction")
        if not is_unknown(action) and action not in (None, "deny"):
            yield violation(
                "constraints-enforced",
                c,
                f'spec.enforcementAction is {show(action)}; only "deny" blocks a request '
                "(dryrun and warn only report)",
            )


# ------------------------------------------------------------------------ constraints-complete
def tenant_namespaces(resources: Sequence[Resource]) -> dict[str, Mapping[str, str]]:
    """Namespaces the plan creates for tenants (every non-system Namespace), with their labels."""
    out = {}
    for r in resources:
        name = get(inputs_of(r), "metadata.name")
        if r.get("type") == NAMESPACE and isinstance(name, str) and name not in SYSTEM_NAMESPACES:
            out[name] = dict(get(inputs_of(r), "metadata.labels") or {})
    return out


def workload_ksas(resources: Sequence[Resource]) -> dict[str, set[str]]:
    """namespace -> the workload KSAs the plan declares there: its ServiceAccount objects and
    the KSAs Workload Identity bindings name (`<pool>[ns/ksa]`)."""
    out: dict[str, set[str]] = {}
    for r in resources:
        ins = inputs_of(r)
        if r.get("type") == "kubernetes:core/v1:ServiceAccount":
            ns, name = get(ins, "metadata.namespace"), get(ins, "metadata.name")
            if isinstance(ns, str) and isinstance(name, str):
                out.setdefault(ns, set()).add(name)
        found = workload_principal(ins.get("member"))
        if found and get(ins, "role") == "roles/iam.workloadIdentityUser":
            out.setdefault(found[1], set()).add(found[2])
    return out


def _probe(group: str, kind: str, ns: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{group}/v1" if group else "v1",
        "kind": kind,
        "metadata": {"name": "review-probe", "namespace": ns},
    }


def _covers(constraint: Mapping[str, Any], kind: str, ns: str, labels: Mapping) -> bool:
    """Whether the constraint matches every kind its template judges in namespace `ns`."""
    targets = _TEMPLATE_KINDS.get(kind, _POD_KINDS)
    try:
        return all(
            admission.constraint_matches(
                constraint, _probe(g, k, ns), namespace=ns, namespace_labels={ns: labels}
            )
            for g, k in targets
        )
    except admission.AdmissionError:
        return False


@closed("constraints-complete")
def check_constraints_complete(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Each tenant namespace has a constraint of every shipped template matching every kind it
    judges (the workload-KSA templates for the workload KSA where the namespace has one), and
    each template the plan deploys is the repository's (same Rego)."""
    rule = "constraints-complete"
    objects = kubernetes_objects(resources)
    templates, constraints = admission.gatekeeper_rules(objects)
    shipped = {template_kind(t): t for t in repo_templates()}
    deployed = {template_kind(t): t for t in templates}
    by_name = {get(inputs_of(r), "metadata.name"): r for r in resources}
    for kind, template in deployed.items():
        repo = shipped.get(kind)
        if repo is not None and get(template, "spec.targets") != get(repo, "spec.targets"):
            name = get(template, "metadata.name")
            yield violation(
                rule,
                by_name.get(name, {"type": "ConstraintTemplate", "name": name}),
                f"spec.targets differ from policy/gatekeeper's {kind} template; deploy the "
                "reviewed Rego",
            )
    ksas = workload_ksas(resources)
    for ns, labels in tenant_namespaces(resources).items():
        ns_resource = next(
            r
            for r in resources
            if r.get("type") == NAMESPACE and get(inputs_of(r), "metadata.name") == ns
        )
        for kind in shipped:
            needs_ksa = kind in REQUIRED_WORKLOAD_CONSTRAINTS
            if needs_ksa and not ksas.get(ns):
                continue
            matching = [
                c for c in constraints if c.get("kind") == kind and _covers(c, kind, ns, labels)
            ]
            if not matching:
                yield violation(
                    rule,
                    ns_resource,
                    f"tenant namespace {ns!r} has no {kind} constraint matching "
                    f"{'its workloads' if kind not in _TEMPLATE_KINDS else 'it'}; "
                    "render the whole constraint set for every tenant",
                )
            elif kind not in deployed:
                yield violation(
                    rule, ns_resource, f"the plan deploys no ConstraintTemplate for {kind}"
                )


# ------------------------------------------------------------------------ constraint-params-match
def _registry_urls(resources: Sequence[Resource]) -> set[str]:
    """`<location>-docker.pkg.dev/<project>/<repository>` of each Docker repository in the plan
    that tenants deploy from: the platform mirror, where the Helm charts' images live, is not one
    (a tenant allowed to run from it could run Gatekeeper's image as the workload)."""
    charts = {
        str(get(inputs_of(r), "values.image.repository"))
        for r in resources
        if r.get("type") in HELM_TYPES
    }
    urls = set()
    for r in resources:
        ins = inputs_of(r)
        if r.get("type") == REPOSITORY and get(ins, "format") == "DOCKER":
            loc, proj, rid = ins.get("location"), ins.get("project"), ins.get("repositoryId")
            if all(isinstance(v, str) and not is_unknown(v) for v in (loc, proj, rid)):
                url = f"{loc}-docker.pkg.dev/{proj}/{rid}"
                if not any(image.startswith(url + "/") for image in charts):
                    urls.add(url)
    return urls


def _deployed_digests(resources: Sequence[Resource], ns: str, ksa: str) -> set[str]:
    """Digests of the images the plan runs in `ns` as `ksa`."""
    out = set()
    for obj in kubernetes_objects(resources):
        if obj.get("kind") not in POD_SPEC_PATHS or get(obj, "metadata.namespace") != ns:
            continue
        spec = get(obj, POD_SPEC_PATHS[obj["kind"]][1]) or {}
        if (spec.get("serviceAccountName") or spec.get("serviceAccount")) != ksa:
            continue
        for key in ("containers", "initContainers"):
            for c in as_list(spec.get(key)):
                m = IMAGE_BY_DIGEST.match(str(get(c, "image") or ""))
                if m:
                    out.add(m["digest"])
    return out


def _namespaces_of(constraint: Resource) -> list[str]:
    return [str(n) for n in as_list(get(inputs_of(constraint), "spec.match.namespaces"))]


@closed("constraint-params-match")
def check_constraint_params_match(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Constraint parameters agree with the plan: allowed repos are the plan's registry, the
    approved digests are well formed and equal what the plan deploys as the workload KSA, and
    every workload-KSA constraint names the namespace's workload KSA."""
    rule = "constraint-params-match"
    registries = _registry_urls(resources)
    ksas = workload_ksas(resources)
    for c in _constraints(resources):
        ins = inputs_of(c)
        kind, params = ins.get("kind"), get(ins, "spec.parameters") or {}
        if is_unknown(params):
            continue
        namespaces = _namespaces_of(c)
        ksa = params.get("serviceAccountName")
        if "serviceAccountName" in params:
            for ns in namespaces:
                expected = ksas.get(ns)
                if expected and ksa not in expected:
                    yield violation(
                        rule,
                        c,
                        f"spec.parameters.serviceAccountName is {show(ksa)}; namespace {ns}'s "
                        f"workload KSA is {show(sorted(expected))}, so its pods escape this rule",
                    )
        if kind == "SandboxAllowedRepos":
            repos = as_list(params.get("repos"))
            bad = [
                r
                for r in repos
                if not REPOSITORY_PREFIX.match(str(r))
                or (registries and str(r).rstrip("/") not in registries)
                or str(r).count("/") < 2
            ]
            if not repos or bad:
                where = (
                    f"the plan's registry {sorted(registries)}"
                    if registries
                    else ("a registry host, project and repository")
                )
                yield violation(
                    rule, c, f"spec.parameters.repos is {show(repos)}; each must be {where}"
                )
        if kind == "SandboxApprovedDigests":
            digests = as_list(params.get("digests"))
            bad = [d for d in digests if not DIGEST.match(str(d))]
            if not digests or bad:
                yield violation(
                    rule,
                    c,
                    f"spec.parameters.digests is {show(digests)}; list each approved digest "
                    "as sha256:<64 hex>",
                )
                continue
            recorded = recorded_digests(resources)
            for ns in namespaces:
                deployed = _deployed_digests(resources, ns, str(ksa))
                if deployed and set(digests) != deployed:
                    yield violation(
                        rule,
                        c,
                        f"spec.parameters.digests is {show(sorted(digests))}; the plan deploys "
                        f"{show(sorted(deployed))} as {ns}/{ksa}: approve exactly that",
                    )
                elif not deployed and ns in recorded and set(digests) != recorded[ns]:
                    # the sandbox stack alone: its config's approved digests are the fact
                    yield violation(
                        rule,
                        c,
                        f"spec.parameters.digests is {show(sorted(digests))}; the stack's config "
                        f"(sandbox.approvedDigests) approves {show(sorted(recorded[ns]))} for "
                        f"{ns}: approve exactly that",
                    )


# ------------------------------------------------------------------ project-in-confidential-folder
def _confidential_folders(resources: Sequence[Resource]) -> set[str]:
    """Folder ids whose org policy in the plan restricts non-confidential computing."""
    out = set()
    for r in resources:
        ins = inputs_of(r)
        name, parent = str(ins.get("name") or ""), ins.get("parent")
        if (
            r.get("type") == ORG_POLICY
            and name.endswith(f"/policies/{CONFIDENTIAL_ONLY}")
            and isinstance(parent, str)
            and parent.startswith("folders/")
        ):
            out.add(parent.removeprefix("folders/"))
    return out


@closed("project-in-confidential-folder")
def check_project_in_confidential_folder(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Every project the plan creates has the confidential folder as its parent (the folder
    whose org policy only allows Confidential VMs), not an organization or another folder."""
    rule = "project-in-confidential-folder"
    folders = _confidential_folders(resources)
    has_folder = any(r.get("type") == FOLDER for r in resources)
    for project in resources:
        if project.get("type") != PROJECT:
            continue
        folder = get(inputs_of(project), "folderId")
        if is_unknown(folder):
            continue
        folder_id = str(folder).removeprefix("folders/") if folder is not None else None
        if folder_id is None or folder_id not in folders:
            known = sorted(folders) or "none (the plan sets no such org policy)"
            yield violation(
                rule,
                project,
                f"folderId is {show(folder)}; the project must be created in the folder whose "
                f"org policy sets {CONFIDENTIAL_ONLY} ({known})"
                + ("" if has_folder else "; the plan creates no folder"),
            )
