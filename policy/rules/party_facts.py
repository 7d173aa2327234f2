"""Config facts a per-party plan records so it can be judged alone (infra/program.py records
them in the `gke-sandbox:review:AllowedExtras` resource only where the stack does not build
the resource that would show them):
- `workloadKsas` (cluster stack): the KSA the workload service account is bound to, which the
  sandbox stack creates;
- `approvedDigests` (sandbox stack): per namespace, the harness digests the config approves,
  which the workload stack deploys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.contract import ENV_MODEL_SHA256
from policy.facts import POD_SPEC_PATHS, REVIEW_EXTRAS_TYPE

from .plan import Resource, as_list, get, inputs_of, of_type, type_of
from .tokens import BUCKET_OBJECT, K8S_WORKLOAD_TYPES


def recorded_ksas(resources: Sequence[Resource]) -> list[tuple[str, str, str]]:
    """(gsa email, namespace, name) of each recorded workload KSA."""
    out = []
    for record in of_type(resources, REVIEW_EXTRAS_TYPE):
        for item in as_list(inputs_of(record).get("workloadKsas")):
            values = [get(item, k) for k in ("serviceAccount", "namespace", "name")]
            if all(isinstance(v, str) and v for v in values):
                out.append((values[0].lower(), values[1], values[2]))
    return out


def recorded_digests(resources: Sequence[Resource]) -> dict[str, set[str]]:
    """Namespace -> the digests the stack's config approves there."""
    out: dict[str, set[str]] = {}
    for record in of_type(resources, REVIEW_EXTRAS_TYPE):
        digests = inputs_of(record).get("approvedDigests")
        if isinstance(digests, Mapping):
            for ns, values in digests.items():
                out.setdefault(str(ns), set()).update(str(v) for v in as_list(values))
    return out


def party_notes(resources: Sequence[Resource]) -> list[str]:
    """One report line per config fact a per-party plan was judged against, and per check the
    plan cannot make alone, so the report says what judging this stack alone rests on."""
    lines = [
        f"workload KSA {ns}/{name} for {gsa} (this stack's config; the sandbox stack creates it)"
        for gsa, ns, name in recorded_ksas(resources)
    ]
    lines += [
        f"approved digests for {ns}: {', '.join(sorted(digests))} (this stack's config; the "
        "workload stack deploys them)"
        for ns, digests in sorted(recorded_digests(resources).items())
    ]
    if _harness_told_digest(resources) and not of_type(resources, BUCKET_OBJECT):
        lines.append(
            f"{ENV_MODEL_SHA256} as handed over in this stack's config: no sealed object in this "
            "plan to compare it with (harness-knows-model-digest judges its form only)"
        )
    return lines


def _harness_told_digest(resources: Sequence[Resource]) -> bool:
    for resource in resources:
        kind = K8S_WORKLOAD_TYPES.get(type_of(resource))
        spec = get(inputs_of(resource), POD_SPEC_PATHS[kind][1]) if kind else None
        for container in as_list(get(spec, "containers")):
            if any(get(e, "name") == ENV_MODEL_SHA256 for e in as_list(get(container, "env"))):
                return True
    return False
