"""Reconciliation: 3201 totals (对总账) and 3202 details (对明细账).

What is reconciled: the calling institution's settlement rows whose settlement time
(`setl_time`, the spec's basis) falls within `stmt_begndate`..`stmt_enddate` inclusive, for the
`clr_type` and clearing institution (`setl_optins`: the treating region's agency, the
`clr_optins` returned by settlement) and, for 3201, the `insutype`.

- Every settlement (2102/2207/2304) is one row with positive amounts; every reversal
  (2103/2208/2305) is one more row, with its own `setl_id` and negated amounts. Totals are signed
  sums, and the count is the number of rows (a settled-then-reversed visit counts 2, nets 0).
- `refd_setl_flag` (or Hunan's `fixmedins_refd_setl_flag`) filters: 0 = settlement rows only,
  1 = reversal rows only, absent or empty = all rows.
- A settlement undone by 2601 冲正 is not reconciled at all.
- 3201 compares medfee_sumamt, fund_pay_sumamt, acct_pay (Guangdong: cash_payamt) and
  fixmedins_setl_cnt. `stmt_rslt` 0 = 平; otherwise 1 中心多 (the platform has more rows),
  2 医药机构多 (the institution has more), 3 数据不一致 (same count, different amounts) — or just
  1 不平 under a profile whose stmt_rslt code list is Hunan's (0/1).

3202 reads the detail file uploaded by 9101 (a ZIP holding one TXT, or the plain TXT; UTF-8,
tab-separated, one settlement row per line: setl_id, mdtrt_id, psn_no, medfee_sumamt,
fund_pay_sumamt, acct_pay, refd_setl_flag), compares it row by row (by setl_id; a refund row may
also name the original setl_id), and writes the result file for 9102: a ZIP holding
`<file_qury_no>.txt` with psn_no, mdtrt_id, setl_id, msgid, stmt_rslt, refd_setl_flag, memo,
medfee_sumamt, fund_pay_sumamt, acct_pay. Rows only the platform has come back with empty
setl_id and mdtrt_id but with the msgid, so the institution can 冲正 them.
"""

from __future__ import annotations

import io
import sqlite3
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from harness.platform.calc import dec, money
from harness.platform.context import Call, handler
from harness.platform.envelope import fmt_datetime
from harness.platform.refusals import Refusal, invalid_request
from harness.platform.state import from_cents

__all__ = ["DetailRow", "parse_detail_file", "platform_rows", "platform_totals"]

FILE_KEEP_DAYS = 7


@dataclass(frozen=True, slots=True)
class DetailRow:
    setl_id: str
    mdtrt_id: str
    psn_no: str
    medfee_sumamt: Decimal
    fund_pay_sumamt: Decimal
    acct_pay: Decimal
    refd_setl_flag: str
    msgid: str = ""
    orig_setl_id: str = ""
    cash: Decimal = Decimal("0.00")


def _selection(
    *, fixmedins_code: str, begin: str, end: str, clr_type: str, setl_optins: str, insutype: str | None,
    refd_setl_flag: str,
) -> tuple[str, list[Any]]:  # fmt: skip
    """The WHERE clause (and its arguments) of the settlement rows a reconciliation covers."""
    where = "fixmedins_code = ? AND status != 'voided' AND clr_type = ? AND substr(setl_time, 1, 10) BETWEEN ? AND ?"
    args: list[Any] = [fixmedins_code, clr_type, begin[:10], end[:10]]
    if setl_optins:
        where += " AND clr_optins = ?"
        args.append(setl_optins)
    if insutype:
        where += " AND insutype = ?"
        args.append(insutype)
    if refd_setl_flag in ("0", "1"):
        where += " AND kind = ?"
        args.append("reversal" if refd_setl_flag == "1" else "settle")
    return where, args


