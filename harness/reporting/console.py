"""Terminal output of a run: notable runner events as they happen, and the summary tables at the end.

Per-scenario progress is pytest's own (the CLI runs pytest in process); this module adds what
pytest does not know: the circuit breaker, unknown outcomes resolved with 2601, the embedded
platform's address, and the tables by business area and by interface.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence

from harness.model import RunEvent
from harness.verdict import Summary

__all__ = ["AREA_NAMES_ZH", "ConsoleReporter", "render_rows", "render_summary", "render_table", "text_width"]

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
            self.write(f"\nhsa-cert: {event.payload.get('reason')}; the remaining scenarios are not sent.\n")
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


_COLUMNS = ("total", "passed", "failed", "error", "not prov.", "n/a", "pass rate")


def render_table(title: str, rows: Mapping[str, Summary], labels: Mapping[str, str] | None = None) -> str:
    labels = labels or {}
    names = [f"{key} {labels[key]}" if key in labels else key for key in rows]
    first = max([_width(title), *(_width(n) for n in names)])
    widths = [max(len(c), 5) for c in _COLUMNS]
    lines = [_pad(title, first) + "  " + "  ".join(_pad(c, w, True) for c, w in zip(_COLUMNS, widths, strict=True))]
    lines.append("-" * _width(lines[0]))
    for name, summary in zip(names, rows.values(), strict=True):
        cells = (summary.total, summary.passed, summary.failed, summary.error, summary.not_provisioned,
                 summary.not_applicable, _rate(summary.pass_rate))
        lines.append(_pad(name, first) + "  " + "  ".join(_pad(str(c), w, True)
                                                         for c, w in zip(cells, widths, strict=True)))
    return "\n".join(lines)


def render_summary(summary: Summary, by_area: Mapping[str, Summary], by_interface: Mapping[str, Summary], *,
                   interface_names: Mapping[str, str] | None = None, notes: Sequence[str] = ()) -> str:
    parts = [
        render_table("business area 业务", by_area, AREA_NAMES_ZH),
        "",
        render_table("interface 接口", by_interface, interface_names),
        "",
        (f"{summary.total} scenarios: {summary.passed} passed, {summary.failed} failed, {summary.error} error, "
         f"{summary.not_provisioned} not provisioned, {summary.not_applicable} not applicable; "
         f"pass rate {_rate(summary.pass_rate)}"),
    ]
    parts.extend(notes)
    return "\n".join(parts)
