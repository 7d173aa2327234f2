"""Check offline plans against the named security rules (policy/rules/).

Each PLAN is a build/plan/<stack>.json written by `python -m infra plan`. It is validated
against infra/plan.schema.json, then every rule (or only the --rule ones) is run over its
resources. A rule passes, fails (with the offending resources) or is not applicable (the plan
has no resource of the types it judges, as in the per-party stacks). The text report shows
failures in full and counts the rest (--verbose: one line per rule); --format json has it all.

--policy-from REF judges the plans with the review of a trusted git ref (the pull request's
base in CI): its rules, policy facts and Gatekeeper templates, run from a temporary checkout of
REF, so a change cannot weaken the rules it is judged by. The report then lists every fact,
rule and template the working tree's policy/ changes; those need the model owner's approval.

exit status: 0 no rule fails, 1 at least one rule fails, 2 unusable input
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.errors import UserError
from infra.plan import SCHEMA_PATH

if TYPE_CHECKING:
    from policy.rules import Rule, RuleResult

STATUS_LABELS = {"pass": "PASS", "fail": "FAIL", "not-applicable": "N/A"}
_COLORS = {"pass": "\033[32m", "fail": "\033[1;31m", "not-applicable": "\033[2m"}
_RESET = "\033[0m"
_MAX_SCHEMA_MESSAGE = 200


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "plans", nargs="+", type=Path, metavar="PLAN", help="plan file(s), e.g. build/plan/*.json"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for tools",
    )
    parser.add_argument(
        "--rule",
        action="append",
        dest="rules",
        metavar="NAME",
        default=None,
        help="run only this rule (repeatable); default: every rule",
    )
    parser.add_argument(
        "--policy-from",
        metavar="REF",
        default=None,
        help="judge with the rules, facts and Gatekeeper templates of this git ref (e.g. the "
        "pull request's base), not the working tree's; the report lists what policy/ changed",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="text: one line per rule and plan (default: failures in full, the rest counted)",
    )


@dataclass(frozen=True)
class PlanReport:
    """The rule results of one plan file."""

    path: Path
    stack: str
    part: str
    resource_count: int
    results: list[RuleResult]
    # Grants beyond the design that the stack's config allows (review.extraGrants), shown so a
    # reviewer sees every allowance next to the verdict.
    allowed: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return any(result.status == "fail" for result in self.results)


def plan_validator() -> Any:
    """A validator for the plan contract (infra/plan.schema.json), shared by review and access."""
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def run(args: argparse.Namespace) -> int:
    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    if args.policy_from is not None:
        return _run_trusted(args, color)
    report = render_json(_local_reports(args))
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(render_text(report, color=color, verbose=args.verbose))
    return 0 if report["ok"] else 1


def _local_reports(args: argparse.Namespace) -> list[PlanReport]:
    """The working tree's rules over the plans."""
    from policy import rules as rule_set
    from policy.rules.admission_review import allowed_ranges
    from policy.rules.least_privilege import used_extras
    from policy.rules.party_facts import party_notes

    try:
        selected = rule_set.select_rules(args.rules) if args.rules else rule_set.RULES
    except rule_set.UnknownRuleError as exc:
        raise UserError(f"--rule: {exc}") from None

    validator = plan_validator()
    plans = [(path, load_plan(path, validator)) for path in args.plans]
    return [
        PlanReport(
            path,
            plan["stack"],
            plan["part"],
            len(plan["resources"]),
            rule_set.evaluate(plan["resources"], selected),
            (
                *used_extras(plan["resources"]),
                *allowed_ranges(plan["resources"]),
                *party_notes(plan["resources"]),
            ),
        )
        for path, plan in plans
    ]


def _run_trusted(args: argparse.Namespace, color: bool) -> int:
    """The plans judged by the review of `--policy-from`, plus what policy/ changed since."""
    from infra import policy_diff, trusted

    for path in args.plans:  # the same clear errors as a local review, before any checkout
        if not path.is_file():
            load_plan(path, None)
    judged = trusted.review_with(args.policy_from, args.plans, args.rules)
    changes = judged.changes
    if judged.report is None:
        print(f"note: {judged.note}", file=sys.stderr)
        print((judged.text or "").rstrip("\n"))
        print(f"\n{policy_diff.render_text(changes, judged.ref)}")
        return judged.exit_code
    report = {
        **judged.report,
        "policyFrom": {"ref": judged.ref, "commit": judged.commit},
        "policyChanged": policy_diff.to_json(changes),
    }
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        print(f"policy from {judged.ref} ({judged.commit[:12]}); plans from the working tree\n")
        print(render_text(report, color=color, verbose=args.verbose))
        print(f"\n{policy_diff.render_text(changes, judged.ref)}")
    return 0 if report.get("ok") else 1


