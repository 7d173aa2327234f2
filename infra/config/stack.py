"""`parse()`: a stack's engine-form config into one frozen StackConfig, or a ConfigError that
names the key. Pure (a dict in, dataclasses out), so tests need no Pulumi engine."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.config.blocks import (
    parse_cluster,
    parse_harness,
    parse_model,
    parse_sandbox,
    parse_space,
    parse_tenants,
    parse_workload,
)
from infra.config.checks import check_cross_block, fill_from_blocks
from infra.config.reader import Block
from infra.config.review import parse_review
from infra.config.schema import (
    BLOCKS,
    KNOWN_BLOCKS,
    NAMESPACE,
    OPTIONAL_BLOCKS,
    SECRET_KEYS,
    Part,
    StackConfig,
)
from infra.errors import ConfigError


def parse(raw: Mapping[str, Any]) -> StackConfig:
    """Validate engine-form config (keys without the `gke-sandbox:` prefix) into a StackConfig."""
    part = _part(raw.get("part"))
    needed = BLOCKS[part]
    _check_block_names(raw, part, needed)

    def block(name: str) -> Block | None:
        return Block(f"{NAMESPACE}:{name}", raw[name]) if name in needed else None

    model = parse_model(b) if (b := block("model")) else None
    harness = parse_harness(b) if (b := block("harness")) else None
    cluster = parse_cluster(b) if (b := block("cluster")) else None
    tenants = parse_tenants(raw["tenants"]) if "tenants" in needed else ()
    sandbox = parse_sandbox(b) if (b := block("sandbox")) else None
    workload = parse_workload(b) if (b := block("workload")) else None
    space = parse_space(b) if (b := block("space")) else None
    extras = parse_review(raw["review"]) if raw.get("review") is not None else ()
    config = fill_from_blocks(
        StackConfig(part, model, harness, cluster, tenants, sandbox, workload, extras, space)
    )
    check_cross_block(config)
    return config


def _part(value: Any) -> Part:
    try:
        return Part(value)
    except ValueError:
        raise ConfigError(
            f"{NAMESPACE}:part",
            "is not a known part",
            value=value,
            expected=f"one of {', '.join(p.value for p in Part)}",
        ) from None


def _check_block_names(raw: Mapping[str, Any], part: Part, needed: frozenset[str]) -> None:
    """A party's stack file carries exactly the blocks its part acts on: no more, no fewer."""
    for name in sorted(set(raw) - {"part", *SECRET_KEYS, *OPTIONAL_BLOCKS}):
        if name not in KNOWN_BLOCKS:
            raise ConfigError(
                f"{NAMESPACE}:{name}",
                "is not a known key",
                expected=f"one of part, {', '.join(sorted(KNOWN_BLOCKS))}",
            )
        if name not in needed:
            raise ConfigError(
                f"{NAMESPACE}:{name}",
                f"is not used by part {part.value}",
                expected=f"only {', '.join(sorted(needed))}",
            )
    for name in sorted(needed):
        if raw.get(name) is None:
            raise ConfigError(
                f"{NAMESPACE}:{name}",
                f"is required for part {part.value}",
                expected="a mapping" if name != "tenants" else "a list",
            )
