"""Who can read or decrypt the model, and by which chain.

Walks a plan (one stack, or several merged, e.g. cluster + sandbox) from the model's KMS key
and sealed object outwards:

    IAM grant on the key/bucket/object (or its ring/project)
      -> member: a person, a group, the public, or a Google service account
      -> whoever can act as that service account: impersonation grants, keys, Workload Identity
      -> Kubernetes service account <ns>/<ksa>
      -> who may get code running as it: RBAC (create workloads, exec/attach, ephemeral
         containers, mint tokens) and GKE IAM roles that bypass RBAC
      -> under which admission rules (the Gatekeeper constraints scoped to that namespace/KSA)

Every chain is a `Path`. A path is *flagged* when it reaches a person, a group or the public
without passing through the sandbox's admission rules: the one acceptable way to use the key
is "pods in the tenant namespace, running as the workload KSA, admitted only with an approved
digest, no command override, allowlisted env/volumes and no sidecars".

Limits (said in every report): only what the plan declares is seen. Grants made elsewhere
(org-level IAM outside the plan, manual `gcloud` grants), `system:masters`, and Kubernetes
authorization other than RBAC and the GKE IAM roles named below are not modelled.

Pure standard library plus `policy.rbac` and the base modules of `policy.rules` (plan readers,
type tokens, engine, GCP IAM model); the rule catalogue imports this package, never the reverse.
Modules: `model` (hops, paths, reports, role sets, Kubernetes objects of a plan), `analysis`
(the walk); this module is the entry (`analyse`) and the review rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..rules.engine import Violation, violation
from .analysis import _Analysis
from .model import (
    GKE_WRITE_ROLES,
    LIMITS,
    OBJECT_READ_ROLES,
    REQUIRED_WORKLOAD_CONSTRAINTS,
    Goal,
    Hop,
    Path,
    Report,
    Resource,
    key_id,
    kubernetes_objects,
)

__all__ = [
    "GKE_WRITE_ROLES",
    "LIMITS",
    "OBJECT_READ_ROLES",
    "REQUIRED_WORKLOAD_CONSTRAINTS",
    "Goal",
    "Hop",
    "Path",
    "Report",
    "analyse",
    "check_model_access_paths",
    "key_id",
    "kubernetes_objects",
]


def analyse(resources: Sequence[Resource]) -> Report:
    """Every path to the model's key and object in these plan resources."""
    return _Analysis(resources).run()


def check_model_access_paths(resources: Sequence[Resource]) -> Iterable[Violation]:
    """Review rule: no path to the key or the object may reach a person, a group or the public
    except through the sandbox's admission rules. Each violation names the resource that opens
    the path (the last link of the chain the plan declares)."""
    by_urn = {r.get("urn"): r for r in resources}
    stack = next(
        (r for r in resources if r.get("parent") is None),
        {"urn": "", "type": "pulumi:pulumi:Stack", "name": "stack"},
    )
    for path in analyse(resources).flagged:
        culprit = next((by_urn[h.urn] for h in reversed(path.hops) if h.urn in by_urn), stack)
        chain = " -> ".join(hop.detail for hop in path.hops)
        yield violation(
            "model-access-paths",
            culprit,
            f"{path.principal} can {path.capability} {path.target}: {path.verdict} ({chain})",
        )
