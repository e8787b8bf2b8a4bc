"""Money checks: the sums of a settlement and the precision of every amount (decimal arithmetic only)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from harness.checks.registry import (
    Check,
    CheckContext,
    check,
    decimal_of,
    need,
    setlinfo,
    show,
)
from harness.model import Failure, Severity


@check("money.sum", "R-MONEY-SUM")
def money_sum(ctx: CheckContext, chk: Check) -> list[Failure]:
    """medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt (hosp_part_amt null counts as 0)."""
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    values, problems = need(ctx, chk, info, ("medfee_sumamt", "fund_pay_sumamt", "psn_part_amt"), "setlinfo")
    if problems:
        return problems
    hosp = decimal_of(info.get("hosp_part_amt")) or Decimal(0)
    total = values["fund_pay_sumamt"] + values["psn_part_amt"] + hosp
    if total != values["medfee_sumamt"]:
        return [ctx.fail(chk, "medfee_sumamt is not fund_pay_sumamt + psn_part_amt + hosp_part_amt",
                         severity=Severity.CRITICAL, expected=total, actual=values["medfee_sumamt"],
                         detail=f"{show(values['fund_pay_sumamt'])} + {show(values['psn_part_amt'])} + {show(hosp)}"
                                f" = {show(total)}")]
    return []


@check("money.psn_part", "R-MONEY-PSN-PART")
def money_psn_part(ctx: CheckContext, chk: Check) -> list[Failure]:
    """psn_part_amt = acct_pay + psn_cash_pay (2208 spells the latter pdn_cash_pay)."""
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    values, problems = need(ctx, chk, info, ("psn_part_amt", "acct_pay", "psn_cash_pay"), "setlinfo")
    if problems:
        return problems
    total = values["acct_pay"] + values["psn_cash_pay"]
    if total != values["psn_part_amt"]:
        return [ctx.fail(chk, "psn_part_amt is not acct_pay + psn_cash_pay", severity=Severity.CRITICAL,
                         expected=total, actual=values["psn_part_amt"],
                         detail=f"{show(values['acct_pay'])} + {show(values['psn_cash_pay'])} = {show(total)}")]
    return []


# Scale of number fields when no registry is at hand: spec §1.1 precision rules by field shape.
_FALLBACK_SCALE = {"pool_prop_selfpay": (5, 4), "selfpay_prop": (5, 4), "age": (4, 1)}


@check("money.precision", "R-MONEY-PRECISION")
def money_precision(ctx: CheckContext, chk: Check) -> list[Failure]:
    """Every number in the output keeps its declared (precision, scale): money 16,2, price 16,6, ratio 5,4 …"""
    out = ctx.output
    if not isinstance(out, Mapping):
        return []
    digits = _declared_digits(ctx)
    problems = []
    for path, name, value in _numbers(out, "output"):
        declared = digits.get(name) if digits else _FALLBACK_SCALE.get(name, (16, 2))
        if declared is None or (isinstance(value, str) and not digits):
            continue  # a number sent as text is judged only where the spec declares the field's digits
        precision, scale = declared
        number = decimal_of(value)
        if number is None or not number.is_finite():
            continue
        exponent = number.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        integer_digits = max(number.adjusted() + 1, 0) if number else 0
        if places > scale or integer_digits > precision - scale:
            problems.append(ctx.fail(chk, f"{path} exceeds its precision ({precision},{scale})",
                                     severity=Severity.MINOR, expected=f"at most {scale} decimal places and "
                                     f"{precision - scale} integer digits", actual=number, path=path))
    return problems


def _declared_digits(ctx: CheckContext) -> dict[str, tuple[int, int]] | None:
    if ctx.registry is None:
        return None
    try:
        spec = ctx.registry.interface(ctx.infno)
    except Exception:  # an unknown infno has no declared digits; the schema check reports it
        return None
    return {f.name: tuple(f.digits) for f in spec.fields("out") if f.digits}  # type: ignore[misc]


def _numbers(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            sub = f"{path}.{key}"
            if isinstance(item, (Mapping, list)):
                yield from _numbers(item, sub)
            elif isinstance(item, (int, Decimal)) and not isinstance(item, bool):
                yield sub, str(key), item
            elif isinstance(item, str) and decimal_of(item) is not None:
                yield sub, str(key), item  # "12.50": the schema reports the type; its digits are still judged
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _numbers(item, f"{path}[{index}]")


