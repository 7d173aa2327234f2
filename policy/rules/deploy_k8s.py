"""Issue 10 "deploy-ready", Kubernetes side: would `pulumi up` of these stacks actually work?

Four concerns, one check each:
- `images-pullable`: private nodes pull only from Artifact Registry, by digest, from a repository
  the node service account can read, and Binary Authorization admits exactly that digest.
- `tenant-can-deploy`: the tenant Role allows what applying and awaiting the tenant's objects
  needs, and nothing more.
- `system-namespaces-exempt`: fail-closed Gatekeeper webhooks never gate system namespaces.
- `lb-tls-policy`: every Ingress's load balancer refuses TLS below 1.2.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy.facts import (
    APPLY_VERBS,
    ARTIFACT_READER_ROLES,
    ARTIFACT_REGISTRY_IMAGE,
    AWAIT_EVENTS,
    AWAIT_READS,
    AWAIT_VERBS,
    BUILTIN_NAMESPACES,
    DELETE_AWAIT_VERBS,
    FRONTEND_CONFIG_ANNOTATION,
    GATEKEEPER_IGNORE_LABEL,
    IMAGE_BY_DIGEST,
    NAMESPACE_NAME_LABEL,
    POD_SPEC_PATHS,
    SYSTEM_NAMESPACES,
    TLS_MIN_VERSIONS,
    TLS_POLICY_PROFILES,
    resource_of,
)
from policy.rbac import KNOWN_RESOURCES, Access, RbacError, RbacPolicy, ResourceType, UserInfo

from .engine import Violation, violation
from .gcp_iam import iam_grants
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, same_component, show
from .plan import type_of as _type
from .tokens import (
    AR_REPOSITORY_IAM,
    BINAUTHZ_POLICY,
    CLUSTER,
    FRONTEND_CONFIG,
    HELM_TYPES,
    K8S_INGRESS,
    K8S_NAMESPACE,
    K8S_NAMESPACE_PATCH,
    K8S_ROLE,
    K8S_WORKLOAD_TYPES,
    NODE_POOL,
    PROJECT_IAM,
    SSL_POLICY,
)

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


# --------------------------------------------------------------------------- images-pullable
def _helm_images(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, image) for every image string a chart's values give: `image`/`*Image` strings and
    the `*repository` strings of image maps (a chart renders `repository` alone when its
    release/tag is empty, as the Gatekeeper chart does)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _helm_images(item, f"{path}[{i}]")
        return
    if not isinstance(value, Mapping):
        return
    for key, item in value.items():
        here = f"{path}.{key}"
        image_key = isinstance(key, str) and key.lower().endswith("image")
        if image_key and isinstance(item, str):
            yield here, item
        elif image_key and isinstance(item, Mapping):
            for sub, text in item.items():
                if isinstance(sub, str) and sub.lower().endswith("repository") and text:
                    yield f"{here}.{sub}", str(text)
        if isinstance(item, Mapping | list):
            yield from _helm_images(item, here)


def _pod_images(resource: Resource) -> Iterator[tuple[str, str]]:
    kind = K8S_WORKLOAD_TYPES[_type(resource)]
    spec_path = POD_SPEC_PATHS[kind][1]
    spec = get(inputs_of(resource), spec_path)
    for field in _CONTAINER_LISTS:
        for i, container in enumerate(as_list(get(spec, field))):
            image = get(container, "image")
            if isinstance(image, str):
                yield f"{spec_path}.{field}[{i}].image", image


def _node_service_accounts(resources: Sequence[Resource]) -> set[str]:
    """The node pools' service accounts as IAM members. The Compute Engine default account is
    left to gke-node-sa-least-privilege (it usually holds Editor, which reads every repository)."""
    return {
        f"serviceAccount:{sa}"
        for r in of_type(resources, CLUSTER, NODE_POOL)
        if isinstance(sa := get(inputs_of(r), "nodeConfig.serviceAccount"), str)
        and not is_unknown(sa)
        and not sa.endswith("-compute@developer.gserviceaccount.com")
    }


def _readable(resources: Sequence[Resource], member: str, project: str, repository: str) -> bool:
    """`member` holds a role with downloadArtifacts on the repository or on its project."""
    for grant in iam_grants(resources):
        if grant.member != member or not (
            isinstance(grant.role, str) and grant.role in ARTIFACT_READER_ROLES
        ):
            continue
        ins, token = inputs_of(grant.resource), _type(grant.resource)
        if ins.get("project") != project:
            continue
        if token in PROJECT_IAM or (
            token in AR_REPOSITORY_IAM and ins.get("repository") == repository
        ):
            return True
    return False


def _allowlist(resources: Sequence[Resource]) -> tuple[set[str], bool] | None:
    """(allowlisted name patterns, whether unlisted images are refused) for judging, or None
    when the plan holds no Binary Authorization policy (another stack's concern then), or when
    a wildcard pattern or an ALWAYS_ALLOW default makes the allowlist moot: those are
    gke-binauthz-enforced's findings."""
    policies = of_type(resources, BINAUTHZ_POLICY)
    if not policies:
        return None
    patterns = {
        p
        for policy in policies
        for entry in as_list(get(inputs_of(policy), "admissionWhitelistPatterns"))
        if isinstance(p := get(entry, "namePattern"), str)
    }
    modes = [get(inputs_of(p), "defaultAdmissionRule.evaluationMode") for p in policies]
    if any("*" in p or is_unknown(p) for p in patterns) or "ALWAYS_ALLOW" in modes:
        return None
    return patterns, all(m == "ALWAYS_DENY" for m in modes)


def check_images_pullable(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Private nodes (no Cloud NAT) reach Artifact Registry through Private Google Access, not
    docker.io; the mirror.gcr.io cache is not guaranteed. Binary Authorization admits an
    allowlisted image by its literal `namePattern` (AdmissionWhitelistPattern reference: a
    pattern without `*` is not a wildcard; notes issue10-facts i), so a chart image (not signed
    by the attestor) must be allowlisted by exactly its digest reference; a workload image may
    instead be attested (the policy's default rule requires attestation)."""
    rule = "images-pullable"
    nodes = _node_service_accounts(resources)
    binauthz = _allowlist(resources)
    for resource in resources:
        token = _type(resource)
        if token in HELM_TYPES:
            images, chart = list(_helm_images(get(inputs_of(resource), "values"), "values")), True
        elif token in K8S_WORKLOAD_TYPES:
            images, chart = list(_pod_images(resource)), False
        else:
            continue
        for path, image in images:
            if not IMAGE_BY_DIGEST.match(image):
                continue  # a tag, or unknown: images-by-digest reports it
            where = ARTIFACT_REGISTRY_IMAGE.match(image)
            if not where:
                yield violation(
                    rule,
                    resource,
                    f'{path} is "{image}"'
                    f"; private nodes pull only from Artifact Registry, "
                    "by digest: <location>-docker.pkg.dev/<project>/<repo>/<image>@sha256:<64 hex>",
                )
                continue
            project, repository = where["project"], where["repository"]
            for member in sorted(nodes):
                if not _readable(resources, member, project, repository):
                    yield violation(
                        rule,
                        resource,
                        f'{path} is "{image}"'
                        f"; node service account {member} has no "
                        f"Artifact Registry read role on {project}/{repository}",
                    )
            if binauthz is not None:
                patterns, denies = binauthz
                if image not in patterns and (chart or denies):
                    yield violation(
                        rule,
                        resource,
                        f'{path} is "{image}"'
                        f"; Binary Authorization must allowlist exactly "
                        "this digest reference (admissionWhitelistPatterns[].namePattern)",
                    )


# --------------------------------------------------------------------------- tenant-can-deploy
def _group_kind(resource: Resource) -> tuple[str, str] | None:
    """(API group, kind) of a Kubernetes resource: `kubernetes:apps/v1:Deployment` -> ("apps",
    "Deployment"), `kubernetes:core/v1:Secret` -> ("", "Secret"); None for non-objects."""
    parts = _type(resource).split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or "/" not in parts[1]:
        return None
    group = parts[1].rsplit("/", 1)[0]
    if group.startswith("helm.sh") or group == "yaml" or parts[2].endswith(("Patch", "List")):
        return None
    return ("" if group == "core" else group), parts[2]


def needed_access(objects: Sequence[Resource]) -> dict[tuple[str, str, str], str]:
    """(verb, group, resource) -> why, for applying and awaiting these objects with
    pulumi-kubernetes (policy.facts.APPLY_VERBS, AWAIT_READS, AWAIT_EVENTS)."""
    need: dict[tuple[str, str, str], str] = {}
    for obj in objects:
        gk = _group_kind(obj)
        if gk is None:
            continue
        group, kind = gk
        why = f'{kind} "{get(inputs_of(obj), "metadata.name")}"'
        for verb in APPLY_VERBS:
            need.setdefault((verb, group, resource_of(kind)), f"apply {why}")
        for verb in DELETE_AWAIT_VERBS:
            need.setdefault((verb, group, resource_of(kind)), f"await the deletion of {why}")
        for read_group, read_resource in (*AWAIT_READS.get(gk, ()), AWAIT_EVENTS):
            for verb in AWAIT_VERBS:
                need.setdefault((verb, read_group, read_resource), f"await {why}")
    return need


def _tenant_objects(role: Resource, resources: Sequence[Resource]) -> list[Resource]:
    """Objects in the Role's namespace that the Role's own component did not make: the tenant's."""
    ns = get(inputs_of(role), "metadata.namespace")
    return [
        r
        for r in resources
        if _group_kind(r) is not None
        and get(inputs_of(r), "metadata.namespace") == ns
        and not same_component(r, role)
    ]


def _identities(policy: RbacPolicy, ns: str, role_name: str) -> list[UserInfo]:
    out = []
    for b in policy.bindings:
        if b.namespace != ns or b.role_kind != "Role" or b.role_name != role_name:
            continue
        for s in b.subjects:
            if s.kind == "Group":
                out.append(UserInfo.user(f"a member of {s.name}", groups=[s.name]))
            else:
                out.append(s.identity())
    return out


def check_tenant_can_deploy(resources: Sequence[Resource]) -> Iterator[Violation]:
    """pulumi-kubernetes applies each object (server-side apply: create/patch, refresh: get,
    destroy: delete, replace: update) and awaits it through per-namespace informers; the reads
    per kind are policy.facts.AWAIT_READS (pulumi-kubernetes provider/pkg/await, notes
    issue10-facts g). A Role missing one makes `pulumi up` fail Forbidden or time out; a Role
    with more grants what the sandbox never needed. Not applicable to a Role whose namespace
    holds no tenant objects in this plan (the workload is another stack's)."""
    rule = "tenant-can-deploy"
    rbac_objects = [
        inputs_of(r)
        for r in resources
        if _group_kind(r) is not None and isinstance(inputs_of(r).get("kind"), str)
    ]
    try:
        policy = RbacPolicy(rbac_objects)
    except (RbacError, TypeError, AttributeError) as exc:  # malformed Role: report, fail closed
        for role in of_type(resources, K8S_ROLE):
            yield violation(rule, role, f"the plan's RBAC objects cannot be evaluated: {exc}")
        return
    for role in of_type(resources, K8S_ROLE):
        ns, name = get(inputs_of(role), "metadata.namespace"), get(inputs_of(role), "metadata.name")
        objects = _tenant_objects(role, resources)
        if not objects or not isinstance(ns, str) or not isinstance(name, str):
            continue
        need = needed_access(objects)
        universe = [
            *KNOWN_RESOURCES,
            *(ResourceType(g, r, True, ()) for _, g, r in need if (g, r) not in _known()),
        ]
        for who in _identities(policy, ns, name):
            for (verb, group, res), why in sorted(need.items()):
                if not policy.check(who, verb, res, namespace=ns, api_group=group):
                    yield violation(
                        rule,
                        role,
                        f"does not let {who.username} {verb} {group or 'core'}/{res} in {ns}, "
                        f"needed to {why}",
                    )
            extra = policy.allowed_set(who, ns, universe=universe) - {
                Access(v, g, r) for v, g, r in need
            }
            for access in sorted(extra, key=lambda a: (a.api_group, a.resource, a.verb)):
                yield violation(
                    rule,
                    role,
                    f"lets {who.username} {access.verb} {access.api_group or 'core'}/"
                    f"{access.resource} in {ns}, which applying and awaiting the tenant's "
                    "objects does not need",
                )


def _known() -> set[tuple[str, str]]:
    return {(rt.api_group, rt.resource) for rt in KNOWN_RESOURCES}


# --------------------------------------------------------------------------- system-namespaces-exempt
def _fails_closed(chart: Resource) -> bool:
    values = get(inputs_of(chart), "values")
    return any(
        get(values, key) == "Fail"
        for key in ("validatingWebhookFailurePolicy", "mutatingWebhookFailurePolicy")
    )


def _labelled(resources: Sequence[Resource]) -> set[str]:
    return {
        name
        for r in of_type(resources, K8S_NAMESPACE, K8S_NAMESPACE_PATCH)
        if isinstance(name := get(inputs_of(r), "metadata.name"), str)
        and isinstance(labels := get(inputs_of(r), "metadata.labels"), Mapping)
        and GATEKEEPER_IGNORE_LABEL in labels
    }


def _webhook_selector_exempts(rule: str, chart: Resource) -> Iterator[Violation]:
    """The chart (3.17+) puts `<webhook>ExemptNamespacesLabels` into each webhook's
    namespaceSelector as `NotIn` (chart template
    gatekeeper-validating-webhook-configuration-validatingwebhookconfiguration.yaml); listing
    the system namespaces under `kubernetes.io/metadata.name` exempts them by name, including
    the ones an add-on creates after Gatekeeper (gmp-system, gmp-public)."""
    for key in ("validatingWebhookExemptNamespacesLabels", "mutatingWebhookExemptNamespacesLabels"):
        names = get(inputs_of(chart), ("values", key, NAMESPACE_NAME_LABEL))
        if is_unknown(names):
            continue
        missing = sorted(SYSTEM_NAMESPACES - {n for n in as_list(names) if isinstance(n, str)})
        if missing:
            yield violation(
                rule,
                chart,
                f"values.{key}[{NAMESPACE_NAME_LABEL}] is {show(names)}; it must list every "
                f"GKE-managed and system namespace (missing {', '.join(missing)})",
            )


def check_system_namespaces_exempt(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Gatekeeper's `exemptNamespaces` only *allows* the `admission.gatekeeper.sh/ignore` label
    (Gatekeeper docs "Exempting Namespaces",
    https://open-policy-agent.github.io/gatekeeper/website/docs/exempt-namespaces); the webhooks
    skip a namespace only once it carries the label. With fail-closed webhooks, a Gatekeeper
    outage otherwise blocks system pods (kube-dns, the Gatekeeper pods themselves)."""
    rule = "system-namespaces-exempt"
    labelled = _labelled(resources)
    for chart in of_type(resources, *HELM_TYPES):
        if get(inputs_of(chart), "chart") != "gatekeeper" or not _fails_closed(chart):
            continue
        exempt = get(inputs_of(chart), "values.controllerManager.exemptNamespaces")
        missing = sorted(SYSTEM_NAMESPACES - {n for n in as_list(exempt) if isinstance(n, str)})
        if missing and not is_unknown(exempt):
            yield violation(
                rule,
                chart,
                f"values.controllerManager.exemptNamespaces is {show(exempt)}; it must list "
                f"every system namespace (missing {', '.join(missing)})",
            )
        yield from _webhook_selector_exempts(rule, chart)
        own = get(inputs_of(chart), "namespace")
        for ns in sorted(BUILTIN_NAMESPACES | ({own} if isinstance(own, str) else set())):
            if ns not in labelled:
                yield violation(
                    rule,
                    chart,
                    f"namespace {ns} carries no {GATEKEEPER_IGNORE_LABEL} label (no Namespace or "
                    "NamespacePatch sets it); fail-closed webhooks would gate its pods",
                )


# --------------------------------------------------------------------------- lb-tls-policy
def _ssl_policy_problem(policy: Resource) -> str | None:
    ins = inputs_of(policy)
    profile, version = ins.get("profile"), ins.get("minTlsVersion")
    if is_unknown(profile) or is_unknown(version):
        return None
    if profile in TLS_POLICY_PROFILES and version in TLS_MIN_VERSIONS:
        return None
    return (
        f"profile is {show(profile)} and minTlsVersion {show(version)}; a sandbox load "
        f"balancer needs profile {' or '.join(TLS_POLICY_PROFILES)} and minTlsVersion "
        f"{' or '.join(TLS_MIN_VERSIONS)}"
    )


def check_lb_tls_policy(resources: Sequence[Resource]) -> Iterator[Violation]:
    """GCLB's default SSL policy is COMPATIBLE with TLS 1.0 (pulumi-gcp 10.2.0
    compute/ssl_policy.py defaults); a GKE Ingress gets another only through a FrontendConfig
    `spec.sslPolicy` named by the `networking.gke.io/v1beta1.FrontendConfig` annotation
    ("Ingress configuration on Google Cloud",
    https://cloud.google.com/kubernetes-engine/docs/how-to/ingress-configuration). The policy
    itself is judged when it is in the plan (it is Alice's, in the cluster stack)."""
    rule = "lb-tls-policy"
    policies = {
        name: p
        for p in of_type(resources, SSL_POLICY)
        if isinstance(name := get(inputs_of(p), "name"), str)
    }
    for policy in policies.values():
        if problem := _ssl_policy_problem(policy):
            yield violation(rule, policy, problem)
    frontends = {
        (str(get(inputs_of(f), "metadata.namespace")), str(get(inputs_of(f), "metadata.name"))): f
        for f in of_type(resources, FRONTEND_CONFIG)
    }
    for ingress in of_type(resources, K8S_INGRESS):
        ins = inputs_of(ingress)
        ref = get(ins, ("metadata", "annotations", FRONTEND_CONFIG_ANNOTATION))
        frontend = frontends.get((str(get(ins, "metadata.namespace")), str(ref)))
        if frontend is None:
            yield violation(
                rule,
                ingress,
                f"annotation {FRONTEND_CONFIG_ANNOTATION} is {show(ref)}; it must name a "
                "FrontendConfig of this plan in the same namespace",
            )
            continue
        ssl = get(inputs_of(frontend), "spec.sslPolicy")
        if is_unknown(ssl):
            continue
        if not isinstance(ssl, str) or not ssl:
            yield violation(
                rule,
                frontend,
                f"spec.sslPolicy is {show(ssl)}; name the TLS 1.2+ SSL policy of the cluster "
                "project (the default allows TLS 1.0)",
            )
        elif policies and ssl not in policies:
            yield violation(
                rule, frontend, f"spec.sslPolicy is {show(ssl)}; no SSL policy of that name"
            )
