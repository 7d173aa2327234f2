"""The Gatekeeper allowlists for the workload KSA are the harness image's own interface, no wider
(found by the mutation test, `make mutate`).

The env allowlist and the mount paths are what `harness.contract` says the image reads and where
it expects volumes; a wider list lets Bob set a variable the image never documented or mount a
volume over its code. The judge reads `harness.contract` of the policy it runs with, so under
`review --policy-from <ref>` a change that widens the contract and the constraints together
still fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from harness.contract import DEPLOYED_ENV, MOUNT_PATHS

from .engine import Violation, violation
from .plan import Resource, as_list, get, inputs_of, is_unknown, show

CONSTRAINT_API = "constraints.gatekeeper.sh/"
# The volume kinds the harness needs: `secret` (its TLS pair, its bearer token) and `emptyDir`
# (scratch on a read-only root). The judge's copy of the design (policy/gatekeeper/README.md,
# "Mount paths" and "No Kubernetes token in the harness").
HARNESS_VOLUME_KINDS: frozenset[str] = frozenset({"emptyDir", "secret"})

# constraint kind -> (parameter, what it may hold, what that is)
_ALLOWLISTS: dict[str, tuple[tuple[str, frozenset[str], str], ...]] = {
    "SandboxEnvAllowlist": (
        ("allowedEnv", frozenset(DEPLOYED_ENV), "the variables the harness image reads"),
    ),
    "SandboxWorkloadVolumes": (
        ("allowedMountPaths", frozenset(MOUNT_PATHS), "the harness image's mount paths"),
        ("allowedVolumeKinds", HARNESS_VOLUME_KINDS, "the volume kinds the harness needs"),
    ),
}


def check_workload_allowlists(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Every env, mount-path and volume-kind allowlist of a workload constraint is within the
    harness image's interface."""
    for constraint in resources:
        ins = inputs_of(constraint)
        if not str(constraint.get("type", "")).startswith("kubernetes:"):
            continue
        if not str(ins.get("apiVersion") or "").startswith(CONSTRAINT_API):
            continue
        params = get(ins, "spec.parameters") or {}
        for key, allowed, what in _ALLOWLISTS.get(str(ins.get("kind")), ()):
            value = get(params, key)
            if is_unknown(value):
                continue
            extra = sorted(str(v) for v in as_list(value) if str(v) not in allowed)
            if extra:
                yield violation(
                    "workload-allowlists-exact",
                    constraint,
                    f"spec.parameters.{key} admits {show(extra)} beyond {what} "
                    f"({', '.join(sorted(allowed))})",
                )
