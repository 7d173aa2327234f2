"""Reading config: a mapping that names every key it reports on and rejects keys nobody read,
plus the value readers (CIDRs, durations, images by digest) several blocks share."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from infra.config.patterns import DURATION, IMAGE_HINT
from infra.errors import ConfigError
from policy.facts import IMAGE_BY_DIGEST, MAX_KEY_ROTATION_SECONDS, MIN_KEY_ROTATION_SECONDS


class Block:
    """A config mapping that knows its key path, so every error names `gke-sandbox:a.b.c`."""

    def __init__(self, path: str, raw: Any) -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(path, "must be a mapping", value=raw, expected="key: value pairs")
        self.path = path
        self.raw = raw
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}"

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def _get(self, name: str, default: Any, required: bool, expected: str) -> Any:
        self._read.add(name)
        value = self.raw.get(name)
        if value is None:
            if required:
                raise ConfigError(self.key(name), "is required", expected=expected)
            return default
        return value

    def str(
        self,
        name: str,
        *,
        pattern: re.Pattern[str] | None = None,
        expected: str = "a string",
        default: str | None = None,
        required: bool = True,
    ) -> Any:
        value = self._get(name, default, required and default is None, expected)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ConfigError(self.key(name), "must be a string", value=value, expected=expected)
        value = str(value)
        if pattern is not None and not pattern.match(value):
            raise ConfigError(self.key(name), "is malformed", value=value, expected=expected)
        return value

    def int(self, name: str, *, default: int, minimum: int, maximum: int) -> int:
        value = self._get(name, default, False, "")
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise ConfigError(
                self.key(name),
                "is out of range",
                value=value,
                expected=f"an integer {minimum}..{maximum}",
            )
        return value

    def bool(self, name: str, *, default: bool) -> bool:
        value = self._get(name, default, False, "true or false")
        if not isinstance(value, bool):
            raise ConfigError(
                self.key(name), "must be a boolean", value=value, expected="true or false"
            )
        return value

    def enum(self, name: str, kind: type[StrEnum], *, default: StrEnum | None = None) -> Any:
        choices = ", ".join(m.value for m in kind)
        value = self._get(name, default, default is None, f"one of {choices}")
        try:
            return kind(value)
        except ValueError:
            raise ConfigError(
                self.key(name), "is not a known value", value=value, expected=f"one of {choices}"
            ) from None

    def list(self, name: str, *, default: Iterable[Any] = (), required: bool = False) -> list[Any]:
        value = self._get(name, None, required, "a list")
        if value is None:
            return list(default)
        if not isinstance(value, list):
            raise ConfigError(self.key(name), "must be a list", value=value, expected="a YAML list")
        return value

    def strings(
        self,
        name: str,
        *,
        pattern: re.Pattern[str] | None = None,
        expected: str = "strings",
        default: Iterable[str] = (),
        required: bool = False,
    ) -> tuple[str, ...]:
        out = []
        for index, item in enumerate(self.list(name, default=default, required=required)):
            if not isinstance(item, str) or (pattern is not None and not pattern.match(item)):
                raise ConfigError(
                    f"{self.key(name)}[{index}]", "is malformed", value=item, expected=expected
                )
            out.append(item)
        return tuple(out)

    def block(self, name: str, *, required: bool = True) -> Block | None:
        value = self._get(name, None, required, "a mapping")
        return None if value is None else Block(self.key(name), value)

    def done(self) -> None:
        """Reject keys nobody read: a typo must not silently fall back to a default."""
        unknown = sorted(set(self.raw) - self._read)
        if unknown:
            raise ConfigError(
                self.key(unknown[0]),
                "is not a known key",
                expected=f"one of {', '.join(sorted(self._read))}",
            )


def cidr(block: Block, name: str, default: str | None = None) -> str:
    value = block.str(name, default=default, expected="an IPv4 CIDR such as 10.0.0.0/24")
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise ConfigError(
            block.key(name),
            "is not a CIDR",
            value=value,
            expected="an IPv4 CIDR such as 10.0.0.0/24",
        ) from None


def cidrs(
    block: Block, name: str, default: Iterable[str], *, family: str = "IPv4"
) -> tuple[str, ...]:
    """A list of CIDRs (`family` names what the key takes, for the error)."""
    out = []
    for index, value in enumerate(block.strings(name, default=default, expected=f"{family} CIDRs")):
        try:
            out.append(str(ipaddress.ip_network(value, strict=True)))
        except ValueError:
            raise ConfigError(
                f"{block.key(name)}[{index}]",
                "is not a CIDR",
                value=value,
                expected=f"an {family} CIDR",
            ) from None
    return tuple(out)


def duration_seconds(block: Block, name: str, default: str) -> str:
    value = block.str(name, default=default, expected="a duration such as 90d or 7776000s")
    match = DURATION.match(value)
    if not match:
        raise ConfigError(
            block.key(name),
            "is malformed",
            value=value,
            expected="a duration such as 90d or 7776000s",
        )
    seconds = int(match["n"]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match["unit"]]
    if not MIN_KEY_ROTATION_SECONDS <= seconds <= MAX_KEY_ROTATION_SECONDS:
        raise ConfigError(
            block.key(name), "is out of range", value=value, expected="between 1d and 90d"
        )
    return f"{seconds}s"


def image(block: Block, name: str, *, required: bool = True) -> str | None:
    value = block.str(name, required=required, expected=IMAGE_HINT)
    return None if value is None else image_value(block, name, value)


def image_value(block: Block, name: str, value: str) -> str:
    if not IMAGE_BY_DIGEST.match(value):
        problem = "is given by tag, not by digest" if "@" not in value else "is malformed"
        raise ConfigError(
            block.key(name),
            problem,
            value=value,
            expected=IMAGE_HINT,
        )
    return value
