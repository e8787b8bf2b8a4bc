"""Rules across exchanges: sign-in, msgid reuse, insured region, sequencing, money, fault reaction, end of day.

`FlowState` is fed every observed exchange of a session in arrival order (`judge`), returns the
findings about it, and remembers what the platform issued (sign_no, mdtrt_id, setl_id, the insured
region of 1101) and what the client left unresolved. It is written from the spec, apart from the
platform's own logic: the platform decides, the judge only watches what the client asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from harness.judge.observed import Observed, content_key
from harness.judge.state import CENT, PRESETTLE, QUERIES, REVERSE, SETTLE, Pending, SessionState, Visit, dec, money
from harness.model import Failure

__all__ = ["FlowState", "Pending"]


@dataclass
class FlowState(SessionState):
    """The session's state plus the rules that read it: `judge` one exchange, in arrival order."""

    # --- one exchange ------------------------------------------------------------------------------

    def judge(self, obs: Observed, case: str) -> list[Failure]:
        env = obs.envelope
        if env is None:
            return []
        found: list[Failure] = []
        f = self._finder(obs, found)
        key = content_key(obs.infno, env)
        self._sign_in(obs, f)
        self._msgid(obs, key, f)
        self._insured_region(obs, env, f)
        # The same msgid with the same content again (after a lost answer, or a HTTP layer's retry) is a resend: the
        # platform answers it from its record, so it is neither a second settlement nor a blind retry.
        resend = bool(obs.msgid) and self.msgids.get(obs.msgid) == key
        if not resend:
            self._blind_resend(obs, key, f)
            self._sequence(obs, f)
            self._money(obs, f)
        self._refused_retry(obs, key, f)  # a definite refusal is not retried unchanged, not even with its msgid
        self._resolve(obs, resend, f)
        if obs.infno == "3201":
            self._end_of_day(obs, f)
        self.apply(obs, key, case)
        return found

    def unresolved(self, case: str | None = None) -> list[Pending]:
        return [p for p in self.pending.values() if case is None or p.case == case]

    def close_case(self, case: str) -> list[Pending]:
        """The unknown outcomes a case leaves behind (they are findings of that case), forgotten afterwards."""
        left = self.unresolved(case)
        for p in left:
            self.pending.pop(p.obs.msgid, None)
        return left

    def unknown_corrections(self) -> list[tuple[str, str]]:
        """(2601 msgid, omsgid) of every 冲正 naming a msgid this HIS never sent (checked once all is observed)."""
        return [(mine, omsgid) for omsgid, (mine, _) in self.corrections.items() if omsgid not in self.sent_msgids]

    def _finder(self, obs: Observed, found: list[Failure]) -> Any:
        def f(rule: str, **kw: Any) -> None:
            found.append(self.book.finding(rule, msgid=obs.msgid, infno=obs.infno, **kw))
        return f

    # --- envelope rules that need the session -------------------------------------------------------

    def _sign_in(self, obs: Observed, f: Any) -> None:
        if obs.infno == "9001" or not self.require_sign_in:
            return
        sign_no = str((obs.envelope or {}).get("sign_no") or "")
        if obs.infno == "9002" and not sign_no:
            sign_no = str((obs.node("signOut") or {}).get("sign_no") or "")
        if not self.sign_nos:
            f("CLI-SIGN-IN-FIRST", detail="no 9001 sign-in was answered before this call")
        elif sign_no not in self.sign_nos:
            f("CLI-SIGN-NO", expected="the sign_no 9001 returned", actual=repr(sign_no))
        elif not self.sign_nos[sign_no] and obs.received_at >= self.signed_out_at.get(sign_no, ""):
            # (a call sent before the sign-out but observed after it, because the platform delayed it, is fine)
            f("CLI-SIGN-NO-RENEWED", actual=sign_no, detail="this sign_no was signed out by 9002; sign in again")

    def _msgid(self, obs: Observed, key: str, f: Any) -> None:
        known = self.msgids.get(obs.msgid)
        if obs.msgid and known is not None and known != key:
            f("CLI-MSGID-UNIQUE", actual=obs.msgid, detail=f"first used for {known.partition(':')[0]}")

    def _insured_region(self, obs: Observed, env: Mapping[str, Any], f: Any) -> None:
        psn_no = obs.psn_no()
        regions = self.insured.get(psn_no)
        source = "1101 returned the insured region"
        if not regions and self.test_persons.get(psn_no):  # (the platform serves it as the person's: judge it here)
            regions, source = {self.test_persons[psn_no]}, "no 1101 was observed; the test person's insured region"
        if obs.infno == "1101" or not regions:
            return
        sent = str(env.get("insuplc_admdvs") or "")
        if sent not in regions:
            f("CLI-INSUPLC", expected=" or ".join(sorted(regions)), actual=repr(sent),
              detail=f"{source} of psn_no {psn_no}")

    # --- sequencing -------------------------------------------------------------------------------

    def _visit(self, obs: Observed, f: Any, *, node: str = "data") -> Visit | None:
        source = obs.node(node)
        if isinstance(source, list):
            source = source[0] if source else {}
        mdtrt_id = str((source or {}).get("mdtrt_id") or "") if isinstance(source, Mapping) else ""
        visit = self.visits.get(mdtrt_id)
        if visit is None:
            f("CLI-SEQ-ORDER", actual=f"mdtrt_id {mdtrt_id!r}",
              detail="this mdtrt_id was never returned by 2201/2401 in this session: register first",
              expected="the mdtrt_id the platform returned")
        return visit

    def _sequence(self, obs: Observed, f: Any) -> None:
        infno = obs.infno
        if infno == "2203":
            self._visit(obs, f, node="mdtrtinfo")
        elif infno in ("2204", "2301"):
            rows = obs.node("feedetail") or []
            first = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], Mapping) else {}
            visit = self.visits.get(str(first.get("mdtrt_id") or ""))
            if visit is None:
                f("CLI-SEQ-ORDER", actual=f"mdtrt_id {first.get('mdtrt_id')!r}",
                  detail="fee rows for a visit the platform never registered")
                return
            if infno == "2204" and not visit.info_uploaded:
                f("CLI-SEQ-ORDER", detail="fee rows (2204) before the visit information (2203)",
                  expected="2201 → 2203 → 2204")
            again = sorted({str(r.get("feedetl_sn")) for r in rows if isinstance(r, Mapping)} & visit.fee_sns)
            if again:
                f("CLI-FEE-REUPLOAD", actual="feedetl_sn " + ", ".join(again[:5]),
                  detail="these rows are already uploaded: cancel them (2205/2302) before uploading again")
        elif infno == "2102":
            sns = {str(r.get("feedetl_sn")) for r in obs.node("drugdetail") or [] if isinstance(r, Mapping)}
            again = sorted(sn for sn in sns if sn in self.sold)
            if again:
                f("CLI-SETTLE-TWICE", actual="feedetl_sn " + ", ".join(again[:5]),
                  detail="these drug rows are already settled as " + self.sold[again[0]] + "; cancel (2103) first")
        elif infno in PRESETTLE or infno in SETTLE:
            visit = self._visit(obs, f) if (obs.data().get("mdtrt_id") or infno not in ("2101", "2102")) else None
            if visit is None:
                return
            data = obs.data()
            batch = str(data.get("chrg_bchno") or "") if visit.kind == "outpatient" else ""
            if visit.kind == "outpatient" and batch not in visit.batches:
                f("CLI-SEQ-ORDER", actual=f"chrg_bchno {batch!r}", detail="settling a batch that was never uploaded "
                  "(2204)", expected="2204 → 2206 → 2207")
            if infno in SETTLE and batch not in visit.presettled:
                f("CLI-SEQ-PRESETTLE", detail=f"no successful pre-settlement of this {'batch' if batch else 'stay'}")
            if infno == "2304" and not visit.discharged and str(data.get("mid_setl_flag") or "0") != "1":
                f("CLI-DISCHARGE-FIRST", detail="2304 with mid_setl_flag 0 before 2402 出院办理")
            if infno in SETTLE and visit.settled:
                f("CLI-SETTLE-TWICE", actual=f"mdtrt_id {data.get('mdtrt_id')}",
                  detail="already settled as " + ", ".join(sorted(visit.settled)) + "; cancel (2208) or 冲正 first")
        elif infno in REVERSE:
            setl_id = str(obs.data().get("setl_id") or "")
            known = self.settlements.get(setl_id)
            if known is None or known.mdtrt_id != str(obs.data().get("mdtrt_id") or known.mdtrt_id):
                f("CLI-REF-IDS", actual=f"setl_id {setl_id!r}", expected="a setl_id the platform returned for "
                  "this visit")

    def _money(self, obs: Observed, f: Any) -> None:
        if obs.infno in ("2204", "2301"):
            self._money_rows([r for r in obs.node("feedetail") or [] if isinstance(r, Mapping)], f)
        elif obs.infno in ("2101", "2102"):
            info = obs.node("druginfo") or {}
            rows = [r for r in obs.node("drugdetail") or [] if isinstance(r, Mapping)]
            self._money_rows(rows, f)
            sent = dec(info.get("medfee_sumamt")) if isinstance(info, Mapping) else None
            total = money(sum((dec(r.get("det_item_fee_sumamt")) or Decimal(0) for r in rows), Decimal(0)))
            if sent is not None and rows and abs(total - sent) > CENT / 2:
                f("CLI-MONEY-SUM", expected=str(total), actual=str(sent), detail=f"{len(rows)} drugdetail rows")
        elif obs.infno in ("2206", "2207"):
            data = obs.data()
            visit = self.visits.get(str(data.get("mdtrt_id") or ""))
            rows = visit.batches.get(str(data.get("chrg_bchno") or "")) if visit else None
            sent = dec(data.get("medfee_sumamt"))
            if rows is None or sent is None:
                return
            total = money(sum((dec(r.get("det_item_fee_sumamt")) or Decimal(0) for r in rows), Decimal(0)))
            if abs(total - sent) > CENT / 2:
                f("CLI-MONEY-SUM", expected=str(total), actual=str(sent),
                  detail=f"chrg_bchno {data.get('chrg_bchno')}: {len(rows)} uploaded rows")

    @staticmethod
    def _money_rows(rows: list[Mapping[str, Any]], f: Any) -> None:
        for row in rows:
            pric, cnt, amount = (dec(row.get(k)) for k in ("pric", "cnt", "det_item_fee_sumamt"))
            if pric is None or cnt is None or amount is None:
                continue
            if abs(money(pric * cnt) - amount) > CENT / 2:
                f("CLI-MONEY-ROW", expected=str(money(pric * cnt)), actual=str(amount),
                  detail=f"feedetl_sn {row.get('feedetl_sn')}: {pric} × {cnt}")

    # --- fault reaction ---------------------------------------------------------------------------

    def _visit_key(self, obs: Observed) -> str:
        data = obs.data()
        return str(data.get("mdtrt_id") or data.get("psn_no") or "")

    def _blind_resend(self, obs: Observed, key: str, f: Any) -> None:
        if obs.infno not in self.state_changing:
            return
        visit = self._visit_key(obs)
        for p in self.pending.values():
            same_settlement = obs.infno in SETTLE and p.obs.infno == obs.infno and p.visit == visit
            if p.key == key or same_settlement:
                f("CLI-FAULT-BLIND-RESEND", actual=f"new msgid {obs.msgid}", expected=f"msgid {p.obs.msgid} again, "
                  "or 2601 冲正 / a query first", detail=f"the answer to {p.obs.infno} {p.obs.msgid} was lost",
                  lost_msgid=p.obs.msgid)
                return

    def _refused_retry(self, obs: Observed, key: str, f: Any) -> None:
        first = self.refused.get(key)
        if first is not None:
            f("CLI-REFUSED-RETRY", actual=f"msgid {obs.msgid}", detail=f"{obs.infno} {first} was refused; the same "
              "message was sent again", refused_msgid=first)

    def _resolve(self, obs: Observed, resend: bool, f: Any) -> None:
        if resend and not obs.lost:
            self.pending.pop(obs.msgid, None)  # the same msgid again: the platform answers from its record
            return
        if obs.infno == "2601":
            data = obs.data()
            omsgid, oinfno = str(data.get("omsgid") or ""), str(data.get("oinfno") or "")
            sent = self.sent_msgids.get(omsgid)
            self.corrections.setdefault(omsgid, (obs.msgid, oinfno))
            if sent is not None and sent != oinfno:
                f("CLI-REF-IDS", actual=f"oinfno {oinfno!r}", expected=sent, detail=f"omsgid {omsgid} was a {sent}")
            if not obs.lost and omsgid in self.pending:
                self.pending.pop(omsgid)
        elif obs.infno in QUERIES and not obs.lost:
            visit = str(obs.data().get("mdtrt_id") or obs.data().get("psn_no") or "")
            for msgid, p in list(self.pending.items()):
                if visit and visit in (p.visit, p.obs.psn_no()):
                    self.pending.pop(msgid)

    # --- end of day -------------------------------------------------------------------------------

    def _rows(self) -> list[dict[str, Any]]:
        """What the HIS settled as far as it can know: a call it sent 冲正 for is not its settlement, even when the
        platform processed the call after the 冲正 (a delay before processing) and so kept it."""
        rows = [dict(s.row, refd="0") for s in self.settlements.values()
                if s.row.get("counted", True) and s.msgid not in self.corrections]
        return rows + [dict(r, refd="1") for r in self.reversal_rows.values()]

    def _end_of_day(self, obs: Observed, f: Any) -> None:
        data = obs.data()
        rows = [r for r in self._rows() if r["clr_type"] == str(data.get("clr_type") or "")
                and (not data.get("insutype") or r["insutype"] == str(data.get("insutype")))
                and (not data.get("setl_optins") or r["clr_optins"] == str(data.get("setl_optins")))
                and str(data.get("refd_setl_flag") or "") in ("", r["refd"])]
        expected = {
            "medfee_sumamt": sum((r["medfee_sumamt"] for r in rows), Decimal("0.00")),
            "fund_pay_sumamt": sum((r["fund_pay_sumamt"] for r in rows), Decimal("0.00")),
            "acct_pay": sum((r["acct_pay"] for r in rows), Decimal("0.00")),
        }
        wrong = [f"{k} {data.get(k)} ≠ {v}" for k, v in expected.items() if dec(data.get(k)) != v]
        if str(data.get("fixmedins_setl_cnt")) != str(len(rows)):
            wrong.append(f"fixmedins_setl_cnt {data.get('fixmedins_setl_cnt')} ≠ {len(rows)}")
        if wrong:
            f("CLI-EOD-TOTALS", expected=", ".join(f"{k} {v}" for k, v in expected.items()) + f", {len(rows)} rows",
              actual="; ".join(wrong), detail="what the platform settled for this HIS in this session")

