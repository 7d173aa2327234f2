"""`constraints-deny-corpus`: every ConstraintTemplate the plan deploys still denies the
known-bad objects of `policy.corpus`, on OPA.

`constraints-complete` checks that deployed templates equal the repository's rendered
`template.yaml`, but a change may weaken `src.rego` and regenerate that file. This rule judges
the Rego itself: each template of the plan is evaluated (as `policy.admission` does, on OPA)
against its kind's known-bad samples and generated missing-field cases, with the sample
constraint, and fails naming the template and the object it admits. Templates whose kind has no
corpus (a template this policy does not know) are left to `constraints-complete`.

Cost: one OPA query per template for all its cases; results are remembered per template
content, and OPA compilations per Rego source (`policy.admission`), so a review, a CrossGuard
run or a test re-judging the same templates pays once, and a changed template alone is re-judged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from policy import admission, corpus
from policy.access import kubernetes_objects

from .engine import Violation, violation
from .plan import Resource, get, show

TEMPLATE_API = "templates.gatekeeper.sh/"
_RESULTS: dict[str, tuple[str, ...]] = {}


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


def judge(template: Mapping[str, Any], cases: Sequence[corpus.BadCase]) -> list[str]:
    """What is wrong with one template against its cases: admitted bad objects, complete
    objects it denies, or why it cannot be evaluated. One OPA query per sample constraint."""
    groups: dict[str, list[corpus.BadCase]] = {}
    for case in cases:
        groups.setdefault(json.dumps(case.constraint, sort_keys=True), []).append(case)
    problems: list[str] = []
    for group in groups.values():
        completes = {
            json.dumps(c.complete, sort_keys=True): c.complete
            for c in group
            if c.complete is not None
        }
        objects = [*completes.values(), *(c.obj for c in group)]
        try:
            found = admission.messages_for_each(template, group[0].constraint, objects)
        except admission.AdmissionError as exc:
            problems.append(f"cannot be evaluated on the known-bad objects: {exc}")
            continue
        except (AttributeError, TypeError, KeyError, ValueError, IndexError) as exc:
            # a template the API server would refuse cannot be judged, so it must not pass
            problems.append(
                "is malformed and cannot be evaluated on the known-bad objects "
                f"({type(exc).__name__}: {str(exc)[:120]}); fix its shape"
            )
            continue
        denied_complete = {key: found[i] for i, key in enumerate(completes) if found[i]}
        for key, messages in denied_complete.items():
            problems.append(
                f"denies the complete {_describe(completes[key])} the corpus changes "
                f"({messages[0]}), so its missing-field cases prove nothing"
            )
        for case, messages in zip(group, found[len(completes) :], strict=True):
            if case.complete is not None and json.dumps(case.complete, sort_keys=True) in (
                denied_complete
            ):
                continue
            if not messages:
                problems.append(
                    f"admits the known-bad {_describe(case.obj)} ({case.source}); its Rego "
                    "must deny it"
                )
    return problems


def _fingerprint(template: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True, default=str).encode()).hexdigest()


@lru_cache(maxsize=1)
def _cases_by_kind() -> Mapping[str, tuple[corpus.BadCase, ...]]:
    by_kind: dict[str, list[corpus.BadCase]] = {}
    for case in corpus.known_bad():
        by_kind.setdefault(case.kind, []).append(case)
    return {kind: tuple(cases) for kind, cases in by_kind.items()}


def _problems(template: Mapping[str, Any]) -> tuple[str, ...]:
    """`judge` of one template against its kind's cases, remembered per template content."""
    key = _fingerprint(template)
    if key not in _RESULTS:
        if len(_RESULTS) > 256:
            _RESULTS.pop(next(iter(_RESULTS)))
        try:
            cases = _cases_by_kind().get(_kind(template), ())
        except corpus.CorpusError as exc:
            _RESULTS[key] = (f"cannot be judged: the known-bad corpus cannot be read: {exc}",)
        else:
            _RESULTS[key] = tuple(judge(template, cases))
    return _RESULTS[key]


def check_deny_corpus(resources: Sequence[Resource]) -> Iterator[Violation]:
    """Each deployed template denies every known-bad object of its kind."""
    rule = "constraints-deny-corpus"
    for template, resource in _plan_templates(resources):
        name = get(template, "metadata.name")
        shown = name if isinstance(name, str) else show(name)
        for problem in _problems(template):
            yield violation(rule, resource, f"ConstraintTemplate {shown} {problem}")
