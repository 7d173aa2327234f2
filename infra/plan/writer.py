"""Offline plan: run every Pulumi.<stack>.yaml under mocks, no cloud and no Pulumi CLI.

Writes, per stack:
  build/plan/<stack>.json        the resource graph (urn, type, name, parent, inputs,
                                 dependencies, protect) and outputs
  build/manifests/<stack>/*.yaml  every Kubernetes object as it would be applied
and prints one summary line per stack (`--verbose`: the resource tree too). The count is
every resource in the plan file, as `review` counts them, split into cloud/Kubernetes
resources and the components that group them. Secret values appear as [secret] everywhere.

Stacks run in party order (model, harness, cluster, sandbox, workload, then the rest), so a
StackReference to an earlier stack sees that stack's planned outputs.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from infra.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[A-Za-z0-9_.-]+)\.yaml$")
PARTY_ORDER = ("model", "harness", "cluster", "sandbox", "workload", "space")
OFFLINE_SECRET = "offline-plan-placeholder"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "stacks",
        nargs="*",
        metavar="STACK",
        help="stack names (default: every Pulumi.<stack>.yaml in the project)",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=ROOT,
        help="where Pulumi.yaml lives (default: repo root)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output directory (default: <project-dir>/build)"
    )
    parser.add_argument(
        "--verbose", action="store_true", help="also print each stack's resource tree"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="only the summary lines (the default; kept for scripts)",
    )


def discover(project_dir: Path) -> list[str]:
    """Stack names in party order, then any others alphabetically (dev last among equals)."""
    names = [
        m["stack"]
        for p in sorted(project_dir.glob("Pulumi.*.yaml"))
        if (m := STACK_FILE.match(p.name))
    ]
    ordered = [n for n in PARTY_ORDER if n in names]
    return ordered + sorted(n for n in names if n not in ordered)


def load_stack_config(path: Path) -> tuple[dict[str, str], set[str]]:
    """Read a stack file into the engine's flat config form; `secure:` values become placeholders."""
    if not path.is_file():
        raise UserError(f"{path}: no such stack file")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("config", {}), Mapping):
        raise UserError(f"{path}: expected a mapping with a `config:` mapping")
    config: dict[str, str] = {}
    secret_keys: set[str] = set()
    for key, value in (document.get("config") or {}).items():
        if ":" not in str(key):
            raise UserError(
                f"{path}: config key {key!r} has no namespace; expected e.g. gke-sandbox:{key}"
            )
        cleaned, had_secret = _replace_secure(value)
        if had_secret:
            secret_keys.add(str(key))
        config[str(key)] = cleaned if isinstance(cleaned, str) else json.dumps(cleaned)
    return config, secret_keys


def _replace_secure(value: Any) -> tuple[Any, bool]:
    """`{secure: ciphertext}` cannot be decrypted offline; stand in a placeholder and mark it secret."""
    if isinstance(value, Mapping):
        if set(value) == {"secure"}:
            return OFFLINE_SECRET, True
        items = {k: _replace_secure(v) for k, v in value.items()}
        return {k: v for k, (v, _) in items.items()}, any(s for _, s in items.values())
    if isinstance(value, list):
        pairs = [_replace_secure(v) for v in value]
        return [v for v, _ in pairs], any(s for _, s in pairs)
    return value, False


def plan_stack(
    stack: str,
    config: Mapping[str, str],
    secret_keys: set[str],
    stack_outputs: Mapping[str, Mapping[str, Any]],
):
    """Run one stack's program under mocks; a config or component error becomes a UserError."""
    import pulumi

    from infra.plan.capture import run_program
    from infra.plan.mocks import CloudMocks
    from infra.program import main

    try:
        return run_program(
            main,
            stack=stack,
            config=config,
            secret_keys=secret_keys,
            mocks=CloudMocks(stack_outputs=stack_outputs),
        )
    except pulumi.RunError as exc:
        raise UserError(f"stack {stack} (Pulumi.{stack}.yaml): {exc}") from None
    except ValueError as exc:
        raise UserError(f"stack {stack}: {exc}") from None


