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

from policy.facts import REVIEW_EXTRAS_TYPE

from .plan import Resource, as_list, get, inputs_of, of_type


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
