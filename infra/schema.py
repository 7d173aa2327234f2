"""Write (or check) the `gke-sandbox` component package schema, components/schema.json.

The schema is what `pulumi package add` turns into typed TypeScript, Go, C#, Java and YAML
resources. It is inferred from the component classes by the analyzer in the pinned Pulumi
SDK, exactly as the package's provider answers `GetSchema`; the file is committed so a
reviewer sees every change to the public interface, and `--check` fails when code and file
differ.

exit status: 0 written or up to date, 1 the committed schema differs from the code
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "components" / "schema.json"


def render() -> str:
    """The schema the code defines, as the committed file holds it (sorted keys, 2 spaces)."""
    from components.package import schema

    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if components/schema.json differs from the code",
    )
    parser.add_argument(
        "--output", type=Path, default=SCHEMA_FILE, help="where to write (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    current = render()
    if args.check:
        committed = args.output.read_text() if args.output.exists() else ""
        if committed != current:
            print(
                f"{args.output} is stale: run `python -m infra schema` and commit it",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output} matches the components")
        return 0
    args.output.write_text(current)
    package = json.loads(current)
    print(f"{args.output}: {len(package['resources'])} components, {len(package['types'])} types")
    return 0
