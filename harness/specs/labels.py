"""Code values with their dictionary labels in both languages: `insutype 310 (职工基本医疗保险 / employee basic
medical insurance)`.

The Chinese labels are the code dictionaries' own (`codes/<dict>.json` `x-labels`, `x-variant-labels`); the
English ones are data (`<version>/code-labels-en.json`), as are the labels of code values that have no
dictionary file (infcode). Which dictionary a field uses comes from the interface schemas (`x-code`), else a
dictionary named like the field. Refusal causes are labelled from rules.json (`title_zh`, `title_en`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from harness.specs.loader import SpecRegistry, load_registry, read_json

__all__ = ["LABELS_FILE", "Labeller", "labeller"]

LABELS_FILE = "code-labels-en.json"

# A code value after a field name in free text: `insutype 310`, `clr_way: "01"`, `med_type=14`, `infcode -1`.
_AFTER_NAME = r"(?P<sep>\s*(?:[:=]|\bis\b)?\s*)(?P<q>\"?)(?P<value>-?[0-9A-Za-z]+)(?P=q)(?!\s*\()"
# A quoted or bare code value inside an expected/actual text (`"01"`, `one of code list clr_way: 1, 2, 3`).
_TOKEN = re.compile(r"(?P<q>\")(?P<value>-?[0-9A-Za-z]+)\"(?!\s*\()"
                    r"|(?<![\w.\"])(?P<bare>-?[0-9A-Za-z]+)(?![\w.\"])(?!\s*\()")


class Labeller:
    """Labels of one spec version: dictionary -> code -> (中文, English); field name -> dictionary."""

    def __init__(self, registry: SpecRegistry) -> None:
        english = _english(registry)
        self.labels: dict[str, dict[str, tuple[str, str]]] = {}
        for code_list in registry.code_lists():
            doc = registry.schema(code_list.schema_id)
            zh = {**{str(k): str(v) for k, v in (doc.get("x-variant-labels") or {}).items() if v},
                  **{str(k): str(v) for k, v in code_list.labels.items()}}
            en = english.get("dictionaries", {}).get(code_list.name, {})
            self.labels[code_list.name] = {code: (zh.get(code, ""), str(en.get(code, "")))
                                           for code in {*zh, *en} if zh.get(code) or en.get(code)}
        for name, values in (english.get("values") or {}).items():
            self.labels[name] = {code: (str(v.get("zh", "")), str(v.get("en", ""))) for code, v in values.items()
                                 if isinstance(v, Mapping)}
        self.labels["cause"] = {c.id: (c.title_zh, c.title_en) for c in registry.causes()}
        self.fields: dict[str, str] = {name: name for name in self.labels}
        for spec in registry.interfaces():
            for direction in ("in", "out"):
                for item in spec.fields(direction):
                    if item.code and item.code in self.labels:
                        self.fields.setdefault(item.name, item.code)
        names = sorted(self.fields, key=len, reverse=True)
        self._in_text = re.compile(r"(?<![\w.])(?P<field>" + "|".join(map(re.escape, names)) + r")" + _AFTER_NAME)

    def dictionary_of(self, field: str) -> str | None:
        return self.fields.get(field)

    def label(self, dictionary: str | None, value: Any) -> str:
        """`310 (职工基本医疗保险 / employee basic medical insurance)`; the value alone when it has no label."""
        code = str(value)
        zh, en = self.labels.get(dictionary or "", {}).get(code, ("", ""))
        both = " / ".join(t for t in (zh, en) if t)
        return f"{code} ({both})" if both else code

    def field(self, field: str, value: Any) -> str:
        """A field's code value labelled from the field's dictionary: `insutype 310 (… / …)`."""
        return f"{field} {self.label(self.dictionary_of(field), value)}"

    def text(self, text: str) -> str:
        """Free text with every `<coded field> <value>` it names labelled (values already labelled are kept)."""
        if not text:
            return text

        def one(match: re.Match[str]) -> str:
            dictionary = self.fields[match["field"]]
            code = match["value"]
            labelled = self.label(dictionary, code)
            if labelled == code:
                return match[0]
            return f"{match['field']}{match['sep']}{match['q']}{code}{match['q']}{labelled[len(code):]}"

        return self._in_text.sub(one, text)

    def values(self, dictionary: str | None, text: str) -> str:
        """An expected/actual text of a coded field with each of its codes labelled (`"01" (按项目 / by item)`)."""
        known = self.labels.get(dictionary or "")
        if not text or not known:
            return text

        def one(match: re.Match[str]) -> str:
            code = match["value"] or match["bare"]
            if code not in known:
                return match[0]
            return f"{match[0]}{self.label(dictionary, code)[len(code):]}"

        head, sep, tail = text.partition(": ") if text.startswith("one of") else ("", "", text)
        return head + sep + _TOKEN.sub(one, tail)


def _english(registry: SpecRegistry) -> dict[str, Any]:
    path = registry.version_dir / LABELS_FILE
    doc = read_json(path) if path.is_file() else {}
    return doc if isinstance(doc, dict) else {}


@lru_cache(maxsize=4)
def _cached(registry: SpecRegistry) -> Labeller:
    return Labeller(registry)


def labeller(registry: SpecRegistry | None = None) -> Labeller:
    """The labeller of `registry` (default: the installed specs), built once."""
    return _cached(registry if registry is not None else load_registry())
