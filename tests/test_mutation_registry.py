"""The checks registry's helpers with literal expected findings (issue 17).

`tools/mutation.py --module checks.registry` plants one-line bugs in `harness/checks/registry.py`; each
test here pins what `@check` records, and what `need`, `setlinfo` and `show` give a check to report.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from harness.checks.registry import CHECKS, CheckContext, check, need, setlinfo, show
from harness.model import Failure, Grade, Severity, Step


@pytest.fixture
def registered() -> Iterator[list[str]]:
    """Names of checks a test registers; removed from the registry afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        CHECKS.pop(name, None)


def ctx(output: Any) -> CheckContext:
    return CheckContext(infno="2207", step=Step("2207", {}), step_index=2, request={},
                        response={"infcode": 0, "output": output})


def test_a_check_records_its_clause_grade_and_documentation(registered: list[str]) -> None:
    def documented(ctx: CheckContext, chk: Any) -> list[Failure]:
        """  What it verifies.  """
        return []

    def plain(ctx: CheckContext, chk: Any) -> list[Failure]:
        return []

    registered += ["test.documented", "test.plain"]
    first = check("test.documented", "R-TEST", grade=Grade.SHOULD)(documented)
    second = check("test.plain", "R-OTHER")(plain)
    assert (first.name, first.clause, first.grade, first.doc, first.func) == (
        "test.documented", "R-TEST", Grade.SHOULD, "What it verifies.", documented)
    assert (second.grade, second.doc) == (Grade.MUST, "")
    assert CHECKS["test.documented"] is first and CHECKS["test.plain"] is second


def need_one(record: dict[str, Any], *names: str) -> tuple[dict[str, Decimal], list[Failure]]:
    chk = next(iter(CHECKS.values()))
    return need(ctx({}), chk, record, names, "setlinfo")


def test_need_names_a_missing_and_an_unreadable_amount() -> None:
    values, problems = need_one({"medfee_sumamt": "n/a", "psn_part_amt": "12.50"}, "medfee_sumamt", "acct_pay",
                                "psn_part_amt")
    assert values == {"psn_part_amt": Decimal("12.50")}
    assert [(p.title, p.expected, p.actual) for p in problems] == [
        ("setlinfo.medfee_sumamt is not a number", "a decimal amount", "n/a"),
        ("setlinfo.acct_pay is missing", "a decimal amount", "missing")]


def test_need_reads_the_2208_spelling_of_the_cash_part() -> None:
    values, problems = need_one({"pdn_cash_pay": None}, "psn_cash_pay")
    assert values == {} and [(p.title, p.actual) for p in problems] == [("setlinfo.pdn_cash_pay is not a number", "")]
    values, problems = need_one({"pdn_cash_pay": "x"}, "psn_cash_pay")
    assert [(p.title, p.actual) for p in problems] == [("setlinfo.pdn_cash_pay is not a number", "x")]


@pytest.mark.parametrize(("output", "actual"), [(None, "null"), ([], "list"), ({"setlinfo": 1}, "dict"),
                                                ("text", "str")])
def test_a_response_without_setlinfo_is_named(output: Any, actual: str) -> None:
    chk = next(iter(CHECKS.values()))
    info, problems = setlinfo(ctx(output), chk)
    assert info is None and problems == [Failure(
        title="the response has no output.setlinfo to check", clause=chk.clause, severity=Severity.MAJOR,
        expected="output.setlinfo object", actual=actual, step=2, evidence={"check": chk.name}, grade=chk.grade)]
    assert setlinfo(ctx({"setlinfo": {"a": 1}}), chk) == ({"a": 1}, [])


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("1E+2"), "100"), (Decimal("12.50"), "12.50"), (Decimal("Infinity"), "Infinity"), (None, ""), ("", ""),
    ("XXXX", "XXXX"), (0, "0"), (False, "False")])
def test_show(value: Any, shown: str) -> None:
    assert show(value) == shown
