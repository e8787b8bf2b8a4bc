"""2601 冲正: undo a state-changing message whose outcome the caller never learnt.

The caller names the original message by `omsgid` (its msgid) and `oinfno` (its infno). Only the
profile's `reversible_by_2601` codes can be undone (otherwise 该交易不允许冲正). The platform finds
the message in its own record of what each message changed (isolation: only the institution that
sent it), and undoes exactly that:

| oinfno | undone by |
|---|---|
| 2102 / 2207 / 2304 | the settlement is voided: out of reconciliation, account restored, fee rows free |
| 2103 / 2208 / 2305 | the reversal is voided: the original settlement is live again, the account debited again |
| 2401 | the admission is cancelled (refused once the stay has a live settlement) |

Unlike 2208/2305/2103, 冲正 leaves no negative row behind: the record is gone, as if never sent.
A message that was refused, never arrived, or names another person is 结算信息不存在 (就诊信息不存在
for 2401); one already undone — by 冲正 or by a business reversal — is 该结算已撤销，不能重复撤销.
"""

from __future__ import annotations

import json
from typing import Any

from harness.platform.calc import dec
from harness.platform.context import Call, handler
from harness.platform.refusals import Refusal
from harness.platform.settling import active_settlements
from harness.platform.state import load_person, load_settlement, load_visit, set_balance, update_visit

SETTLEMENTS = ("2102", "2207", "2207A", "2304")
REVERSALS = ("2103", "2208", "2305")


@handler("2601")
def correct(call: Call) -> None:
    data = call.obj("data")
    oinfno = str(data.get("oinfno") or "")
    if oinfno not in call.ctx.reversible:
        raise Refusal("not-reversible")
    unknown = Refusal("not-found") if oinfno == "2401" else Refusal("reversal-unknown")
    row = call.conn.execute(
        "SELECT infno, ok, effect, corrected FROM messages WHERE fixmedins_code = ? AND msgid = ?",
        (call.fixmedins_code, str(data.get("omsgid") or "")),
    ).fetchone()
    if row is None or row["infno"] != oinfno or not row["ok"]:
        raise unknown
    effect = json.loads(row["effect"])
    if effect.get("psn_no") != data.get("psn_no"):
        raise unknown
    if row["corrected"]:
        raise Refusal("reversal-repeated")
    if oinfno in SETTLEMENTS:
        if not call.switches.on("correction-does-not-undo"):
            _void_settlement(call, str(effect.get("setl_id")))
    elif oinfno in REVERSALS:
        _void_reversal(call, str(effect.get("setl_id")), effect.get("fee_ids") or [])
    elif oinfno == "2401":
        _void_admission(call, str(effect.get("mdtrt_id")))
    else:
        raise Refusal("not-reversible")
    call.conn.execute(
        "UPDATE messages SET corrected = 1 WHERE fixmedins_code = ? AND msgid = ?",
        (call.fixmedins_code, data.get("omsgid")),
    )
    call.effect.update(kind="correction", omsgid=data.get("omsgid"), psn_no=data.get("psn_no"))
    return None


def _acct_pay(info: Any) -> Any:
    return dec(info.get("acct_pay") or 0)


def _void_settlement(call: Call, setl_id: str) -> None:
    settlement = load_settlement(call.conn, setl_id, call.fixmedins_code)
    if settlement is None:
        raise Refusal("reversal-unknown")
    if settlement.status != "settled":
        raise Refusal("reversal-repeated")
    person = load_person(call.conn, settlement.psn_no)
    if person is not None:
        set_balance(call.conn, person.psn_no, person.balc + _acct_pay(settlement.setlinfo))
    call.conn.execute("UPDATE settlements SET status = 'voided' WHERE setl_id = ?", (setl_id,))
    call.conn.execute("UPDATE fees SET setl_id = NULL WHERE setl_id = ?", (setl_id,))


def _void_reversal(call: Call, setl_id: str, fee_ids: list[int]) -> None:
    reversal_row = load_settlement(call.conn, setl_id, call.fixmedins_code)
    if reversal_row is None or reversal_row.orig_setl_id is None:
        raise Refusal("reversal-unknown")
    if reversal_row.status != "settled":
        raise Refusal("reversal-repeated")
    original = load_settlement(call.conn, reversal_row.orig_setl_id, call.fixmedins_code)
    if original is None:
        raise Refusal("reversal-unknown")
    if active_settlements(call, original.mdtrt_id):
        raise Refusal("", "原结算的就诊已重新结算，不能冲正结算撤销")
    if fee_ids:
        marks = ",".join("?" for _ in fee_ids)
        taken = call.conn.execute(
            f"SELECT COUNT(*) AS n FROM fees WHERE id IN ({marks}) AND (setl_id IS NOT NULL OR status != 'active')",
            fee_ids,
        ).fetchone()["n"]
        if taken:
            raise Refusal("", "原结算的费用明细已变更，不能冲正结算撤销")
        call.conn.execute(f"UPDATE fees SET setl_id = ? WHERE id IN ({marks})", (original.setl_id, *fee_ids))
    person = load_person(call.conn, original.psn_no)
    if person is not None:
        set_balance(call.conn, person.psn_no, person.balc - _acct_pay(original.setlinfo))
    call.conn.execute("UPDATE settlements SET status = 'voided' WHERE setl_id = ?", (setl_id,))
    call.conn.execute("UPDATE settlements SET status = 'settled' WHERE setl_id = ?", (original.setl_id,))


def _void_admission(call: Call, mdtrt_id: str) -> None:
    visit = load_visit(call.conn, mdtrt_id, call.fixmedins_code)
    if visit is None:
        raise Refusal("not-found")
    if visit.status == "cancelled":
        raise Refusal("", "该入院登记已撤销，不能重复冲正")
    if active_settlements(call, mdtrt_id):
        raise Refusal("", "该就诊已结算，不能冲正入院办理")
    update_visit(call.conn, mdtrt_id, status="cancelled")
    call.conn.execute("UPDATE fees SET status = 'cancelled' WHERE mdtrt_id = ?", (mdtrt_id,))
