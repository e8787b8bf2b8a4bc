"""Read scenario YAML safely, keep line numbers, validate, expand templates, build model.Scenario.

The only module of harness/ that imports PyYAML. Every problem (YAML syntax, schema violation,
unknown infno/check/archetype/cause/clause/template, bad template expression, duplicate id) is
collected across all files, then raised as one ScenarioFormatError naming file:line with a snippet.

YAML 1.1 surprises are switched off: `01` stays the string "01" (not octal 1), `2024-01-01` stays a
string (not a date), `yes`/`no`/`on`/`off` stay strings. Only true/false are booleans and only
plain decimal numbers are numbers. Code values such as `med_type: 11` still parse as numbers: quote
them (the loader says so when it knows the field is a string).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.model import Scenario
from harness.scenarios.diagnostics import Problem, display_path, raise_if_any, rel
from harness.scenarios.expansion import TemplateLibrary, scenario_entries
from harness.scenarios.schema import SCENARIO_FILE, schema_issues
from harness.scenarios.semantics import Vocabulary, build_scenario
from harness.specs import SpecRegistry, load_registry

__all__ = [
    "Document",
    "LoadedFiles",
    "dump_yaml",
    "load_files",
    "load_text",
    "read_document",
]

YamlPath = tuple[str | int, ...]


# libyaml's parser when PyYAML was built with it (about 5x faster); the pure-Python one otherwise.
_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeBase):  # type: ignore[misc,valid-type]
    """A safe loader with YAML 1.2-like scalars (see the module docstring)."""


_DROPPED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:timestamp"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"),
                              list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?)$"),
    list("-+0123456789"),
)


@dataclass
class Document:
    """One parsed YAML file: data plus where every value and key sits (1-based line, column)."""

    name: str  # for messages: relative path with forward slashes
    text: str
    data: Any = None
    values: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: YamlPath, *, at_key: bool = False) -> tuple[int, int]:
        """The closest known position for path (walking up to the parent when needed)."""
        probe = tuple(path)
        if at_key and probe in self.keys:
            return self.keys[probe]
        while probe:
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def problem(self, path: YamlPath, message: str, *, expected: str = "", hint: str = "",
                at_key: bool = False, where_prefix: str = "") -> Problem:
        line, column = self.position(path, at_key=at_key)
        where = display_path(path)
        return Problem(self.name, line, column, message, expected, hint,
                       f"{where_prefix}{where}" if where_prefix else where)


def read_document(path: Path, *, root: Path | None = None, problems: list[Problem]) -> Document:
    """Parse one YAML file; syntax errors and duplicate keys go to `problems`."""
    name = rel(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, 0, 0, f"cannot read the file: {exc}", hint="scenario files are UTF-8 text",
                                unreadable=True))
        return Document(name, "")
    return parse_text(text, name, problems)


def parse_text(text: str, name: str, problems: list[Problem]) -> Document:
    doc = Document(name, text)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            doc.data = loader.construct_document(node)
            _walk(node, (), doc, problems, 0)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        what = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        problems.append(Problem(name, line, column, f"YAML syntax error: {what}",
                                hint="check indentation and quoting near the marked position; quote strings that "
                                "contain ': ' or '{{', start with '*', '&', '!' or '@', or (inside {...} and [...]) "
                                "contain ',', '[' or ']', e.g. \"output.insuinfo[0].balc\"", unreadable=True))
        doc.data = None
    except yaml.YAMLError as exc:
        problems.append(Problem(name, 0, 0, f"YAML error: {exc}", unreadable=True))
        doc.data = None
    except RecursionError:
        problems.append(Problem(name, 0, 0, "the file nests too deeply to read", unreadable=True,
                                hint="a scenario file is a few levels deep; look for runaway brackets or indentation"))
        doc.data = None
    finally:
        loader.dispose()
    return doc


def _walk(node: yaml.Node, path: YamlPath, doc: Document, problems: list[Problem], depth: int) -> None:
    doc.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if depth > 64:
        return
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen and key_node.start_mark.line + 1 != seen[key]:
                problems.append(Problem(doc.name, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                                        f"duplicate key {key!r} (first at line {seen[key]})",
                                        hint="YAML keeps only the last value; remove or rename one of them",
                                        where=display_path(child)))
            seen.setdefault(key, key_node.start_mark.line + 1)
            doc.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            doc.values[child] = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)
            _walk(value_node, child, doc, problems, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), doc, problems, depth + 1)


def _normalise(data: Any) -> Any:
    """`infno: 2207` and `interface: 2207` are obviously meant as strings: accept them as such."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if key in ("infno", "interface") and isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            out[key] = _normalise(value)
        return out
    if isinstance(data, list):
        return [_normalise(v) for v in data]
    return data


