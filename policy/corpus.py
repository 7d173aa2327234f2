"""Known-bad Kubernetes objects every deployed ConstraintTemplate must still deny.

Two sources, both read relative to this package (so under `review --policy-from <ref>` they are
the trusted ref's, not the change's):
- the templates' own samples: each `suite.yaml` case whose assertions expect a violation, with
  the sample constraint it names (Gatekeeper's `gator verify` format);
- generated missing-field cases: every required security field deleted at every level it can be
  set (pod, container, initContainer, ephemeralContainer), for every pod-creating kind, and the
  pod-level fields the workload templates require of pods running as the workload service
  account. On OPA a `not` over an undefined nested call fails instead of firing (OPA issues
  #1877, #4743), which is how templates came to admit such pods.

Each case names the template kind that must deny it and the sample constraint to evaluate it
with. A generated case also carries its *complete* object (the field present), which the same
template must admit: otherwise a denial would prove nothing about the missing field.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from policy.facts import POD_CREATING_KINDS, POD_SPEC_PATHS

GATEKEEPER_DIR = Path(__file__).resolve().parent / "gatekeeper"
# The approved harness Deployment the pod templates' samples share (every `example_allowed.yaml`
# of a pod template is this object): the base the generated cases change in one place.
BASE_SAMPLE = "sandbox-workload-pod-shape/samples/workload-pod-shape/example_allowed.yaml"
CONTAINER_LISTS = {
    "containers": "app",
    "initContainers": "setup",
    "ephemeralContainers": "debug",
}
# (field, also settable on the pod, the template kind that must deny it when missing)
SECURITY_FIELDS: tuple[tuple[str, bool, str], ...] = (
    ("runAsNonRoot", True, "SandboxRunAsNonRoot"),
    ("seccompProfile", True, "SandboxSeccomp"),
    ("readOnlyRootFilesystem", False, "SandboxReadOnlyRoot"),
    ("allowPrivilegeEscalation", False, "SandboxContainerPrivileges"),
    ("capabilities", False, "SandboxContainerPrivileges"),
)
# Pod-level fields required of pods running as the workload service account.
WORKLOAD_POD_FIELDS: tuple[tuple[str, str], ...] = (
    ("automountServiceAccountToken", "SandboxWorkloadPodShape"),
    ("enableServiceLinks", "SandboxEnvAllowlist"),
)
# A tenant pod that does not run as the workload service account.
TENANT_SERVICE_ACCOUNT = "builder"

Obj = dict[str, Any]
# libyaml's loader when PyYAML has it: the corpus is ~60 files, read once per review.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CorpusError(ValueError):
    """The corpus files cannot be read (names the file and the problem)."""


@dataclass(frozen=True)
class BadCase:
    """One object `kind`'s template must deny, evaluated with `constraint`."""

    kind: str
    source: str
    obj: Mapping[str, Any]
    constraint: Mapping[str, Any]
    # The same object with the field present, which the template must admit (generated cases).
    complete: Mapping[str, Any] | None = None
    # Generated cases: the field removed and the container list it was removed from ("" for a
    # pod-level field).
    field: str = ""
    container_list: str = ""


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
        docs = [d for d in yaml.load_all(text, Loader=_LOADER) if d is not None]
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path.relative_to(GATEKEEPER_DIR.parent)}: {exc}") from None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise CorpusError(
            f"{path.relative_to(GATEKEEPER_DIR.parent)}: expected one YAML mapping, "
            f"found {len(docs)} documents"
        )
    return docs[0]


def _expects_violation(case: Mapping[str, Any]) -> bool:
    """gator's semantics: `violations` defaults to "yes"; "no" and 0 expect none."""
    assertions = case.get("assertions") or [{}]
    return all(a.get("violations", "yes") not in ("no", 0) for a in assertions)


def sample_cases(root: Path = GATEKEEPER_DIR) -> list[BadCase]:
    """The disallowed cases of every template's `suite.yaml`, with their sample constraint."""
    cases: list[BadCase] = []
    for suite_path in sorted(root.glob("*/suite.yaml")):
        suite = _load(suite_path)
        for test in suite.get("tests") or []:
            constraint = _load(suite_path.parent / str(test.get("constraint")))
            for case in test.get("cases") or []:
                if not _expects_violation(case):
                    continue
                obj = _load(suite_path.parent / str(case.get("object")))
                source = f"{suite_path.parent.name}/{case.get('object')}"
                cases.append(BadCase(str(constraint.get("kind")), source, obj, constraint))
    return cases


