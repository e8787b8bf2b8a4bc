"""Named checks: one function per property a response must have, each citing the clause it verifies.

Scenario files name checks in `expect.checks`; the runner calls them with a `CheckContext`. A check
returns a list of `Failure` values (empty when the property holds) and never raises for bad data:
a missing or malformed field is itself a finding.

Money is compared with `Decimal` only. The response the checks see is parsed with
`json.loads(text, parse_float=Decimal)`, so `12.30` stays exactly 12.30. These checks are written
from the spec's rules, independently of the reference platform (which they never import); the
platform's exact amounts are verified by golden values in the scenario files, not here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.model import Failure, Severity, Step
from harness.specs import Profile, SpecRegistry

__all__ = ["CHECKS", "Check", "CheckContext", "check", "decimal_of", "run_check"]


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Everything a check may look at for one step. `response` holds Decimals, never floats."""

    infno: str
    step: Step
    step_index: int
    request: Mapping[str, Any]  # the envelope that was sent
    response: Mapping[str, Any]  # the response envelope, parsed with parse_float=Decimal
    saved: Mapping[str, Any] = field(default_factory=dict)  # values saved by earlier steps
    profile: Profile | None = None
    registry: SpecRegistry | None = None

    @property
    def output(self) -> Any:
        return self.response.get("output")

    def node(self, name: str) -> Mapping[str, Any] | None:
        out = self.output
        value = out.get(name) if isinstance(out, Mapping) else None
        return value if isinstance(value, Mapping) else None

    def fail(self, check: Check, title: str, *, severity: Severity = Severity.MAJOR, expected: Any = "",
             actual: Any = "", detail: str = "", **evidence: Any) -> Failure:
        return Failure(title=title, clause=check.clause, severity=severity, detail=detail,
                       expected=_show(expected), actual=_show(actual), step=self.step_index,
                       evidence={"check": check.name, **evidence})


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    clause: str
    func: Callable[[CheckContext, Check], list[Failure]]
    doc: str = ""

    def __call__(self, ctx: CheckContext) -> list[Failure]:
        return self.func(ctx, self)


CHECKS: dict[str, Check] = {}


def check(name: str, clause: str) -> Callable[[Callable[[CheckContext, Check], list[Failure]]], Check]:
    """Register a check under `name`; it verifies `clause`."""

    def register(func: Callable[[CheckContext, Check], list[Failure]]) -> Check:
        if name in CHECKS:
            raise ValueError(f"check {name!r} registered twice")
        item = Check(name=name, clause=clause, func=func, doc=(func.__doc__ or "").strip())
        CHECKS[name] = item
        return item

    return register


def run_check(name: str, ctx: CheckContext) -> list[Failure]:
    """Run a named check; an unknown name is a suite bug, reported as a failure."""
    found = CHECKS.get(name)
    if found is None:
        return [Failure(title=f"suite bug: unknown check {name!r}", clause="R-INPUT-VALIDATED",
                        severity=Severity.MAJOR, step=ctx.step_index,
                        detail="known checks: " + ", ".join(sorted(CHECKS)))]
    return found(ctx)


# --- helpers ----------------------------------------------------------------------------------


