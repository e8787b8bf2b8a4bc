"""After the settlement: reversal (2208), 冲正 (2601), reconciliation (3201) and the settlement query (5203)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import money
from .data import INSTITUTIONS
from .flows import Call
from .store import dumps, loads
from .validate import Refused

MONEY_FIELDS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
                "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay",
                "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay", "psn_cash_pay",
                "hosp_part_amt", "acct_mulaid_pay")
REVERSIBLE = ("2207", "2208")  # what this site can 冲正: its state-changing settlement calls


def _answer(row: Any) -> dict[str, Any]:
    return loads(row["answer"])


def h2208(call: Call) -> dict[str, Any]:
    data = call.data()
    row = call.store.one("SELECT * FROM setl WHERE setl_id = ? AND kind = 'S' AND fixmedins_code = ?",
                         data["setl_id"], call.inst)
    if row is None or row["mdtrt_id"] != data["mdtrt_id"] or row["psn_no"] != data["psn_no"]:
        raise Refused(f"查无此结算记录：{data['setl_id']}")
    if row["reversed_by"]:
        raise Refused(f"结算{data['setl_id']}已作废，不可再次撤销")
    original = loads(row["answer"])
    info = original["setlinfo"]
    amounts = {k: Decimal(str(info[k])) for k in MONEY_FIELDS}
    rev_id = call.new_id("TF")
    call.store.add_balance(row["psn_no"], amounts["acct_pay"])
    back = amounts if "reversal-not-negated" in call.bugs else money.negate(amounts)
    setlinfo = {**{k: info.get(k) for k in ("mdtrt_id", "psn_no", "psn_name", "psn_cert_type", "certno", "gend",
                                            "naty", "brdy", "age", "insutype", "psn_type", "cvlserv_flag",
                                            "mdtrt_cert_type", "med_type", "clr_type", "clr_way", "clr_optins")},
                **back, "pdn_cash_pay": back["psn_cash_pay"], "balc": call.store.balance(row["psn_no"]),
                "setl_id": rev_id, "setl_time": call.stamp(), "medins_setl_id": call.msgid}
    sign = Decimal(1) if "reversal-not-negated" in call.bugs else Decimal(-1)
    detail = [{**d, "inscp_scp_amt": sign * Decimal(str(d["inscp_scp_amt"])),
               "fund_payamt": sign * Decimal(str(d["fund_payamt"]))} for d in original["setldetail"]]
    output = {"setlinfo": setlinfo, "setldetail": detail}
    stored = {"setlinfo": {**setlinfo, **money.negate(amounts)}, "setldetail": detail}
    call.store.run("INSERT INTO setl VALUES (?, ?, ?, ?, ?, '11', ?, ?, 'R', ?, '', ?, ?)", rev_id, row["mdtrt_id"],
                   row["psn_no"], call.inst, row["insutype"], call.now.date().isoformat(), call.msgid,
                   row["setl_id"], dumps(stored), row["chrg_bchno"])
    call.store.run("UPDATE setl SET reversed_by = ? WHERE setl_id = ?", rev_id, row["setl_id"])
    call.store.run("UPDATE fee SET setl_id = '' WHERE setl_id = ?", row["setl_id"])
    return output




def h2601(call: Call) -> dict[str, Any]:
    data = call.data()
    if data["oinfno"] not in REVERSIBLE:
        raise Refused(f"交易{data['oinfno']}不支持冲正")
    kind = "S" if data["oinfno"] == "2207" else "R"
    row = call.store.one("SELECT * FROM setl WHERE msgid = ? AND kind = ? AND fixmedins_code = ?", data["omsgid"],
                         kind, call.inst)
    if row is None or row["psn_no"] != data["psn_no"]:
        call.warnings.append(f"原交易{data['omsgid']}未生效，无需冲正")
        return {}
    acct = Decimal(str(_answer(row)["setlinfo"]["acct_pay"]))
    if kind == "S":
        if row["reversed_by"]:
            call.store.run("DELETE FROM setl WHERE setl_id = ?", row["reversed_by"])
        else:
            call.store.add_balance(row["psn_no"], acct)
            call.store.run("UPDATE fee SET setl_id = '' WHERE setl_id = ?", row["setl_id"])
        call.store.run("DELETE FROM setl WHERE setl_id = ?", row["setl_id"])
    else:
        original = call.store.one("SELECT * FROM setl WHERE setl_id = ?", row["orig_setl_id"])
        assert original is not None
        if call.store.one("SELECT 1 FROM setl WHERE mdtrt_id = ? AND kind = 'S' AND reversed_by = ''",
                          original["mdtrt_id"]):
            raise Refused("原结算撤销后已重新结算，不能冲正该撤销交易")
        call.store.add_balance(row["psn_no"], acct)  # acct of the reversal is negative: debit again
        call.store.run("UPDATE setl SET reversed_by = '' WHERE setl_id = ?", original["setl_id"])
        call.store.run("UPDATE fee SET setl_id = ? WHERE mdtrt_id = ? AND chrg_bchno = ? AND setl_id = ''",
                       original["setl_id"], original["mdtrt_id"], original["chrg_bchno"])
        call.store.run("DELETE FROM setl WHERE setl_id = ?", row["setl_id"])
    call.store.forget(call.inst, data["omsgid"])
    return {}


def h3201(call: Call) -> dict[str, Any]:
    data = call.data()
    rows = [loads(r["answer"])["setlinfo"] for r in call.store.all(
        "SELECT answer FROM setl WHERE fixmedins_code = ? AND insutype = ? AND clr_type = ? "
        "AND setl_date BETWEEN ? AND ?",
        call.inst, data["insutype"], data["clr_type"], data["stmt_begndate"], data["stmt_enddate"])]
    rows = [r for r in rows if r.get("clr_optins") == data["setl_optins"]]  # one clearing agency at a time
    ours = {k: sum((Decimal(str(r[k])) for r in rows), money.ZERO)
            for k in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")}
    theirs = {k: money.r2(data[k]) for k in ours}
    balanced = ours == theirs and int(data["fixmedins_setl_cnt"]) == len(rows)
    if "recon-always-balanced" in call.bugs:
        balanced = True
    text = "对账平" if balanced else (
        f"对账不平：中心{len(rows)}笔 医疗费{ours['medfee_sumamt']} 基金{ours['fund_pay_sumamt']} "
        f"账户{ours['acct_pay']}；机构{data['fixmedins_setl_cnt']}笔 医疗费{theirs['medfee_sumamt']} "
        f"基金{theirs['fund_pay_sumamt']} 账户{theirs['acct_pay']}")
    return {"stmtinfo": {"setl_optins": data["setl_optins"], "stmt_rslt": "0" if balanced else "1",
                         "stmt_rslt_dscr": text}}


def h5203(call: Call) -> dict[str, Any]:
    data = call.data()
    row = call.store.one("SELECT * FROM setl WHERE setl_id = ? AND fixmedins_code = ?", data["setl_id"], call.inst)
    if row is None or row["mdtrt_id"] != data["mdtrt_id"] or row["psn_no"] != data["psn_no"]:
        raise Refused(f"查无此结算记录：{data['setl_id']}")
    answer = _answer(row)
    info = answer["setlinfo"]
    setl_time = info.get("setl_time") or ""
    return {"setlinfo": {**info, "pay_loc": "4", "fixmedins_code": call.inst,
                         "fixmedins_name": INSTITUTIONS.get(call.inst, ("",))[0], "begndate": setl_time[:10],
                         "enddate": setl_time[:10], "psn_pay": info["psn_part_amt"],
                         "cash_payamt": info["psn_cash_pay"], "refd_setl_flag": "1" if row["kind"] == "R" else "0",
                         "year": setl_time[:4]},
            "setldetail": answer["setldetail"]}