def sample_constraints(root: Path = GATEKEEPER_DIR) -> dict[str, Obj]:
    """Constraint kind -> the first sample constraint of its template."""
    out: dict[str, Obj] = {}
    for suite_path in sorted(root.glob("*/suite.yaml")):
        for test in _load(suite_path).get("tests") or []:
            constraint = _load(suite_path.parent / str(test.get("constraint")))
            out.setdefault(str(constraint.get("kind")), constraint)
    return out


def wrap(kind: str, pod_spec: Mapping[str, Any], meta: Mapping[str, Any]) -> Obj:
    """`pod_spec` as the pod (template) of an object of `kind` (facts.POD_SPEC_PATHS)."""
    group, path = POD_SPEC_PATHS[kind]
    labels = dict(meta.get("labels") or {})
    spec = copy.deepcopy(dict(pod_spec))
    obj: Obj = {"apiVersion": f"{group}/v1" if group else "v1", "kind": kind}
    obj["metadata"] = copy.deepcopy(dict(meta))
    if path == "spec":
        obj["spec"] = spec
        return obj
    if kind in ("Job", "CronJob"):
        spec["restartPolicy"] = "Never"
    template = {"metadata": {"labels": labels}, "spec": spec}
    if kind == "CronJob":
        obj["spec"] = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
    elif kind == "Job":
        obj["spec"] = {"template": template}
    elif kind == "ReplicationController":
        obj["spec"] = {"selector": labels, "template": template}
    else:
        obj["spec"] = {"selector": {"matchLabels": labels}, "template": template}
        if kind == "StatefulSet":
            obj["spec"]["serviceName"] = str(meta.get("name", ""))
    return obj


def base_object(root: Path = GATEKEEPER_DIR) -> Obj:
    """The approved harness Deployment of the samples (`BASE_SAMPLE`)."""
    return _load(root / BASE_SAMPLE)


def tenant_pod(harness_pod: Mapping[str, Any]) -> Obj:
    """A hardened tenant pod (not the workload service account) with every container list in
    use and every inheritable field set at both levels, so one deletion removes one level."""
    container = copy.deepcopy(harness_pod["containers"][0])
    security = dict(container.get("securityContext") or {})
    security.update(runAsNonRoot=True, seccompProfile={"type": "RuntimeDefault"})
    pod: Obj = {
        "serviceAccountName": TENANT_SERVICE_ACCOUNT,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    for list_name, name in CONTAINER_LISTS.items():
        pod[list_name] = [
            {"name": name, "image": container["image"], "securityContext": copy.deepcopy(security)}
        ]
    return pod


def generated_cases(root: Path = GATEKEEPER_DIR) -> list[BadCase]:
    """Missing-field cases for every pod-creating kind (see the module docstring)."""
    base = base_object(root)
    harness_pod = base["spec"]["template"]["spec"]
    meta = base["metadata"]
    constraints = sample_constraints(root)
    tenant = tenant_pod(harness_pod)
    cases: list[BadCase] = []
    for kind in POD_CREATING_KINDS:
        for field, on_pod, template in SECURITY_FIELDS:
            for list_name, name in CONTAINER_LISTS.items():
                spec = copy.deepcopy(tenant)
                if on_pod:
                    del spec["securityContext"][field]
                del spec[list_name][0]["securityContext"][field]
                where = f"{list_name[:-1]} {name}" + (" and the pod" if on_pod else "")
                cases.append(
                    BadCase(
                        template,
                        f"generated: {kind} without {field} on its {where}",
                        wrap(kind, spec, meta),
                        constraints.get(template, {}),
                        complete=wrap(kind, tenant, meta),
                        field=field,
                        container_list=list_name,
                    )
                )
        for field, template in WORKLOAD_POD_FIELDS:
            spec = copy.deepcopy(harness_pod)
            spec.pop(field, None)
            cases.append(
                BadCase(
                    template,
                    f"generated: {kind} of the workload service account without {field}",
                    wrap(kind, spec, meta),
                    constraints.get(template, {}),
                    complete=wrap(kind, harness_pod, meta),
                    field=field,
                )
            )
    return cases


@lru_cache(maxsize=1)
def known_bad() -> tuple[BadCase, ...]:
    """The whole corpus of this package: samples first, then the generated cases."""
    return (*sample_cases(), *generated_cases())
