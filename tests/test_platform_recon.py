"""Reconciliation: 3201 totals with their filters, 3202 details through 9101/9102, both upload forms."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from decimal import Decimal
from typing import Any

import pytest
from platform_samples import ENDPOINT, Flow, memory_platform, persona

from harness.platform import HttpRequest, Platform
from harness.platform.recon import platform_rows, platform_totals


@pytest.fixture()
def ledger() -> tuple[Platform, Flow, list[dict[str, Any]]]:
    """Two outpatient settlements of filed-employee, the second reversed: three rows on the platform."""
    platform = memory_platform()
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona("filed-employee")
    rows = []
    for lines in ([("consult", 1)], [("consult", 1), ("cefaclor", 1)]):
        mdtrt_id, amount = flow.register(who, lines)
        rows.append(flow.settle(who, mdtrt_id, amount)["setlinfo"])
    rows.append(flow.reverse(who, rows[1]["mdtrt_id"], rows[1]["setl_id"])["setlinfo"])
    return platform, flow, rows


def totals(rows: list[dict[str, Any]], *, cash: bool = False) -> dict[str, Any]:
    def s(key: str) -> float:
        return round(sum(r[key] for r in rows), 2)

    out = {"medfee_sumamt": s("medfee_sumamt"), "fund_pay_sumamt": s("fund_pay_sumamt"),
           "fixmedins_setl_cnt": len(rows)}
    out["cash_payamt" if cash else "acct_pay"] = s("psn_cash_pay" if cash else "acct_pay")
    return out


def stmt(flow: Flow, rows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    day = rows[0]["setl_time"][:10]
    data = {"insutype": "310", "clr_type": "11", "setl_optins": "520102", "stmt_begndate": day, "stmt_enddate": day,
            **totals(rows), **extra}
    return flow.ok("3201", {"data": data})["stmtinfo"]


def test_3201_balances_signed_rows_and_counts_each_row(ledger: tuple[Platform, Flow, list[dict[str, Any]]]) -> None:
    _, flow, rows = ledger
    assert stmt(flow, rows)["stmt_rslt"] == "0"
    assert stmt(flow, rows[:2])["stmt_rslt"] == "1"  # the ledger misses the reversal: the centre has more
    assert stmt(flow, [*rows, rows[0]])["stmt_rslt"] == "2"  # the institution has one more
    off = stmt(flow, rows, medfee_sumamt=1.0)
    assert off["stmt_rslt"] == "3" and "医保中心" in off["stmt_rslt_dscr"]


def test_3201_refund_filter(ledger: tuple[Platform, Flow, list[dict[str, Any]]]) -> None:
    _, flow, rows = ledger
    assert stmt(flow, rows[:2], refd_setl_flag="0")["stmt_rslt"] == "0"
    assert stmt(flow, rows[2:], refd_setl_flag="1")["stmt_rslt"] == "0"


@pytest.mark.parametrize("flag", ["", "0", "1"])
@pytest.mark.parametrize(("optins", "insutype"), [("520102", "310"), ("", None), ("999999", None), ("", "390")])
def test_3201_sums_in_sql_what_3202_lists_row_by_row(ledger: tuple[Platform, Flow, list[dict[str, Any]]], flag: str,
                                                      optins: str, insutype: str | None) -> None:
    platform, _, rows = ledger
    day = rows[0]["setl_time"][:10]
    selection = {"fixmedins_code": platform_fixmedins(platform), "begin": day,
                 "end": day, "clr_type": "11", "setl_optins": optins, "insutype": insutype, "refd_setl_flag": flag}
    with platform.db.reading() as conn:
        listed = platform_rows(conn, **selection)
        summed = platform_totals(conn, **selection)
    assert summed == (len(listed), *(sum((getattr(r, key) for r in listed), Decimal("0.00"))
                                     for key in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "cash")))
    assert str(summed[1]) == str(sum((r.medfee_sumamt for r in listed), Decimal("0.00")))  # "0.00", not "0"
    if (optins, insutype) == ("520102", "310"):
        assert summed[0] == {"": 3, "0": 2, "1": 1}[flag]


def platform_fixmedins(platform: Platform) -> str:
    with platform.db.reading() as conn:
        return str(conn.execute("SELECT fixmedins_code FROM settlements LIMIT 1").fetchone()[0])


def test_3201_guangdong_form_with_clr_optins_and_cash() -> None:
    platform = memory_platform(profile="guangdong")
    flow = Flow(platform.call)
    flow.sign_in()
    who = persona("filed-resident")
    mdtrt_id, amount = flow.register(who)
    row = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    data = {"insutype": "390", "clr_type": "11", "clr_optins": "520102", "stmt_begndate": row["setl_time"][:10],
            "stmt_enddate": row["setl_time"][:10], **totals([row], cash=True)}
    assert flow.ok("3201", {"data": data})["stmtinfo"]["stmt_rslt"] == "0"


def test_hunan_reports_any_difference_as_1() -> None:
    flow = Flow(memory_platform(profile="hunan").call)
    flow.sign_in()
    who = persona("filed-employee")
    mdtrt_id, amount = flow.register(who)
    row = flow.settle(who, mdtrt_id, amount)["setlinfo"]
    assert stmt(flow, [row], fixmedins_refd_setl_flag="0")["stmt_rslt"] == "0"
    assert stmt(flow, [row], medfee_sumamt=0.01, fixmedins_refd_setl_flag="0")["stmt_rslt"] == "1"  # only 0 and 1


def result_rows(platform: Platform, flow: Flow, file_qury_no: str, day: str) -> list[list[str]]:
    info = flow.ok("3202", {"data": {"setl_optins": "520102", "file_qury_no": file_qury_no, "stmt_begndate": day,
                                     "stmt_enddate": day, "medfee_sumamt": 0, "fund_pay_sumamt": 0, "cash_payamt": 0,
                                     "fixmedins_setl_cnt": 0, "clr_type": "11"}})["fileinfo"]
    envelope = flow.his.envelope("9102", {"fsDownloadIn": {"file_qury_no": info["file_qury_no"],
                                                           "filename": info["filename"],
                                                           "fixmedins_code": flow.his.fixmedins_code}})
    answer = platform.handle(HttpRequest("POST", ENDPOINT, {}, json.dumps(envelope).encode()))
    assert answer.headers["content-type"] == "application/octet-stream"
    with zipfile.ZipFile(io.BytesIO(answer.body)) as archive:
        text = archive.read(archive.namelist()[0]).decode("utf-8")
    return [line.split("\t") for line in text.splitlines()]


@pytest.mark.parametrize("form", ["zip-bytes", "base64"])
def test_3202_compares_row_by_row(ledger: tuple[Platform, Flow, list[dict[str, Any]]], form: str) -> None:
    platform, flow, rows = ledger
    first, second, refund = rows
    lines = [
        f"{first['setl_id']}\t{first['mdtrt_id']}\t{first['psn_no']}\t{first['medfee_sumamt']:.2f}\t"
        f"{first['fund_pay_sumamt']:.2f}\t{first['acct_pay']:.2f}\t0",
        f"{second['setl_id']}\t{second['mdtrt_id']}\t{second['psn_no']}\t999.00\t0.00\t0.00\t0",  # wrong amounts
        "S000000000000000000001\tM1\tP1\t1.00\t0.00\t0.00\t0",  # the platform never saw this one
    ]  # the reversal row is missing from the institution's file
    content = "\n".join(lines).encode()
    if form == "zip-bytes":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("detail.txt", content)
        upload: Any = list(buffer.getvalue())
    else:
        upload = base64.b64encode(content).decode()
    file_qury_no = flow.ok("9101", {"fsUploadIn": {"in": upload, "filename": "detail.zip",
                                                   "fixmedins_code": flow.his.fixmedins_code}})["file_qury_no"]
    got = {(c[2] or c[3], c[4]) for c in result_rows(platform, flow, file_qury_no, first["setl_time"][:10])}
    assert (first["setl_id"], "0") in got
    assert (second["setl_id"], "3") in got
    assert ("S000000000000000000001", "2") in got
    assert (refund["medins_setl_id"], "1") in got  # centre-only: no ids, but the msgid to 冲正 it by
