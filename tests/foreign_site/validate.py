"""A lenient input validator, as many provincial fronts have one.

It checks what the spec marks required (是否必填 Y): presence, type, length and, for coded fields,
the code list. Optional fields are not checked at all: an over-long value or an unknown code in an
optional field is accepted (the spec does not say a platform must refuse it). The tables below are
written from the spec's field tables (interface-facts §4), one line per node.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any


class Refused(Exception):
    """A business refusal: answered infcode -1 with this err_msg, and nothing is changed."""


CODES = {
    "cert": {"01", "02", "03"},
    "insutype": {"310", "320", "330", "340", "350", "360", "370", "380", "390", "391", "392", "399", "410", "510"},
    "med_type": {"11", "12", "13", "14", "21", "22", "41", "51", "52", "9901"},
    "setlway": {"01", "02"},
    "flag": {"0", "1"},
    "appr": {"0", "1", "2"},
    "diag_type": {"1", "2", "3", "4"},
    "clr_type": {"11", "21", "41", "99"},
    "opter_type": {"1", "2", "3"},
}
# Code lists too large to spell out here, checked by their shape: the dept dictionary (科别, A03, A03.01),
# region codes (6-digit admdvs) and transaction codes (oinfno).
SHAPES = {"caty": re.compile(r"^[A-Z][0-9]{2}(\.[0-9]{2})*$"), "admdvs": re.compile(r"^[0-9]{6}$"),
          "infno": re.compile(r"^[0-9]{4}$")}

# name:type[len][:code]; types: s string, n number, dt datetime, d date; a node ending in [] is a list.
_SETTLE = ("psn_no:s30 mdtrt_cert_type:s3:cert mdtrt_cert_no:s50 med_type:s6:med_type medfee_sumamt:n "
           "psn_setlway:s6:setlway mdtrt_id:s30 chrg_bchno:s30 acct_used_flag:s1:flag insutype:s6:insutype")
TABLES: dict[str, dict[str, str]] = {
    "ENV": {"": "infno:s6 msgid:s30 mdtrtarea_admvs:s6:admdvs recer_sys_code:s10 infver:s6 opter_type:s3:opter_type "
                "opter:s30 opter_name:s50 inf_time:dt fixmedins_code:s30 fixmedins_name:s200"},
    "9001": {"signIn": "opter_no:s20 mac:s20 ip:s20"},
    "9002": {"signOut": "sign_no:s30 opter_no:s20"},
    "1101": {"data": "mdtrt_cert_type:s3:cert mdtrt_cert_no:s50"},
    "2201": {"data": "psn_no:s30 insutype:s6:insutype begntime:dt mdtrt_cert_type:s3:cert mdtrt_cert_no:s50 "
                     "ipt_otp_no:s30 atddr_no:s30 dr_name:s50 dept_code:s30 dept_name:s100 caty:s10:caty"},
    "2202": {"data": "psn_no:s30 mdtrt_id:s30 ipt_otp_no:s30"},
    "2203": {"mdtrtinfo": "mdtrt_id:s30 psn_no:s30 med_type:s6:med_type begntime:dt",
             "diseinfo[]": "diag_type:s3:diag_type diag_srt_no:n diag_code:s20 diag_name:s100 diag_dept:s50 "
                           "dise_dor_no:s30 dise_dor_name:s50 diag_time:dt vali_flag:s3:flag"},
    "2204": {"feedetail[]": "feedetl_sn:s30 mdtrt_id:s30 psn_no:s30 chrg_bchno:s30 rx_circ_flag:s3:flag "
                            "fee_ocur_time:dt med_list_codg:s50 medins_list_codg:s150 det_item_fee_sumamt:n cnt:n "
                            "pric:n bilg_dept_codg:s30 bilg_dept_name:s100 bilg_dr_codg:s30 bilg_dr_name:s50 "
                            "hosp_appr_flag:s3:appr"},
    "2205": {"data": "mdtrt_id:s30 chrg_bchno:s30 psn_no:s30"},
    "2206": {"data": _SETTLE},
    "2207": {"data": _SETTLE + " fulamt_ownpay_amt:n overlmt_selfpay:n preselfpay_amt:n inscp_scp_amt:n"},
    "2208": {"data": "setl_id:s30 mdtrt_id:s30 psn_no:s30"},
    "2601": {"data": "psn_no:s30 omsgid:s30 oinfno:s4:infno"},
    "3201": {"data": "insutype:s6:insutype clr_type:s6:clr_type setl_optins:s6 stmt_begndate:d stmt_enddate:d "
                     "medfee_sumamt:n fund_pay_sumamt:n acct_pay:n fixmedins_setl_cnt:n"},
    "5203": {"data": "psn_no:s30 setl_id:s30 mdtrt_id:s30"},
}
_DT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_D = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _field(path: str, value: Any, spec: str) -> None:
    name, kind, *code = spec.split(":")
    where = f"{path}.{name}" if path else name
    if value is None or value == "":
        raise Refused(f"参数校验不通过：{where} 为必填项")
    if kind == "n":
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise Refused(f"参数校验不通过：{where} 应为数值")
        return
    if not isinstance(value, str):
        raise Refused(f"参数校验不通过：{where} 应为字符串")
    if kind == "dt" and not _DT.match(value):
        raise Refused(f"参数校验不通过：{where} 时间格式应为yyyy-MM-dd HH:mm:ss")
    if kind == "d" and not _D.match(value):
        raise Refused(f"参数校验不通过：{where} 日期格式应为yyyy-MM-dd")
    if kind.startswith("s") and len(value) > int(kind[1:]):
        raise Refused(f"参数校验不通过：{where} 长度超过{kind[1:]}")
    if code and (not SHAPES[code[0]].match(value) if code[0] in SHAPES else value not in CODES[code[0]]):
        raise Refused(f"参数校验不通过：{where} 取值[{value}]不在字典范围内")


def _node(path: str, record: Any, fields: str) -> None:
    if not isinstance(record, dict):
        raise Refused(f"参数校验不通过：{path} 应为对象")
    for spec in fields.split():
        _field(path, record.get(spec.split(":")[0]), spec)


def check_envelope(envelope: dict[str, Any]) -> None:
    _node("", envelope, TABLES["ENV"][""])
    if not isinstance(envelope.get("input"), dict):
        raise Refused("参数校验不通过：input 应为JSON对象")


def check_input(infno: str, payload: dict[str, Any]) -> None:
    for node, fields in TABLES.get(infno, {}).items():
        name = node.removesuffix("[]")
        value = payload.get(name)
        if node.endswith("[]"):
            if not isinstance(value, list) or not value:
                raise Refused(f"参数校验不通过：input.{name} 应为非空数组")
            for i, row in enumerate(value):
                _node(f"input.{name}[{i}]", row, fields)
        else:
            _node(f"input.{name}", value, fields)
