"""infra/plan.schema.json is a verbatim copy of the shared contract, so a fresh clone without
the shared directory can still validate plans."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[2]
COPY = REPO / "infra" / "plan.schema.json"
SHARED_CANDIDATES = (
    Path("/work/shared/plan.schema.json"),
    REPO.parent / "shared" / "plan.schema.json",
)


def test_copy_matches_the_shared_schema() -> None:
    shared = next((p for p in SHARED_CANDIDATES if p.is_file()), None)
    if shared is None:
        pytest.skip("the shared plan.schema.json is not present in this checkout")
    assert COPY.read_bytes() == shared.read_bytes(), f"{COPY} drifted from {shared}"


def test_copy_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(COPY.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["stack", "part", "resources", "outputs"]