def platform_rows(conn: sqlite3.Connection, **selection: Any) -> list[DetailRow]:
    where, args = _selection(**selection)
    rows = conn.execute(f"SELECT * FROM settlements WHERE {where} ORDER BY setl_time, setl_id", args).fetchall()
    return [
        DetailRow(
            setl_id=r["setl_id"],
            mdtrt_id=r["mdtrt_id"],
            psn_no=r["psn_no"],
            medfee_sumamt=from_cents(r["medfee_cents"]),
            fund_pay_sumamt=from_cents(r["fund_cents"]),
            acct_pay=from_cents(r["acct_cents"]),
            refd_setl_flag="1" if r["kind"] == "reversal" else "0",
            msgid=r["msgid"],
            orig_setl_id=r["orig_setl_id"] or "",
            cash=from_cents(r["cash_cents"]),
        )
        for r in rows
    ]


def platform_totals(conn: sqlite3.Connection, **selection: Any) -> tuple[int, Decimal, Decimal, Decimal, Decimal]:
    """(count, medfee, fund, acct, cash) of the rows `platform_rows` would list, summed by SQLite in exact integer
    cents: a day's reconciliation costs no memory per settlement (a long run's last 3201 covers thousands)."""
    where, args = _selection(**selection)
    count, *sums = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(medfee_cents), 0), COALESCE(SUM(fund_cents), 0),"
        f" COALESCE(SUM(acct_cents), 0), COALESCE(SUM(cash_cents), 0) FROM settlements WHERE {where}", args,
    ).fetchone()  # fmt: skip
    medfee, fund, acct, cash = (from_cents(int(total)) for total in sums)
    return int(count), medfee, fund, acct, cash


def _refd_flag(data: dict[str, Any]) -> str:
    return str(data.get("refd_setl_flag") or data.get("fixmedins_refd_setl_flag") or "")


def _result_code(codes: tuple[str, ...], wanted: str) -> str:
    return wanted if wanted in codes else ("1" if wanted != "0" else "0")


