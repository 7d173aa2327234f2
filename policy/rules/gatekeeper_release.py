"""`gatekeeper-release-supported`: the Gatekeeper chart is a release Gatekeeper still supports,
so it is assumed compatible with the Kubernetes versions a REGULAR-channel cluster runs
(policy/facts.py GATEKEEPER_SUPPORTED_MINORS says where the window comes from)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from policy.facts import GATEKEEPER_SUPPORTED_MINORS

from .engine import Violation, violation
from .plan import Resource, get, inputs_of, is_unknown, of_type, show
from .tokens import HELM_TYPES

RULE = "gatekeeper-release-supported"


def _minor(version: object) -> str | None:
    if not isinstance(version, str):
        return None
    parts = version.removeprefix("v").split(".")
    return ".".join(parts[:2]) if len(parts) == 3 and all(p.isdigit() for p in parts) else None


def check_gatekeeper_release_supported(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Every Gatekeeper chart's version is in a supported minor (n or n-1)."""
    for chart in of_type(resources, *HELM_TYPES):
        if get(inputs_of(chart), "chart") != "gatekeeper":
            continue
        version = get(inputs_of(chart), "version")
        if is_unknown(version):
            continue
        if _minor(version) not in GATEKEEPER_SUPPORTED_MINORS:
            yield violation(
                RULE,
                chart,
                f"version is {show(version)}; Gatekeeper supports only its current and previous "
                f"minor releases ({', '.join(GATEKEEPER_SUPPORTED_MINORS)}), and only those are "
                "assumed to work with the Kubernetes versions GKE's REGULAR channel runs",
            )
