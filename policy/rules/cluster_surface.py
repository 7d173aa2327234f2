"""The cluster project's attack surface: what the sandbox never opens, judged so that a change
opening it fails the review (found by the mutation test, `make mutate`).

- `gke-no-alpha-features`: Kubernetes alpha features on the sandbox cluster.
- `node-firewall-scoped`: an INGRESS firewall rule on the sandbox network reaching beyond the
  control plane's range or beyond the nodes.
- `project-services-minimal`: an API enabled that no part of the sandbox uses.

The judge's copy of the APIs lives here, not in the component that enables them, so a change
that adds an API to both still fails the review of the unchanged policy (`--policy-from`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence

from .engine import Violation, violation
from .plan import Resource, as_list, get, inputs_of, is_unknown, of_type, show
from .tokens import CLUSTER, FIREWALL, SERVICE

# Every API a part of the sandbox calls (README "Required IAM, per party"): the cluster project's
# (project, network, GKE, Binary Authorization, Artifact Registry, KMS for the workload, DNS for
# the restricted VIP zones, IAM, logging, monitoring), the model and harness projects' own, and
# the Confidential Space project's.
SANDBOX_APIS: frozenset[str] = frozenset(
    {
        "artifactregistry.googleapis.com",
        "binaryauthorization.googleapis.com",
        "cloudkms.googleapis.com",
        "compute.googleapis.com",
        # The Confidential Space path: Google's attestation verifier, the token exchange and
        # the service account credentials the attested workload's token becomes.
        "confidentialcomputing.googleapis.com",
        "container.googleapis.com",
        "containeranalysis.googleapis.com",
        "dns.googleapis.com",
        "iam.googleapis.com",
        "iamcredentials.googleapis.com",
        "logging.googleapis.com",
        "monitoring.googleapis.com",
        "storage.googleapis.com",
        "sts.googleapis.com",
    }
)


def check_no_alpha_features(resources: Sequence[Resource]) -> Iterator[Violation]:
    """pulumi-gcp 10.2.0 `container.Cluster.enable_kubernetes_alpha`: "Whether to enable
    Kubernetes Alpha features for this cluster ... the cluster cannot be upgraded and will be
    automatically deleted after 30 days": unreviewed APIs in the sandbox, and no security
    patches."""
    for cluster in of_type(resources, CLUSTER):
        value = get(inputs_of(cluster), "enableKubernetesAlpha")
        if value is None or value is False or is_unknown(value):
            continue
        yield violation(
            "gke-no-alpha-features",
            cluster,
            f"enableKubernetesAlpha is {show(value)}; alpha features put unreviewed APIs in the "
            "sandbox and stop upgrades, keep it false",
        )


def _networks(value: object) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
    try:
        return [ipaddress.ip_network(str(v), strict=False) for v in as_list(value)]
    except ValueError:
        return None


def _within(
    net: ipaddress.IPv4Network | ipaddress.IPv6Network,
    allowed: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    return any(net.version == a.version and net.subnet_of(a) for a in allowed)  # type: ignore[arg-type]


def check_node_firewall_scoped(resources: Sequence[Resource]) -> Iterator[Violation]:
    """pulumi-gcp 10.2.0 `compute.Firewall`: `source_ranges` "the firewall will apply only to
    traffic that has source IP address in these ranges"; without `target_service_accounts` or
    `target_tags` "the firewall rule applies to all instances on the specified network". The
    only way in the design opens is the control plane's range to the nodes' service account
    (the Gatekeeper webhook port)."""
    rule = "node-firewall-scoped"
    masters = [
        get(inputs_of(c), "privateClusterConfig.masterIpv4CidrBlock")
        for c in of_type(resources, CLUSTER)
    ]
    allowed = _networks([m for m in masters if isinstance(m, str) and not is_unknown(m)]) or []
    for firewall in of_type(resources, FIREWALL):
        ins = inputs_of(firewall)
        if str(ins.get("direction") or "INGRESS") != "INGRESS":
            continue
        sources = ins.get("sourceRanges")
        if is_unknown(sources):
            continue
        nets = _networks(sources)
        if nets is None:
            yield violation(
                rule, firewall, f"sourceRanges is {show(sources)}; not a list of CIDR ranges"
            )
            continue
        wide = [str(n) for n in nets if n.prefixlen == 0 or (allowed and not _within(n, allowed))]
        if wide:
            where = (
                f"the control plane's range {show(sorted(str(a) for a in allowed))}"
                if allowed
                else "a named range, never the whole internet"
            )
            yield violation(
                rule,
                firewall,
                f"sourceRanges admits {show(wide)}; an INGRESS rule to the nodes may admit only "
                f"{where}",
            )
        if not as_list(ins.get("targetServiceAccounts")) and not as_list(ins.get("targetTags")):
            if is_unknown(ins.get("targetServiceAccounts")):
                continue
            yield violation(
                rule,
                firewall,
                "neither targetServiceAccounts nor targetTags is set, so the rule opens every "
                "instance on the network; target the nodes' service account",
            )


def check_project_services_minimal(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Each enabled API is attack surface and a path for data (README "Required IAM, per
    party"); only the APIs some part of the sandbox calls are enabled."""
    for service in of_type(resources, SERVICE):
        name = inputs_of(service).get("service")
        if is_unknown(name) or (isinstance(name, str) and name in SANDBOX_APIS):
            continue
        yield violation(
            "project-services-minimal",
            service,
            f"service is {show(name)}; no part of the sandbox uses it, so it must stay disabled "
            f"(the sandbox's APIs: {', '.join(sorted(SANDBOX_APIS))})",
        )
