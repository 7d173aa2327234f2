"""Issue 14, item 2: every Kubernetes object of a plan judged as the cluster would judge it.

`workloads-admitted` runs the project's own Gatekeeper admission (`policy.admission`: the same
ConstraintTemplates and Constraints, on OPA) over every namespaced object of the plan, for every
pod-creating kind, so a privileged, token-mounting or writable-root workload fails the review
before it reaches a cluster. `ingress-https-only` and `network-policy-exact` judge what Gatekeeper
does not see: the Ingress must serve HTTPS only, and tenant NetworkPolicies may open nothing
beyond the peers the sandbox design lists.

Where the templates and constraints come from (decision):
- A plan that deploys Gatekeeper objects (the `sandbox` and `dev` stacks) is judged by its own
  ConstraintTemplates and Constraints: the review sees what the cluster will enforce. That a
  constraint was dropped, weakened or set to `dryrun` is the business of `policy.rules.guards`
  (`constraints-complete`, `constraint-params-match`, `constraints-enforced`), so a mutation
  that removes a constraint cannot make this review pass.
- A plan with workload objects but no Gatekeeper objects (Bob's `workload` stack) is judged by
  the repository's templates (`policy/gatekeeper/*/template.yaml`, what the sandbox stack
  deploys) with the constraints the design implies without tenant config: every parameter-free
  template for every pod, and the workload-KSA shape rules (no command override, pod shape:
  no sidecars, no token automount) for the service account the object runs as, since the only
  workload that stack deploys is the harness under the workload KSA. The approved digests and
  allowed repositories are tenant config held by the sandbox stack, so they are not judged there.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from harness.contract import PORT, PORT_NAME
from policy import admission
from policy.access import kubernetes_objects
from policy.facts import (
    GOOGLE_API_CIDRS,
    GOOGLE_FRONT_END_CIDRS,
    POD_SPEC_PATHS,
    REVIEW_EXTRAS_TYPE,
    SYSTEM_NAMESPACES,
)

from .engine import Check, Violation, violation
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, show

GATEKEEPER_DIR = Path(__file__).resolve().parents[1] / "gatekeeper"
CONSTRAINT_API = "constraints.gatekeeper.sh/"
NAMESPACE = "kubernetes:core/v1:Namespace"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
# The workload-KSA rules applied in a plan without Gatekeeper objects (see the module docstring).
_KSA_BASELINE = ("SandboxNoCommandOverride", "SandboxWorkloadPodShape")

# GKE Ingress: `kubernetes.io/ingress.allow-http: "false"` removes the HTTP forwarding rule, so the
# load balancer serves HTTPS only. Source: https://cloud.google.com/kubernetes-engine/docs/concepts/ingress-xlb#disabling_http
ALLOW_HTTP = "kubernetes.io/ingress.allow-http"

# The peers a tenant namespace may reach or be reached by (components/tenant_sandbox.py, DESIGN):
# kube-dns; Private Google Access VIPs private.googleapis.com 199.36.153.8/30 and
# restricted.googleapis.com 199.36.153.4/30 on 443
# (https://cloud.google.com/vpc/docs/configure-private-google-access#config-domain); the GKE
# metadata server 169.254.169.254:80 and 169.254.169.252:988 under Dataplane V2
# (https://cloud.google.com/kubernetes-engine/docs/how-to/network-policy#network-policy-and-workload-identity);
# ingress only from Google front ends / health checks 35.191.0.0/16 and 130.211.0.0/22
# (https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges) to the harness port.
METADATA_EGRESS: Mapping[str, tuple[int, ...]] = {
    "169.254.169.254/32": (80,),
    "169.254.169.252/32": (988,),
}


@dataclass(frozen=True)
class NetworkRanges:
    """The peers a tenant NetworkPolicy may name: the design's, or the ones the sandbox's
    config chose (`googleApiCidrs`, `loadBalancerCidrs`), recorded in the plan by the program
    (`gke-sandbox:review:AllowedExtras`, input `networkRanges`) and listed in the report."""

    google_apis: tuple[str, ...] = GOOGLE_API_CIDRS
    ingress: tuple[str, ...] = GOOGLE_FRONT_END_CIDRS
    configured: bool = False

    @property
    def egress(self) -> Mapping[str, tuple[int, ...]]:
        """Destination range -> the ports it may be reached on."""
        return {**{cidr: (443,) for cidr in self.google_apis}, **METADATA_EGRESS}

    @property
    def source(self) -> str:
        return "config googleApiCidrs/loadBalancerCidrs" if self.configured else "the design"


def network_ranges(resources: Sequence[Resource]) -> NetworkRanges:
    """The ranges recorded by the plan's config, else the design's (policy.facts)."""
    for record in of_type(resources, REVIEW_EXTRAS_TYPE):
        ranges = get(inputs_of(record), "networkRanges")
        if isinstance(ranges, Mapping):
            return NetworkRanges(
                google_apis=tuple(str(c) for c in as_list(ranges.get("googleApiCidrs"))),
                ingress=tuple(str(c) for c in as_list(ranges.get("loadBalancerCidrs"))),
                configured=True,
            )
    return NetworkRanges()


def allowed_ranges(resources: Sequence[Resource]) -> list[str]:
    """Config-chosen network ranges, one line each for the report (none: the design's)."""
    ranges = network_ranges(resources)
    if not ranges.configured:
        return []
    return [
        f"tenant egress to Google APIs on 443: {', '.join(ranges.google_apis) or 'none'} "
        f"(allowed by {ranges.source})",
        f"tenant ingress from load balancers: {', '.join(ranges.ingress) or 'none'} "
        f"(allowed by {ranges.source})",
    ]


DNS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


def closed(rule: str) -> Callable[[Callable[..., Iterable[Violation]]], Check]:
    """Run a check to completion; a wrongly shaped input (a map where a list belongs, a string
    for a map...) fails the rule with a message naming the error instead of an internal error.
    Objects the API server would refuse cannot be judged, so they must not pass."""

    def wrap(check: Callable[..., Iterable[Violation]]) -> Check:
        @functools.wraps(check)
        def run(resources: Sequence[Resource]) -> list[Violation]:
            try:
                return list(check(resources))
            except (AttributeError, TypeError, KeyError, ValueError, IndexError) as exc:
                return [
                    Violation(
                        rule,
                        "",
                        f"a Kubernetes or Gatekeeper input of the plan is malformed and cannot be "
                        f"judged ({type(exc).__name__}: {str(exc)[:120]}); fix its shape",
                    )
                ]

        return run

    return wrap


@lru_cache(maxsize=1)
def repo_templates() -> tuple[Mapping[str, Any], ...]:
    """The ConstraintTemplates the repository ships (`policy/gatekeeper/*/template.yaml`)."""
    return tuple(
        yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(GATEKEEPER_DIR.glob("*/template.yaml"))
    )


def template_kind(template: Mapping[str, Any]) -> str:
    return str(get(template, "spec.crd.spec.names.kind") or "")


def _required_params(template: Mapping[str, Any]) -> list[str]:
    return list(get(template, "spec.crd.spec.validation.openAPIV3Schema.required") or [])


def _baseline_constraints(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Constraints the design implies for a plan without Gatekeeper objects: every
    parameter-free template for every pod kind, and the workload-KSA shape rules for each
    service account a pod-creating object runs as."""
    kinds = [{"apiGroups": [g], "kinds": [k]} for k, (g, _) in POD_SPEC_PATHS.items()]
    out: list[dict[str, Any]] = []
    for template in repo_templates():
        kind = template_kind(template)
        if kind in _KSA_BASELINE:
            accounts = sorted({_service_account(o) for o in objects if o["kind"] in POD_SPEC_PATHS})
            params = [{"serviceAccountName": ksa} for ksa in accounts]
        elif not _required_params(template) and kind not in ("SandboxServiceTypes",):
            params = [{}]
        else:
            continue
        for i, p in enumerate(params):
            out.append(
                {
                    "apiVersion": CONSTRAINT_API + "v1beta1",
                    "kind": kind,
                    "metadata": {"name": f"design-{kind.lower()}-{i}"},
                    "spec": {
                        "enforcementAction": "deny",
                        "match": {"kinds": kinds},
                        "parameters": p,
                    },
                }
            )
    return out


def _service_account(obj: Mapping[str, Any]) -> str:
    spec = get(obj, POD_SPEC_PATHS[obj["kind"]][1]) or {}
    name = spec.get("serviceAccountName") or spec.get("serviceAccount")
    return name if isinstance(name, str) and name else "default"


def _namespace(obj: Mapping[str, Any]) -> str | None:
    ns = get(obj, "metadata.namespace")
    return ns if isinstance(ns, str) and ns else None


def _judged(obj: Mapping[str, Any]) -> bool:
    """Namespaced objects a tenant could create; Gatekeeper's own objects are not judged."""
    api = str(obj.get("apiVersion", ""))
    return _namespace(obj) is not None and not api.startswith(
        (CONSTRAINT_API, "templates.gatekeeper.sh/")
    )


@closed("workloads-admitted")
def check_workloads_admitted(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Every namespaced object of the plan passes the plan's (or the design's) admission."""
    rule = "workloads-admitted"
    pairs = _pairs(resources)
    objects = [obj for obj, _ in pairs]
    templates, constraints = admission.gatekeeper_rules(objects)
    own = bool(templates or constraints)
    if not own:
        templates = list(repo_templates())
        constraints = _baseline_constraints(objects)
    ns_labels = {
        get(o, "metadata.name"): dict(get(o, "metadata.labels") or {})
        for o in objects
        if o["kind"] == "Namespace" and o.get("apiVersion") == "v1"
    }
    context = hashlib.sha256(
        json.dumps([templates, constraints, ns_labels], sort_keys=True, default=str).encode()
    ).hexdigest()
    for obj, resource in pairs:
        if not _judged(obj) or (not own and obj["kind"] not in POD_SPEC_PATHS):
            continue
        ns = _namespace(obj)
        if own and obj["kind"] in POD_SPEC_PATHS and ns not in ns_labels:
            yield violation(
                rule,
                resource,
                f"metadata.namespace is {show(ns)}; the plan deploys Gatekeeper for its tenant "
                f"namespaces {sorted(ns_labels)} only, so nothing would judge this workload",
            )
            continue
        try:
            denials = _denials(obj, templates, constraints, ns_labels, context)
        except admission.AdmissionError as exc:
            yield violation(rule, resource, f"admission cannot be evaluated: {exc}")
            continue
        for denial in denials:
            yield violation(rule, resource, f"Gatekeeper would deny it: {denial}")


_DENIALS: dict[tuple[str, str], tuple[admission.Denial, ...]] = {}


def _denials(
    obj: Mapping[str, Any],
    templates: Sequence[Mapping[str, Any]],
    constraints: Sequence[Mapping[str, Any]],
    ns_labels: Mapping[str, Mapping[str, str]],
    context: str,
) -> tuple[admission.Denial, ...]:
    """`admission.evaluate`, remembered per (rules, namespaces) fingerprint and object: a review
    (and a CrossGuard run, or a test mutating one object) re-judges mostly unchanged objects."""
    key = (context, json.dumps(obj, sort_keys=True, default=str))
    if key not in _DENIALS:
        if len(_DENIALS) > 4096:
            _DENIALS.clear()
        _DENIALS[key] = tuple(
            admission.evaluate(obj, templates, constraints, namespace_labels=ns_labels or None)
        )
    return _DENIALS[key]


def _pairs(resources: Sequence[Resource]) -> list[tuple[dict[str, Any], Resource]]:
    """Each Kubernetes object of the plan (as a manifest) with the resource that declares it."""
    return [(obj, r) for r in resources for obj in kubernetes_objects([r])]


@closed("ingress-https-only")
def check_ingress_https_only(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Every Ingress disables HTTP and terminates TLS for every host it routes."""
    rule = "ingress-https-only"
    for resource in resources:
        if resource.get("type") != INGRESS:
            continue
        ins = inputs_of(resource)
        allow = get(ins, ["metadata", "annotations", ALLOW_HTTP])
        if not is_unknown(allow) and allow != "false":
            yield violation(
                rule,
                resource,
                f'metadata.annotations["{ALLOW_HTTP}"] is {show(allow)}; set it to "false" so '
                "the load balancer has no HTTP front end",
            )
        tls = get(ins, "spec.tls")
        if is_unknown(tls):
            continue
        covered = {h for entry in as_list(tls) for h in as_list(get(entry, "hosts"))}
        if not as_list(tls):
            yield violation(rule, resource, "spec.tls is unset; the Ingress must terminate TLS")
        for i, entry in enumerate(as_list(get(ins, "spec.rules"))):
            host = get(entry, "host")
            if as_list(tls) and not is_unknown(host) and host not in covered:
                yield violation(
                    rule,
                    resource,
                    f"spec.rules[{i}].host is {show(host)}; every routed host must be listed in "
                    f"spec.tls hosts {sorted(map(str, covered))}",
                )
        if get(ins, "spec.defaultBackend") is not None and not as_list(get(ins, "spec.rules")):
            yield violation(rule, resource, "spec.defaultBackend without rules serves any host")


def _ports_ok(ports: Any, allowed: Iterable[Any]) -> bool:
    allowed = set(allowed)
    entries = as_list(ports)
    return bool(entries) and all(
        get(p, "port") in allowed
        and get(p, "protocol") in (None, "TCP", "UDP")
        and get(p, "endPort") is None
        for p in entries
    )


def _cidr_within(cidr: Any, allowed: Iterable[str]) -> str | None:
    """The allowed range containing `cidr`, or None."""
    try:
        net = ipaddress.ip_network(str(cidr), strict=False)
    except ValueError:
        return None
    for a in allowed:
        outer = ipaddress.ip_network(a)
        if net.version == outer.version and net.subnet_of(outer):  # type: ignore[arg-type]
            return a
    return None


def _egress_problem(rule: Mapping[str, Any], ranges: NetworkRanges) -> str | None:
    peers = as_list(get(rule, "to"))
    egress = ranges.egress
    if not peers:
        return "has no 'to': it allows every destination"
    for peer in peers:
        block = get(peer, "ipBlock")
        if block is not None:
            outer = _cidr_within(get(block, "cidr"), egress)
            if outer is None:
                return (
                    f"allows {show(get(block, 'cidr'))}, outside {sorted(egress)} "
                    f"(from {ranges.source})"
                )
            if not _ports_ok(get(rule, "ports"), egress[outer]):
                return f"allows {outer} on ports {show(get(rule, 'ports'))}; only {list(egress[outer])}"
        elif dict(peer) == DNS_PEER:
            if not _ports_ok(get(rule, "ports"), (53,)):
                return f"allows kube-dns on ports {show(get(rule, 'ports'))}; only 53"
        else:
            return (
                f"allows peer {show(peer)}; only kube-dns, Google API VIPs and the metadata server"
            )
    return None


def _ingress_problem(rule: Mapping[str, Any], ranges: NetworkRanges) -> str | None:
    peers = as_list(get(rule, "from"))
    if not peers:
        return "has no 'from': it admits every source"
    for peer in peers:
        cidr = get(peer, "ipBlock.cidr")
        if cidr is None or _cidr_within(cidr, ranges.ingress) is None:
            return (
                f"admits {show(peer)}; only the load balancer ranges {list(ranges.ingress)} "
                f"(from {ranges.source})"
            )
    if not _ports_ok(get(rule, "ports"), (PORT, PORT_NAME)):
        return f"admits ports {show(get(rule, 'ports'))}; only the harness port {PORT}"
    return None


@closed("network-policy-exact")
def check_network_policy_exact(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Tenant NetworkPolicies open only the design's peers, and each tenant namespace has a
    default deny for both directions."""
    rule = "network-policy-exact"
    policies = [r for r in resources if r.get("type") == NETWORK_POLICY]
    ranges = network_ranges(resources)
    for resource in policies:
        spec = get(inputs_of(resource), "spec")
        if is_unknown(spec):
            continue
        for direction, problem in (("egress", _egress_problem), ("ingress", _ingress_problem)):
            for i, entry in enumerate(as_list(get(spec, direction))):
                found = problem(entry if isinstance(entry, Mapping) else {}, ranges)
                if found:
                    yield violation(rule, resource, f"spec.{direction}[{i}] {found}")
    denied = {
        get(inputs_of(r), "metadata.namespace")
        for r in policies
        if get(inputs_of(r), "spec.podSelector") == {}
        and set(as_list(get(inputs_of(r), "spec.policyTypes"))) == {"Ingress", "Egress"}
        and not get(inputs_of(r), "spec.ingress")
        and not get(inputs_of(r), "spec.egress")
    }
    for ns in resources:
        name = get(inputs_of(ns), "metadata.name")
        if ns.get("type") == NAMESPACE and name not in SYSTEM_NAMESPACES and name not in denied:
            yield violation(
                rule,
                ns,
                f"namespace {show(name)} has no default-deny NetworkPolicy (podSelector {{}}, "
                "policyTypes [Ingress, Egress], no rules); every other policy only adds to it",
            )