@handler("3201")
def totals(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    optins = str(data.get("setl_optins") or data.get("clr_optins") or "")
    count, medfee, fund, acct, cash = platform_totals(
        call.conn, fixmedins_code=call.fixmedins_code, begin=str(data.get("stmt_begndate") or ""),
        end=str(data.get("stmt_enddate") or ""), clr_type=str(data.get("clr_type") or ""), setl_optins=optins,
        insutype=str(data.get("insutype") or "") or None, refd_setl_flag=_refd_flag(data),
    )  # fmt: skip
    uses_cash = data.get("acct_pay") is None and data.get("cash_payamt") is not None
    theirs = (
        money(data.get("medfee_sumamt")), money(data.get("fund_pay_sumamt")),
        money(data.get("cash_payamt") if uses_cash else data.get("acct_pay")),
    )  # fmt: skip
    ours = (medfee, fund, cash if uses_cash else acct)
    their_count = int(dec(data.get("fixmedins_setl_cnt") or 0))
    if theirs == ours and their_count == count:
        wanted = "0"
    elif count > their_count:
        wanted = "1"
    elif count < their_count:
        wanted = "2"
    else:
        wanted = "3"
    code = _result_code(call.ctx.stmt_rslt_codes, wanted)
    third = "现金支付" if uses_cash else "个人账户支出"
    dscr = (
        f"医保中心：医疗费总额{ours[0]}，基金支付总额{ours[1]}，{third}{ours[2]}，结算笔数{count}；"
        f"定点医药机构：医疗费总额{theirs[0]}，基金支付总额{theirs[1]}，{third}{theirs[2]}，结算笔数{their_count}"
    )
    dscr = ("平；" if code == "0" else "不平；") + dscr
    return {"stmtinfo": {"setl_optins": optins, "stmt_rslt": code, "stmt_rslt_dscr": dscr}}


def parse_detail_file(content: bytes) -> list[DetailRow]:
    """The 3202 detail file: a ZIP holding one TXT, or the TXT itself (UTF-8, tab-separated)."""
    if content[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
                if not names:
                    raise invalid_request("/input/data/file_qury_no 明细文件压缩包为空")
                content = archive.read(names[0])
        except zipfile.BadZipFile as exc:
            raise invalid_request("/input/data/file_qury_no 明细文件不是合法的ZIP压缩包") from exc
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise invalid_request("/input/data/file_qury_no 明细文件不是UTF-8文本") from exc
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < 7:
            raise invalid_request(f"/input/data/file_qury_no 明细文件第{number}行应有7列，实有{len(cols)}列")
        try:
            rows.append(DetailRow(cols[0].strip(), cols[1].strip(), cols[2].strip(), money(cols[3]), money(cols[4]),
                                  money(cols[5]), cols[6].strip() or "0"))  # fmt: skip
        except ValueError as exc:
            raise invalid_request(f"/input/data/file_qury_no 明细文件第{number}行金额格式错误") from exc
    return rows


def _money_text(value: Decimal) -> str:
    return f"{value:.2f}"


@handler("3202")
def details(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    stored = call.conn.execute(
        "SELECT content FROM files WHERE file_qury_no = ? AND fixmedins_code = ?",
        (str(data.get("file_qury_no") or ""), call.fixmedins_code),
    ).fetchone()
    if stored is None:
        raise Refusal("", "明细文件不存在，请先通过【9101】上传")
    theirs = parse_detail_file(bytes(stored["content"]))
    ours = platform_rows(
        call.conn, fixmedins_code=call.fixmedins_code, begin=str(data.get("stmt_begndate") or ""),
        end=str(data.get("stmt_enddate") or ""), clr_type=str(data.get("clr_type") or ""),
        setl_optins=str(data.get("setl_optins") or ""), insutype=None, refd_setl_flag=_refd_flag(data),
    )  # fmt: skip
    codes = call.ctx.stmt_rslt_codes
    by_id = {(r.setl_id, r.refd_setl_flag): r for r in ours}
    by_orig = {(r.orig_setl_id, "1"): r for r in ours if r.orig_setl_id}
    matched: set[str] = set()
    lines = []
    for row in theirs:
        mine = by_id.get((row.setl_id, row.refd_setl_flag)) or by_orig.get((row.setl_id, row.refd_setl_flag))
        if mine is None or mine.setl_id in matched:
            lines.append([row.psn_no, row.mdtrt_id, row.setl_id, "", _result_code(codes, "2"), row.refd_setl_flag,
                          "医保中心无此结算记录", row.medfee_sumamt, row.fund_pay_sumamt, row.acct_pay])  # fmt: skip
            continue
        matched.add(mine.setl_id)
        same = (mine.medfee_sumamt, mine.fund_pay_sumamt, mine.acct_pay) == (
            row.medfee_sumamt, row.fund_pay_sumamt, row.acct_pay)  # fmt: skip
        memo = "" if same else "金额不一致"
        lines.append([mine.psn_no, mine.mdtrt_id, mine.setl_id, mine.msgid, _result_code(codes, "0" if same else "3"),
                      mine.refd_setl_flag, memo, mine.medfee_sumamt, mine.fund_pay_sumamt, mine.acct_pay])  # fmt: skip
    for mine in ours:
        if mine.setl_id not in matched:
            lines.append([mine.psn_no, "", "", mine.msgid, _result_code(codes, "1"), mine.refd_setl_flag,
                          "定点医药机构无此结算记录", mine.medfee_sumamt, mine.fund_pay_sumamt,
                          mine.acct_pay])  # fmt: skip
    text = "\n".join("\t".join(_money_text(v) if isinstance(v, Decimal) else str(v) for v in line) for line in lines)
    file_qury_no = call.new_id("F", "file_qury_no")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{file_qury_no}.txt", (text + "\n") if text else "")
    filename = f"{file_qury_no}.zip"
    endtime = fmt_datetime(call.now + timedelta(days=FILE_KEEP_DAYS))
    call.conn.execute(
        "INSERT INTO files(file_qury_no, fixmedins_code, filename, kind, content, created_at, dld_endtime)"
        " VALUES (?, ?, ?, 'result', ?, ?, ?)",
        (file_qury_no, call.fixmedins_code, filename, buffer.getvalue(), call.now_text, endtime),
    )
    return {"fileinfo": {"file_qury_no": file_qury_no, "filename": filename, "dld_endtime": endtime}}
