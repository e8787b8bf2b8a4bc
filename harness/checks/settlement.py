"""Settlement checks: the msgid echo, pre-settlement equals settlement, reversal negates, account debited."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from harness.model import Failure, Severity


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
        return None, [ctx.fail(chk, f"suite bug: {chk.name} needs saved.{name}", expected=hint,
                               actual="not saved" if value is None else type(value).__name__)]
    return value, []


@check("settle.matches_presettle", "R-PRESETTLE-EQUALS-SETTLE")
def settle_matches_presettle(ctx: CheckContext, chk: Check) -> list[Failure]:
    """Every amount of the pre-settlement (saved as `presettle`) equals the settlement's."""
    before, problems = _saved_record(ctx, chk, "presettle", "save: {presettle: output.setlinfo} on the 2206/2303 step")
    info, more = setlinfo(ctx, chk)
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
    return problems


@check("reversal.negates", "R-REVERSAL-NEGATES")
def reversal_negates(ctx: CheckContext, chk: Check) -> list[Failure]:
    """A reversal repeats each amount of the original settlement (saved as `settlement`) negated."""
    original, problems = _saved_record(ctx, chk, "settlement",
                                       "save: {settlement: output.setlinfo} on the 2207/2304 step")
    info, more = setlinfo(ctx, chk)
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
    return problems


@check("settle.account_debited", "R-ACCOUNT-DEBITED")
def settle_account_debited(ctx: CheckContext, chk: Check) -> list[Failure]:
    """The balance after settlement is the balance before (saved as `balc_before`) minus acct_pay."""
    before = decimal_of(ctx.saved.get("balc_before"))
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
    expected = before - values["acct_pay"]
    if balc != expected:
        return [ctx.fail(chk, "balc is not the balance before minus acct_pay", severity=Severity.CRITICAL,
                         expected=expected, actual=balc,
                         detail=f"{show(before)} - {show(values['acct_pay'])} = {show(expected)}")]
    return []


