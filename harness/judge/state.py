"""What the platform issued to the client in a session, as the judge keeps it: sign_no, the insured regions of
1101, visits (mdtrt_id, fee batches, pre-settlements, discharge), settlements and reversals (for the end-of-day
totals), the calls whose outcome the client does not know, and the refusals it got.

`SessionState.apply` records one observed exchange after it was judged; the rules (flow_rules) read the state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from harness.judge.observed import Observed
from harness.judge.rulebook import Rulebook

__all__ = ["CENT", "PRESETTLE", "QUERIES", "REVERSE", "SETTLE", "Pending", "SessionState", "Settlement", "Visit",
           "dec", "money"]

SETTLE = {"2207": "11", "2304": "21", "2102": "41"}  # settlement -> clr_type
PRESETTLE = {"2206": "2207", "2303": "2304", "2101": "2102"}
REVERSE = {"2208": "2207", "2305": "2304", "2103": "2102"}
QUERIES = ("5201", "5203", "5204", "5205")
CENT = Decimal("0.01")


def dec(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


@dataclass
class Visit:
    psn_no: str
    kind: str  # outpatient | inpatient
    info_uploaded: bool = False
    batches: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)  # chrg_bchno (or "") -> rows
    fee_sns: set[str] = field(default_factory=set)
    presettled: set[str] = field(default_factory=set)
    discharged: bool = False
    settled: set[str] = field(default_factory=set)  # active setl_ids


@dataclass
class Settlement:
    setl_id: str
    mdtrt_id: str
    msgid: str
    infno: str
    row: dict[str, Any]  # insutype, clr_type, clr_optins, medfee_sumamt, fund_pay_sumamt, acct_pay (Decimal)
    active: bool = True


@dataclass
class Pending:
    """A state-changing call whose outcome the client does not know."""

    obs: Observed
    key: str
    visit: str
    case: str


@dataclass
class SessionState:
    book: Rulebook
    require_sign_in: bool
    state_changing: frozenset[str]
    sign_nos: dict[str, bool] = field(default_factory=dict)  # sign_no -> still valid
    signed_out_at: dict[str, str] = field(default_factory=dict)  # sign_no -> received_at of the 9002 that ended it
    insured: dict[str, set[str]] = field(default_factory=dict)  # psn_no -> insured regions from 1101
    # psn_no -> insured region of the plan's test person: judges insuplc_admdvs when the HIS sent no 1101 for them
    test_persons: dict[str, str] = field(default_factory=dict)
    msgids: dict[str, str] = field(default_factory=dict)  # msgid -> content key
    visits: dict[str, Visit] = field(default_factory=dict)
    settlements: dict[str, Settlement] = field(default_factory=dict)
    settlement_by_msgid: dict[str, str] = field(default_factory=dict)
    reversal_rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # reversal msgid -> signed row
    pending: dict[str, Pending] = field(default_factory=dict)  # msgid -> unknown outcome
    refused: dict[str, str] = field(default_factory=dict)  # content key -> msgid of the definite refusal
    sent_msgids: dict[str, str] = field(default_factory=dict)  # msgid -> infno
    answered: set[str] = field(default_factory=set)  # msgids whose answer the client got (at least once)
    # 2601s seen (omsgid -> (its msgid, oinfno)): a delayed call is observed after it is processed, so the 冲正 the
    # client sent on its timeout may be observed before the call it corrects
    corrections: dict[str, tuple[str, str]] = field(default_factory=dict)
    sold: dict[str, str] = field(default_factory=dict)  # pharmacy feedetl_sn -> setl_id of the sale that settled it


    # --- what the platform issued -----------------------------------------------------------------

    def apply(self, obs: Observed, key: str, case: str) -> None:
        env = obs.envelope or {}
        if obs.msgid:
            self.msgids.setdefault(obs.msgid, key)
            self.sent_msgids.setdefault(obs.msgid, obs.infno)
        if obs.msgid and not obs.lost:
            self.answered.add(obs.msgid)
        # a delayed call is observed after it is processed: its same-msgid resend may have been answered before
        if obs.lost and obs.infno in self.state_changing and obs.msgid not in self.pending \
                and obs.msgid not in self.corrections and obs.msgid not in self.answered:
            self.pending[obs.msgid] = Pending(obs, key, self._visit_key(obs), case)
        if not obs.lost and obs.outcome == "refused" and (obs.infno in SETTLE or obs.infno in PRESETTLE) \
                and obs.cause not in ("invalid-request", "not-signed-in", "msgid-conflict", "screened"):
            self.refused.setdefault(key, obs.msgid)
        if not obs.committed or obs.replayed:
            return
        out = obs.output()
        infno = obs.infno
        if infno == "9001":
            sign_no = str((out.get("signinoutb") or {}).get("sign_no") or "")
            if sign_no:
                self.sign_nos[sign_no] = True
        elif infno == "9002":
            sign_no = str(env.get("sign_no") or (obs.node("signOut") or {}).get("sign_no") or "")
            if sign_no in self.sign_nos:
                self.sign_nos[sign_no] = False
                self.signed_out_at.setdefault(sign_no, obs.received_at)
        elif infno == "1101":
            psn_no = str((out.get("baseinfo") or {}).get("psn_no") or "")
            regions = {str(r.get("insuplc_admdvs") or r.get("insu_admdvs") or "") for r in out.get("insuinfo") or []
                       if isinstance(r, Mapping)} - {""}
            if psn_no and regions:
                self.insured[psn_no] = regions
        elif infno in ("2201", "2401"):
            node = out.get("data") or out.get("result") or {}
            if node.get("mdtrt_id"):
                self.visits[str(node["mdtrt_id"])] = Visit(obs.psn_no(), "outpatient" if infno == "2201" else
                                                           "inpatient")
        else:
            self._apply_visit(obs, out)

    def _apply_visit(self, obs: Observed, out: Mapping[str, Any]) -> None:
        infno = obs.infno
        data = obs.data()
        if infno == "2203":
            visit = self.visits.get(str((obs.node("mdtrtinfo") or {}).get("mdtrt_id") or ""))
            if visit is not None:
                visit.info_uploaded = True
        elif infno in ("2204", "2301"):
            rows = [r for r in obs.node("feedetail") or [] if isinstance(r, Mapping)]
            visit = self.visits.get(str(rows[0].get("mdtrt_id") or "")) if rows else None
            if visit is not None:
                for row in rows:
                    visit.batches.setdefault(str(row.get("chrg_bchno") or ""), []).append(row)
                    visit.fee_sns.add(str(row.get("feedetl_sn")))
        elif infno in ("2205", "2302"):
            visit = self.visits.get(str(data.get("mdtrt_id") or ""))
            which = str(data.get("chrg_bchno") or data.get("feedetl_sn") or "")
            if visit is not None:
                drop = list(visit.batches) if which == "0000" or infno == "2302" else [which]
                for batch in drop:
                    for row in visit.batches.pop(batch, []):
                        visit.fee_sns.discard(str(row.get("feedetl_sn")))
        elif infno == "2402":
            visit = self.visits.get(str((obs.node("dscginfo") or {}).get("mdtrt_id") or ""))
            if visit is not None:
                visit.discharged = True
        elif infno in PRESETTLE:
            visit = self.visits.get(str(data.get("mdtrt_id") or ""))
            if visit is not None:
                visit.presettled.add(str(data.get("chrg_bchno") or "") if visit.kind == "outpatient" else "")
        elif infno in SETTLE:
            self._settled(obs, out)
        elif infno in REVERSE:
            self._reversed(obs, out)
        elif infno == "2601":
            self._corrected(str(data.get("omsgid") or ""))

    def _row(self, info: Mapping[str, Any], infno: str, fallback: Mapping[str, Any] | None = None) -> dict[str, Any]:
        base = fallback or {}
        return {
            "insutype": str(info.get("insutype") or base.get("insutype") or ""),
            "clr_type": str(info.get("clr_type") or base.get("clr_type") or SETTLE.get(REVERSE.get(infno, infno), "")),
            "clr_optins": str(info.get("clr_optins") or base.get("clr_optins") or ""),
            **{k: dec(info.get(k)) or Decimal("0.00") for k in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")},
        }

    def _settled(self, obs: Observed, out: Mapping[str, Any]) -> None:
        info = out.get("setlinfo") or {}
        setl_id = str(info.get("setl_id") or "")
        if not setl_id:
            return
        mdtrt_id = str(obs.data().get("mdtrt_id") or info.get("mdtrt_id") or "")
        for row in obs.node("drugdetail") or []:
            if isinstance(row, Mapping):
                self.sold[str(row.get("feedetl_sn"))] = setl_id
        self.settlements[setl_id] = Settlement(setl_id, mdtrt_id, obs.msgid, obs.infno, self._row(info, obs.infno))
        self.settlement_by_msgid[obs.msgid] = setl_id
        visit = self.visits.get(mdtrt_id)
        if visit is not None:
            visit.settled.add(setl_id)
            if visit.kind == "outpatient":  # settled rows are spent: the next settlement needs a new batch
                visit.presettled.discard(str(obs.data().get("chrg_bchno") or ""))

    def _reversed(self, obs: Observed, out: Mapping[str, Any]) -> None:
        original = self.settlements.get(str(obs.data().get("setl_id") or ""))
        if original is None:
            return
        original.active = False
        self.sold = {sn: setl for sn, setl in self.sold.items() if setl != original.setl_id}
        visit = self.visits.get(original.mdtrt_id)
        if visit is not None:
            visit.settled.discard(original.setl_id)
        self.reversal_rows[obs.msgid] = self._row(out.get("setlinfo") or {}, obs.infno, original.row)

    def _corrected(self, omsgid: str) -> None:
        """2601 冲正 undoes the call as if it never happened: it is not reconciled at all."""
        setl_id = self.settlement_by_msgid.get(omsgid)
        if setl_id is not None:
            settlement = self.settlements[setl_id]
            settlement.active = False
            settlement.row["counted"] = False
            visit = self.visits.get(settlement.mdtrt_id)
            if visit is not None:
                visit.settled.discard(setl_id)
        self.reversal_rows.pop(omsgid, None)
