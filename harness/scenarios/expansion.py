"""Template blocks (`templates:` + `use:`) and file-level `defaults:`, resolved at load time.

A `use:` step is replaced by the steps of the named block, with {{ args.<name> }} replaced by the
`with:` values. Blocks are global across the loaded files (names must be unique) so that shared
preludes, such as "person info + registration + fee upload", live in one file. Every concrete step
remembers the file and YAML path it came from, plus the chain of `use:` sites, for error messages.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.scenarios.diagnostics import Problem, closest
from harness.scenarios.templates import substitute_args

if TYPE_CHECKING:
    from harness.scenarios.loader import Document

__all__ = ["ConcreteStep", "Entry", "TemplateLibrary", "expand_steps", "scenario_entries"]

YamlPath = tuple[str | int, ...]
_MAX_DEPTH = 8


@dataclass(frozen=True)
class Template:
    name: str
    doc: Document
    path: YamlPath
    value: Any  # a step mapping or a list of them


@dataclass
class TemplateLibrary:
    templates: dict[str, Template] = field(default_factory=dict)

    @classmethod
    def collect(cls, docs: Sequence[Document], problems: list[Problem]) -> TemplateLibrary:
        library = cls()
        for doc in docs:
            if not isinstance(doc.data, Mapping) or "templates" not in doc.data or "id" in doc.data:
                continue
            for name, value in doc.data["templates"].items():
                path = ("templates", name)
                if name in library.templates:
                    first = library.templates[name]
                    line, _ = first.doc.position(first.path, at_key=True)
                    problems.append(doc.problem(path, f"duplicate template name {name!r}", at_key=True,
                                                hint=f"already defined at {first.doc.name}:{line}; template "
                                                "names are shared by all scenario files"))
                    continue
                library.templates[name] = Template(name, doc, path, value)
        return library


@dataclass(frozen=True)
class ConcreteStep:
    data: Mapping[str, Any]
    doc: Document
    path: YamlPath
    via: tuple[str, ...] = ()  # "template 'x' used at file:line", innermost last
    substituted: bool = False  # args were filled in: the step must be checked against the schema again

    def problem(self, sub: YamlPath, message: str, **kwargs: Any) -> Problem:
        problem = self.doc.problem((*self.path, *sub), message, **kwargs)
        if not self.via:
            return problem
        note = "; ".join(self.via)
        hint = f"{problem.hint} ({note})" if problem.hint else f"this step comes from {note}"
        return Problem(problem.file, problem.line, problem.column, problem.message, problem.expected, hint,
                       problem.where)


def expand_steps(items: Sequence[Any], doc: Document, path: YamlPath, library: TemplateLibrary,
                 problems: list[Problem]) -> list[ConcreteStep]:
    """Concrete steps of a `steps:`/`teardown:` list written at `path` in `doc`."""
    return _expand([(item, (*path, i)) for i, item in enumerate(items)], doc, library, problems, (), 0)


def _expand(items: Sequence[tuple[Any, YamlPath]], doc: Document, library: TemplateLibrary,
            problems: list[Problem], via: tuple[str, ...], depth: int, substituted: bool = False) -> list[ConcreteStep]:
    out: list[ConcreteStep] = []
    for item, here in items:
        if not (isinstance(item, Mapping) and "use" in item):
            out.append(ConcreteStep(item, doc, here, via, substituted))
            continue
        name = item["use"]
        template = library.templates.get(name)
        if template is None:
            problems.append(doc.problem((*here, "use"), f"unknown template {name!r}",
                                        expected="a name defined under `templates:` in some scenario file",
                                        hint=closest(name, library.templates) or "define it under `templates:`"))
            continue
        if depth >= _MAX_DEPTH:
            problems.append(doc.problem((*here, "use"), f"templates nest deeper than {_MAX_DEPTH} levels at {name!r}",
                                        hint="a template probably uses itself, directly or through another"))
            continue
        line, _ = doc.position((*here, "use"))
        chain = (*via, f"template {name!r} used at {doc.name}:{line}")
        if isinstance(template.value, list):
            body = [(v, (*template.path, i)) for i, v in enumerate(template.value)]
        else:
            body = [(template.value, template.path)]
        substituted, missing = substitute_args([v for v, _ in body], item.get("with") or {})
        for arg in sorted(set(missing)):
            problems.append(doc.problem((*here, "use"), f"template {name!r} needs args.{arg} but `with:` does not "
                                        "give it", expected=f"with: {{{arg}: ...}}"))
        inner = [(value, where) for value, (_, where) in zip(substituted, body, strict=True)]
        changed = substituted or inner != body
        expanded = _expand(inner, template.doc, library, problems, chain, depth + 1, changed)
        if item.get("envelope"):
            expanded = [ConcreteStep({**s.data, "envelope": {**(s.data.get("envelope") or {}), **item["envelope"]}},
                                     s.doc, s.path, s.via, True) for s in expanded]
        if item.get("may_refuse") is not None:
            expanded = [_with_may_refuse(s, item["may_refuse"]) for s in expanded]
        out.extend(expanded)
    return out


def _with_may_refuse(step: ConcreteStep, cause: Any) -> ConcreteStep:
    """A use-site's `may_refuse:` given to a step of the block that expects success (its own one wins)."""
    expect = step.data.get("expect") or {}
    if not isinstance(expect, Mapping) or expect.get("ok", True) is not True or "may_refuse" in expect:
        return step
    return ConcreteStep({**step.data, "expect": {**expect, "may_refuse": cause}}, step.doc, step.path, step.via, True)


@dataclass(frozen=True)
class Entry:
    """One scenario mapping with file defaults merged in; origin maps each key to where it was written."""

    doc: Document
    path: YamlPath
    data: Mapping[str, Any]
    origin: Mapping[str, YamlPath]


def scenario_entries(docs: Sequence[Document]) -> Iterator[Entry]:
    for doc in docs:
        data = doc.data
        if not isinstance(data, Mapping):
            continue
        if "id" in data:  # a single-scenario file
            yield Entry(doc, (), data, {key: (key,) for key in data})
            continue
        defaults = data.get("defaults") or {}
        for index, raw in enumerate(data.get("scenarios") or []):
            path: YamlPath = ("scenarios", index)
            merged = {**defaults, **raw}
            origin = {key: ("defaults", key) for key in defaults}
            origin.update({key: (*path, key) for key in raw})
            yield Entry(doc, path, merged, origin)