def schema_problems(doc: Document, registry: SpecRegistry) -> list[tuple[YamlPath, Problem]]:
    """The document checked against specs/scenario.schema.json, each issue placed at its YAML line."""
    return [(issue.path, doc.problem(issue.path, issue.message, expected=issue.expected, hint=issue.hint,
                                     at_key=issue.at_key))
            for issue in schema_issues(registry, SCENARIO_FILE, doc.data)]


@dataclass
class LoadedFiles:
    """The result of loading: scenarios in file order, and the file each came from."""

    scenarios: list[Scenario]
    files: dict[str, str]  # scenario id -> document name


def load_files(paths: Sequence[Path], *, vocabulary: Vocabulary | None = None, root: Path | None = None,
               extra: Sequence[Document] = (), prior: Sequence[Problem] = (),
               texts: Mapping[str, str] | None = None, registry: SpecRegistry | None = None) -> LoadedFiles:
    """Load scenario files (and already-parsed documents); raise one ScenarioFormatError for all problems.

    `prior` are problems found earlier (e.g. by generators) to report together with these; `texts`
    gives the text of other files they point into, for snippets. `registry` holds the scenario schema
    (default: the project's specs/).
    """
    registry = registry or load_registry()
    problems: list[Problem] = list(prior)
    docs = [read_document(p, root=root, problems=problems) for p in paths]
    docs.extend(extra)
    for doc in docs:
        doc.data = _normalise(doc.data)
        if doc.data is None and not any(p.file == doc.name for p in problems):
            problems.append(Problem(doc.name, 1, 1, "the file is empty",
                                    hint="add a scenario (id, title, title_zh, steps) or `scenarios:`/`templates:`"))
    usable, broken = [], set()
    for doc in docs:
        if doc.data is None:
            continue
        found = schema_problems(doc, registry)
        problems.extend(problem for _, problem in found)
        paths = [path for path, _ in found]
        if all(len(p) >= 2 and p[0] == "scenarios" for p in paths):
            # Problems confined to some scenarios of a collection: still check the others fully.
            broken.update((doc.name, p[1]) for p in paths)
            usable.append(doc)
    scenarios, files = _build(usable, vocabulary or Vocabulary(), problems, broken, registry)
    raise_if_any(problems, {**(texts or {}), **{d.name: d.text for d in docs}})
    return LoadedFiles(scenarios, files)


def load_text(text: str, name: str = "<string>", *, vocabulary: Vocabulary | None = None,
              registry: SpecRegistry | None = None) -> list[Scenario]:
    """Load scenarios from YAML text (tests, generators)."""
    problems: list[Problem] = []
    doc = parse_text(text, name, problems)
    raise_if_any(problems, {name: text})
    return load_files([], vocabulary=vocabulary, extra=[doc], registry=registry).scenarios


def _build(docs: Sequence[Document], vocabulary: Vocabulary, problems: list[Problem],
           broken: set[tuple[str, str | int]], registry: SpecRegistry) -> tuple[list[Scenario], dict[str, str]]:
    library = TemplateLibrary.collect(docs, problems)
    scenarios: list[Scenario] = []
    files: dict[str, str] = {}
    first_seen: dict[str, tuple[Document, YamlPath]] = {}
    for entry in scenario_entries(docs):
        if len(entry.path) == 2 and (entry.doc.name, entry.path[1]) in broken:
            continue
        scenario = build_scenario(entry, library, vocabulary, problems, registry)
        if scenario is None:
            continue
        doc, path = entry.doc, entry.path
        if scenario.id in first_seen:
            other_doc, other_path = first_seen[scenario.id]
            line, _ = other_doc.position((*other_path, "id"))
            problems.append(doc.problem((*path, "id"), f"duplicate scenario id {scenario.id!r}",
                                        expected="ids unique across all scenario files",
                                        hint=f"the same id is already used at {other_doc.name}:{line}; rename one"))
            continue
        first_seen[scenario.id] = (doc, path)
        scenarios.append(scenario)
        files[scenario.id] = doc.name
    return scenarios, files


def dump_yaml(data: Any) -> str:
    """Plain data as block-style YAML (keys in the given order, 中文 kept readable)."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=False, width=120)
