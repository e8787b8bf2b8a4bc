"""How an answer arrived, judged apart from what it says: its media type, duplicate keys, nesting, lone surrogates.

A site may send a valid envelope as text/plain, name a key twice (which value counts depends on the
parser: Python keeps the last, others the first), nest a structure hundreds of levels deep, or escape
half of a surrogate pair. None of these may crash the harness; each is a finding of its own:

- `ENV.resp.content-type` (SHOULD): the spec's messages are JSON, so the answer says application/json;
- `ENV.resp.duplicate-keys` (SHOULD): RFC 8259 §4, the names within an object SHOULD be unique;
- `ENV.resp.unicode` (SHOULD): RFC 8259 §8.2, a lone surrogate escape is not a character;
- `ENV.resp.nesting` (MUST): no message of the spec nests deeper than a few levels; an answer nested
  deeper than MAX_NESTING levels cannot have the spec's structure, and is not handed to the validator
  (a recursive validator would run out of stack on it).

The checks are cheap on the hot path: nesting and surrogates are looked for in the parsed answer only
when a scan of the text (in C) says they may be there; duplicate keys are found by the runner's
second parse (see `messages.parse_response`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from harness.model import Exchange, Failure, Grade, Severity

__all__ = ["MAX_NESTING", "deeper_than", "has_lone_surrogate", "scrubbed", "wire_findings"]

MAX_NESTING = 64
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_JSON_MEDIA = re.compile(r"^\s*application/(?:[\w.+-]+\+)?json\s*(?:;|$)", re.IGNORECASE)


def deeper_than(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether objects and arrays nest deeper than `limit` (iteratively: no recursion on a hostile value)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, Mapping) else item if isinstance(item, list | tuple) else ()
        for child in children:
            if isinstance(child, Mapping | list | tuple):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _lone(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def has_lone_surrogate(value: Any) -> bool:
    """Whether a string (or key) anywhere in the value holds a lone surrogate (nesting already bounded)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _lone(item):
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def scrubbed(value: Any, _depth: int = 0) -> Any:
    """A copy with every lone surrogate replaced by U+FFFD (what a validator written in Rust can take)."""
    if isinstance(value, str):
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value) if _lone(value) else value
    if _depth > MAX_NESTING:
        return None
    if isinstance(value, Mapping):
        return {scrubbed(k, _depth + 1): scrubbed(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrubbed(v, _depth + 1) for v in value]
    return value


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def wire_findings(exchange: Exchange, response: Mapping[str, Any], index: int) -> tuple[list[Failure], bool]:
    """The findings about how the answer arrived, and whether its structure may be validated."""
    found: list[Failure] = []
    media = _header(exchange.response_headers, "content-type")
    if media is None or not _JSON_MEDIA.match(media):
        shown = repr(media) if media is not None else "no Content-Type header"
        found.append(Failure(
            title=f"the answer is not labelled JSON: Content-Type {shown} 应答的Content-Type不是JSON",
            clause="ENV.resp.content-type", severity=Severity.MINOR, grade=Grade.SHOULD, step=index,
            expected="Content-Type: application/json (charset utf-8)", actual=shown,
            detail="the harness read the body as JSON anyway; a strict client (or gateway) may refuse it"))
    duplicates = getattr(response, "duplicate_keys", ())
    if duplicates:
        names = ", ".join(dict.fromkeys(duplicates))
        found.append(Failure(
            title=f"the answer names a key twice in one object: {names} 应答中同一对象的键重复",
            clause="ENV.resp.duplicate-keys", severity=Severity.MINOR, grade=Grade.SHOULD, step=index,
            expected="unique names in every object (RFC 8259 §4)", actual=f"duplicated: {names}",
            detail="which value counts depends on the parser: Python keeps the last, other parsers the first"))
    text = exchange.response_text
    answer = exchange.response_json
    if text.count("{") + text.count("[") > MAX_NESTING and deeper_than(answer):
        found.append(Failure(
            title=f"response does not conform: nested deeper than {MAX_NESTING} levels 应答嵌套层级过深",
            clause="ENV.resp.nesting", severity=Severity.MINOR, step=index,
            expected=f"the spec's structure (a few levels; at most {MAX_NESTING})",
            actual=f"objects or arrays nested deeper than {MAX_NESTING} levels",
            detail="the answer was not validated against the schema (its structure cannot be the spec's)"))
        return found, False
    if _SURROGATE_ESCAPE.search(text) and has_lone_surrogate(answer):
        found.append(Failure(
            title="the answer holds a lone surrogate escape (e.g. \\ud800): not a character 应答含有孤立代理项",
            clause="ENV.resp.unicode", severity=Severity.MINOR, grade=Grade.SHOULD, step=index,
            expected="valid Unicode text (RFC 8259 §8.2)", actual="a \\uD800-\\uDFFF escape without its pair",
            detail="validated and shown with U+FFFD in its place"))
    return found, True