def plan_document(stack: str, part: str, captured) -> dict[str, Any]:
    """Registrations arrive in whatever order outputs resolve; sort so plans diff cleanly."""
    resources = sorted(captured.resources, key=lambda r: (r.parent is not None, r.urn))
    return {
        "stack": stack,
        "part": part,
        "resources": [r.as_plan() for r in resources],
        "outputs": dict(sorted(captured.masked_outputs().items())),
    }


def manifest_filename(index: int, manifest: Mapping[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    parts = [
        f"{index:03d}",
        manifest["kind"].lower(),
        meta.get("namespace") or "cluster",
        meta.get("name") or "unnamed",
    ]
    return re.sub(r"[^a-z0-9.-]+", "-", "-".join(str(p).lower() for p in parts)) + ".yaml"


def write_outputs(out_dir: Path, stack: str, document: Mapping[str, Any]) -> tuple[Path, Path, int]:
    plan_path = out_dir / "plan" / f"{stack}.json"
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    plan_path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    manifest_dir = out_dir / "manifests" / stack
    manifest_dir.mkdir(parents=True, exist_ok=True)
    for stale in manifest_dir.glob("*.yaml"):
        stale.unlink()
    from policy.access import kubernetes_objects

    objects = kubernetes_objects(document["resources"])
    for index, manifest in enumerate(objects):
        (manifest_dir / manifest_filename(index, manifest)).write_text(
            yaml.safe_dump(manifest, sort_keys=False)
        )
    return plan_path, manifest_dir, len(objects)


def render_tree(resources: list[Mapping[str, Any]]) -> str:
    """An indented tree of type and name, the way `pulumi preview` shows it."""
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for resource in resources:
        children.setdefault(resource["parent"], []).append(resource)
    lines: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        for resource in children.get(parent, []):
            lines.append(f"{'    ' * depth}+ {resource['type']}  {resource['name']}")
            walk(resource["urn"], depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    project_dir: Path = args.project_dir.resolve()
    if not (project_dir / "Pulumi.yaml").is_file():
        raise UserError(f"{project_dir}: no Pulumi.yaml here; pass --project-dir")
    out_dir: Path = (args.out or project_dir / "build").resolve()
    available = discover(project_dir)
    stacks = args.stacks or available
    unknown = [s for s in stacks if s not in available]
    if unknown:
        raise UserError(
            f"unknown stack(s) {', '.join(unknown)}; expected one of {', '.join(available)}"
        )
    outputs: dict[str, dict[str, Any]] = {}
    selected = set(stacks)
    # Earlier stacks run too (not written), so a StackReference sees what a full run would.
    last = max(available.index(s) for s in stacks)
    for stack in available[: last + 1]:
        started = time.monotonic()
        config, secret_keys = load_stack_config(project_dir / f"Pulumi.{stack}.yaml")
        captured = plan_stack(stack, config, secret_keys, outputs)
        outputs[stack] = captured.outputs
        if stack not in selected:
            continue
        part = config.get("gke-sandbox:part", "all")
        document = plan_document(stack, part, captured)
        plan_path, manifest_dir, count = write_outputs(out_dir, stack, document)
        if args.verbose and not args.quiet:
            print(f"\n== stack {stack} (part {part}) ==")
            print(render_tree(document["resources"]))
        custom = sum(1 for r in captured.resources if r.custom)
        line = summary_line(stack, document, custom, count, (plan_path, manifest_dir), started)
        print(line, flush=True)
    return 0


def summary_line(
    stack: str,
    document: Mapping[str, Any],
    custom: int,
    objects: int,
    written: tuple[Path, Path],
    started: float,
) -> str:
    """`dev: 152 resources (131 cloud/Kubernetes + 21 components), 73 Kubernetes objects -> ...`

    The total is what the plan file holds and `review` counts; `custom` is what a cloud or
    the Kubernetes API would hold (components and the stack itself are Pulumi's grouping).
    """
    total = len(document["resources"])
    plan_path, manifest_dir = written
    return (
        f"{stack}: {total} resources ({custom} cloud/Kubernetes + {total - custom} components), "
        f"{objects} Kubernetes objects -> {_rel(plan_path)}, {_rel(manifest_dir)}/ "
        f"({time.monotonic() - started:.1f}s)"
    )


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
