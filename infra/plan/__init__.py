"""The offline plan: cloud mocks (`mocks`), the capturing run (`capture`), the plan writer
(`writer`, `python -m infra plan`), which stacks a change affects (`affected`), and the plan
contract `plan.schema.json` (a byte-equal copy of the shared schema)."""

from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("plan.schema.json")
