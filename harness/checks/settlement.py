"""Settlement checks: the msgid echo, pre-settlement equals settlement, reversal negates, account debited."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from harness.checks import history
from harness.checks.registry import (
    REVERSED_AMOUNTS,
    SETTLEMENT_AMOUNTS,
    Check,
    CheckContext,
    amount,
    check,
    decimal_of,
    need,
    setlinfo,
    show,
)
from harness.model import Failure, Grade, Severity


@check("settle.medins_setl_id", "R-MEDINS-SETL-ID-IS-MSGID")
def settle_medins_setl_id(ctx: CheckContext, chk: Check) -> list[Failure]:
    """setlinfo.medins_setl_id echoes the msgid of the settlement request."""
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    msgid = ctx.request.get("msgid")
    if info.get("medins_setl_id") != msgid:
        return [ctx.fail(chk, "medins_setl_id is not the request's msgid", expected=msgid,
                         actual=info.get("medins_setl_id", "missing"))]
    return []


def _saved_record(ctx: CheckContext, chk: Check, name: str,
                  hint: str) -> tuple[Mapping[str, Any] | None, list[Failure]]:
    value = ctx.saved.get(name)
    if isinstance(value, Mapping) and isinstance(value.get("setlinfo"), Mapping):
        value = value["setlinfo"]  # saved the whole output instead of output.setlinfo
    if not isinstance(value, Mapping):
        if ctx.automatic:
            return None, []
        return None, [ctx.fail(chk, f"suite bug: {chk.name} needs saved.{name}", expected=hint,
                               actual="not saved" if value is None else type(value).__name__)]
    return value, []


def _output_setlinfo(answer: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    out = answer.get("output") if answer else None
    info = out.get("setlinfo") if isinstance(out, Mapping) else None
    return info if isinstance(info, Mapping) else None


def _output_setldetail(answer: Mapping[str, Any] | None) -> list[Any] | None:
    out = answer.get("output") if answer else None
    rows = out.get("setldetail") if isinstance(out, Mapping) else None
    return rows if isinstance(rows, list) else None


# Inputs that decide a settlement's amounts: a pre-settlement is comparable only when it had the same ones.
_SAME_INPUT = ("psn_no", "mdtrt_id", "medfee_sumamt", "insutype", "acct_used_flag", "med_type", "chrg_bchno",
               "psn_setlway", "mid_setl_flag")


def _same_input(before: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    for name in _SAME_INPUT:
        a, b = before.get(name), now.get(name)
        if a is None and b is None:
            continue
        if a is None or b is None:
            return False  # one side did not say (e.g. acct_used_flag is optional in 2303): not comparable
        if (decimal_of(a) if name == "medfee_sumamt" else str(a)) != (decimal_of(b) if name == "medfee_sumamt"
                                                                        else str(b)):
            return False
    return True


def _presettlement(ctx: CheckContext) -> Mapping[str, Any] | None:
    """The pre-settlement of the same input earlier in this scenario, with nothing settled in between."""
    kind = history.PRESETTLEMENT_OF.get(ctx.infno)
    if kind is None:
        return None
    now = history.input_data(ctx.request)
    for answer in reversed(history.answers(ctx)):
        if answer.get("infno") in (*history.REVERSAL_OF, *history.PRESETTLEMENT_OF, "2601"):
            return None  # a settlement, reversal or 冲正 since: the account may have moved
        if answer.get("infno") == kind:
            data = answer.get("data")
            return _output_setlinfo(answer) if isinstance(data, Mapping) and _same_input(data, now) else None
    return None


@check("settle.matches_presettle", "R-PRESETTLE-EQUALS-SETTLE")
def settle_matches_presettle(ctx: CheckContext, chk: Check) -> list[Failure]:
    """Every amount of the pre-settlement (saved as `presettle`) equals the settlement's, and the settlement has
    its own setl_id (not one the pre-settlement returned).

    Run automatically (checks-by-interface.json), it finds the pre-settlement of the same input among the
    scenario's earlier answers, and stays silent when there is none.
    """
    if ctx.automatic:  # the scenario's own saved values may come from another step of the flow
        before, problems = _presettlement(ctx), []
    else:
        before, problems = _saved_record(ctx, chk, "presettle",
                                         "save: {presettle: output.setlinfo} on the 2206/2303 step")
    info, more = setlinfo(ctx, chk) if before is not None or not ctx.automatic else (None, [])
    if before is None or info is None:
        return problems + more
    for name in SETTLEMENT_AMOUNTS:
        spelling, expected, _ = amount(before, name)
        if expected is None:
            continue
        _, actual, present = amount(info, name)
        if actual != expected:
            problems.append(ctx.fail(chk, f"settlement {spelling} differs from the pre-settlement",
                                     severity=Severity.CRITICAL, expected=expected,
                                     actual=actual if present else "missing", field=name))
    early, final = before.get("setl_id"), info.get("setl_id")
    if early not in (None, "") and early == final:
        problems.append(ctx.fail(chk, "the settlement's setl_id is the one the pre-settlement returned",
                                 severity=Severity.CRITICAL, expected="a setl_id issued by the settlement",
                                 actual=final, detail="a pre-settlement commits nothing (interface-facts §6.1 [C]); "
                                 "the settlement issues its own setl_id"))
    return problems


def _original_settlement(ctx: CheckContext) -> Mapping[str, Any] | None:
    kind = history.REVERSAL_OF.get(ctx.infno)
    setl_id = history.input_data(ctx.request).get("setl_id")
    if kind is None or setl_id in (None, ""):
        return None
    return history.latest(ctx, {kind}, lambda a: (_output_setlinfo(a) or {}).get("setl_id") == setl_id)


@check("reversal.negates", "R-REVERSAL-NEGATES")
def reversal_negates(ctx: CheckContext, chk: Check) -> list[Failure]:
    """A reversal repeats each amount of the original settlement (saved as `settlement`) negated, and each of
    its setldetail rows (fund_payamt, inscp_scp_amt by fund_pay_type) negated.

    The original's setldetail comes from the scenario's earlier answer with the reversed setl_id. Run
    automatically, the original is that earlier answer, and the check stays silent when there is none.
    """
    remembered = _original_settlement(ctx)
    if ctx.automatic:
        original, problems = _output_setlinfo(remembered), []
    else:
        original, problems = _saved_record(ctx, chk, "settlement",
                                           "save: {settlement: output.setlinfo} on the 2207/2304 step")
    info, more = setlinfo(ctx, chk) if original is not None or not ctx.automatic else (None, [])
    if original is None or info is None:
        return problems + more
    _, missing = need(ctx, chk, info, ("medfee_sumamt", "fund_pay_sumamt", "acct_pay"), "setlinfo")
    problems.extend(missing)
    for name in REVERSED_AMOUNTS:
        _, settled, _ = amount(original, name)
        spelling, reversed_amount, present = amount(info, name)
        if settled is None or not present:
            continue
        if reversed_amount != -settled:
            problems.append(ctx.fail(chk, f"reversal {spelling} is not the negated original",
                                     severity=Severity.CRITICAL, expected=-settled, actual=reversed_amount, field=name))
    detail = _output_setldetail(remembered)
    reversed_id = (_output_setlinfo(remembered) or {}).get("setl_id")
    if detail is not None and original.get("setl_id") in (None, "", reversed_id):
        problems.extend(_detail_negated(ctx, chk, detail))
    return problems


def _detail_negated(ctx: CheckContext, chk: Check, original: list[Any]) -> list[Failure]:
    rows = ctx.output.get("setldetail") if isinstance(ctx.output, Mapping) else None
    wanted = [r for r in original if isinstance(r, Mapping) and decimal_of(r.get("fund_payamt"))]
    if not wanted:
        return []
    if not isinstance(rows, list):
        return [ctx.fail(chk, "the reversal has no setldetail to repeat the original's fund rows negated",
                         grade=Grade.SHOULD, expected=f"{len(wanted)} setldetail row(s)", actual="missing")]
    left = [r for r in rows if isinstance(r, Mapping)]
    problems = []
    for row in wanted:
        fund, paid = row.get("fund_pay_type"), decimal_of(row.get("fund_payamt"))
        match = next((r for r in left if r.get("fund_pay_type") == fund
                      and decimal_of(r.get("fund_payamt")) == -paid), None)  # type: ignore[operator]
        if match is None:
            found = [show(decimal_of(r.get("fund_payamt"))) for r in left if r.get("fund_pay_type") == fund]
            problems.append(ctx.fail(chk, f"reversal setldetail of fund {fund} is not the negated original",
                                     severity=Severity.CRITICAL, expected=-paid,  # type: ignore[operator]
                                     actual=", ".join(found) or "no row", field=f"setldetail[{fund}].fund_payamt"))
            continue
        left.remove(match)
        scope, now = decimal_of(row.get("inscp_scp_amt")), decimal_of(match.get("inscp_scp_amt"))
        if scope is not None and now is not None and now != -scope:
            problems.append(ctx.fail(chk, f"reversal setldetail inscp_scp_amt of fund {fund} is not the negated "
                                     "original", severity=Severity.CRITICAL, expected=-scope, actual=now,
                                     field=f"setldetail[{fund}].inscp_scp_amt"))
    return problems


def _balance_before(ctx: CheckContext) -> Decimal | None:
    """The person's account balance as the scenario's latest earlier answer gave it: a settlement or
    reversal of the same person (its setlinfo.balc) or the 1101 person query (the insuinfo row of the
    settlement's insutype, or its only row). None when unknown, or when a 冲正 moved it since."""
    if history.replayed(ctx):
        return None  # a replay is answered from the record, with the balance of that time
    data = history.input_data(ctx.request)
    psn_no, insutype = data.get("psn_no"), data.get("insutype")
    moving = (*history.PRESETTLEMENT_OF, *history.REVERSAL_OF)
    for answer in reversed(history.answers(ctx)):
        infno, info = answer.get("infno"), _output_setlinfo(answer)
        if infno == "2601":
            return None
        if infno in moving and info is not None and info.get("psn_no", psn_no) == psn_no:
            return decimal_of(info.get("balc"))
        if infno == "1101":
            out = answer.get("output") if isinstance(answer.get("output"), Mapping) else {}
            base = out.get("baseinfo") if isinstance(out.get("baseinfo"), Mapping) else {}
            if psn_no in (None, "") or base.get("psn_no") != psn_no:
                continue
            rows = [r for r in out.get("insuinfo") or () if isinstance(r, Mapping)]
            same = [r for r in rows if insutype not in (None, "") and r.get("insutype") == insutype]
            row = same[0] if same else rows[0] if len(rows) == 1 else None
            return decimal_of(row.get("balc")) if row is not None else None
    return None


@check("settle.account_debited", "R-ACCOUNT-DEBITED")
def settle_account_debited(ctx: CheckContext, chk: Check) -> list[Failure]:
    """The balance after settlement is the balance before (saved as `balc_before`) minus acct_pay.

    Run automatically, the balance before is the scenario's latest earlier answer about the person (1101, or a
    settlement or reversal); a reversal (negative acct_pay) restores the account. Silent when it is unknown.
    """
    before = _balance_before(ctx) if ctx.automatic else decimal_of(ctx.saved.get("balc_before"))
    if ctx.automatic and before is None:
        return []
    if before is None:
        return [ctx.fail(chk, "suite bug: settle.account_debited needs saved.balc_before",
                         expected="save: {balc_before: output.insuinfo[0].balc} on the 1101 step",
                         actual=ctx.saved.get("balc_before", "not saved"))]
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    values, problems = need(ctx, chk, info, ("acct_pay",), "setlinfo")
    balc = decimal_of(info.get("balc"))
    if balc is None:
        problems.append(ctx.fail(chk, "setlinfo.balc is missing", expected="the balance after settlement",
                                 actual=info.get("balc", "missing")))
    if problems:
        return problems
    debit = values["acct_pay"]
    if ctx.infno in history.REVERSAL_OF:
        debit = -abs(debit)  # a reversal gives the account back, whichever sign it reports acct_pay with
    expected = before - debit
    if balc != expected:
        return [ctx.fail(chk, "balc is not the balance before minus acct_pay", severity=Severity.CRITICAL,
                         expected=expected, actual=balc,
                         detail=f"{show(before)} - {show(debit)} = {show(expected)}")]
    return []