def load_plan(path: Path, validator: Any) -> dict[str, Any]:
    """A parsed plan that matches the schema (None: no schema check), or a UserError naming the
    file and the problem."""
    if not path.exists():
        raise UserError(f"{path}: no such plan file; run `python -m infra plan` first")
    if path.is_dir():
        raise UserError(f"{path}: is a directory; expected a plan JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the plan: {exc}") from None
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if validator is None:
        return plan
    errors = sorted(validator.iter_errors(plan), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        first = errors[0]
        message = first.message
        if len(message) > _MAX_SCHEMA_MESSAGE:
            message = message[: _MAX_SCHEMA_MESSAGE - 3] + "..."
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise UserError(
            f"{path}: not a plan file (infra/plan.schema.json): at "
            f"{json_path(first.absolute_path)}: {message}{more}"
        )
    return plan


def json_path(parts: Sequence[Any]) -> str:
    """`$.resources[3].urn` for the path jsonschema reports."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


def _counts(results: Sequence[RuleResult]) -> dict[str, int]:
    return _status_counts(str(result.status) for result in results)


def render_text(report: Mapping[str, Any], *, color: bool = False, verbose: bool = False) -> str:
    """The JSON report (`render_json`, or a trusted ref's) for people: per plan a header with its
    counts, failures in full (violations and remediation), config allowances; with `verbose`
    one line per rule. Then the summary line."""

    def paint(status: str, text: str) -> str:
        return f"{_COLORS.get(status, '')}{text}{_RESET}" if color and status in _COLORS else text

    plans = [p for p in report.get("plans") or [] if isinstance(p, Mapping)]
    lines: list[str] = []
    width = max((len(str(r.get("name"))) for p in plans for r in p.get("rules") or []), default=0)
    for plan in plans:
        rules = [r for r in plan.get("rules") or [] if isinstance(r, Mapping)]
        counts = _status_counts(str(r.get("status")) for r in rules)
        header = (
            f"plan {plan.get('file')}: stack {plan.get('stack')}, part {plan.get('part')}, "
            f"{plan.get('resources')} resources"
        )
        tally = (
            f"{counts['pass']} passed, {counts['fail']} failed, "
            f"{counts['not-applicable']} not applicable"
        )
        lines.append(header if verbose else f"{header}: {tally}")
        for rule in rules:
            status = str(rule.get("status"))
            if not verbose and status != "fail":
                continue
            label = STATUS_LABELS.get(status, status.upper())
            lines.append(
                f"  {paint(status, label.ljust(4))}  "
                f"{str(rule.get('name')).ljust(width)}  {rule.get('severity')}"
            )
            violations = [v for v in rule.get("violations") or [] if isinstance(v, Mapping)]
            for found in violations:
                lines.append(f"        {found.get('urn') or '(no resource)'}")
                lines.append(f"          {found.get('message')}")
            if violations:
                lines.append(f"        remediation: {rule.get('remediation')}")
        allowed = plan.get("allowedExtras") or []
        if allowed:
            lines.append("  allowed by config:")
            lines.extend(f"        {extra}" for extra in allowed)
        if verbose:
            lines.append(f"  {tally}")
            lines.append("")
    if not verbose and plans:
        lines.append("")
    total = _status_counts(
        str(r.get("status")) for p in plans for r in p.get("rules") or [] if isinstance(r, Mapping)
    )
    failing = [
        f"{r.get('name')} ({p.get('stack')})"
        for p in plans
        for r in p.get("rules") or []
        if isinstance(r, Mapping) and r.get("status") == "fail"
    ]
    verdict = paint("fail" if failing else "pass", "FAIL" if failing else "PASS")
    detail = f": {', '.join(failing)}" if failing else ""
    lines.append(
        f"summary: {verdict}, {len(plans)} plan(s), {total['pass']} passed, "
        f"{total['fail']} failed, {total['not-applicable']} not applicable{detail}"
    )
    return "\n".join(lines)


def _status_counts(statuses: Iterable[str]) -> dict[str, int]:
    counts = {"pass": 0, "fail": 0, "not-applicable": 0}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


def _rule_json(result: RuleResult) -> dict[str, Any]:
    rule: Rule = result.rule
    return {
        "name": rule.name,
        "status": str(result.status),
        "severity": str(rule.severity),
        "description": rule.description,
        "remediation": rule.remediation,
        "violations": [{"urn": v.urn, "message": v.message} for v in result.violations],
    }


def render_json(reports: Sequence[PlanReport]) -> dict[str, Any]:
    """plans -> rules -> status, severity, remediation and violations (urn, message)."""
    total = _counts([r for rep in reports for r in rep.results])
    return {
        "ok": not any(report.failed for report in reports),
        "summary": {"plans": len(reports), **total},
        "plans": [
            {
                "file": str(report.path),
                "stack": report.stack,
                "part": report.part,
                "resources": report.resource_count,
                "status": "fail" if report.failed else "pass",
                "rules": [_rule_json(result) for result in report.results],
                "allowedExtras": list(report.allowed),
            }
            for report in reports
        ],
    }
