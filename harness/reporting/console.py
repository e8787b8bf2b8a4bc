"""Terminal output of a run: notable runner events as they happen, and the summary tables at the end.

Per-scenario progress is pytest's own (the CLI runs pytest in process); this module adds what
pytest does not know: the circuit breaker, unknown outcomes resolved with 2601, the embedded
platform's address, and the tables by business area and by interface.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

from harness.model import Failure, Grade, Outcome, RunEvent, Scenario, ScenarioResult
from harness.specs import GRADE_LABELS
from harness.specs.findings_zh import reason_both, title_en, title_zh
from harness.verdict import Summary, is_advisory, is_inconclusive, is_must_finding

__all__ = ["AREA_NAMES_ZH", "ConsoleReporter", "render_findings", "render_rows", "render_summary", "render_table",
           "text_width"]

AREA_NAMES_ZH: dict[str, str] = {
    "sign-in": "签到", "person": "人员信息", "filing": "备案", "outpatient": "门诊", "inpatient": "住院",
    "chronic": "门诊慢特病", "pharmacy": "药店", "reversal": "撤销与冲正", "idempotency": "幂等与重复",
    "reconciliation": "对账", "query": "查询", "protocol": "协议校验", "envelope": "报文", "file": "文件",
}


class ConsoleReporter:
    """Listens to runner events and writes the ones a person running the suite must see at once."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def __call__(self, event: RunEvent) -> None:
        if event.kind == "breaker-open":
            self.write(f"\nhsa-cert: {reason_both(str(event.payload.get('reason')))}; the remaining scenarios are not "
                       "sent.\n")
        elif event.kind == "report-error":
            self.write(f"hsa-cert: {event.payload.get('reason')}")
        elif event.kind == "unknown-outcome" and not event.payload.get("designed"):  # not a drop the scenario made
            self.write(f"\nhsa-cert: {event.scenario_id}: {event.payload.get('notes')}\n")


def text_width(text: str) -> int:
    """Columns a terminal gives the text: 中文 (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_width = text_width


def render_rows(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A plain text table whose columns line up with 中文 (double-width) cells too."""
    widths = [max(text_width(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c + " " * (w - text_width(c)) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


_COLUMNS = ("total", "passed", "failed", "inconcl.", "error", "not prov.", "n/a", "pass rate", "coverage")


def render_table(title: str, rows: Mapping[str, Summary], labels: Mapping[str, str] | None = None) -> str:
    labels = labels or {}
    names = [f"{key} {labels[key]}" if key in labels else key for key in rows]
    first = max([_width(title), *(_width(n) for n in names)])
    widths = [max(len(c), 5) for c in _COLUMNS]
    lines = [_pad(title, first) + "  " + "  ".join(_pad(c, w, True) for c, w in zip(_COLUMNS, widths, strict=True))]
    lines.append("-" * _width(lines[0]))
    for name, summary in zip(names, rows.values(), strict=True):
        cells = (summary.total, summary.passed, summary.failed, summary.inconclusive, summary.error,
                 summary.not_provisioned, summary.not_applicable, _rate(summary.pass_rate), _rate(summary.coverage))
        lines.append(_pad(name, first) + "  " + "  ".join(_pad(str(c), w, True)
                                                         for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


_LISTED = 20  # findings listed per section on the console; results.json and the certificate have them all


def _finding_line(scenario_id: str, failure: Failure) -> str:
    zh = title_zh(failure)
    return f"  {scenario_id}  [{failure.clause}] {title_en(failure)}" + (f"\n      {zh}" if zh else "")


class _Section:
    """One kind of finding as the results stream by: counted, the scenarios counted, the first _LISTED kept."""

    def __init__(self) -> None:
        self.count = 0
        self.scenarios = 0
        self.listed: list[tuple[str, Failure]] = []
        self._last = ""

    def add(self, scenario_id: str, failure: Failure) -> None:
        self.count += 1
        if scenario_id != self._last or self.scenarios == 0:  # a scenario's findings come together
            self.scenarios += 1
            self._last = scenario_id
        if len(self.listed) < _LISTED:
            self.listed.append((scenario_id, failure))

    def lines(self, title: str) -> list[str]:
        out = [f"{title}: {self.count} in {self.scenarios} scenario(s)"]
        out.extend(_finding_line(sid, f) for sid, f in self.listed)
        if self.count > _LISTED:
            out.append(f"  … and {self.count - _LISTED} more (results.json)")
        return out


def render_findings(results: Iterable[ScenarioResult], scenarios: Mapping[str, Scenario] | None = None) -> str:
    """MUST failures, SHOULD/MAY advisories and inconclusive scenarios, each counted and listed (bilingual).
    One pass over `results`, keeping only what is listed (they may be read from disk one at a time)."""
    musts, should, may = _Section(), _Section(), _Section()
    inconclusive = 0
    unsure: list[str] = []
    for r in results:
        for f in r.failures:
            if r.outcome is Outcome.FAILED and is_must_finding(f):
                musts.add(r.scenario_id, f)
            if is_advisory(f):
                (may if f.grade is Grade.MAY else should).add(r.scenario_id, f)
        if r.outcome is Outcome.INCONCLUSIVE:
            inconclusive += 1
            if len(unsure) < _LISTED:
                why = next((f"{f.title} {title_zh(f)}".rstrip() for f in r.failures if is_inconclusive(f)),
                           reason_both(r.reason))
                unsure.append(f"  {r.scenario_id}  {why}")
    lines: list[str] = []
    if musts.count:
        lines += musts.lines(f"{GRADE_LABELS[Grade.MUST]} failures 不符合项")
    if should.count:
        lines += should.lines(f"{GRADE_LABELS[Grade.SHOULD]} advisories 建议项")
    if may.count:
        lines += may.lines(f"{GRADE_LABELS[Grade.MAY]} notes 提示项")
    if inconclusive:
        lines.append(f"inconclusive 无法判定: {inconclusive} scenario(s), never counted as passed")
        lines.extend(unsure)
        if inconclusive > _LISTED:
            lines.append(f"  … and {inconclusive - _LISTED} more (results.json)")
    return "\n".join(lines)


def render_summary(summary: Summary, by_area: Mapping[str, Summary], by_interface: Mapping[str, Summary], *,
                   interface_names: Mapping[str, str] | None = None, notes: Sequence[str] = (),
                   results: Sequence[ScenarioResult] = (), scenarios: Mapping[str, Scenario] | None = None) -> str:
    parts = [
        render_table("business area 业务", by_area, AREA_NAMES_ZH),
        "",
        render_table("interface 接口", by_interface, interface_names),
        "",
    ]
    findings = render_findings(results, scenarios)
    if findings:
        parts += [findings, ""]
    parts.append(
        f"{summary.total} scenarios: {summary.passed} passed, {summary.failed} failed, {summary.inconclusive} "
        f"inconclusive, {summary.error} error, {summary.not_provisioned} not provisioned, {summary.not_applicable} "
        f"not applicable; pass rate {_rate(summary.pass_rate)} (passed / (passed + failed)), coverage "
        f"{_rate(summary.coverage)} (ran / applicable)")
    parts.extend(notes)
    return "\n".join(parts)
