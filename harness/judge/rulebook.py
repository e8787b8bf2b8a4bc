"""The client rules as data (specs/client-rules.json): clause id -> grade, fact tag, titles, why graded.

A finding is made only through `Rulebook.finding`, so its clause, grade and titles always come
from the table, never from the code path that noticed the deviation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import SpecError
from harness.model import Failure, Grade, Severity
from harness.specs import default_root
from harness.specs.loader import read_json

__all__ = ["Rule", "Rulebook", "load_rulebook"]

RULES_FILE = "client-rules.json"
# Money and fault reaction cost real money; protocol deviations are rejected calls; formats are minor.
_SEVERITY = {"CLI-MONEY-SUM": Severity.CRITICAL, "CLI-MONEY-ROW": Severity.CRITICAL,
             "CLI-FAULT-RESOLVE": Severity.CRITICAL, "CLI-FAULT-BLIND-RESEND": Severity.CRITICAL,
             "CLI-SETTLE-TWICE": Severity.CRITICAL, "CLI-EOD-TOTALS": Severity.CRITICAL,
             "CLI-SCHEMA": Severity.MINOR, "CLI-CONTENT-TYPE": Severity.MINOR, "ENV.req.infver": Severity.MINOR,
             "ENV.req.recer_sys_code": Severity.MINOR}


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    grade: Grade
    tag: str
    title: str
    title_zh: str
    why: str


class Rulebook:
    def __init__(self, rules: Mapping[str, Rule], grade_overrides: Mapping[str, str] | None = None) -> None:
        self.rules = dict(rules)
        for clause, grade in (grade_overrides or {}).items():  # a province profile may raise or lower a rule
            if clause in self.rules and grade in Grade.__members__:
                old = self.rules[clause]
                self.rules[clause] = Rule(old.id, Grade(grade), old.tag, old.title, old.title_zh, old.why)

    def __getitem__(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def finding(self, rule_id: str, *, msgid: str = "", infno: str = "", detail: str = "", expected: str = "",
                actual: str = "", clause: str = "", step: int | None = None, **evidence: Any) -> Failure:
        """A finding against `rule_id`; `clause` narrows it (a schema violation cites its field's clause)."""
        rule = self.rules[rule_id]
        return Failure(
            title=f"{rule.title} · {rule.title_zh}", clause=clause or rule.id,
            severity=_SEVERITY.get(rule.id, Severity.MAJOR), detail=detail, expected=expected, actual=actual,
            step=step, grade=rule.grade,
            evidence={"msgid": msgid, "infno": infno, "rule": rule.id, "fact_tag": rule.tag, "why_graded": rule.why,
                      **evidence},
        )  # fmt: skip


def load_rulebook(root: Path | None = None, grade_overrides: Mapping[str, str] | None = None) -> Rulebook:
    path = (root or default_root()) / RULES_FILE
    data = read_json(path)
    rules: dict[str, Rule] = {}
    try:
        for rule_id, raw in data["rules"].items():
            rules[rule_id] = Rule(rule_id, Grade(raw["grade"]), raw["tag"], raw["title"], raw["title_zh"], raw["why"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SpecError("specs/client-rules.json is malformed", location=str(path), detail=str(exc)) from exc
    return Rulebook(rules, grade_overrides)
