"""The template expressions of scenario files (contracts section G): grammar, load-time `args`, rendering.

A string that is exactly `{{ expr }}` is replaced by the raw value; otherwise each `{{ expr }}` is
interpolated as text. Namespaces resolved at run time: identity, site, item, saved, run, now, and
ledger (the totals of what the harness itself settled and reversed in this run, filtered by the
3201 input that asks for them; input only). The namespace `args` exists only inside template blocks
and is replaced when the loader expands `use:`.

`{{ omit }}` is no value but a removal marker: as the whole value of an envelope override it leaves
that field out of the request altogether (`envelope: {msgid: "{{ omit }}"}`), where `null` would send
`"msgid": null`. Rendering yields the `OMIT` sentinel, and whoever builds the message drops the key.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LEDGER_FIELDS",
    "OMIT",
    "RUNTIME_NAMESPACES",
    "Expression",
    "TemplateSyntaxError",
    "expressions",
    "is_omit",
    "parse_expression",
    "render",
    "saved_names",
    "substitute_args",
]

RUNTIME_NAMESPACES = ("identity", "site", "item", "saved", "run", "now", "ledger", "omit")
# The totals the runner's ledger gives a 3201 step ({{ ledger.<field> }}); harness.runner.ledger computes them.
LEDGER_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "cash_payamt", "fixmedins_setl_cnt")

_EXPR = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_WHOLE = re.compile(r"^\{\{\s*(.*?)\s*\}\}$")
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_FORMS: dict[str, re.Pattern[str]] = {
    "identity": re.compile(rf"^identity\.({_NAME})$"),
    "site": re.compile(rf"^site\.({_NAME})$"),
    "item": re.compile(rf"^item\.([A-Za-z0-9_-]+)\.({_NAME})$"),
    "saved": re.compile(rf"^saved\.({_NAME})$"),
    "run": re.compile(r"^run\.(uniq)$"),
    "now": re.compile(r"^now\.(datetime|date|date_offset\(\s*[-+]?\d+\s*\))$"),
    "ledger": re.compile(rf"^ledger\.({'|'.join(LEDGER_FIELDS)})$"),
    "omit": re.compile(r"^omit()$"),
    "args": re.compile(rf"^args\.({_NAME})$"),
}
_HELP = {
    "identity": "identity.<field>, e.g. identity.mdtrt_cert_no",
    "site": "site.<key>, e.g. site.fixmedins_code",
    "item": "item.<alias>.<field>, e.g. item.drug.med_list_codg",
    "saved": "saved.<name>, a name saved by an earlier step's expect.save",
    "run": "run.uniq",
    "now": "now.datetime, now.date or now.date_offset(<days>)",
    "ledger": "ledger.<field> with a field of " + ", ".join(LEDGER_FIELDS),
    "omit": "omit, alone, as the whole value of an envelope override",
    "args": "args.<name>, inside a template block",
}


class _Omit:
    """The removal marker `{{ omit }}` once rendered: the key holding it is left out of the message."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "{{ omit }}"


OMIT = _Omit()


def is_omit(value: Any) -> bool:
    """Whether a template value is exactly the removal marker `{{ omit }}`."""
    if not isinstance(value, str):
        return False
    whole = _WHOLE.match(value)
    return whole is not None and whole.group(1) == "omit"


class TemplateSyntaxError(ValueError):
    """An expression that does not fit the grammar; the message says what would."""


@dataclass(frozen=True, slots=True)
class Expression:
    text: str
    namespace: str
    name: str  # identity/site/saved/args: the field; item: "<alias>.<field>"; now: the function


def parse_expression(text: str, *, allow_args: bool = False) -> Expression:
    namespace = text.split(".", 1)[0].strip()
    allowed = (*RUNTIME_NAMESPACES, "args") if allow_args else RUNTIME_NAMESPACES
    if namespace not in allowed:
        raise TemplateSyntaxError(
            f"unknown template namespace {namespace!r} in '{{{{ {text} }}}}'"
            + ("" if allow_args or namespace != "args" else " (args.* is only valid inside a template block)")
        )
    match = _FORMS[namespace].match(text)
    if match is None:
        raise TemplateSyntaxError(f"malformed expression '{{{{ {text} }}}}': expected {_HELP[namespace]}")
    name = ".".join(match.groups())
    return Expression(text=text, namespace=namespace, name=name)


