"""The foreign site's money arithmetic: classify fee rows, then split a batch between fund, person, hospital.

Decimal throughout, ROUND_HALF_UP to 2 places (the spec's money is 16,2). Its own rules, reasonable
per the spec: unknown catalogue codes are fully self-paid; above a price cap the hospital bears the
difference (hosp_part_amt); a per-visit deductible, then the insured region's pool ratio; the personal
account pays the whole person part as far as the balance goes.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .data import CATALOGUE, Person, policy

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
NO_CAP = Decimal("999999.00")
FUND_NAMES = {"310": ("310100", "职工基本医疗保险统筹基金"), "390": ("390100", "城乡居民基本医疗保险基金")}


def r2(value: Decimal) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def classify(row: dict[str, Any]) -> dict[str, Any]:
    """One 2204 result row for one uploaded fee row."""
    amount, cnt, pric = r2(row["det_item_fee_sumamt"]), Decimal(row["cnt"]), Decimal(row["pric"])
    lv, share, cap, chrg_type = CATALOGUE.get(row["med_list_codg"], ("03", Decimal("1"), None, "14"))
    own = over = pre = ZERO
    if lv == "03":
        own = amount
    else:
        if cap is not None and pric > cap:
            over = min(amount, r2((pric - cap) * cnt))
        pre = r2((amount - over) * share)
    inscp = amount - own - over - pre
    return {
        "feedetl_sn": row["feedetl_sn"], "det_item_fee_sumamt": amount, "cnt": cnt, "pric": pric,
        "pric_uplmt_amt": cap if cap is not None else NO_CAP, "selfpay_prop": share,
        "fulamt_ownpay_amt": own, "overlmt_amt": over, "preselfpay_amt": pre, "inscp_scp_amt": inscp,
        "chrgitm_lv": lv, "med_chrgitm_type": chrg_type, "lmt_used_flag": "0",
        "memo": "" if row["med_list_codg"] in CATALOGUE else "目录外项目，按全自费处理",
    }


def settle(person: Person, rows: list[dict[str, Any]], *, use_account: bool, balance: Decimal) -> dict[str, Any]:
    """The money fields of a settlement of these classified rows (2206 and 2207 alike)."""
    total = sum((r["det_item_fee_sumamt"] for r in rows), ZERO)
    own = sum((r["fulamt_ownpay_amt"] for r in rows), ZERO)
    over = sum((r["overlmt_amt"] for r in rows), ZERO)
    pre = sum((r["preselfpay_amt"] for r in rows), ZERO)
    inscp = sum((r["inscp_scp_amt"] for r in rows), ZERO)
    deductible, ratio = policy(person.insuplc_admdvs, person.insutype)
    dedc = min(deductible, inscp)
    pool = r2((inscp - dedc) * ratio)
    hosp = over  # the hospital bears what lies above the price cap
    psn_part = total - pool - hosp
    acct = min(balance, psn_part) if use_account and balance > 0 else ZERO
    return {
        "medfee_sumamt": total, "fulamt_ownpay_amt": own, "overlmt_selfpay": over, "preselfpay_amt": pre,
        "inscp_scp_amt": inscp, "act_pay_dedc": dedc, "hifp_pay": pool, "pool_prop_selfpay": ratio,
        "cvlserv_pay": ZERO, "hifes_pay": ZERO, "hifmi_pay": ZERO, "hifob_pay": ZERO, "maf_pay": ZERO,
        "oth_pay": ZERO, "fund_pay_sumamt": pool, "psn_part_amt": psn_part, "acct_pay": acct,
        "psn_cash_pay": psn_part - acct, "hosp_part_amt": hosp, "balc": balance - acct, "acct_mulaid_pay": ZERO,
    }


def fund_rows(person: Person, money: dict[str, Any]) -> list[dict[str, Any]]:
    """setldetail: the pool fund's row, and the hospital's share as its own row (999996) when there is one."""
    code, name = FUND_NAMES.get(person.insutype, ("999997", "其他基金"))
    rows = [{"fund_pay_type": code, "fund_pay_type_name": name, "inscp_scp_amt": money["inscp_scp_amt"],
             "crt_payb_lmt_amt": None, "fund_payamt": money["hifp_pay"], "setl_proc_info": ""}]
    if money["hosp_part_amt"]:
        rows.append({"fund_pay_type": "999996", "fund_pay_type_name": "医院负担", "inscp_scp_amt": ZERO,
                     "crt_payb_lmt_amt": None, "fund_payamt": money["hosp_part_amt"], "setl_proc_info": ""})
    return rows


def negate(money: dict[str, Any]) -> dict[str, Any]:
    keep = {"pool_prop_selfpay", "balc"}
    return {k: (v if k in keep or not isinstance(v, Decimal) or not v else -v) for k, v in money.items()}
