"""Template rendering: compiled templates (parsed once per step) render exactly what `render` does."""

from __future__ import annotations

from typing import Any

import pytest

from harness.personas import load_catalogue
from harness.scenarios.catalogue import load_suites
from harness.scenarios.templates import OMIT, Expression, TemplateSyntaxError, compile_template, render
from harness.specs import load_registry


def _resolve(expr: Expression) -> Any:
    """Values of every JSON type, so that whole-string expressions keep theirs and interpolation shows them."""
    if expr.namespace == "omit":
        return OMIT
    kind = sum(map(ord, expr.text)) % 5
    return ({"from": expr.text}, [expr.name, 1], 12.5, None, f"<{expr.text}>")[kind]


def test_compiled_templates_of_every_suite_step_render_as_render_does() -> None:
    scenarios = load_suites(load_registry(), "baseline", catalogue=load_catalogue())
    templates = [part for s in scenarios for step in (*s.steps, *s.teardown) for part in (step.input, step.envelope)]
    assert len(templates) > 2000
    for template in templates:
        assert compile_template(template)(_resolve) == render(template, _resolve)


def test_interpolation_whole_values_and_plain_text() -> None:
    template = {"a": "{{ identity.psn_no }}", "b": "x-{{ run.uniq }}-{{ saved.v }}", "c": ["plain", 3, True, None],
                "d": "{{ omit }}", "e": "{{ saved.n }}{{ saved.m }}"}
    values = {"identity.psn_no": 42, "run.uniq": "u1", "saved.v": None, "saved.n": True, "saved.m": 2.5}

    def resolve(expr: Expression) -> Any:
        return OMIT if expr.namespace == "omit" else values[expr.text]

    expected = {"a": 42, "b": "x-u1-", "c": ["plain", 3, True, None], "d": OMIT, "e": "12.5"}
    assert compile_template(template)(resolve) == render(template, resolve) == expected


def test_every_render_builds_new_containers() -> None:
    renderer = compile_template({"data": {"items": [{"k": "v"}], "n": "{{ run.uniq }}"}})
    first, second = renderer(lambda expr: "1"), renderer(lambda expr: "1")
    assert first == second
    assert first is not second and first["data"] is not second["data"]
    assert first["data"]["items"] is not second["data"]["items"]
    assert first["data"]["items"][0] is not second["data"]["items"][0]


def test_a_malformed_expression_fails_at_compile_time_as_render_fails() -> None:
    template = {"a": "{{ identity.x }} and {{ nowhere.y }}"}
    with pytest.raises(TemplateSyntaxError, match="nowhere"):
        compile_template(template)
    with pytest.raises(TemplateSyntaxError, match="nowhere"):
        render(template, lambda expr: "v")
