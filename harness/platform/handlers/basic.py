"""Sign-in (9001/9002), person information (1101), benefit check (2001), files (9101/9102).

Sign-in: the same operator (`fixmedins_code` + `opter_no`) signing in again gets the same
`sign_no` until 9002 signs that operator out (on every terminal). Business calls must carry an
active `sign_no` of their institution when the profile requires sign-in (checked by the pipeline).

Files: 9101 stores what is uploaded — a multipart `file` part, or `fsUploadIn.in` as a byte array
or Base64 text — and returns a `file_qury_no`; only the uploading institution can use it. 9102
returns a stored file as `application/octet-stream`. Files the platform produces itself (the
3202 result) are ZIP archives holding one UTF-8, tab-separated TXT file, as the spec describes.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from harness.platform.context import Call, handler
from harness.platform.envelope import fmt_datetime, new_sign_no, wire_decimal
from harness.platform.refusals import Refusal, invalid_request
from harness.platform.rules import card_active
from harness.platform.settling import person_by_certificate, person_for
from harness.platform.workingset import forget_sign_ins

FILE_KEEP_DAYS = 7


@handler("9001")
def sign_in(call: Call) -> dict[str, Any]:
    data = call.obj("signIn")
    opter_no = str(data.get("opter_no") or "")
    row = call.conn.execute(
        "SELECT sign_no, sign_time FROM signins WHERE fixmedins_code = ? AND opter_no = ? AND active = 1",
        (call.fixmedins_code, opter_no),
    ).fetchone()
    if row is not None:
        return {"signinoutb": {"sign_time": row["sign_time"], "sign_no": row["sign_no"]}}
    sign_no = new_sign_no()
    call.conn.execute(
        "INSERT INTO signins(sign_no, fixmedins_code, opter_no, sign_time, active) VALUES (?, ?, ?, ?, 1)",
        (sign_no, call.fixmedins_code, opter_no, call.now_text),
    )
    call.effect.update(kind="sign-in", sign_no=sign_no)
    return {"signinoutb": {"sign_time": call.now_text, "sign_no": sign_no}}


@handler("9002")
def sign_out(call: Call) -> dict[str, Any]:
    data = call.obj("signOut")
    row = call.conn.execute(
        "SELECT opter_no FROM signins WHERE sign_no = ? AND fixmedins_code = ? AND active = 1",
        (str(data.get("sign_no") or ""), call.fixmedins_code),
    ).fetchone()
    if row is None:
        raise Refusal("not-signed-in")
    call.conn.execute(
        "UPDATE signins SET active = 0 WHERE fixmedins_code = ? AND opter_no = ?",
        (call.fixmedins_code, row["opter_no"]),
    )
    forget_sign_ins(call.conn)
    return {"signoutoutb": {"sign_time": call.now_text}}


@handler("1101")
def person_info(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    cert_type = str(data.get("mdtrt_cert_type") or "")
    person = person_by_certificate(call, str(data.get("mdtrt_cert_no") or ""))
    if person is None:
        raise Refusal("", "人员信息不存在")
    if cert_type == "03" and data.get("card_sn") and person["card_sn"] and data["card_sn"] != person["card_sn"]:
        raise Refusal("", "卡识别码与社会保障卡不一致")
    for field in ("certno", "psn_name"):
        given = data.get(field)
        if given and given != person[field]:
            raise Refusal("", "证件号码或姓名与人员信息不一致")
    if cert_type == "03" and not card_active(person):
        raise Refusal("inactive-card")
    baseinfo = {
        "psn_no": person.psn_no,
        "psn_cert_type": person["psn_cert_type"] or "01",
        "certno": person["certno"],
        "psn_name": person["psn_name"],
        "gend": person["gend"],
        "naty": person["naty"],
        "brdy": person["brdy"],
        "age": float(person.age_on(call.today)),
        "exp_content": "",
    }
    insuinfo = {
        "balc": wire_decimal(person.balc),
        "insutype": person.insutype,
        "psn_type": person["psn_type"],
        "psn_insu_stas": person["insu_stas"] or "1",
        "psn_insu_date": person["psn_insu_date"],
        "paus_insu_date": person["paus_insu_date"],
        "cvlserv_flag": person["cvlserv_flag"] or "0",
        "insuplc_admdvs": person.insuplc_admdvs,
        "emp_name": person["emp_name"],
    }
    return {"baseinfo": baseinfo, "insuinfo": [insuinfo], "idetinfo": list(person["idetinfo"] or [])}


@handler("2001")
def benefit_check(call: Call) -> dict[str, Any]:
    data = call.obj("data")
    person = person_for(call, str(data.get("psn_no") or ""))
    fund = "310100" if person.insutype.startswith("31") else "390100"
    enjoy, reason = "1", None
    if person["contribution"] == "lapsed" or person["insu_stas"] in ("2", "4"):
        enjoy, reason = "0", "参保人中断缴费，不能享受异地就医直接结算"
    elif person["benefits"] == "suspended":
        enjoy, reason = "0", "参保人待遇暂停享受"
    begndate = str(data.get("begntime") or call.now_text)[:10]
    row = {
        "psn_no": person.psn_no,
        "trt_chk_type": "01",
        "fund_pay_type": fund,
        "trt_enjymnt_flag": enjoy,
        "begndate": begndate,
        "enddate": None,
        "trt_chk_rslt": reason,
    }
    return {"trtinfo": [row]}


def _decode_upload(value: Any) -> bytes:
    if isinstance(value, list):
        try:
            return bytes(b & 0xFF for b in value)
        except TypeError as exc:
            raise invalid_request("/input/fsUploadIn/in 文件数据不是字节数组") from exc
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid_request("/input/fsUploadIn/in 文件数据不是合法的Base64文本") from exc
    raise invalid_request("/input/fsUploadIn/in 缺少文件数据")


@handler("9101")
def upload(call: Call) -> dict[str, Any]:
    data = call.obj("fsUploadIn")
    content = call.upload if call.upload is not None else _decode_upload(data.get("in"))
    filename = str(data.get("filename") or "upload.txt")
    file_qury_no = call.new_id("F", "file_qury_no")
    endtime = fmt_datetime(call.now + timedelta(days=FILE_KEEP_DAYS))
    call.conn.execute(
        "INSERT INTO files(file_qury_no, fixmedins_code, filename, kind, content, created_at, dld_endtime)"
        " VALUES (?, ?, ?, 'upload', ?, ?, ?)",
        (file_qury_no, call.fixmedins_code, filename, content, call.now_text, endtime),
    )
    call.effect.update(kind="file", file_qury_no=file_qury_no)
    return {"file_qury_no": file_qury_no, "filename": filename, "fixmedins_code": call.fixmedins_code,
            "dld_endtime": endtime}  # fmt: skip


@handler("9102")
def download(call: Call) -> None:
    data = call.obj("fsDownloadIn")
    row = call.conn.execute(
        "SELECT filename, content FROM files WHERE file_qury_no = ? AND fixmedins_code = ?",
        (str(data.get("file_qury_no") or ""), call.fixmedins_code),
    ).fetchone()
    if row is None:
        raise Refusal("", "文件不存在或已过期")
    call.download = (row["filename"], bytes(row["content"]))
    return None
