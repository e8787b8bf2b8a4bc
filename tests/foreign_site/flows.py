"""Handlers of the foreign site: sign-in, person query, outpatient flow, reversal, 冲正, reconciliation.

Each handler takes the call and returns the `output` object, or raises `Refused`. A handler runs in one
SQLite transaction that a refusal rolls back, so a refusal leaves nothing behind. Refusal steps are
this site's own: card, contribution and benefit problems at 1101, filing and enablement at 2201,
a total that does not match the details only at 2207 (2206 computes on the details and warns).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from . import money
from .data import (
    CLEARING_AGENCY,
    INSTITUTIONS,
    OUTPATIENT_ENABLED_PROVINCES,
    PERSONS,
    TREATING_ADMDVS,
    Person,
    person_by_no,
)
from .store import Store, dumps, loads
from .validate import Refused


@dataclass
class Call:
    store: Store
    envelope: dict[str, Any]
    bugs: frozenset[str]
    now: datetime
    warnings: list[str] = field(default_factory=list)

    @property
    def inst(self) -> str:
        return self.envelope["fixmedins_code"]

    @property
    def msgid(self) -> str:
        return self.envelope["msgid"]

    def data(self, node: str = "data") -> dict[str, Any]:
        return self.envelope["input"][node]

    def stamp(self) -> str:
        return self.now.strftime("%Y-%m-%d %H:%M:%S")

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{self.now:%y%m%d}{self.inst[-3:]}{self.store.next(prefix):07d}"


# --- persons -----------------------------------------------------------------------------------------

def card_holder(cert_no: str, card_sn: Any) -> Person:
    person = next((p for p in PERSONS if p.card_no and p.card_no == cert_no), None)
    if person is None or (card_sn and card_sn != person.card_sn):
        raise Refused(f"未查询到参保人员信息：社会保障卡号{cert_no}")
    if person.card_state != "ok":
        raise Refused("社会保障卡不可用（卡状态：" + {"not-activated": "未启用"}.get(person.card_state, "作废") + "）")
    return person


def emergency_flag(data: dict[str, Any]) -> bool:
    """An emergency registration: exp_content OTP_ER_REFL_FLAG 1 or 3 (门诊急诊转诊标志), as a JSON text or object."""
    ext = data.get("exp_content") or data.get("expContent") or {}
    if isinstance(ext, str):
        try:
            ext = loads(ext)
        except ValueError:
            return False
    return isinstance(ext, dict) and str(ext.get("OTP_ER_REFL_FLAG", "")) in ("1", "3")


def gate_person(call: Call, person: Person, step: str, *, emergency: bool = False) -> None:
    """The refusals of this site, at the step where it makes them. An emergency is treated as filed."""
    if person.insu_stas != "1":
        raise Refused("参保人处于停保状态（缴费中断），暂停直接结算")
    if person.benefits_frozen:
        raise Refused("参保人医疗保障待遇已冻结，不能享受医保结算")
    if step == "1101" or person.insuplc_admdvs[:2] == TREATING_ADMDVS[:2]:
        return
    _name, networked = INSTITUTIONS.get(call.inst, ("", False))
    if not networked:
        raise Refused(f"本院（{call.inst}）未取得跨省直接结算资质")
    if person.insuplc_admdvs[:2] not in OUTPATIENT_ENABLED_PROVINCES:
        raise Refused(f"参保地{person.insuplc_admdvs}尚未开通跨省门诊直接结算业务")
    if emergency:
        return
    if not person.filing_area:
        if "accept-not-filed" in call.bugs:  # planted bug: settles a person without a filing
            return
        raise Refused("该参保人无跨省异地就医登记记录，请先在参保地办理登记")
    if not TREATING_ADMDVS.startswith(person.filing_area.rstrip("0")):
        raise Refused(f"参保人登记的就医地（{person.filing_area}）与本次就医地（{TREATING_ADMDVS}）不符")
    begin, end = person.filing_window(call.now.date())
    if call.now.date() < begin or (end is not None and call.now.date() > end):
        raise Refused(f"参保人异地就医登记已于{end}到期")


def person_of(call: Call, psn_no: str) -> Person:
    """The person, found where the envelope routes the call: insuplc_admdvs is required with a psn_no."""
    region = call.envelope.get("insuplc_admdvs") or ""
    if not region:
        raise Refused("参数校验不通过：insuplc_admdvs 参保地医保区划为必填项（入参含人员编号）")
    person = person_by_no(psn_no)
    if person is None or person.insuplc_admdvs != region:
        raise Refused(f"人员编号不存在：{psn_no}（参保地{region}）")
    return person


def check_credential(call: Call, person: Person, data: dict[str, Any]) -> None:
    if data.get("mdtrt_cert_type") == "03" and card_holder(data["mdtrt_cert_no"], data.get("card_sn")) != person:
        raise Refused("就诊凭证与人员编号不符")


def visit_of(call: Call, mdtrt_id: str, psn_no: str) -> Any:
    row = call.store.one("SELECT * FROM visit WHERE mdtrt_id = ? AND fixmedins_code = ? AND status = 'open'",
                         mdtrt_id, call.inst)
    if row is None or row["psn_no"] != psn_no:
        raise Refused(f"就诊记录不存在：{mdtrt_id}")
    return row


def age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def demographics(person: Person, today: date) -> dict[str, Any]:
    return {"psn_no": person.psn_no, "psn_name": person.name, "psn_cert_type": "01", "certno": person.certno,
            "gend": person.gend, "naty": "01", "brdy": person.brdy.isoformat(), "age": age(person.brdy, today)}


# --- sign-in ------------------------------------------------------------------------------------------

def h9001(call: Call) -> dict[str, Any]:
    opter = call.data("signIn")["opter_no"]
    row = call.store.one("SELECT sign_no FROM signin WHERE opter = ? AND active = 1", opter)
    sign_no = row["sign_no"] if row else f"QD{call.now:%Y%m%d%H%M%S}{call.store.next('QD'):06d}"
    if row is None:
        call.store.run("INSERT INTO signin VALUES (?, ?, 1)", sign_no, opter)
    return {"signinoutb": {"sign_time": call.stamp(), "sign_no": sign_no}}


def h9002(call: Call) -> dict[str, Any]:
    out = call.data("signOut")  # the sign_no is invalid afterwards, and so are the operator's other terminals
    call.store.run("UPDATE signin SET active = 0 WHERE opter = ? OR sign_no = ?", out["opter_no"], out["sign_no"])
    return {"signoutoutb": {"sign_time": call.stamp()}}


# --- person query and outpatient flow -----------------------------------------------------------------

def h1101(call: Call) -> dict[str, Any]:
    data = call.data()
    kind, cert_no = data["mdtrt_cert_type"], data["mdtrt_cert_no"]
    if kind == "03":
        person = card_holder(cert_no, data.get("card_sn"))
    elif kind == "02":
        person = next((p for p in PERSONS if p.certno == cert_no), None)  # type: ignore[assignment]
        if person is None:
            raise Refused(f"未查询到参保人员信息：证件号码{cert_no}")
    else:
        raise Refused("电子凭证令牌无效或已过期，请重新出示医保码")
    gate_person(call, person, "1101")
    today = call.now.date()
    insuinfo = {"balc": call.store.balance(person.psn_no), "insutype": person.insutype, "psn_type": person.psn_type,
                "psn_insu_stas": person.insu_stas, "psn_insu_date": "2010-01-01", "paus_insu_date": None,
                "cvlserv_flag": "0", "insuplc_admdvs": person.insuplc_admdvs, "emp_name": ""}
    return {"baseinfo": {**demographics(person, today), "exp_content": None}, "insuinfo": [insuinfo], "idetinfo": []}


def h2201(call: Call) -> dict[str, Any]:
    data = call.data()
    person = person_of(call, data["psn_no"])
    check_credential(call, person, data)
    if data["insutype"] != person.insutype:
        raise Refused(f"险种类型{data['insutype']}与参保信息不符")
    emergency = emergency_flag(data)
    gate_person(call, person, "2201", emergency=emergency)
    mdtrt_id = call.new_id("MZ")
    call.store.run("INSERT INTO visit VALUES (?, ?, ?, ?, ?, '', 'open', ?, ?)", mdtrt_id, call.inst, person.psn_no,
                   person.insutype, data["ipt_otp_no"], call.msgid, int(emergency))
    return {"data": {"mdtrt_id": mdtrt_id, "psn_no": person.psn_no, "ipt_otp_no": data["ipt_otp_no"]}}


def live_settlement(call: Call, mdtrt_id: str) -> Any:
    return call.store.one("SELECT * FROM setl WHERE mdtrt_id = ? AND kind = 'S' AND reversed_by = ''", mdtrt_id)


def h2202(call: Call) -> dict[str, Any]:
    data = call.data()
    visit_of(call, data["mdtrt_id"], data["psn_no"])
    if live_settlement(call, data["mdtrt_id"]):
        raise Refused("该就诊存在有效结算，请先撤销结算再撤销挂号")
    call.store.run("UPDATE visit SET status = 'cancelled' WHERE mdtrt_id = ?", data["mdtrt_id"])
    call.store.run("DELETE FROM fee WHERE mdtrt_id = ? AND setl_id = ''", data["mdtrt_id"])
    return {}


def h2203(call: Call) -> dict[str, Any]:
    info = call.data("mdtrtinfo")
    visit_of(call, info["mdtrt_id"], info["psn_no"])
    call.store.run("UPDATE visit SET med_type = ? WHERE mdtrt_id = ?", info["med_type"], info["mdtrt_id"])
    return {}


def h2204(call: Call) -> dict[str, Any]:
    result = []
    for row in call.envelope["input"]["feedetail"]:
        visit_of(call, row["mdtrt_id"], row["psn_no"])
        if call.store.one("SELECT 1 FROM fee WHERE mdtrt_id = ? AND feedetl_sn = ?", row["mdtrt_id"],
                          row["feedetl_sn"]):
            raise Refused(f"费用明细流水号{row['feedetl_sn']}已上传，不能重复上传")
        classified = money.classify(row)
        call.store.run("INSERT INTO fee VALUES (?, ?, ?, ?, '')", row["mdtrt_id"], row["feedetl_sn"],
                       row["chrg_bchno"], dumps({**row, **classified}))
        result.append(classified)
    return {"result": result}


def h2205(call: Call) -> dict[str, Any]:
    data = call.data()
    visit_of(call, data["mdtrt_id"], data["psn_no"])
    batch = "" if data["chrg_bchno"] == "0000" else data["chrg_bchno"]
    if batch and call.store.one("SELECT 1 FROM fee WHERE mdtrt_id = ? AND chrg_bchno = ? AND setl_id != ''",
                                data["mdtrt_id"], batch):
        raise Refused(f"收费批次{batch}的明细已结算，不能撤销")
    call.store.run("DELETE FROM fee WHERE mdtrt_id = ? AND setl_id = '' AND (? = '' OR chrg_bchno = ?)",
                   data["mdtrt_id"], batch, batch)
    return {}


def _fee_rows(call: Call, mdtrt_id: str, batch: str) -> list[dict[str, Any]]:
    rows = call.store.all("SELECT row FROM fee WHERE mdtrt_id = ? AND chrg_bchno = ? AND setl_id = '' "
                          "ORDER BY feedetl_sn", mdtrt_id, batch)
    if not rows:
        raise Refused(f"收费批次{batch}无待结算的费用明细")
    return [money.classify(loads(r["row"])) for r in rows]


def _settle(call: Call, final: bool) -> dict[str, Any]:
    data = call.data()
    visit = visit_of(call, data["mdtrt_id"], data["psn_no"])
    person = person_of(call, data["psn_no"])
    check_credential(call, person, data)
    gate_person(call, person, "2207" if final else "2206", emergency=bool(visit["emergency"]))
    if final and live_settlement(call, visit["mdtrt_id"]) and "duplicate-settle-ok" not in call.bugs:
        old = live_settlement(call, visit["mdtrt_id"])
        raise Refused(f"该次就诊已有有效结算（{old['setl_id']}），不可再次结算")
    if final and live_settlement(call, visit["mdtrt_id"]):
        rows = [money.classify(loads(r["row"])) for r in
                call.store.all("SELECT row FROM fee WHERE mdtrt_id = ?", visit["mdtrt_id"])]
    else:
        rows = _fee_rows(call, visit["mdtrt_id"], data["chrg_bchno"])
    balance = call.store.balance(person.psn_no)
    amounts = money.settle(person, rows, use_account=data["acct_used_flag"] == "1", balance=balance)
    if money.r2(data["medfee_sumamt"]) != amounts["medfee_sumamt"]:
        text = f"结算金额{money.r2(data['medfee_sumamt'])}与明细合计{amounts['medfee_sumamt']}不符"
        if final:
            raise Refused(text)
        call.warnings.append(text + "，按明细合计预结算")
    if "psn-part-off" in call.bugs:
        amounts["psn_part_amt"] += money.CENT
    setlinfo = {"mdtrt_id": visit["mdtrt_id"], **demographics(person, call.now.date()), "insutype": person.insutype,
                "psn_type": person.psn_type, "cvlserv_flag": "0", "mdtrt_cert_type": data["mdtrt_cert_type"],
                "med_type": data["med_type"], **amounts, "medins_setl_id": call.msgid, "clr_type": "11",
                "setl_time": None, "clr_way": None, "clr_optins": None}
    if "setl-id-from-presettle" in call.bugs:
        setlinfo["setl_id"] = "JS" + visit["mdtrt_id"][2:]
    output = {"setlinfo": setlinfo, "setldetail": money.fund_rows(person, amounts)}
    if not final:
        return output
    setl_id = setlinfo.get("setl_id") or call.new_id("JS")
    setlinfo.update(setl_id=setl_id, setl_time=call.stamp(), clr_way="1",
                    clr_optins=CLEARING_AGENCY)
    call.store.run("INSERT OR REPLACE INTO setl VALUES (?, ?, ?, ?, ?, '11', ?, ?, 'S', '', '', ?, ?)", setl_id,
                   visit["mdtrt_id"], person.psn_no, call.inst, person.insutype, call.now.date().isoformat(),
                   call.msgid, dumps(output), data["chrg_bchno"])
    call.store.run("UPDATE fee SET setl_id = ? WHERE mdtrt_id = ? AND chrg_bchno = ? AND setl_id = ''", setl_id,
                   visit["mdtrt_id"], data["chrg_bchno"])
    call.store.add_balance(person.psn_no, -amounts["acct_pay"])
    return output


def h2206(call: Call) -> dict[str, Any]:
    return _settle(call, final=False)


def h2207(call: Call) -> dict[str, Any]:
    return _settle(call, final=True)
