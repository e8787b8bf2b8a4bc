"""Problems found in scenario files, rendered as file:line, a snippet with a caret, expected and hint.

The loader collects every problem across all files and raises one ScenarioFormatError listing them,
so an author fixes a whole batch per run instead of one error at a time.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ScenarioFormatError

__all__ = ["Problem", "closest", "display_path", "raise_if_any", "rel", "render_problem"]

_SNIPPET_BEFORE = 2
_SNIPPET_AFTER = 1
_MAX_LISTED = 50


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario file. line and column are 1-based (0 = unknown)."""

    file: str
    line: int
    column: int
    message: str
    expected: str = ""
    hint: str = ""
    where: str = ""  # logical location inside the document, e.g. scenarios[2].steps[1].expect.cause
    unreadable: bool = False  # the file could not be read or parsed at all (every other problem may follow from it)

    @property
    def location(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"
        return self.file


def display_path(path: Sequence[str | int]) -> str:
    """('scenarios', 2, 'steps', 0) -> scenarios[2].steps[0]"""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def closest(word: str, choices: Iterable[str]) -> str:
    """A 'did you mean' hint, or '' when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    if not matches:
        return ""
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"


def _snippet(text: str | None, line: int, column: int) -> list[str]:
    if not text or line <= 0:
        return []
    lines = text.splitlines()
    if line > len(lines):
        return []
    first = max(1, line - _SNIPPET_BEFORE)
    last = min(len(lines), line + _SNIPPET_AFTER)
    width = len(str(last))
    out = []
    for number in range(first, last + 1):
        marker = ">" if number == line else " "
        out.append(f"  {marker} {number:>{width}} | {lines[number - 1]}")
        if number == line and column > 0:
            out.append(f"    {' ' * width} | {' ' * (column - 1)}^")
    return out


def render_problem(problem: Problem, text: str | None) -> str:
    where = f" ({problem.where})" if problem.where else ""
    parts = [f"{problem.location}: {problem.message}{where}"]
    parts.extend(_snippet(text, problem.line, problem.column))
    if problem.expected:
        parts.append(f"    expected: {problem.expected}")
    if problem.hint:
        parts.append(f"    hint: {problem.hint}")
    return "\n".join(parts)


def raise_if_any(problems: Sequence[Problem], texts: dict[str, str]) -> None:
    """Raise one ScenarioFormatError listing every problem (sorted by file and line)."""
    if not problems:
        return
    hint = ("fix the lines shown above; the format is specs/scenario.schema.json "
            "(`hsa-cert scenarios list` loads every file and reports all problems at once)")
    unreadable = [p for p in problems if p.unreadable]
    if unreadable:  # a file that did not parse takes its templates and scenarios with it: the rest are follow-ons
        others = len(set(problems)) - len(set(unreadable))
        problems = unreadable
        if others:
            hint = (f"fix the file(s) shown above first: {others} other problem(s) found meanwhile may follow from "
                    "them and are not listed (`hsa-cert scenarios list` shows what remains)")
    ordered = sorted(set(problems), key=lambda p: (p.file, p.line, p.column, p.message))
    shown = ordered[:_MAX_LISTED]
    blocks = [render_problem(p, texts.get(p.file)) for p in shown]
    if len(ordered) > len(shown):
        blocks.append(f"... and {len(ordered) - len(shown)} more problem(s)")
    files = sorted({p.file for p in ordered})
    noun = "problem" if len(ordered) == 1 else "problems"
    raise ScenarioFormatError(
        f"{len(ordered)} {noun} in scenario file(s)",
        detail="\n\n".join(blocks),
        location=ordered[0].location if len(files) == 1 else f"{ordered[0].location} and {len(files) - 1} more file(s)",
        hint=hint,
    )


def rel(path: Path, root: Path | None) -> str:
    """A path for messages: relative to the project root when possible, always with forward slashes."""
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()
