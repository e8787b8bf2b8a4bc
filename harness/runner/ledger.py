"""The harness's own ledger: every settlement and reversal it saw succeed, for 3201 reconciliation.

After a suite, reconciling (3201) what the harness itself recorded must come out balanced: the site
and the harness must agree on every settlement row. The runner records one row per successful
settlement (2102/2207/2304, positive amounts) and per successful reversal (2103/2208/2305, its own
row with the amounts the site returned, negative), and voids a row when a 2601 冲正 of its msgid
succeeds. A 3201 step asks for totals with `{{ ledger.<field> }}`; the filter is the step's own
input: insutype, clr_type, setl_optins (or clr_optins), stmt_begndate..stmt_enddate by settlement
date, refd_setl_flag (0 settlements, 1 reversals, empty both). A msgid seen again (a replay, answered
from the record) is not a second row. Rows a 3201 covered are marked reconciled, so the check
`recon.ledger_covered` can name rows that no reconciliation of the run looked at.

Re-runs against a persistent site add the rows of the day book (daybook.py) to a 3201's totals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from harness.checks import decimal_of
from harness.runner.ledgerrows import LedgerRows, RowFilter
from harness.runner.messages import infcode_of
from harness.scenarios.templates import LEDGER_FIELDS

if TYPE_CHECKING:  # the day book makes LedgerRows of its records: it imports this module
    from harness.runner.daybook import DayBook

__all__ = ["LEDGER_FIELDS", "REVERSAL", "SETTLEMENT", "Ledger", "LedgerRow", "fill_ledger", "first_node",
           "mentions_ledger", "protect", "unprotect"]

SETTLEMENT = frozenset({"2102", "2207", "2207A", "2304"})  # 2207A: the A version (IF §3.2)
REVERSAL = frozenset({"2103", "2208", "2305"})
LEDGER_EXPR = re.compile(r"\{\{\s*ledger\.([a-z_]+)\s*\}\}")
_ZERO = Decimal("0.00")


@dataclass(slots=True)
class LedgerRow:
    msgid: str
    fixmedins_code: str
    setl_id: str
    kind: str  # settle | reversal
    insutype: str
    clr_type: str
    clr_optins: str
    setl_date: str  # yyyy-MM-dd
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    psn_cash_pay: Decimal
    voided: bool = False
    reconciled: bool = False  # within the filter of some 3201 this run sent

    def describe(self) -> str:
        return (f"{self.kind} setl_id {self.setl_id or '?'} (insutype {self.insutype or '?'}, clr_type "
                f"{self.clr_type or '?'}, clr_optins {self.clr_optins or '?'}, {self.setl_date or 'no date'})")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class Ledger:
    def __init__(self, daybook: DayBook | None = None, *, parent: Ledger | None = None) -> None:
        # on disk, read as a list of LedgerRow (harness.runner.ledgerrows: a long run's rows lived in memory to its
        # end, issue 14); with them the (fixmedins_code, msgid) of every row recorded, for a replayed msgid
        self.rows = LedgerRows()
        self.daybook = daybook  # None: only this run's rows are reconciled (recon_scope "run")
        # `--jobs`: one scenario's own ledger, merged into the run's (`absorb`) in run order; the run's rows
        # are still found (a reversal's original, a 冲正'd msgid) while the scenario runs.
        self.parent = parent

    def absorb(self, other: Ledger) -> None:
        """Take the rows another ledger recorded (a scenario of a `--jobs` run), after this one's."""
        self.rows.extend(other.rows)
        for code, msgid in other.rows.noted():
            self.rows.note(code, msgid)

    def record(self, infno: str, request: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        """Note a successful exchange if it settled, reversed or 冲正'd something."""
        if infcode_of(response) != 0:  # a string "0" is success too (the type is reported by the schema check)
            return
        data = first_node(request.get("input"))
        if infno == "2601":
            omsgid = _text(data.get("omsgid"))
            self.rows.void(omsgid)
            if self.parent is not None:
                self.parent.rows.void(omsgid)
            if self.daybook is not None and omsgid:
                self.daybook.void(_text(request.get("fixmedins_code")), omsgid)
            return
        if infno not in SETTLEMENT and infno not in REVERSAL:
            return
        key = (_text(request.get("fixmedins_code")), _text(request.get("msgid")))
        if key[1] and (self.rows.seen(*key) or (self.parent is not None and self.parent.rows.seen(*key))):
            return  # a replayed msgid is the same message, answered from the record: one settlement, not two
        self.rows.note(*key)
        output = response.get("output") if isinstance(response.get("output"), Mapping) else {}
        info = output.get("setlinfo") if isinstance(output.get("setlinfo"), Mapping) else {}
        original = self._find(_text(data.get("setl_id"))) if infno in REVERSAL else None
        cash = info.get("psn_cash_pay", info.get("pdn_cash_pay"))
        row = LedgerRow(
            msgid=_text(request.get("msgid")),
            fixmedins_code=_text(request.get("fixmedins_code")),
            setl_id=_text(info.get("setl_id")),
            kind="reversal" if infno in REVERSAL else "settle",
            insutype=_text(info.get("insutype") or (original.insutype if original else data.get("insutype"))),
            clr_type=_text(info.get("clr_type") or (original.clr_type if original else "")),
            clr_optins=_text(info.get("clr_optins") or (original.clr_optins if original else "")),
            setl_date=_text(info.get("setl_time"))[:10],
            medfee_sumamt=decimal_of(info.get("medfee_sumamt")) or _ZERO,
            fund_pay_sumamt=decimal_of(info.get("fund_pay_sumamt")) or _ZERO,
            acct_pay=decimal_of(info.get("acct_pay")) or _ZERO,
            psn_cash_pay=decimal_of(cash) or _ZERO,
        )
        self.rows.append(row)
        if self.daybook is not None:
            self.daybook.add(row)

    def _find(self, setl_id: str) -> LedgerRow | None:
        if not setl_id:
            return None
        found = self.rows.settlement(setl_id)
        if found is None and self.parent is not None:
            found = self.parent.rows.settlement(setl_id)
        return found

    def totals(self, fixmedins_code: str, query: Mapping[str, Any]) -> dict[str, Any]:
        """The ledger's totals for a 3201 input (`query` is its data node); the rows it covers count as reconciled."""
        begin = _text(query.get("stmt_begndate"))[:10]
        end = _text(query.get("stmt_enddate"))[:10]
        optins = _text(query.get("setl_optins") or query.get("clr_optins"))
        flag = _text(query.get("refd_setl_flag") or query.get("fixmedins_refd_setl_flag"))
        wanted: RowFilter = (
            fixmedins_code, _text(query.get("insutype")) if query.get("insutype") else None,
            _text(query.get("clr_type")) if query.get("clr_type") else None,
            # clr_optins is optional in a settlement's answer: a row without one counts for the agency asked
            optins, begin, end, ("reversal" if flag == "1" else "settle") if flag in ("0", "1") else None)
        # this run's rows summed on disk (the end-of-run 3201 covers them all), then the earlier runs' in the day book
        count, medfee, fund, acct, cash = self.rows.sums(wanted, mark=True)
        if self.daybook is not None:
            more, more_medfee, more_fund, more_acct, more_cash = self.daybook.sums(wanted)
            count, medfee, fund = count + more, medfee + more_medfee, fund + more_fund
            acct, cash = acct + more_acct, cash + more_cash
        return {
            "medfee_sumamt": medfee,
            "fund_pay_sumamt": fund,
            "acct_pay": acct,
            "psn_cash_pay": cash,
            "cash_payamt": cash,
            "fixmedins_setl_cnt": count,
        }


    def unreconciled(self, fixmedins_code: str) -> list[LedgerRow]:
        """Standing rows of an institution that no 3201 of this run covered (a gap in the suite's reconciliation)."""
        return self.rows.unreconciled(fixmedins_code)

    def close(self) -> None:
        """Let the rows' temporary database go (the ledger is empty after)."""
        self.rows.close()


def covers(wanted: RowFilter, row: LedgerRow) -> bool:
    """Whether a 3201 with this filter covers the row (what `LedgerRows.covered` selects in SQL)."""
    code, insutype, clr_type, optins, begin, end, kind = wanted
    return (not row.voided and row.fixmedins_code == code
            and (insutype is None or row.insutype == insutype) and (clr_type is None or row.clr_type == clr_type)
            and (not optins or not row.clr_optins or row.clr_optins == optins)
            and (not begin or row.setl_date >= begin) and (not end or row.setl_date <= end)
            and (kind is None or row.kind == kind))


def first_node(value: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        for node in value.values():
            if isinstance(node, Mapping):
                return node
    return {}


def mentions_ledger(value: Any) -> bool:
    if isinstance(value, str):
        return "ledger." in value and LEDGER_EXPR.search(value) is not None
    if isinstance(value, Mapping):
        return any(mentions_ledger(v) for v in value.values())
    if isinstance(value, list):
        return any(mentions_ledger(v) for v in value)
    return False


def fill_ledger(value: Any, totals: Mapping[str, Any]) -> Any:
    """Replace `{{ ledger.<field> }}`: a whole-string expression keeps the number, else it is text."""
    if isinstance(value, str):
        for name in LEDGER_EXPR.findall(value):
            if name not in totals:
                raise ValueError(f"unknown ledger field {name!r}; known: {', '.join(LEDGER_FIELDS)}")
        whole = LEDGER_EXPR.fullmatch(value.strip())
        if whole:
            return totals[whole.group(1)]
        return LEDGER_EXPR.sub(lambda m: str(totals[m.group(1)]), value)
    if isinstance(value, Mapping):
        return {k: fill_ledger(v, totals) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_ledger(v, totals) for v in value]
    return value


def protect(value: Any) -> Any:
    """Hide ledger expressions from the scenario template renderer (they are filled afterwards)."""
    if isinstance(value, str):
        return LEDGER_EXPR.sub(lambda m: f"\x00ledger.{m.group(1)}\x00", value)
    if isinstance(value, Mapping):
        return {k: protect(v) for k, v in value.items()}
    if isinstance(value, list):
        return [protect(v) for v in value]
    return value


def unprotect(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00ledger.", "{{ ledger.").replace("\x00", " }}")
    if isinstance(value, Mapping):
        return {k: unprotect(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unprotect(v) for v in value]
    return value
