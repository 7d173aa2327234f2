"""`python -m infra <command>`: the offline tooling of gke-sandbox.

Each command lives in its own module with `add_arguments(parser)` and `run(args) -> int`;
modules import their heavy dependencies inside `run` so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from infra.errors import UserError

COMMANDS: dict[str, tuple[str, str]] = {
    "plan": (
        "infra.plan.writer",
        "run every Pulumi.<stack>.yaml under mocks; write build/plan and build/manifests",
    ),
    "review": ("infra.review", "check plan files against the named security rules"),
    "access": ("infra.access", "who can read or decrypt the model, and by which chain"),
    "seal": ("infra.model.seal", "Alice: encrypt a model with Tink + KMS and upload it"),
    "demo": ("infra.local.demo", "local end to end: emulators, seal, harness over TLS, client"),
    "serve": ("infra.local.serve", "like demo, but leave the harness running in the foreground"),
    "bench": ("infra.bench.bench", "benchmarks -> build/bench/results.json"),
    "affected": ("infra.plan.affected", "which stacks a change touches (for CI previews)"),
    "schema": ("infra.schema", "write or --check components/schema.json (the component package)"),
    "iam-catalogue": (
        "infra.iam_catalogue",
        "summarise or --refresh policy/iam_catalogue.json (Google's roles and permissions)",
    ),
}


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """All commands are listed; only the selected one's module is imported."""
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        if name != selected:
            sub.add_parser(name, help=help_text)
            continue
        module = importlib.import_module(module_name)
        command = sub.add_parser(
            name,
            help=help_text,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    selected = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(selected if selected in COMMANDS else None).parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
