"""Template rendering: the runner's hot path (exact-type shortcuts, parsed expressions cached) renders exactly
what the plain recursive definition of contracts section G does."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from harness.personas import load_catalogue
from harness.scenarios.catalogue import load_suites
from harness.scenarios.templates import OMIT, Expression, TemplateSyntaxError, parse_expression, render
from harness.specs import load_registry


def _resolve(expr: Expression) -> Any:
    """Values of every JSON type, so that whole-string expressions keep theirs and interpolation shows them."""
    if expr.namespace == "omit":
        return OMIT
    kind = sum(map(ord, expr.text)) % 5
    return ({"from": expr.text}, [expr.name, 1], 12.5, None, f"<{expr.text}>")[kind]


def _reference(value: Any, resolve: Callable[[Expression], Any]) -> Any:
    """The definition: a string that is exactly `{{ expr }}` becomes the raw value, other expressions text."""
    if isinstance(value, str):
        whole = re.fullmatch(r"\{\{\s*(.*?)\s*\}\}", value)
        if whole and "{{" not in whole.group(1):
            return resolve(parse_expression(whole.group(1), allow_args=True))
        return re.sub(r"\{\{\s*(.*?)\s*\}\}", lambda m: _shown(resolve(parse_expression(m.group(1), allow_args=True))),
                      value)
    if isinstance(value, Mapping):
        return {key: _reference(item, resolve) for key, item in value.items()}
    if isinstance(value, list):
        return [_reference(item, resolve) for item in value]
    return value


def _shown(value: Any) -> str:
    return "" if value is None else ("1" if value else "0") if isinstance(value, bool) else str(value)


class _Node(dict):  # type: ignore[type-arg]
    """A Mapping that is not exactly a dict: the general path."""


def test_every_suite_step_renders_as_the_definition_says() -> None:
    scenarios = load_suites(load_registry(), "baseline", catalogue=load_catalogue())
    templates = [part for s in scenarios for step in (*s.steps, *s.teardown) for part in (step.input, step.envelope)]
    assert len(templates) > 2000
    for template in templates:
        assert render(template, _resolve) == _reference(template, _resolve)


def test_mapping_subclasses_and_nested_lists_take_the_general_path() -> None:
    template = _Node(a=[["{{ run.uniq }}", 1.5], _Node(b="x {{ saved.v }}")], c=(1, 2))
    assert render(template, _resolve) == _reference(template, _resolve)
    assert type(render(template, _resolve)) is dict


def test_interpolation_whole_values_and_plain_text() -> None:
    template = {"a": "{{ identity.psn_no }}", "b": "x-{{ run.uniq }}-{{ saved.v }}", "c": ["plain", 3, True, None],
                "d": "{{ omit }}", "e": "{{ saved.n }}{{ saved.m }}"}
    values = {"identity.psn_no": 42, "run.uniq": "u1", "saved.v": None, "saved.n": True, "saved.m": 2.5}

    def resolve(expr: Expression) -> Any:
        return OMIT if expr.namespace == "omit" else values[expr.text]

    expected = {"a": 42, "b": "x-u1-", "c": ["plain", 3, True, None], "d": OMIT, "e": "12.5"}
    assert render(template, resolve) == expected


def test_every_render_builds_new_containers() -> None:
    template = {"data": {"items": [{"k": "v"}], "n": "{{ run.uniq }}"}}
    first, second = render(template, lambda expr: "1"), render(template, lambda expr: "1")
    assert first == second
    assert first is not second and first["data"] is not second["data"]
    assert first["data"]["items"] is not second["data"]["items"]
    assert first["data"]["items"][0] is not second["data"]["items"][0]


def test_a_malformed_expression_is_reported_each_time() -> None:
    template = {"a": "{{ identity.x }} and {{ nowhere.y }}"}
    for _ in range(2):  # parsed expressions are cached, errors are not
        with pytest.raises(TemplateSyntaxError, match="nowhere"):
            render(template, lambda expr: "v")


def test_an_expression_before_a_malformed_one_is_resolved_first() -> None:
    class Missing(Exception):
        pass

    def resolve(expr: Expression) -> Any:
        if expr.name == "missing":
            raise Missing
        return "v"

    with pytest.raises(Missing):
        render("a {{ identity.missing }} b {{ nowhere.y }}", resolve)
    with pytest.raises(TemplateSyntaxError):
        render("a {{ identity.present }} b {{ nowhere.y }}", resolve)
