"""The Chinese text of a finding, from data: `specs/findings-zh.json` and the Chinese names the specs carry.

Findings are made in many places (checks, the runner's evaluation, the wire reader, the client judge) with
an English title. Their Chinese text is not written there but looked up here, in this order:

1. `kinds`: the English title's shape (a regex; its named groups become placeholders), for the findings
   the runner and the shared check helpers make;
2. `checks`: the check that made the finding (`evidence["check"]`);
3. the client rule (`evidence["rule"]`, `specs/client-rules.json` `title_zh`);
4. the clause: `clauses` of the catalogue, a rule or cause of rules.json, a deviation of deviations.json,
   a client rule, or the field's 中文 name in the schemas (`title` beside `x-clause`).

Placeholders: {expected}, {actual}, {clause}, {subject} (the clause in Chinese). Code values in them carry
their dictionary labels in both languages (`labels.Labeller`). The text is presentation only: it never
enters a fingerprint or an identity (`Failure.title_zh` is left out of comparisons).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from harness.model import Failure
from harness.specs.labels import Labeller, labeller
from harness.specs.loader import SpecRegistry, load_registry, read_json

__all__ = ["CATALOGUE_FILE", "CLIENT_RULES_FILE", "FindingTexts", "bilingual", "finding_texts", "reason_both",
           "title_en", "title_zh"]

CATALOGUE_FILE = "findings-zh.json"
CLIENT_RULES_FILE = "client-rules.json"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ONE_OF = re.compile(r"^one of code list (\w+): ")


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    title_zh: str
    code: str | None


class FindingTexts:
    """The catalogue and the Chinese names of every clause of one spec version."""

    def __init__(self, registry: SpecRegistry) -> None:
        doc = read_json(registry.root / CATALOGUE_FILE)
        self.labels: Labeller = labeller(registry)
        self.kinds: list[tuple[re.Pattern[str], str]] = [(re.compile(k["match"]), str(k["zh"]))
                                                         for k in doc.get("kinds", ())]
        self.checks: dict[str, str] = dict(doc.get("checks", {}))
        self.reasons: list[tuple[re.Pattern[str], str]] = [(re.compile(k["match"], re.IGNORECASE), str(k["zh"]))
                                                           for k in doc.get("reasons", ())]
        client = read_json(registry.root / CLIENT_RULES_FILE) if (registry.root / CLIENT_RULES_FILE).is_file() else {}
        self.client_rules: dict[str, str] = {rid: str(raw.get("title_zh", ""))
                                             for rid, raw in (client.get("rules") or {}).items()}
        self.fields: dict[str, _Field] = {}
        for spec in registry.interfaces():
            for direction in ("in", "out"):
                for item in spec.fields(direction):
                    self.fields.setdefault(item.clause, _Field(item.name, item.title_zh, item.code))
        for which in ("request", "response"):
            props = registry.schema(f"envelope/{which}.json").get("properties") or {}
            for name, sub in props.items():
                if isinstance(sub, Mapping) and sub.get("x-clause"):
                    self.fields.setdefault(str(sub["x-clause"]), _Field(name, str(sub.get("title", "")),
                                                                        self.labels.dictionary_of(name)))
        self.causes: dict[str, str] = {c.clause: c.id for c in registry.causes() if c.clause}
        self.clauses: dict[str, str] = {
            **{r.id: r.title_zh for r in registry.rules()},
            **{c.clause: c.title_zh for c in registry.causes() if c.clause},
            **{d.clause: d.title_zh for d in registry.deviation_catalogue().deviations},
            **{rid: text for rid, text in self.client_rules.items()},
            **dict(doc.get("clauses", {})),
        }

    # --- what a clause is called ------------------------------------------------------------------

    def subject(self, clause: str) -> str:
        """The clause in Chinese: a rule's title, a cause labelled, or a field's 中文 name with its field name."""
        if clause in self.causes:
            return self.labels.label("cause", self.causes[clause])
        if clause in self.clauses:
            return _PLACEHOLDER.sub("", self.clauses[clause]).rstrip("：: ")
        found = self.fields.get(clause)
        if found is not None and found.title_zh:
            return f"{found.title_zh}（{found.name}）"
        return ""

    def has_text(self, clause: str) -> bool:
        return bool(self.subject(clause))

    # --- a finding ----------------------------------------------------------------------------------

    def render(self, failure: Failure) -> str:
        """The Chinese text of `failure` ("" only when neither its shape, check, rule nor clause is known)."""
        values = self._values(failure)
        for pattern, template in self.kinds:
            match = pattern.search(failure.title)
            if match:
                groups = {k: self._group(k, v) for k, v in match.groupdict().items() if v is not None}
                return _fill(template, {**values, **groups})
        evidence = failure.evidence if isinstance(failure.evidence, Mapping) else {}
        check = evidence.get("check")
        if isinstance(check, str) and check in self.checks:
            return _fill(self.checks[check], values)
        template = self.clauses.get(failure.clause, "")
        if not template:
            rule = evidence.get("rule")
            template = self.client_rules.get(rule, "") if isinstance(rule, str) else ""
            if template and failure.clause in self.fields:  # a rule narrowed to one field: name the field
                template += "：" + values["subject"]
            template = template or values["subject"]
            if template and (failure.expected or failure.actual) and "{" not in template:
                template += "：应为 {expected}，实际为 {actual}" if failure.expected else "：实际为 {actual}"
        return _fill(template, values)

    def reason(self, text: str) -> str:
        """Why a scenario did not run to a verdict, in Chinese ("" when no entry matches)."""
        for pattern, template in self.reasons:
            match = pattern.search(text)
            if match:
                return _fill(template, match.groupdict())
        return ""

    def english(self, failure: Failure) -> str:
        """The English title with the code values it names labelled."""
        return self.labels.text(failure.title)

    def _values(self, failure: Failure) -> dict[str, str]:
        found = self.fields.get(failure.clause)
        code = found.code if found is not None else None
        return {"clause": failure.clause, "subject": self.subject(failure.clause) or failure.clause,
                "expected": self._value(code, failure.expected), "actual": self._value(code, failure.actual)}

    def _value(self, dictionary: str | None, text: str) -> str:
        if not text:
            return "（空）"
        text = self.labels.text(self.labels.values(dictionary, text) if dictionary else text)
        return _ONE_OF.sub(r"代码表 \1 之一：", text)

    def _group(self, name: str, value: str) -> str:
        if name in ("cause", "other"):  # refusal causes (the expected one and the one the err_msg reads like)
            return self.labels.label("cause", value)
        return self.labels.text(value)


def _fill(template: str, values: Mapping[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: str(values.get(m[1], m[0])), template)


@lru_cache(maxsize=4)
def _cached(registry: SpecRegistry) -> FindingTexts:
    return FindingTexts(registry)


def finding_texts(registry: SpecRegistry | None = None) -> FindingTexts:
    """The finding texts of `registry` (default: the installed specs), built once."""
    return _cached(registry if registry is not None else load_registry())


def title_zh(failure: Any) -> str:
    """A finding's Chinese text: its own `title_zh` when set, else rendered from the catalogue.

    Accepts anything with a finding's attributes (a Failure, or a record read back from results.json);
    a finding the catalogue cannot render, or a broken catalogue, yields "" rather than an error.
    """
    own = getattr(failure, "title_zh", "")
    if own or not isinstance(failure, Failure):
        return own or ""
    try:
        return finding_texts().render(failure)
    except Exception:  # presentation must never end a report
        return ""


def title_en(failure: Any) -> str:
    """A finding's English title with its code values labelled (the title itself when that fails)."""
    title = str(getattr(failure, "title", ""))
    try:
        return finding_texts().labels.text(title)
    except Exception:
        return title


def reason_both(text: str) -> str:
    """A scenario's reason (infrastructure error, not provisioned …) with its Chinese beside it."""
    try:
        zh = finding_texts().reason(text) if text else ""
    except Exception:
        zh = ""
    return f"{text} · {zh}" if zh and zh not in text else text


def bilingual(failure: Failure) -> Failure:
    """The finding with `title_zh` filled in (unchanged when it already has one)."""
    return failure if failure.title_zh else replace(failure, title_zh=title_zh(failure))