def expressions(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every `{{ expr }}` inside a nested value, with the path of the string holding it."""
    if isinstance(value, str):
        for match in _EXPR.finditer(value):
            yield path, match.group(1)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from expressions(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from expressions(item, (*path, index))


def saved_names(value: Any) -> set[str]:
    """The saved.<name> references inside a value (malformed expressions are ignored here)."""
    names = set()
    for _path, text in expressions(value):
        match = _FORMS["saved"].match(text)
        if match:
            names.add(match.group(1))
    return names


@functools.lru_cache(maxsize=8192)
def _parsed(text: str) -> Expression:
    """parse_expression for rendering (args allowed), once per distinct expression text: scenarios repeat them."""
    return parse_expression(text, allow_args=True)


_LEAVES = frozenset({int, float, bool, type(None)})


def render(value: Any, resolve: Callable[[Expression], Any]) -> Any:
    """Replace expressions using `resolve`; a whole-string expression keeps the raw value's type.

    Containers are always built afresh. The runner renders every step of every scenario, so plain
    dicts, lists, strings without `{{` and scalars take exact-type shortcuts; any other Mapping, list
    or str subclass takes the general path with the same result.
    """
    kind = type(value)
    if kind is str:
        return _render_text(value, resolve) if "{{" in value else value
    if kind is dict:
        out = {}
        for key, item in value.items():
            item_kind = type(item)
            if item_kind is str:
                out[key] = _render_text(item, resolve) if "{{" in item else item
            elif item_kind in _LEAVES:
                out[key] = item
            else:
                out[key] = render(item, resolve)
        return out
    if kind is list:
        return [render(item, resolve) for item in value]
    if isinstance(value, str):
        return _render_text(value, resolve) if "{{" in value else value
    if isinstance(value, Mapping):
        return {key: render(item, resolve) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, resolve) for item in value]
    return value


def _render_text(value: str, resolve: Callable[[Expression], Any]) -> Any:
    try:
        shape = _shape(value)
    except TemplateSyntaxError:  # resolve what comes before the malformed expression, as a plain pass does
        return _EXPR.sub(lambda m: _text(resolve(_parsed(m.group(1)))), value)
    if type(shape) is Expression:
        return resolve(shape)
    return "".join(part if type(part) is str else _text(resolve(part)) for part in shape)


@functools.lru_cache(maxsize=16384)
def _shape(value: str) -> Expression | tuple[str | Expression, ...]:
    """A template string, parsed once: its expression when it is exactly one, else its text and expressions."""
    whole = _WHOLE.match(value)
    if whole and "{{" not in whole.group(1):
        return _parsed(whole.group(1))
    parts: list[str | Expression] = []
    position = 0
    for match in _EXPR.finditer(value):
        parts.append(value[position:match.start()])
        parts.append(_parsed(match.group(1)))
        position = match.end()
    parts.append(value[position:])
    return tuple(parts)


def _text(value: Any) -> str:
    if value is OMIT:
        raise ValueError("{{ omit }} must be the whole value of an envelope field, not part of a text")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def substitute_args(value: Any, args: Mapping[str, Any]) -> tuple[Any, list[str]]:
    """Replace {{ args.x }} at load time. Returns the new value and the names that were not given."""
    missing: list[str] = []

    def one(text: str) -> Any:
        whole = _WHOLE.match(text)
        if whole and whole.group(1).startswith("args.") and "{{" not in whole.group(1):
            name = whole.group(1)[5:].strip()
            if name in args:
                return args[name]
            missing.append(name)
            return text

        def part(match: re.Match[str]) -> str:
            expr = match.group(1)
            if not expr.startswith("args."):
                return match.group(0)
            name = expr[5:].strip()
            if name in args:
                return _text(args[name])
            missing.append(name)
            return match.group(0)

        return _EXPR.sub(part, text)

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return one(item) if "{{" in item else item
        if isinstance(item, Mapping):
            return {key: walk(v) for key, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(value), missing
