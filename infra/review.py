"""Check offline plans against the named security rules (policy/rules/).

Each PLAN is a build/plan/<stack>.json written by `python -m infra plan`. It is validated
against infra/plan.schema.json, then every rule (or only the --rule ones) is run over its
resources. A rule passes, fails (with the offending resources) or is not applicable (the plan
has no resource of the types it judges, as in the per-party stacks).

exit status: 0 no rule fails, 1 at least one rule fails, 2 unusable input
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
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
    reports = [
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
    if args.format == "json":
        print(json.dumps(render_json(reports), indent=2))
    else:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
        print(render_text(reports, color=color))
    return 1 if any(report.failed for report in reports) else 0


def load_plan(path: Path, validator: Any) -> dict[str, Any]:
    """A parsed plan that matches the schema, or a UserError naming the file and the problem."""
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
    counts = {"pass": 0, "fail": 0, "not-applicable": 0}
    for result in results:
        counts[str(result.status)] += 1
    return counts


def render_text(reports: Sequence[PlanReport], *, color: bool = False) -> str:
    """One block per plan (header, one line per rule, violations under failures) + summary."""

    def paint(status: str, text: str) -> str:
        return f"{_COLORS[status]}{text}{_RESET}" if color else text

    lines: list[str] = []
    width = max((len(r.rule.name) for rep in reports for r in rep.results), default=0)
    for report in reports:
        lines.append(
            f"plan {report.path}: stack {report.stack}, part {report.part}, "
            f"{report.resource_count} resources"
        )
        for result in report.results:
            status = str(result.status)
            lines.append(
                f"  {paint(status, STATUS_LABELS[status].ljust(4))}  "
                f"{result.rule.name.ljust(width)}  {result.rule.severity}"
            )
            for found in result.violations:
                lines.append(f"        {found.urn or '(no resource)'}")
                lines.append(f"          {found.message}")
            if result.violations:
                lines.append(f"        remediation: {result.rule.remediation}")
        if report.allowed:
            lines.append("  allowed by config:")
            lines.extend(f"        {extra}" for extra in report.allowed)
        counts = _counts(report.results)
        lines.append(
            f"  {counts['pass']} passed, {counts['fail']} failed, "
            f"{counts['not-applicable']} not applicable"
        )
        lines.append("")
    total = _counts([r for rep in reports for r in rep.results])
    failing = [
        f"{r.rule.name} ({rep.stack})" for rep in reports for r in rep.results if r.status == "fail"
    ]
    verdict = paint("fail" if failing else "pass", "FAIL" if failing else "PASS")
    detail = f": {', '.join(failing)}" if failing else ""
    lines.append(
        f"summary: {verdict}, {len(reports)} plan(s), {total['pass']} passed, "
        f"{total['fail']} failed, {total['not-applicable']} not applicable{detail}"
    )
    return "\n".join(lines)


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
