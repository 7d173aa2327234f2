"""Errors a user can fix. The CLI prints them as one line and exits 2, never a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Something the person running the command can correct (input, config, environment)."""


class ConfigError(UserError):
    """A stack config value is missing or malformed; names the key, the value and what is expected."""

    def __init__(self, key: str, problem: str, *, value: object = None, expected: str = "") -> None:
        self.key = key
        self.value = value
        self.expected = expected
        parts = [f"config {key}: {problem}"]
        if value is not None:
            parts.append(f"got {value!r}")
        if expected:
            parts.append(f"expected {expected}")
        super().__init__("; ".join(parts))
