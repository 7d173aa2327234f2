"""Deploy-ready checks, GCP side (issue 10): what a first `pulumi up` on a fresh organization
needs from the plan, each a one-line fix that a live cloud would otherwise report late.

- `services-before-use`: a resource that calls a Google API waits for that API's enablement.
- `webhook-reachable`: private nodes still let the control plane reach Gatekeeper's webhook.
- `google-apis-resolvable`: Google API names resolve, on the cluster's network, to the VIP the
  harness's NetworkPolicy lets it reach.
- `exfiltration-perimeter`: a VPC Service Controls perimeter, when the plan has one, fences
  storage and KMS around the model and the cluster.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from policy.facts import (
    GATEKEEPER_WEBHOOK_PORT,
    GOOGLE_API_ZONES,
    PERIMETER_RESTRICTED_SERVICES,
    PRIVATE_GOOGLE_APIS_CIDR,
    RESTRICTED_GOOGLE_APIS_CIDR,
)

from .engine import Violation, violation
from .gcp_iam import is_iam_type
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, show, type_of
from .tokens import (
    CLUSTER,
    FIREWALL,
    MANAGED_ZONE,
    NETWORK_POLICY,
    NODE_POOL,
    PROJECT,
    RECORD_SET,
    SERVICE,
    SERVICE_PERIMETER,
)

# --------------------------------------------------------------------------- services-before-use
_KMS = ("cloudkms.googleapis.com",)
_STORAGE = ("storage.googleapis.com",)
_BINAUTHZ = ("binaryauthorization.googleapis.com",)
_REGISTRY = ("artifactregistry.googleapis.com",)
_COMPUTE = ("compute.googleapis.com",)
_IAM = ("iam.googleapis.com",)
_DNS = ("dns.googleapis.com",)

API_BY_TYPE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # The API each resource type calls *in its own project* (the serviceusage name, from each
        # pulumi-gcp 10.2.0 resource's "API documentation" link / REST surface). Left out on
        # purpose: types whose API is billed to the caller's (deployer's) project rather than
        # the resource's -- organizations Project/Folder, orgpolicy, IAM deny policies, project
        # IAM (cloudresourcemanager), accesscontextmanager -- which the README checklist covers;
        # and compute SSLPolicy, which the workload stack creates in the cluster project whose
        # compute API the cluster stack enables.
        "gcp:kms/keyRing:KeyRing": _KMS,
        "gcp:kms/cryptoKey:CryptoKey": _KMS,
        "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": _KMS,
        "gcp:kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding": _KMS,
        "gcp:kms/keyRingIAMMember:KeyRingIAMMember": _KMS,
        "gcp:storage/bucket:Bucket": _STORAGE,
        "gcp:storage/bucketObject:BucketObject": _STORAGE,
        "gcp:storage/bucketIAMMember:BucketIAMMember": _STORAGE,
        "gcp:storage/bucketIAMBinding:BucketIAMBinding": _STORAGE,
        "gcp:binaryauthorization/attestor:Attestor": _BINAUTHZ,
        "gcp:binaryauthorization/attestorIamMember:AttestorIamMember": _BINAUTHZ,
        "gcp:binaryauthorization/policy:Policy": _BINAUTHZ,
        "gcp:containeranalysis/note:Note": ("containeranalysis.googleapis.com",),
        "gcp:artifactregistry/repository:Repository": _REGISTRY,
        "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": _REGISTRY,
        # GKE creates the nodes as Compute Engine VMs on the project's network.
        CLUSTER: ("container.googleapis.com", *_COMPUTE),
        NODE_POOL: ("container.googleapis.com",),
        "gcp:compute/network:Network": _COMPUTE,
        "gcp:compute/subnetwork:Subnetwork": _COMPUTE,
        FIREWALL: _COMPUTE,
        "gcp:serviceaccount/account:Account": _IAM,
        "gcp:serviceaccount/iAMMember:IAMMember": _IAM,
        MANAGED_ZONE: _DNS,
        RECORD_SET: _DNS,
    }
)
API_USING_TYPES: tuple[str, ...] = tuple(API_BY_TYPE)

_PROJECT_IN_ID = re.compile(r"^projects/([^/]+)/")


def _dependencies(resource: Resource) -> list[str]:
    return [d for d in as_list(resource.get("dependencies")) if isinstance(d, str)]


def _closure(
    urn: str, by_urn: Mapping[str, Resource], memo: dict[str, frozenset[str]]
) -> frozenset[str]:
    """Every URN `urn` waits for, directly or through what it waits for (Pulumi's ordering is
    transitive: a resource waits for its dependencies, which waited for theirs)."""
    if urn in memo:
        return memo[urn]
    memo[urn] = frozenset()  # cycle guard; plans are acyclic
    found: set[str] = set()
    resource = by_urn.get(urn)
    for dep in _dependencies(resource) if resource is not None else []:
        found.add(dep)
        found |= _closure(dep, by_urn, memo)
    memo[urn] = frozenset(found)
    return memo[urn]


def _known(value: Any) -> str | None:
    return value if isinstance(value, str) and value and not is_unknown(value) else None


def project_of(
    resource: Resource, by_urn: Mapping[str, Resource], api: str, depth: int = 0
) -> str | None:
    """The project whose API the resource calls: its `project` input; else a
    `projects/<p>/...` id among its inputs (a key ring, a key, an attestor); else the project of
    a resource it depends on that uses the same API (a bucket object's bucket)."""
    inputs = inputs_of(resource)
    project = _known(inputs.get("project"))
    if project:
        return project
    for value in inputs.values():
        match = _PROJECT_IN_ID.match(value) if isinstance(value, str) else None
        if match:
            return match.group(1)
    if depth > 8:
        return None
    for dep in _dependencies(resource):
        other = by_urn.get(dep)
        if other is not None and api in API_BY_TYPE.get(type_of(other), ()):
            found = project_of(other, by_urn, api, depth + 1)
            if found:
                return found
    return None


def check_services_before_use(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A fresh project has most APIs off; a resource created before its API is enabled fails
    ("API has not been used in project ... or it is disabled") and only a retry passes. Every
    resource that calls an API must wait (transitively) for the `gcp:projects/service:Service`
    enabling it in the same project. An IAM grant in a project where this plan enables nothing
    is a grant on another party's resource; that party's stack enables the API there."""
    rule = "services-before-use"
    by_urn = {r["urn"]: r for r in resources if isinstance(r.get("urn"), str)}
    enabling: dict[tuple[str, str], list[Resource]] = {}
    for service in of_type(resources, SERVICE):
        ins = inputs_of(service)
        if _known(ins.get("project")) and _known(ins.get("service")):
            enabling.setdefault((ins["project"], ins["service"]), []).append(service)
    managed = {project for project, _ in enabling}
    memo: dict[str, frozenset[str]] = {}
    for resource in resources:
        for api in API_BY_TYPE.get(type_of(resource), ()):
            project = project_of(resource, by_urn, api)
            if project is None:
                continue
            services = enabling.get((project, api), [])
            if not services:
                if is_iam_type(type_of(resource)) and project not in managed:
                    continue
                yield violation(
                    rule,
                    resource,
                    f'uses {api} in project "{project}", which this plan does not enable there; '
                    "add a gcp:projects/service:Service for it and depend on it (a fresh project "
                    "has it off)",
                )
                continue
            waits = _closure(str(resource.get("urn", "")), by_urn, memo)
            if not any(s.get("urn") in waits for s in services):
                yield violation(
                    rule,
                    resource,
                    f'dependencies do not include gcp:projects/service:Service "{services[0].get("name")}" '
                    f'({api} in project "{project}"); the first `pulumi up` races the API '
                    "enablement",
                )


# --------------------------------------------------------------------------- webhook-reachable
def _network(value: Any) -> str | None:
    return _known(value)


def _cidr(value: Any) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value, strict=False) if isinstance(value, str) else None
    except ValueError:
        return None


def _covers(ranges: Any, target: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    for value in as_list(ranges):
        net = _cidr(value)
        if net is not None and net.version == target.version and target.subnet_of(net):  # type: ignore[arg-type]
            return True
    return False


def _port_allowed(allows: Any, port: int) -> bool:
    """An `allows` entry for tcp (or all protocols) whose ports (none = all) include `port`."""
    for allow in as_list(allows):
        if not isinstance(allow, Mapping) or allow.get("protocol") not in ("tcp", "all", "6"):
            continue
        ports = as_list(allow.get("ports"))
        if not ports:
            return True
        for spec in ports:
            low, _, high = str(spec).partition("-")
            if low.isdigit() and int(low) <= port <= int(high or low):
                return True
    return False


def _node_accounts(cluster: Resource, resources: Sequence[Resource]) -> set[str]:
    """Service accounts the cluster's nodes run as (its nodeConfig and its node pools')."""
    name = inputs_of(cluster).get("name")
    found = [get(inputs_of(cluster), "nodeConfig.serviceAccount")]
    for pool in of_type(resources, NODE_POOL):
        if inputs_of(pool).get("cluster") == name:
            found.append(get(inputs_of(pool), "nodeConfig.serviceAccount"))
    return {a for a in found if isinstance(a, str) and not is_unknown(a)}


def _admits_control_plane(
    firewall: Resource, network: str | None, master: Any, accounts: set[str]
) -> bool:
    ins = inputs_of(firewall)
    fields = ("network", "direction", "disabled", "sourceRanges", "allows", "targetServiceAccounts")
    if any(is_unknown(ins.get(f)) for f in fields):
        return True  # cannot be judged during a preview; judged again on `up`
    own = ins.get("network")
    if network is not None and not is_unknown(own) and own != network:
        return False
    if ins.get("direction", "INGRESS") != "INGRESS" or ins.get("disabled") is True:
        return False
    if not (
        _covers(ins.get("sourceRanges"), master)
        and _port_allowed(ins.get("allows"), GATEKEEPER_WEBHOOK_PORT)
    ):
        return False
    targets = as_list(ins.get("targetServiceAccounts"))
    if targets:
        return accounts <= {t for t in targets if isinstance(t, str)}
    # Target tags name nodes only when the nodes carry them; no targets means every instance.
    return not as_list(ins.get("targetTags"))


def check_webhook_reachable(resources: Sequence[Resource]) -> Iterator[Violation]:
    """GKE's firewall lets the control plane reach private nodes only on 443 and 10250; the API
    server calls Gatekeeper's webhook on the pod's port 8443, so without an INGRESS rule from
    the control-plane range every admission call times out and, with failurePolicy Fail,
    every write after the chart is rejected. Source: Gatekeeper docs, "Running on private GKE
    Cluster nodes" (open-policy-agent.github.io/gatekeeper/website/docs/vendor-specific)."""
    rule = "webhook-reachable"
    firewalls = of_type(resources, FIREWALL)
    for cluster in of_type(resources, CLUSTER):
        ins = inputs_of(cluster)
        if get(ins, "privateClusterConfig.enablePrivateNodes") is not True:
            continue
        value = get(ins, "privateClusterConfig.masterIpv4CidrBlock")
        if is_unknown(value):
            continue
        master = _cidr(value)
        if master is None:
            yield violation(
                rule,
                cluster,
                f"privateClusterConfig.masterIpv4CidrBlock is {show(value)}; private nodes need a "
                "known control-plane range so a firewall rule can admit it to the webhook port",
            )
            continue
        network = _network(ins.get("network"))
        accounts = _node_accounts(cluster, resources)
        if not any(_admits_control_plane(f, network, master, accounts) for f in firewalls):
            yield violation(
                rule,
                cluster,
                f"privateClusterConfig.enablePrivateNodes is true and no INGRESS "
                f"gcp:compute/firewall:Firewall admits the control plane ({master}) to the nodes "
                f"on tcp:{GATEKEEPER_WEBHOOK_PORT}; Gatekeeper's webhook times out and, with "
                "failurePolicy Fail, every write is rejected",
            )


# --------------------------------------------------------------------------- google-apis-resolvable
_VIPS = (RESTRICTED_GOOGLE_APIS_CIDR, PRIVATE_GOOGLE_APIS_CIDR)


def egress_vip_ranges(resources: Sequence[Resource]) -> list[str]:
    """The Google API VIP ranges pods may reach: every NetworkPolicy egress ipBlock inside a VIP
    range; with no NetworkPolicy in the plan (the cluster stack alone), both VIP ranges."""
    policies = of_type(resources, NETWORK_POLICY)
    if not policies:
        return list(_VIPS)
    vips = [ipaddress.ip_network(v) for v in _VIPS]
    found: list[str] = []
    for policy in policies:
        for egress in as_list(get(inputs_of(policy), "spec.egress")):
            for peer in as_list(get(egress, "to")):
                net = _cidr(get(peer, "ipBlock.cidr"))
                if net is not None and any(
                    net.version == v.version and net.subnet_of(v) for v in vips
                ):  # type: ignore[arg-type]
                    found.append(str(net))
    return sorted(set(found))


def _zone_records(zone: Resource, resources: Sequence[Resource]) -> dict[tuple[str, str], Any]:
    ins = inputs_of(zone)
    found: dict[tuple[str, str], Any] = {}
    for record in of_type(resources, RECORD_SET):
        rec = inputs_of(record)
        name, kind = rec.get("name"), rec.get("type")
        if (
            isinstance(name, str)
            and isinstance(kind, str)
            and rec.get("managedZone") == ins.get("name")
            and rec.get("project") in (None, ins.get("project"))
        ):
            found[(name, kind)] = rec.get("rrdatas")
    return found


def _record_problem(
    records: Mapping[tuple[str, str], Any], domain: str, allowed: list[str]
) -> str | None:
    wildcard, target = GOOGLE_API_ZONES[domain]
    cname = records.get((wildcard, "CNAME"))
    if as_list(cname) != [target]:
        return f"record {wildcard} CNAME is {show(cname)}; it must be [{target!r}]"
    addresses = records.get((target, "A"))
    if not as_list(addresses):
        return f"record {target} A is {show(addresses)}; it must list the VIP's addresses"
    for address in as_list(addresses):
        net = _cidr(address)
        if net is None or not _covers(allowed, net):
            return (
                f"record {target} A is {show(addresses)}; every address must be in a Google API "
                f"VIP range the NetworkPolicy egress allows ({', '.join(allowed) or 'none'})"
            )
    return None


def _private_zone_on(zone: Resource, domain: str, network: str | None) -> bool:
    """A private zone for `domain` visible on `network` (values unknown in a preview count)."""
    ins = inputs_of(zone)
    name, visibility = ins.get("dnsName"), ins.get("visibility")
    networks = get(ins, "privateVisibilityConfig.networks")
    if any(is_unknown(v) for v in (name, visibility, networks)):
        return True
    urls = [get(n, "networkUrl") for n in as_list(networks)]
    on_network = network is None or network in urls or any(is_unknown(u) for u in urls)
    return name == domain and visibility == "private" and on_network


def check_google_apis_resolvable(resources: Sequence[Resource]) -> Iterator[Violation]:
    """The harness's NetworkPolicy allows egress only to the private/restricted Google API VIPs;
    nothing sends `storage.googleapis.com` or `cloudkms.googleapis.com` there unless a private
    Cloud DNS zone on the cluster's network does: `*.googleapis.com.` CNAME
    `restricted.googleapis.com.`, which is A 199.36.153.4/30 (and the same for `pkg.dev.`).
    Source: "Set up restricted access for GKE private clusters"
    (cloud.google.com/vpc-service-controls/docs/set-up-gke)."""
    rule = "google-apis-resolvable"
    allowed = egress_vip_ranges(resources)
    zones = of_type(resources, MANAGED_ZONE)
    for cluster in of_type(resources, CLUSTER):
        ins = inputs_of(cluster)
        if get(ins, "privateClusterConfig.enablePrivateNodes") is not True:
            continue
        network = _network(ins.get("network"))
        for domain in GOOGLE_API_ZONES:
            private = [z for z in zones if _private_zone_on(z, domain, network)]
            if not private:
                yield violation(
                    rule,
                    cluster,
                    f"no private gcp:dns/managedZone:ManagedZone for {domain} is visible on network "
                    f"{show(network)}; pods reach Google APIs only through the VIPs their "
                    "NetworkPolicy allows, and nothing resolves the API names there",
                )
                continue
            problems = [
                (z, _record_problem(_zone_records(z, resources), domain, allowed)) for z in private
            ]
            if all(problem for _, problem in problems):
                zone, problem = problems[0]
                yield violation(rule, zone, f"{problem}")


# --------------------------------------------------------------------------- exfiltration-perimeter
_PROJECT_NUMBER = re.compile(r"^projects/[0-9]+$")


def _perimeter_members(rule: str, perimeter: Resource) -> Iterator[Violation]:
    """At least two projects (model and cluster), each as `projects/<number>`."""
    ins = inputs_of(perimeter)
    listed = as_list(get(ins, "status.resources"))
    members = [m for m in listed if isinstance(m, str)]
    bad = [
        m
        for m in listed
        if not (isinstance(m, str) and (_PROJECT_NUMBER.match(m) or is_unknown(m)))
    ]
    if (len(set(members)) < 2 or bad) and not is_unknown(get(ins, "status.resources")):
        yield violation(
            rule,
            perimeter,
            f"status.resources is {show(listed or None)}; it must list the model project and "
            "the cluster project as projects/<project number>",
        )


def check_exfiltration_perimeter(resources: Sequence[Resource]) -> Iterator[Violation]:
    """A VPC Service Controls perimeter stops a leaked credential or a buggy harness from moving
    the sealed model or using the key outside the model and cluster projects -- if it is a
    regular, enforced perimeter that restricts storage and KMS and holds both projects.

    Judged only when the plan has a perimeter (`cluster.perimeter`, on in dev): it needs an
    organization access policy and org-level policy admin, which not every party has on a
    first `up`. Offline, a project *number* cannot be matched to a project id: the cluster
    project counts as inside when the perimeter waits for (takes its number from) that
    project's resource; the model project is checked only as "a second project is listed"."""
    rule = "exfiltration-perimeter"
    cluster_projects = {_known(inputs_of(c).get("project")) for c in of_type(resources, CLUSTER)}
    created = [
        p
        for p in of_type(resources, PROJECT)
        if _known(inputs_of(p).get("projectId")) in cluster_projects - {None}
    ]
    by_urn = {r["urn"]: r for r in resources if isinstance(r.get("urn"), str)}
    memo: dict[str, frozenset[str]] = {}
    for perimeter in of_type(resources, SERVICE_PERIMETER):
        ins = inputs_of(perimeter)
        kind = ins.get("perimeterType")
        if kind not in (None, "PERIMETER_TYPE_REGULAR"):
            yield violation(
                rule,
                perimeter,
                f"perimeterType is {show(kind)}; only a regular perimeter restricts services",
            )
        restricted = as_list(get(ins, "status.restrictedServices"))
        missing = [s for s in PERIMETER_RESTRICTED_SERVICES if s not in restricted]
        if missing and not is_unknown(get(ins, "status.restrictedServices")):
            yield violation(
                rule,
                perimeter,
                f"status.restrictedServices is {show(restricted or None)}; the enforced perimeter "
                f"must restrict {', '.join(PERIMETER_RESTRICTED_SERVICES)} (missing "
                f"{', '.join(missing)})",
            )
        yield from _perimeter_members(rule, perimeter)
        waits = _closure(str(perimeter.get("urn", "")), by_urn, memo)
        for project in created:
            if project.get("urn") not in waits:
                yield violation(
                    rule,
                    perimeter,
                    f"status.resources does not take the number of cluster project "
                    f'"{inputs_of(project).get("projectId")}" (it does not depend on that '
                    "project); the cluster must be inside the perimeter",
                )
