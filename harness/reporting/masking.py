"""Personal data masking for everything a report shows (Allure attachments, results, exchanges).

Test identities should be synthetic, but a site's test environment may hold real people, so reports
mask personal fields by default: the first and last characters stay (enough to tell records apart),
the middle becomes `*`. The curl reproduction line in the terminal is the one place that keeps the
real request, because a masked request cannot reproduce anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MAX_DEPTH", "PERSONAL_FIELDS", "Masker", "mask", "mask_json_text", "mask_text", "printable"]

# Spec field names that carry personal data: ID numbers, names, card data, contact data, birth date.
PERSONAL_FIELDS: frozenset[str] = frozenset({
    "certno", "psn_name", "mdtrt_cert_no", "card_sn", "card_no", "brdy", "tel", "addr",
    "agnter_name", "agnter_certno", "agnter_tel", "agnter_addr", "coner_name",
})


def mask_text(text: str) -> str:
    """Keep the first and last characters: 张三丰 -> 张*丰, 430102199207221062 -> 430************062."""
    n = len(text)
    if n <= 1:
        return "*" * n
    if n == 2:
        return text[0] + "*"
    keep = 3 if n >= 12 else 1
    return text[:keep] + "*" * (n - 2 * keep) + text[-keep:]


MAX_DEPTH = 64  # deeper than any real message: a report shows a placeholder below this depth
_TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels: not shown>"


def printable(text: str) -> str:
    """The text with lone surrogates written as \\udXXX escapes, so that it can be written as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def mask(value: Any, fields: frozenset[str] = PERSONAL_FIELDS, _depth: int = 0) -> Any:
    """A copy of a JSON-like value with the personal fields masked, at any depth (to MAX_DEPTH)."""
    if _depth > MAX_DEPTH:
        return _TOO_DEEP
    if isinstance(value, Mapping):
        return {k: (mask_text(v) if k in fields and isinstance(v, str) and v else mask(v, fields, _depth + 1))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v, fields, _depth + 1) for v in value]
    return value


_PERSONAL_VALUE = re.compile(r'("(?:' + "|".join(sorted(PERSONAL_FIELDS)) + r')"\s*:\s*")((?:[^"\\]|\\.)+)"')


def mask_json_text(text: str) -> str:
    """Mask personal string fields inside raw JSON text, leaving every other byte (and number) as sent."""

    def one(match: re.Match[str]) -> str:
        try:
            value = json.loads(f'"{match.group(2)}"')
        except ValueError:
            value = match.group(2)
        return match.group(1) + mask_text(value) + '"'

    return _PERSONAL_VALUE.sub(one, text)


def _trie_pattern(values: Iterable[str]) -> str:
    """One regex matching any of the values, longest first, written as a trie (`43(?:01(?:02…)|…)`).

    A plain alternation of a few hundred values tries every one at every position; the trie tries one
    branch per character, which makes masking every string of a run cheap enough to do always."""
    trie: dict[str, Any] = {}
    for value in values:
        node = trie
        for ch in value:
            node = node.setdefault(ch, {})
        node[""] = True

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:  # a value ends here: the longer ones are tried first, then the empty match
            return f"(?:{body})?"
        return body

    return emit(trie)


_LEAVES = frozenset({str, int, float, bool, type(None)})


class Masker:
    """Masks personal data before anything is serialised: by field name and by value, everywhere.

    By field: every PERSONAL_FIELDS value in a structure (and in raw JSON text). By value: every
    personal value the masker was given (the site's test identities) or has seen in a personal field
    is also replaced wherever else it appears, inside any string: an err_msg that quotes a name, an
    ID number inside `exp_content`, a curl line. With `enabled=False` nothing is masked (`--no-mask`),
    but the output is still safe to write: lone surrogates escaped, nesting cut at MAX_DEPTH.
    """

    def __init__(self, known: Iterable[str] = (), *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._known: dict[str, str] = {}  # a personal value (or its JSON escape) -> what is shown instead
        self._pattern: re.Pattern[str] | None = None
        for value in known:
            self._learn(value)

    def learn(self, record: Mapping[str, Any]) -> None:
        """Take the personal values of a record (an identity, a person) as values to mask everywhere."""
        for key, value in record.items():
            if key in PERSONAL_FIELDS and isinstance(value, str):
                self._learn(value)

    def see(self, value: Any) -> None:
        """Learn the personal values of a structure (a request, an answer) without copying it."""
        if self.enabled and value is not None:
            self._harvest(value, 0)

    def _learn(self, value: str) -> None:
        value = value.strip()
        if len(value) < 2 or value in self._known:
            return
        shown = mask_text(value)
        self._known[value] = shown
        escaped = json.dumps(value)[1:-1]  # how it reads inside JSON written with ensure_ascii
        if escaped != value:
            self._known[escaped] = json.dumps(shown)[1:-1]
        self._pattern = None

    def _replace_known(self, text: str) -> str:
        if not self._known or len(text) < 2:
            return text
        if self._pattern is None:
            self._pattern = re.compile(_trie_pattern(self._known))
        known = self._known
        return self._pattern.sub(lambda m: known[m.group(0)], text)

    def text(self, text: str) -> str:
        """Raw text (a response body, a curl line, a finding): personal fields and known values masked."""
        text = printable(text)
        if not self.enabled:
            return text
        return self._replace_known(mask_json_text(text))

    def dumps(self, value: Any, **options: Any) -> str:
        """The value as JSON text (json.dumps options), masked, always writable.

        Serialised first (in C), then masked as text: personal fields by the field pattern, known values
        (learnt from the value first) wherever they appear; many times faster than copying the value."""
        self.see(value)
        try:
            text = json.dumps(value, ensure_ascii=False, **options)
        except (RecursionError, ValueError, TypeError):  # nested too deep, or not JSON: the careful copy
            text = json.dumps(self.value(value), ensure_ascii=False, default=str, **options)
        return self.text(text)

    def document(self, value: Any) -> Any:
        """A masked copy of a JSON document (results.json): through `dumps`, or the careful copy when the
        text holds an escaped lone surrogate (which parsing would bring back)."""
        text = self.dumps(value)
        if "\\ud" in text:
            return self.value(value)
        return json.loads(text)

    def value(self, value: Any) -> Any:
        """A masked copy of a JSON-like structure, safe to serialise (its personal values learnt first)."""
        if self.enabled:
            self._harvest(value, 0)
        return self._copy(value, 0, "")

    def _harvest(self, value: Any, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        kind = type(value)
        if kind is dict or (kind is not list and isinstance(value, Mapping)):
            for key, item in value.items():
                item_kind = type(item)
                if item_kind is str:
                    if key in PERSONAL_FIELDS and item not in self._known:
                        self._learn(printable(item))
                elif item_kind is dict or item_kind is list or (item_kind not in _LEAVES
                                                                and isinstance(item, Mapping | list | tuple)):
                    self._harvest(item, depth + 1)
        elif kind is list or isinstance(value, list | tuple):
            for item in value:
                item_kind = type(item)
                if item_kind is dict or item_kind is list or (item_kind not in _LEAVES
                                                              and isinstance(item, Mapping | list | tuple)):
                    self._harvest(item, depth + 1)

    def _copy(self, value: Any, _depth: int, _field: str) -> Any:
        if _depth > MAX_DEPTH:
            return _TOO_DEEP
        if isinstance(value, str):
            if self.enabled and _field in PERSONAL_FIELDS and value:
                return mask_text(printable(value))
            return self.text(value)
        if isinstance(value, Mapping):
            return {printable(str(k)): self._copy(v, _depth + 1, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._copy(v, _depth + 1, "") for v in value]
        return value
