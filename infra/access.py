"""Who can read or decrypt the model, and by which chain (text, Markdown for a PR comment, JSON).

For the KMS key and the sealed object in each plan, every principal that can decrypt/read,
from the IAM grant through service accounts and Workload Identity to the Kubernetes subjects
who may run code as the workload service account, and under which admission rules.
A path that reaches a person, a group or the public around those rules is flagged; the
command then exits 1 (the plan review rule `model-access-paths` fails on the same paths).

Per-party plans see only their own side: pass several with --merge (e.g. the cluster and
sandbox plans) to follow the chain across them.

Plain text on a terminal, Markdown when the output goes to a file or a pipe (a PR comment);
`--format` chooses explicitly. Notes that hold for every plan are printed once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "plans", nargs="+", type=Path, metavar="PLAN", help="build/plan/<stack>.json files"
    )
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default=None,
        help="output format (default: text on a terminal, markdown otherwise)",
    )
    parser.add_argument(
        "--merge", action="store_true", help="analyse all plans as one (per-party stacks together)"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(title: str, report: Any) -> str:
    lines = [f"## Who can read or decrypt the model: {title}", ""]
    if not report.targets:
        lines += ["No KMS key or model object in this plan.", ""]
    for target, capability in report.targets.items():
        paths = report.paths_to(target)
        flagged = sum(p.flagged for p in paths)
        status = "**FLAGGED**" if flagged else "ok"
        lines += [
            f"### {capability} on `{target}`: {len(paths)} path(s), {flagged} flagged ({status})",
            "",
        ]
        if not paths:
            lines += ["Nobody in this plan.", ""]
            continue
        lines += ["| # | who | chain | verdict |", "|---|---|---|---|"]
        for number, path in enumerate(paths, 1):
            chain = "<br>".join(f"{hop.step}: {_cell(hop.detail)}" for hop in path.hops)
            verdict = f"**FLAGGED**: {path.verdict}" if path.flagged else path.verdict
            lines.append(f"| {number} | {_cell(path.principal)} | {chain} | {_cell(verdict)} |")
        lines.append("")
    return "\n".join(lines)


def to_text(title: str, report: Any) -> str:
    """The same content as `to_markdown`, for a person at a terminal: one hop per line."""
    lines = [f"Who can read or decrypt the model: {title}"]
    if not report.targets:
        lines.append("  no KMS key or model object in this plan")
    for target, capability in report.targets.items():
        paths = report.paths_to(target)
        flagged = sum(p.flagged for p in paths)
        status = "FLAGGED" if flagged else "ok"
        lines.append(
            f"  {capability} on {target}: {len(paths)} path(s), {flagged} flagged ({status})"
        )
        if not paths:
            lines.append("    nobody in this plan")
        for number, path in enumerate(paths, 1):
            lines.append(f"    {number}. {path.principal}")
            lines += [f"       {hop.step}: {hop.detail}" for hop in path.hops]
            verdict = f"FLAGGED: {path.verdict}" if path.flagged else path.verdict
            lines.append(f"       verdict: {verdict}")
    return "\n".join(lines) + "\n"


def shared_notes(reports: list[tuple[str, Any]]) -> list[str]:
    """Every report's notes once, in first-seen order (most hold for every plan alike)."""
    seen: dict[str, None] = {}
    for _, report in reports:
        seen.update(dict.fromkeys(report.notes))
    return list(seen)


def to_json(title: str, report: Any) -> dict[str, Any]:
    return {
        "plan": title,
        "flagged": len(report.flagged),
        "targets": [
            {
                "target": target,
                "capability": capability,
                "paths": [
                    {
                        "principal": p.principal,
                        "kind": p.principal_kind,
                        "flagged": p.flagged,
                        "verdict": p.verdict,
                        "chain": [
                            {"step": h.step, "detail": h.detail, "urn": h.urn} for h in p.hops
                        ],
                    }
                    for p in report.paths_to(target)
                ],
            }
            for target, capability in report.targets.items()
        ],
        "notes": report.notes,
    }


def run(args: argparse.Namespace) -> int:
    from infra.review import load_plan, plan_validator
    from policy.access import analyse

    validator = plan_validator()
    plans = [(path, load_plan(path, validator)) for path in args.plans]
    if args.merge:
        title = " + ".join(f"{doc.get('stack', path.stem)}" for path, doc in plans)
        groups = [(title, [r for _, doc in plans for r in doc["resources"]])]
    else:
        groups = [
            (f"{doc.get('stack', path.stem)} ({path})", doc["resources"]) for path, doc in plans
        ]
    reports = [(title, analyse(resources)) for title, resources in groups]
    chosen = args.format or ("text" if sys.stdout.isatty() else "markdown")
    notes = shared_notes(reports)
    if chosen == "json":
        print(json.dumps([to_json(title, report) for title, report in reports], indent=2))
    elif chosen == "text":
        print("\n".join(to_text(title, report) for title, report in reports))
        if notes:
            print("Notes:\n" + "\n".join(f"  - {note}" for note in notes))
    else:
        print("\n".join(to_markdown(title, report) for title, report in reports))
        if notes:
            print("Notes:\n\n" + "\n".join(f"- {note}" for note in notes) + "\n")
    return 1 if any(report.flagged for _, report in reports) else 0
