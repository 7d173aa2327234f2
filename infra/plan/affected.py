"""Which stacks a change touches, so CI previews only those (and always in party order).

A stack file touches its stack; a stack module or a component touches every stack whose
part uses it; the program, config, policy pack, requirements and the harness image's contract
(its port, paths, env names and labels, which the components build from) touch every stack;
the rest of the harness image, tests and docs touch none. Reads changed paths from git or from --files.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path

import yaml

from infra.errors import UserError
from infra.plan.writer import ROOT, discover

# Which parts each component module serves.
COMPONENT_PARTS: dict[str, set[str]] = {
    "model_vault": {"model"},
    "image_attestor": {"model"},
    "harness_registry": {"harness"},
    "confidential_folder": {"cluster"},
    "sandbox_project": {"cluster"},
    "binauthz_policy": {"cluster"},
    "confidential_cluster": {"cluster"},
    "workload_identity": {"cluster"},
    "tenant_iam": {"cluster"},
    "service_perimeter": {"cluster"},
    "project_services": {"model", "harness", "space"},
    "image_mirror": {"cluster"},
    "tls_policy": {"cluster", "space"},
    "ingress_address": {"cluster"},
    "tenant_sandbox": {"sandbox"},
    "gatekeeper": {"sandbox"},
    "gatekeeper_policy": {"sandbox"},
    "harness_workload": {"workload"},
    "confidential_space": {"space"},
    # The component package host (issue 15): no stack imports it, so no party part.
    "package": set(),
}
# Parts the all-in-one stack does not run (infra.config Part.SPACE).
NOT_IN_ALL = frozenset({"space"})
EVERYTHING = (
    "infra/",
    "policy/",
    "stacks/links.py",
    "stacks/outputs.py",
    "components/_common.py",
    # The image's interface: components and rules import it (a changed UID or env name changes
    # what every Kubernetes and Confidential Space stack deploys and what the review expects).
    "harness/contract.py",
    "requirements.txt",
    "requirements-opa.txt",
    "Pulumi.yaml",
    "__main__.py",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base", default="origin/main", help="git revision to diff against (default: origin/main)"
    )
    parser.add_argument("--files", nargs="*", help="changed paths instead of asking git")
    parser.add_argument(
        "--format",
        choices=("json", "lines"),
        default="json",
        help="json list (for a CI matrix) or one per line",
    )


def stack_parts(project_dir: Path = ROOT) -> dict[str, str]:
    parts = {}
    for stack in discover(project_dir):
        document = yaml.safe_load((project_dir / f"Pulumi.{stack}.yaml").read_text()) or {}
        parts[stack] = str((document.get("config") or {}).get("gke-sandbox:part", "all"))
    return parts


def affected(paths: Iterable[str], parts: dict[str, str]) -> list[str]:
    """Stacks touched by the changed paths, in party order."""
    touched: set[str] = set()

    def by_part(wanted: set[str]) -> set[str]:
        return {
            stack
            for stack, part in parts.items()
            if part in wanted or (part == "all" and bool(wanted - NOT_IN_ALL))
        }

    for path in paths:
        name = Path(path).name
        if path.startswith(EVERYTHING) or path in EVERYTHING:
            touched |= set(parts)
        elif path.startswith("Pulumi.") and path.endswith(".yaml") and path.count("/") == 0:
            stack = path.removeprefix("Pulumi.").removesuffix(".yaml")
            if stack in parts:
                touched.add(stack)
        elif path.startswith("stacks/") and name.endswith(".py"):
            touched |= by_part({name.removesuffix(".py")})
        elif path.startswith("components/") and name.endswith(".py"):
            touched |= by_part(COMPONENT_PARTS.get(name.removesuffix(".py"), set(parts.values())))
    order = list(parts)
    return sorted(touched, key=order.index)


def changed_files(base: str) -> list[str]:
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["git", "diff", "--name-only", f"{base}...HEAD"],  # noqa: S607 - git from PATH, as CI has it
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise UserError(f"cannot list changes against {base!r}: {detail.strip()}") from None
    return [line for line in result.stdout.splitlines() if line]


def run(args: argparse.Namespace) -> int:
    paths = args.files if args.files is not None else changed_files(args.base)
    stacks = affected(paths, stack_parts())
    print(json.dumps(stacks) if args.format == "json" else "\n".join(stacks))
    return 0