def decimal_of(value: Any) -> Decimal | None:
    """A JSON number (or numeric string) as Decimal; None when absent, null or not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # only if someone parsed without parse_float: keep its shortest repr
        return Decimal(repr(value))
    if isinstance(value, str) and value.strip():
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


def _show(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return "" if value is None or value == "" else str(value)


# Money fields of a settlement's setlinfo (2206/2207, 2303/2304, 2101/2102, 5203), spec §4.7.
SETTLEMENT_AMOUNTS: tuple[str, ...] = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
    "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay",
    "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay", "hosp_part_amt", "acct_mulaid_pay",
)
# What a reversal (2208/2305/2103) repeats with the opposite sign. Ratios and balances are not negated.
REVERSED_AMOUNTS: tuple[str, ...] = tuple(
    name for name in SETTLEMENT_AMOUNTS if name not in ("pool_prop_selfpay",)
)
# 2208 spells 个人现金支出 `pdn_cash_pay` (a typo carried by the spec and real platforms).
_ALIASES: dict[str, tuple[str, ...]] = {"psn_cash_pay": ("psn_cash_pay", "pdn_cash_pay")}


def _amount(record: Mapping[str, Any], name: str) -> tuple[str, Decimal | None, bool]:
    """(field name used, value, present) — present is False when no spelling of the field is there."""
    for spelling in _ALIASES.get(name, (name,)):
        if spelling in record:
            return spelling, decimal_of(record[spelling]), True
    return name, None, False


def _setlinfo(ctx: CheckContext, chk: Check) -> tuple[Mapping[str, Any] | None, list[Failure]]:
    info = ctx.node("setlinfo")
    if info is None:
        return None, [ctx.fail(chk, "the response has no output.setlinfo to check", expected="output.setlinfo object",
                               actual=type(ctx.output).__name__ if ctx.output is not None else "null")]
    return info, []


def _need(ctx: CheckContext, chk: Check, record: Mapping[str, Any], names: tuple[str, ...],
          where: str) -> tuple[dict[str, Decimal], list[Failure]]:
    values: dict[str, Decimal] = {}
    problems = []
    for name in names:
        spelling, value, present = _amount(record, name)
        if value is None:
            problems.append(ctx.fail(chk, f"{where}.{spelling} is {'not a number' if present else 'missing'}",
                                     expected="a decimal amount", actual=record.get(spelling, "missing")))
        else:
            values[name] = value
    return values, problems


# --- money ------------------------------------------------------------------------------------


@check("money.sum", "R-MONEY-SUM")
def money_sum(ctx: CheckContext, chk: Check) -> list[Failure]:
    """medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt (hosp_part_amt null counts as 0)."""
    info, problems = _setlinfo(ctx, chk)
    if info is None:
        return problems
    values, problems = _need(ctx, chk, info, ("medfee_sumamt", "fund_pay_sumamt", "psn_part_amt"), "setlinfo")
    if problems:
        return problems
    hosp = decimal_of(info.get("hosp_part_amt")) or Decimal(0)
    total = values["fund_pay_sumamt"] + values["psn_part_amt"] + hosp
    if total != values["medfee_sumamt"]:
        return [ctx.fail(chk, "medfee_sumamt is not fund_pay_sumamt + psn_part_amt + hosp_part_amt",
                         severity=Severity.CRITICAL, expected=total, actual=values["medfee_sumamt"],
                         detail=f"{_show(values['fund_pay_sumamt'])} + {_show(values['psn_part_amt'])} + {_show(hosp)}"
                                f" = {_show(total)}")]
    return []


@check("money.psn_part", "R-MONEY-PSN-PART")
def money_psn_part(ctx: CheckContext, chk: Check) -> list[Failure]:
    """psn_part_amt = acct_pay + psn_cash_pay (2208 spells the latter pdn_cash_pay)."""
    info, problems = _setlinfo(ctx, chk)
    if info is None:
        return problems
    values, problems = _need(ctx, chk, info, ("psn_part_amt", "acct_pay", "psn_cash_pay"), "setlinfo")
    if problems:
        return problems
    total = values["acct_pay"] + values["psn_cash_pay"]
    if total != values["psn_part_amt"]:
        return [ctx.fail(chk, "psn_part_amt is not acct_pay + psn_cash_pay", severity=Severity.CRITICAL,
                         expected=total, actual=values["psn_part_amt"],
                         detail=f"{_show(values['acct_pay'])} + {_show(values['psn_cash_pay'])} = {_show(total)}")]
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
        if declared is None:
            continue
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
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _numbers(item, f"{path}[{index}]")


# --- settlement -------------------------------------------------------------------------------


@check("settle.medins_setl_id", "R-MEDINS-SETL-ID-IS-MSGID")
def settle_medins_setl_id(ctx: CheckContext, chk: Check) -> list[Failure]:
    """setlinfo.medins_setl_id echoes the msgid of the settlement request."""
    info, problems = _setlinfo(ctx, chk)
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
    info, more = _setlinfo(ctx, chk)
    if before is None or info is None:
        return problems + more
    for name in SETTLEMENT_AMOUNTS:
        spelling, expected, _ = _amount(before, name)
        if expected is None:
            continue
        _, actual, present = _amount(info, name)
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
    info, more = _setlinfo(ctx, chk)
    if original is None or info is None:
        return problems + more
    _, missing = _need(ctx, chk, info, ("medfee_sumamt", "fund_pay_sumamt", "acct_pay"), "setlinfo")
    problems.extend(missing)
    for name in REVERSED_AMOUNTS:
        _, amount, _ = _amount(original, name)
        spelling, reversed_amount, present = _amount(info, name)
        if amount is None or not present:
            continue
        if reversed_amount != -amount:
            problems.append(ctx.fail(chk, f"reversal {spelling} is not the negated original",
                                     severity=Severity.CRITICAL, expected=-amount, actual=reversed_amount, field=name))
    return problems


@check("settle.account_debited", "R-ACCOUNT-DEBITED")
def settle_account_debited(ctx: CheckContext, chk: Check) -> list[Failure]:
    """The balance after settlement is the balance before (saved as `balc_before`) minus acct_pay."""
    before = decimal_of(ctx.saved.get("balc_before"))
    if before is None:
        return [ctx.fail(chk, "suite bug: settle.account_debited needs saved.balc_before",
                         expected="save: {balc_before: output.insuinfo[0].balc} on the 1101 step",
                         actual=ctx.saved.get("balc_before", "not saved"))]
    info, problems = _setlinfo(ctx, chk)
    if info is None:
        return problems
    values, problems = _need(ctx, chk, info, ("acct_pay",), "setlinfo")
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
                         detail=f"{_show(before)} - {_show(values['acct_pay'])} = {_show(expected)}")]
    return []


# --- envelope ---------------------------------------------------------------------------------

_REFMSGID = re.compile(r"^(\d{6})(\d{14})(\d{10})$")
_TIME17 = re.compile(r"^\d{17}$")


def _parse(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        return None


@check("envelope.inf_refmsgid", "ENV.resp.inf_refmsgid")
def envelope_inf_refmsgid(ctx: CheckContext, chk: Check) -> list[Failure]:
    """inf_refmsgid is admdvs(6) + yyyyMMddHHmmss(14) + sequence(10); empty is allowed on refusals."""
    value = ctx.response.get("inf_refmsgid")
    if value in (None, "") and ctx.response.get("infcode") != 0:
        return []
    match = _REFMSGID.match(value) if isinstance(value, str) else None
    if match is None:
        return [ctx.fail(chk, "inf_refmsgid does not have the 6+14+10 digit form", severity=Severity.MINOR,
                         expected="30 digits: receiver admdvs(6) + yyyyMMddHHmmss(14) + sequence(10)", actual=value)]
    if _parse(match.group(2), "%Y%m%d%H%M%S") is None:
        return [ctx.fail(chk, "inf_refmsgid carries an impossible timestamp", severity=Severity.MINOR,
                         expected="a real yyyyMMddHHmmss at characters 7-20", actual=value)]
    return []


@check("envelope.timestamps", "ENV.resp.respond_time")
def envelope_timestamps(ctx: CheckContext, chk: Check) -> list[Failure]:
    """refmsg_time and respond_time are real yyyyMMddHHmmssSSS times, and the answer is not older than the request."""
    problems = []
    parsed: dict[str, datetime] = {}
    for name in ("refmsg_time", "respond_time"):
        value = ctx.response.get(name)
        stamp = _parse(value[:14], "%Y%m%d%H%M%S") if isinstance(value, str) and _TIME17.match(value) else None
        if stamp is None:
            problems.append(ctx.fail(chk, f"{name} is not a yyyyMMddHHmmssSSS timestamp", severity=Severity.MINOR,
                                     expected="17 digits, a real time", actual=value if value is not None else "null"))
        else:
            parsed[name] = stamp.replace(microsecond=int(value[14:]) * 1000)
    if len(parsed) == 2 and parsed["respond_time"] < parsed["refmsg_time"]:
        problems.append(ctx.fail(chk, "respond_time is earlier than refmsg_time", severity=Severity.MINOR,
                                 expected=f">= {ctx.response.get('refmsg_time')}",
                                 actual=ctx.response.get("respond_time")))
    return problems


@check("refusal.shape", "R-REFUSAL-SHAPE")
def refusal_shape(ctx: CheckContext, chk: Check) -> list[Failure]:
    """A refusal is infcode -1 with a non-empty err_msg and a null output."""
    problems = []
    infcode = ctx.response.get("infcode")
    if infcode != -1 or isinstance(infcode, bool):
        problems.append(ctx.fail(chk, "a refusal must carry infcode -1", expected=-1, actual=infcode))
    err_msg = ctx.response.get("err_msg")
    if not isinstance(err_msg, str) or not err_msg.strip():
        problems.append(ctx.fail(chk, "a refusal must say why in err_msg", expected="a non-empty err_msg",
                                 actual=err_msg if err_msg is not None else "null"))
    if ctx.response.get("output") is not None:
        problems.append(ctx.fail(chk, "a refusal must have a null output", severity=Severity.MINOR,
                                 expected="null", actual=type(ctx.response.get("output")).__name__))
    return problems


# --- reconciliation ---------------------------------------------------------------------------


@check("recon.balanced", "R-RECON-BALANCED")
def recon_balanced(ctx: CheckContext, chk: Check) -> list[Failure]:
    """The 3201 reconciliation of the totals the harness recorded comes back balanced (stmt_rslt 0)."""
    info = ctx.node("stmtinfo")
    if info is None:
        return [ctx.fail(chk, "the response has no output.stmtinfo", expected="output.stmtinfo object",
                         actual="missing")]
    result = info.get("stmt_rslt")
    if str(result) != "0":
        return [ctx.fail(chk, "reconciliation is not balanced", severity=Severity.CRITICAL, expected="stmt_rslt 0 (平)",
                         actual=result if result is not None else "missing",
                         detail=str(info.get("stmt_rslt_dscr") or ""))]
    return []
