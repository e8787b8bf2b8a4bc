"""Sample messages, built the way a HIS builds them: envelopes and inputs for every transaction.

Used by the platform's own tests, the benchmark and the README's curl walk-through, so that a
message that works here is a message a HIS can copy. `SampleHis` numbers msgids as the spec says
(fixmedins_code (12) + yyyyMMddHHmmss (14) + sequence (4)) and remembers its sign_no.

    his = SampleHis.for_institution(catalogue.default_institution())
    envelope = his.envelope("2201", register_input(persona, "MZ0001"), persona)
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "SampleHis",
    "admit_input",
    "discharge_input",
    "fee_lines",
    "inpatient_settle_input",
    "person_input",
    "register_input",
    "reverse_input",
    "settle_input",
    "sign_in_input",
    "total",
    "visit_input",
]

_SEQ = itertools.count(1)
_SEQ_LOCK = threading.Lock()


def _now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


class SampleHis:
    """Envelopes of one institution."""

    def __init__(self, fixmedins_code: str, fixmedins_name: str, mdtrtarea_admvs: str, *, opter: str = "0001",
                 infver: str = "V1.0", recer_sys_code: str = "MBS_LOCAL") -> None:  # fmt: skip
        self.fixmedins_code = fixmedins_code
        self.fixmedins_name = fixmedins_name
        self.mdtrtarea_admvs = mdtrtarea_admvs
        self.opter = opter
        self.infver = infver
        self.recer_sys_code = recer_sys_code
        self.sign_no = ""

    @classmethod
    def for_institution(cls, institution: Any, **kwargs: Any) -> SampleHis:
        return cls(institution.fixmedins_code, institution.fixmedins_name, institution.mdtrtarea_admvs, **kwargs)

    def msgid(self) -> str:
        with _SEQ_LOCK:
            seq = next(_SEQ) % 10000
        return f"{self.fixmedins_code}{datetime.now():%Y%m%d%H%M%S}{seq:04d}"

    def envelope(self, infno: str, input: dict[str, Any], persona: Any = None, *, msgid: str | None = None,
                 insuplc_admdvs: str | None = None) -> dict[str, Any]:  # fmt: skip
        insuplc = insuplc_admdvs if insuplc_admdvs is not None else (persona.insuplc_admdvs if persona else "")
        return {
            "infno": infno, "msgid": msgid or self.msgid(), "mdtrtarea_admvs": self.mdtrtarea_admvs,
            "insuplc_admdvs": insuplc, "recer_sys_code": self.recer_sys_code, "dev_no": "", "dev_safe_info": "",
            "cainfo": "", "signtype": "", "infver": self.infver, "opter_type": "1", "opter": self.opter,
            "opter_name": "测试经办人", "inf_time": _now(), "fixmedins_code": self.fixmedins_code,
            "fixmedins_name": self.fixmedins_name, "sign_no": self.sign_no, "input": input,
        }  # fmt: skip


def sign_in_input(opter_no: str = "0001") -> dict[str, Any]:
    return {"signIn": {"opter_no": opter_no, "mac": "00-16-3E-00-00-01", "ip": "127.0.0.1"}}


def _identity(persona: Any) -> dict[str, Any]:
    return {"psn_cert_type": persona.psn_cert_type, "certno": persona.certno, "psn_type": persona.psn_type,
            "psn_name": persona.psn_name}  # fmt: skip


def _cert(persona: Any) -> dict[str, Any]:
    data = {"mdtrt_cert_type": persona.mdtrt_cert_type, "mdtrt_cert_no": persona.mdtrt_cert_no}
    data["card_sn"] = persona.card_sn if persona.mdtrt_cert_type == "03" else ""
    return data


def person_input(persona: Any) -> dict[str, Any]:
    return {"data": {**_cert(persona), "begntime": "", "psn_cert_type": persona.psn_cert_type,
                     "certno": persona.certno, "psn_name": persona.psn_name}}  # fmt: skip


def register_input(persona: Any, ipt_otp_no: str) -> dict[str, Any]:
    return {"data": {"psn_no": persona.psn_no, "insutype": persona.insutype, "begntime": _now(), **_cert(persona),
                     **_identity(persona), "ipt_otp_no": ipt_otp_no, "atddr_no": "D001", "dr_name": "张医生",
                     "dept_code": "K01", "dept_name": "内科", "caty": "A03"}}  # fmt: skip


def visit_input(persona: Any, mdtrt_id: str, *, med_type: str = "11", dise_codg: str = "J06.900",
                dise_name: str = "急性上呼吸道感染", exp_content: Any = "") -> dict[str, Any]:  # fmt: skip
    return {
        "mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": persona.psn_no, "med_type": med_type, "begntime": _now(),
                      "main_cond_dscr": "", "dise_codg": dise_codg, "dise_name": dise_name, "exp_content": exp_content},
        "diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": dise_codg, "diag_name": dise_name,
                      "diag_dept": "内科", "dise_dor_no": "D001", "dise_dor_name": "张医生", "diag_time": _now(),
                      "vali_flag": "1"}],
    }  # fmt: skip


def fee_lines(persona: Any, mdtrt_id: str, lines: Sequence[tuple[Any, str | int | Decimal]], *, chrg_bchno: str = "",
              first_sn: int = 1, inpatient: bool = False, med_type: str = "21") -> list[dict[str, Any]]:  # fmt: skip
    """Fee rows for (catalogue item, count) pairs; amounts are price × count rounded half-up."""
    rows = []
    for offset, (item, cnt) in enumerate(lines):
        count = Decimal(str(cnt))
        pric = Decimal(str(item.pric))
        row: dict[str, Any] = {
            "feedetl_sn": str(first_sn + offset), "mdtrt_id": mdtrt_id, "psn_no": persona.psn_no,
            "fee_ocur_time": _now(), "med_list_codg": item.med_list_codg, "medins_list_codg": item.medins_list_codg,
            "det_item_fee_sumamt": float((pric * count).quantize(Decimal("0.01"), ROUND_HALF_UP)),
            "cnt": float(count), "pric": float(pric), "bilg_dept_codg": "K01", "bilg_dept_name": "内科",
            "bilg_dr_codg": "D001", "bilg_dr_name": "张医生", "hosp_appr_flag": "1",
        }  # fmt: skip
        if inpatient:
            row["med_type"] = med_type
        else:
            row.update(chrg_bchno=chrg_bchno, rx_circ_flag="0")
        rows.append(row)
    return rows


def total(rows: Sequence[dict[str, Any]]) -> float:
    return float(sum((Decimal(str(r["det_item_fee_sumamt"])) for r in rows), Decimal("0.00")))


def settle_input(persona: Any, mdtrt_id: str, chrg_bchno: str, medfee_sumamt: float, *, med_type: str = "11",
                 acct_used_flag: str = "1", presettle: bool = False,
                 exp_content: Any = "") -> dict[str, Any]:  # fmt: skip
    data = {"psn_no": persona.psn_no, **_cert(persona), **_identity(persona), "med_type": med_type,
            "medfee_sumamt": medfee_sumamt, "psn_setlway": "01", "mdtrt_id": mdtrt_id, "chrg_bchno": chrg_bchno,
            "acct_used_flag": acct_used_flag, "insutype": persona.insutype, "exp_content": exp_content}  # fmt: skip
    if not presettle:
        data.update(invono="", fulamt_ownpay_amt=0, overlmt_selfpay=0, preselfpay_amt=0, inscp_scp_amt=0)
    return {"data": data}


def reverse_input(persona: Any, mdtrt_id: str, setl_id: str) -> dict[str, Any]:
    return {"data": {"setl_id": setl_id, "mdtrt_id": mdtrt_id, "psn_no": persona.psn_no}}


def admit_input(persona: Any, ipt_no: str, *, med_type: str = "21", exp_content: Any = "",
                mdtrtarea_admvs: str = "") -> dict[str, Any]:
    return {
        "mdtrtinfo": {"psn_no": persona.psn_no, "insutype": persona.insutype, "begntime": _now(), **_cert(persona),
                      "cert_type": persona.psn_cert_type, **_identity(persona), "med_type": med_type, "ipt_no": ipt_no,
                      "atddr_no": "D001", "chfpdr_name": "张医生", "adm_diag_dscr": "肺炎", "adm_dept_codg": "K01",
                      "adm_dept_name": "内科", "adm_bed": "01", "dscg_maindiag_code": "J18.900",
                      "dscg_maindiag_name": "肺炎", "exp_content": exp_content,
                      "insuplc_admdvs": persona.insuplc_admdvs, "mdtrtarea_admvs": mdtrtarea_admvs},
        "diseinfo": [{"psn_no": persona.psn_no, "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": 1,
                      "diag_code": "J18.900", "diag_name": "肺炎", "diag_dept": "内科", "dise_dor_no": "D001",
                      "dise_dor_name": "张医生", "diag_time": _now()}],
    }  # fmt: skip


def discharge_input(persona: Any, mdtrt_id: str) -> dict[str, Any]:
    return {
        "dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": persona.psn_no, "insutype": persona.insutype, "endtime": _now(),
                     "dscg_dept_codg": "K01", "dscg_dept_name": "内科", "dscg_way": "1"},
        "diseinfo": [{"mdtrt_id": mdtrt_id, "psn_no": persona.psn_no, "diag_type": "1", "maindiag_flag": "1",
                      "diag_srt_no": 1, "diag_code": "J18.900", "diag_name": "肺炎", "diag_dept": "内科",
                      "dise_dor_no": "D001", "dise_dor_name": "张医生", "diag_time": _now()}],
    }  # fmt: skip


def inpatient_settle_input(persona: Any, mdtrt_id: str, medfee_sumamt: float, *, mid_setl_flag: str = "0",
                           acct_used_flag: str = "1", mdtrtarea_admvs: str = "") -> dict[str, Any]:  # fmt: skip
    return {"data": {"psn_no": persona.psn_no, **_cert(persona), **_identity(persona), "medfee_sumamt": medfee_sumamt,
                     "psn_setlway": "01", "mdtrt_id": mdtrt_id, "insutype": persona.insutype,
                     "acct_used_flag": acct_used_flag, "mid_setl_flag": mid_setl_flag,
                     "insuplc_admdvs": persona.insuplc_admdvs, "mdtrtarea_admvs": mdtrtarea_admvs}}  # fmt: skip
