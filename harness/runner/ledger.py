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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from harness.checks import decimal_of
from harness.scenarios.templates import LEDGER_FIELDS

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
    def __init__(self) -> None:
        self.rows: list[LedgerRow] = []
        self._msgids: set[tuple[str, str]] = set()

    def record(self, infno: str, request: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        """Note a successful exchange if it settled, reversed or 冲正'd something."""
        if response.get("infcode") != 0:
            return
        data = first_node(request.get("input"))
        if infno == "2601":
            omsgid = _text(data.get("omsgid"))
            for row in self.rows:
                if row.msgid == omsgid:
                    row.voided = True
            return
        if infno not in SETTLEMENT and infno not in REVERSAL:
            return
        key = (_text(request.get("fixmedins_code")), _text(request.get("msgid")))
        if key[1] and key in self._msgids:
            return  # a replayed msgid is the same message, answered from the record: one settlement, not two
        self._msgids.add(key)
        output = response.get("output") if isinstance(response.get("output"), Mapping) else {}
        info = output.get("setlinfo") if isinstance(output.get("setlinfo"), Mapping) else {}
        original = self._find(_text(data.get("setl_id"))) if infno in REVERSAL else None
        cash = info.get("psn_cash_pay", info.get("pdn_cash_pay"))
        self.rows.append(LedgerRow(
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
        ))

    def _find(self, setl_id: str) -> LedgerRow | None:
        return next((row for row in self.rows if setl_id and row.setl_id == setl_id and row.kind == "settle"), None)

    def totals(self, fixmedins_code: str, query: Mapping[str, Any]) -> dict[str, Any]:
        """The ledger's totals for a 3201 input (`query` is its data node); the rows it covers count as reconciled."""
        begin = _text(query.get("stmt_begndate"))[:10]
        end = _text(query.get("stmt_enddate"))[:10]
        optins = _text(query.get("setl_optins") or query.get("clr_optins"))
        flag = _text(query.get("refd_setl_flag") or query.get("fixmedins_refd_setl_flag"))
        chosen = [
            row for row in self.rows
            if not row.voided and row.fixmedins_code == fixmedins_code
            and (not query.get("insutype") or row.insutype == _text(query.get("insutype")))
            and (not query.get("clr_type") or row.clr_type == _text(query.get("clr_type")))
            and (not optins or row.clr_optins == optins)
            and (not begin or row.setl_date >= begin) and (not end or row.setl_date <= end)
            and (flag not in ("0", "1") or row.kind == ("reversal" if flag == "1" else "settle"))
        ]
        for row in chosen:
            row.reconciled = True
        cash = sum((r.psn_cash_pay for r in chosen), _ZERO)
        return {
            "medfee_sumamt": sum((r.medfee_sumamt for r in chosen), _ZERO),
            "fund_pay_sumamt": sum((r.fund_pay_sumamt for r in chosen), _ZERO),
            "acct_pay": sum((r.acct_pay for r in chosen), _ZERO),
            "psn_cash_pay": cash,
            "cash_payamt": cash,
            "fixmedins_setl_cnt": len(chosen),
        }


    def unreconciled(self, fixmedins_code: str) -> list[LedgerRow]:
        """Standing rows of an institution that no 3201 of this run covered (a gap in the suite's reconciliation)."""
        return [row for row in self.rows
                if row.fixmedins_code == fixmedins_code and not row.voided and not row.reconciled]


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
