"""infra/plan/plan.schema.json is a verbatim copy of the shared contract (`../shared` next to
the repository root), so a fresh clone without the shared directory can still validate plans.
A missing or drifted shared copy fails: the contract must not change unnoticed."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

REPO = Path(__file__).resolve().parents[2]
COPY = REPO / "infra" / "plan" / "plan.schema.json"
SHARED = REPO.parent / "shared" / "plan.schema.json"


def test_copy_matches_the_shared_schema() -> None:
    assert SHARED.is_file(), f"{SHARED} is missing: the shared plan contract must sit in ../shared"
    assert COPY.read_bytes() == SHARED.read_bytes(), f"{COPY} drifted from {SHARED}"


def test_copy_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(COPY.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["stack", "part", "resources", "outputs"]
    resource = schema["properties"]["resources"]["items"]
    assert resource["required"] == ["urn", "type", "name", "parent", "inputs"]
    assert resource["properties"]["protect"]["type"] == "boolean"
    assert resource["properties"]["dependencies"]["items"]["pattern"] == "^urn:pulumi:"
