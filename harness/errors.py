"""Error types of hsa-cert.

Every error answers four questions: what happened, where, how to reproduce it, and what to do
next. The CLI renders these fields; nothing else formats them.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "HsaCertError",
    "InfrastructureError",
    "ScenarioFormatError",
    "SpecError",
    "UsageError",
]


class HsaCertError(Exception):
    """Base error: a title plus detail, location and hint, all plain text."""

    exit_code = 2

    def __init__(self, title: str, *, detail: str = "", location: str = "", hint: str = "") -> None:
        super().__init__(title)
        self.title = title
        self.detail = detail
        self.location = location
        self.hint = hint

    def render(self) -> str:
        lines = [f"error: {self.title}"]
        if self.location:
            lines.append(f"  where: {self.location}")
        if self.detail:
            lines.extend(f"  {line}" for line in self.detail.splitlines())
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class UsageError(HsaCertError):
    """Bad command-line arguments."""


class ConfigError(HsaCertError):
    """A site config, profile or certification profile is invalid."""


class SpecError(HsaCertError):
    """A schema, code list or profile under specs/ is missing or malformed."""


class ScenarioFormatError(HsaCertError):
    """A scenario file does not match the scenario schema."""


class InfrastructureError(HsaCertError):
    """The target could not be reached or did not speak HTTP/JSON: not a conformance finding."""

    exit_code = 3
