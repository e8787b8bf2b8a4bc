"""Typed access to the tables of a site TOML: every wrong key is a `ConfigError` naming the file and the key."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from harness.errors import ConfigError


class _Reader:
    """Typed access to one TOML table, with errors that name the file and the dotted key."""

    def __init__(self, source: str, table: Mapping[str, Any], prefix: str) -> None:
        self.source = source
        self.table = table
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, expected: str, actual: Any = None, hint: str = "") -> ConfigError:
        got = "" if actual is None else f"; got {actual!r}"
        return ConfigError(f"bad site config key {self.key(name)}: expected {expected}{got}",
                           location=f"{self.source}: {self.key(name)}", hint=hint)

    def only(self, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for name in self.table:
            if name not in allowed:
                raise ConfigError(f"unknown site config key {self.key(name)}",
                                  location=f"{self.source}: {self.key(name)}",
                                  hint="allowed here: " + ", ".join(allowed))

    def text(self, name: str, *, required: bool = True, default: str | None = None,
             pattern: re.Pattern[str] | None = None, choices: Iterable[str] | None = None,
             what: str = "a non-empty string") -> str | None:
        if name not in self.table:
            if required:
                raise self.fail(name, what, hint="the key is missing")
            return default
        value = self.table[name]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, what, value)
        if pattern is not None and not pattern.match(value):
            raise self.fail(name, what, value)
        if choices is not None and value not in tuple(choices):
            raise self.fail(name, "one of " + ", ".join(choices), value)
        return value

    def number(self, name: str, default: float | None, *, minimum: float = 0.0, integer: bool = False) -> Any:
        if name not in self.table:
            return default
        value = self.table[name]
        ok_types = (int,) if integer else (int, float, Decimal)
        if isinstance(value, bool) or not isinstance(value, ok_types) or value < minimum:
            kind = "an integer" if integer else "a number"
            raise self.fail(name, f"{kind} >= {minimum:g}", value)
        return int(value) if integer else float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.table.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "true or false", value)
        return value

    def sub(self, name: str) -> _Reader:
        value = self.table.get(name, {})
        if not isinstance(value, Mapping):
            raise self.fail(name, "a table", value)
        return _Reader(self.source, value, self.key(name))
