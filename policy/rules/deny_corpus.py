"""`constraints-deny-corpus`: every ConstraintTemplate the plan deploys still denies the
known-bad objects of `policy.corpus`, on OPA.

`constraints-complete` checks that deployed templates equal the repository's rendered
`template.yaml`, but a change may weaken `src.rego` and regenerate that file. This rule judges
the Rego itself: each template of the plan is evaluated (as `policy.admission` does, on OPA)
against its kind's known-bad samples and generated missing-field cases, with the sample
constraint, and fails naming the template and the object it admits. Templates whose kind has no
corpus (a template this policy does not know) are left to `constraints-complete`.

Cost: results are remembered per set of deployed templates, and OPA compilations per Rego
source (`policy.admission`), so a review, a CrossGuard run or a test re-judging the same
templates pays once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policy import admission, corpus
from policy.access import kubernetes_objects

from .engine import Violation, violation
from .plan import Resource, get

TEMPLATE_API = "templates.gatekeeper.sh/"
_RESULTS: dict[str, tuple[tuple[str, str], ...]] = {}


def _plan_templates(resources: Sequence[Resource]) -> list[tuple[Mapping[str, Any], Resource]]:
    return [
        (obj, resource)
        for resource in resources
        for obj in kubernetes_objects([resource])
        if obj.get("kind") == "ConstraintTemplate"
        and str(obj.get("apiVersion", "")).startswith(TEMPLATE_API)
    ]


def _kind(template: Mapping[str, Any]) -> str:
    return str(get(template, "spec.crd.spec.names.kind") or "")


def _describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '')}".replace(
        " /", " "
    )


def _denials(template: Mapping[str, Any], constraint: Mapping[str, Any], obj: Any) -> list[str]:
    return [d.message for d in admission.evaluate(obj, [template], [constraint])]


def judge(template: Mapping[str, Any], cases: Sequence[corpus.BadCase]) -> list[str]:
    """What is wrong with one template against its cases: admitted bad objects, complete
    objects it denies, or why it cannot be evaluated."""
    problems: list[str] = []
    complete_seen: dict[str, list[str]] = {}
    for case in cases:
        try:
            if case.complete is not None:
                key = json.dumps(case.complete, sort_keys=True)
                if key not in complete_seen:
                    complete_seen[key] = _denials(template, case.constraint, case.complete)
                    if complete_seen[key]:
                        problems.append(
                            f"denies the complete {_describe(case.complete)} the corpus changes "
                            f"({complete_seen[key][0]}), so its missing-field cases prove nothing"
                        )
                if complete_seen[key]:
                    continue
            if not _denials(template, case.constraint, case.obj):
                problems.append(
                    f"admits the known-bad {_describe(case.obj)} ({case.source}); its Rego "
                    "must deny it"
                )
        except admission.AdmissionError as exc:
            problems.append(f"cannot be evaluated on the known-bad {case.source}: {exc}")
    return problems


def _fingerprint(templates: Sequence[Mapping[str, Any]]) -> str:
    return hashlib.sha256(
        json.dumps(list(templates), sort_keys=True, default=str).encode()
    ).hexdigest()


def check_deny_corpus(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Each deployed template denies every known-bad object of its kind."""
    rule = "constraints-deny-corpus"
    pairs = _plan_templates(resources)
    if not pairs:
        return
    key = _fingerprint([obj for obj, _ in pairs])
    if key not in _RESULTS:
        try:
            cases = corpus.known_bad()
        except corpus.CorpusError as exc:
            _RESULTS[key] = (("", f"the known-bad corpus cannot be read: {exc}"),)
        else:
            by_kind: dict[str, list[corpus.BadCase]] = {}
            for case in cases:
                by_kind.setdefault(case.kind, []).append(case)
            _RESULTS[key] = tuple(
                (str(get(obj, "metadata.name") or ""), problem)
                for obj, _ in pairs
                for problem in judge(obj, by_kind.get(_kind(obj), ()))
            )
        if len(_RESULTS) > 64:
            _RESULTS.pop(next(iter(_RESULTS)))
    by_name = {str(get(obj, "metadata.name") or ""): resource for obj, resource in pairs}
    for name, problem in _RESULTS[key]:
        resource = by_name.get(name, pairs[0][1])
        yield violation(rule, resource, f"ConstraintTemplate {name} {problem}")
