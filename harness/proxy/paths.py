"""Addresses inside a response envelope: `output.setlinfo.setl_id`, `output.setldetail[0].fund_payamt`,
`output.insuinfo[*].insuplc_admdvs`, `output.setlinfo.*` (every member of a node), `infcode`.

`locate(doc, path)` gives the (container, key) pairs a path names in a parsed envelope, so that an
operation can read, replace or delete the value; names that are absent give nothing (a mutation does
not apply to an answer that lacks its field). The last part may name a member that is absent
(`set` creates it); intermediate parts must exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from harness.errors import ConfigError

__all__ = ["Slot", "locate", "parse_path", "read"]

_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*|\*)((?:\[(?:\d+|\*)\])*)$")
_INDEX = re.compile(r"\[(\d+|\*)\]")

Slot = tuple[Any, Any]  # (dict or list, key or index)


def parse_path(path: str) -> tuple[str | int, ...]:
    """`a.b[0].c[*]` -> ("a", "b", 0, "c", "*"); ConfigError on a malformed path."""
    steps: list[str | int] = []
    for part in path.split("."):
        match = _PART.match(part)
        if not match:
            raise ConfigError(f"malformed path {path!r} (at {part!r})", location="harness/proxy/mutations.json",
                              hint="dotted names with [n] or [*] indexes, e.g. output.setldetail[0].fund_payamt")
        steps.append(match.group(1))
        steps.extend(int(i) if i != "*" else "*" for i in _INDEX.findall(match.group(2)))
    return tuple(steps)


def locate(doc: Any, path: str, *, create: bool = False) -> list[Slot]:
    """The slots the path names in `doc`. With create=True the last name of a mapping may be absent."""
    return list(_walk(doc, parse_path(path), create))


def _walk(node: Any, steps: tuple[str | int, ...], create: bool) -> Iterator[Slot]:
    head, rest = steps[0], steps[1:]
    if isinstance(node, dict):
        if isinstance(head, int):
            return
        keys = list(node) if head == "*" else [head]
        for key in keys:
            if not rest:
                if key in node or (create and head != "*"):
                    yield node, key
            elif key in node:
                yield from _walk(node[key], rest, create)
    elif isinstance(node, list):
        if isinstance(head, str) and head != "*":
            return
        indexes = range(len(node)) if head == "*" else [head] if 0 <= int(head) < len(node) else []
        for index in indexes:
            if not rest:
                yield node, index
            else:
                yield from _walk(node[index], rest, create)


def read(doc: Any, path: str) -> Any:
    """The first value the path names, or None."""
    slots = locate(doc, path)
    if not slots:
        return None
    container, key = slots[0]
    return container[key]
