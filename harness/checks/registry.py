"""The checks registry: the context a check sees, the Check record, `@check`, and shared helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from harness.model import Failure, Grade, Severity, Step
from harness.specs import Profile, SpecRegistry

__all__ = ["CHECKS", "REVERSED_AMOUNTS", "SETTLEMENT_AMOUNTS", "Check", "CheckContext", "LedgerView", "amount", "check",
           "decimal_of", "need", "run_check", "setlinfo", "show"]


class LedgerView(Protocol):
    """What checks may ask the runner's ledger (harness.runner.ledger.Ledger) of the harness's own records."""

    def unreconciled(self, fixmedins_code: str) -> list[Any]: ...


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
    ledger: LedgerView | None = None  # what the harness settled and reversed in this run
    # True when the check runs because checks-by-interface.json lists it for every successful answer of the
    # interface, not because the scenario named it: a check that needs an earlier answer then stays silent
    # when there is none (instead of reporting a suite bug).
    automatic: bool = False

    @property
    def output(self) -> Any:
        return self.response.get("output")

    def node(self, name: str) -> Mapping[str, Any] | None:
        out = self.output
        value = out.get(name) if isinstance(out, Mapping) else None
        return value if isinstance(value, Mapping) else None

    def fail(self, check: Check, title: str, *, severity: Severity = Severity.MAJOR, expected: Any = "",
             actual: Any = "", detail: str = "", grade: Grade | None = None, **evidence: Any) -> Failure:
        """A finding of `check`, graded by the check (or by `grade` for a weaker part of what it verifies)."""
        return Failure(title=title, clause=check.clause, severity=severity, detail=detail,
                       expected=show(expected), actual=show(actual), step=self.step_index,
                       evidence={"check": check.name, **evidence}, grade=grade or check.grade)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    clause: str
    func: Callable[[CheckContext, Check], list[Failure]]
    doc: str = ""
    grade: Grade = Grade.MUST  # the normative strength of `clause`; its findings carry it

    def __call__(self, ctx: CheckContext) -> list[Failure]:
        return self.func(ctx, self)


CHECKS: dict[str, Check] = {}


def check(name: str, clause: str,
          grade: Grade = Grade.MUST) -> Callable[[Callable[[CheckContext, Check], list[Failure]]], Check]:
    """Register a check under `name`; it verifies `clause`, whose normative strength is `grade`.

    The grade comes from the clause: MUST only where the spec text or a [C] fact makes it one; a relation
    the spec does not state (a recomputation, a convention seen in [L] sources) is at most SHOULD.
    """

    def register(func: Callable[[CheckContext, Check], list[Failure]]) -> Check:
        if name in CHECKS:
            raise ValueError(f"check {name!r} registered twice")
        item = Check(name=name, clause=clause, func=func, doc=(func.__doc__ or "").strip(), grade=grade)
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


def show(value: Any) -> str:
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


def amount(record: Mapping[str, Any], name: str) -> tuple[str, Decimal | None, bool]:
    """(field name used, value, present) — present is False when no spelling of the field is there."""
    for spelling in _ALIASES.get(name, (name,)):
        if spelling in record:
            return spelling, decimal_of(record[spelling]), True
    return name, None, False


def setlinfo(ctx: CheckContext, chk: Check) -> tuple[Mapping[str, Any] | None, list[Failure]]:
    info = ctx.node("setlinfo")
    if info is None:
        return None, [ctx.fail(chk, "the response has no output.setlinfo to check", expected="output.setlinfo object",
                               actual=type(ctx.output).__name__ if ctx.output is not None else "null")]
    return info, []


def need(ctx: CheckContext, chk: Check, record: Mapping[str, Any], names: tuple[str, ...],
          where: str) -> tuple[dict[str, Decimal], list[Failure]]:
    values: dict[str, Decimal] = {}
    problems = []
    for name in names:
        spelling, value, present = amount(record, name)
        if value is None:
            problems.append(ctx.fail(chk, f"{where}.{spelling} is {'not a number' if present else 'missing'}",
                                     expected="a decimal amount", actual=record.get(spelling, "missing")))
        else:
            values[name] = value
    return values, problems


