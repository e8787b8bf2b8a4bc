"""Settlement arithmetic: treatment-place catalogue, insured-place policy (就医地目录、参保地政策).

Pure functions over `Decimal`; every amount is rounded half-up to cents at the step that produces
it, never floats. Two stages:

1. `classify` — one fee row against the treating region's catalogue (2204/2301 result rows):
   - not in the catalogue, 丙类 (03), or refused by the approval rule → fully self-paid
     (`fulamt_ownpay_amt` = the row's amount);
   - otherwise the part of the unit price above `pric_uplmt_amt` is over-limit
     (`overlmt_amt` = (pric − cap) × cnt), 乙类 (02) pays `selfpay_prop` of the rest first
     (`preselfpay_amt`), and what remains is inside the policy scope (`inscp_scp_amt`);
   - for an item whose over-limit part the hospital must absorb (`overlmt_hosp_part`: a service
     charged above its capped price, which may not be passed on to the insured person), that part
     is the hospital's (`hosp_part_amt` of the row) instead of the person's;
   - approval rule (spec 2204 note 3): a restricted item (`lmt_used_flag` 1) is self-paid unless
     `hosp_appr_flag` is 1; an unrestricted item is self-paid when `hosp_appr_flag` is 2;
   - an item the insured region has not mapped (`mapped` false) keeps the treating region's class
     (the Guangxi rule); the caller adds a `warn_msg`.
   Refund rows (negative `cnt`) go through the same formulas and come out negative.

2. `settle` — the rows of one settlement against the insured region's benefit rule:
   - the deductible (起付线) comes off the in-scope amount first: act_pay_dedc = min(inscp, deductible);
   - the pool pays pool_ratio of the rest: hifp_pay = round((inscp − act_pay_dedc) × pool_ratio),
     limited to what is left of the annual cap;
   - fund_pay_sumamt = hifp_pay (the other funds are zero on this platform);
   - hosp_part_amt (医院负担) = the over-limit amounts the hospital absorbs; overlmt_selfpay (超限价自费)
     is the rest of the over-limit amounts, the person's;
   - psn_part_amt = medfee_sumamt − fund_pay_sumamt − hosp_part_amt;
   - with the account used and available, acct_pay = min(balance, in-scope personal part), where
     the in-scope personal part is inscp_scp_amt − fund_pay_sumamt; psn_cash_pay is the rest.
   So medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt and
   psn_part_amt = acct_pay + psn_cash_pay hold by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = [
    "CENT",
    "MONEY_FIELD_NAMES",
    "ZERO",
    "BenefitRule",
    "CatalogueItem",
    "FeeClass",
    "FeeInput",
    "SettlementAmounts",
    "classify",
    "dec",
    "money",
    "settle",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
NO_CAP = Decimal("999999.00")  # what real platforms send as pric_uplmt_amt for "no price cap"


def dec(value: Any) -> Decimal:
    """An exact Decimal from a JSON number or string (floats go through their shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if value is None or value == "":
        return Decimal(0)
    try:
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def money(value: Any) -> Decimal:
    """Rounded half-up to cents."""
    return dec(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """An item of the treating region's catalogue."""

    med_list_codg: str
    medins_list_codg: str
    name: str
    chrgitm_lv: str  # 01 甲类, 02 乙类, 03 丙类
    med_chrgitm_type: str
    pric: Decimal
    pric_uplmt_amt: Decimal = NO_CAP
    selfpay_prop: Decimal = Decimal("0")
    mapped: bool = True
    lmt_used_flag: str = "0"
    list_type: str = ""
    overlmt_hosp_part: bool = False  # the hospital absorbs the part of pric above the cap (医院负担)


@dataclass(frozen=True, slots=True)
class FeeInput:
    feedetl_sn: str
    med_list_codg: str
    medins_list_codg: str
    det_item_fee_sumamt: Decimal
    cnt: Decimal
    pric: Decimal
    hosp_appr_flag: str = ""


@dataclass(frozen=True, slots=True)
class FeeClass:
    """A classified fee row: the 2204/2301 result row, in Decimals."""

    feedetl_sn: str
    amount: Decimal
    cnt: Decimal
    pric: Decimal
    pric_uplmt_amt: Decimal
    selfpay_prop: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_amt: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    chrgitm_lv: str
    med_chrgitm_type: str
    lmt_used_flag: str
    known: bool  # found in the treating region's catalogue
    mapped: bool  # mapped by the insured region (False: Guangxi rule applied)
    memo: str = ""
    hosp_part_amt: Decimal = ZERO  # the over-limit part the hospital absorbs (not a 2204 result field)

    def to_result(self) -> dict[str, Any]:
        """The 2204/2301 `result` row (numbers as JSON numbers)."""
        return {
            "feedetl_sn": self.feedetl_sn,
            "det_item_fee_sumamt": float(self.amount),
            "cnt": float(self.cnt),
            "pric": float(self.pric),
            "pric_uplmt_amt": float(self.pric_uplmt_amt),
            "selfpay_prop": float(self.selfpay_prop),
            "fulamt_ownpay_amt": float(self.fulamt_ownpay_amt),
            "overlmt_amt": float(self.overlmt_amt),
            "preselfpay_amt": float(self.preselfpay_amt),
            "inscp_scp_amt": float(self.inscp_scp_amt),
            "chrgitm_lv": self.chrgitm_lv,
            "med_chrgitm_type": self.med_chrgitm_type,
            "bas_medn_flag": "0",
            "hi_nego_drug_flag": "0",
            "chld_medc_flag": "0",
            "list_sp_item_flag": "0",
            "lmt_used_flag": self.lmt_used_flag,
            "drt_reim_flag": "0",
            "memo": self.memo,
        }

    def to_store(self) -> dict[str, Any]:
        # _FEE_FIELDS, not dataclasses.fields(): that rebuilds the field list on every call (every fee row stored)
        return {name: (str(v) if isinstance(v := getattr(self, name), Decimal) else v) for name, _exact in _FEE_FIELDS}

    @classmethod
    def from_store(cls, data: Mapping[str, Any]) -> FeeClass:
        # A row stored before a field existed keeps that field's default.
        return cls(**{name: (Decimal(data[name]) if exact else data[name]) for name, exact in _FEE_FIELDS
                      if name in data})


_FEE_FIELDS = tuple((f.name, f.type == "Decimal") for f in fields(FeeClass))


def classify(fee: FeeInput, item: CatalogueItem | None) -> FeeClass:
    amount = money(fee.det_item_fee_sumamt)
    cnt = dec(fee.cnt)
    pric = dec(fee.pric)
    if item is None:
        return FeeClass(
            fee.feedetl_sn, amount, cnt, pric, pric, Decimal("1"), amount, ZERO, ZERO, ZERO,
            "03", "14", "0", known=False, mapped=False, memo="就医地目录无此项目，按全自费处理",
        )  # fmt: skip
    self_paid = item.chrgitm_lv == "03"
    memo = ""
    appr = fee.hosp_appr_flag or "0"
    if item.lmt_used_flag == "1" and appr != "1":
        self_paid, memo = True, "限制使用项目未经医院审批，按自费处理"
    elif item.lmt_used_flag != "1" and appr == "2":
        self_paid, memo = True, "医院审批不通过，按自费处理"
    if not item.mapped:
        memo = "参保地未对照该项目，按就医地目录等级结算"
    if self_paid:
        return FeeClass(
            fee.feedetl_sn, amount, cnt, pric, item.pric_uplmt_amt, Decimal("1"), amount, ZERO, ZERO, ZERO,
            item.chrgitm_lv, item.med_chrgitm_type, item.lmt_used_flag, known=True, mapped=item.mapped, memo=memo,
        )  # fmt: skip
    overlmt = money((pric - item.pric_uplmt_amt) * cnt) if pric > item.pric_uplmt_amt else ZERO
    allowed = amount - overlmt
    prop = item.selfpay_prop if item.chrgitm_lv == "02" else Decimal("0")
    preselfpay = money(allowed * prop)
    return FeeClass(
        fee.feedetl_sn, amount, cnt, pric, item.pric_uplmt_amt, prop, ZERO, overlmt, preselfpay,
        allowed - preselfpay, item.chrgitm_lv, item.med_chrgitm_type, item.lmt_used_flag,
        known=True, mapped=item.mapped, memo=memo, hosp_part_amt=overlmt if item.overlmt_hosp_part else ZERO,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class BenefitRule:
    """The insured region's rule for one kind of care, insurance type and hospital grade."""

    deductible: Decimal
    pool_ratio: Decimal
    annual_cap: Decimal | None  # None: no cap
    has_account: bool


@dataclass(frozen=True, slots=True)
class SettlementAmounts:
    medfee_sumamt: Decimal
    fulamt_ownpay_amt: Decimal
    overlmt_selfpay: Decimal
    preselfpay_amt: Decimal
    inscp_scp_amt: Decimal
    act_pay_dedc: Decimal
    hifp_pay: Decimal
    pool_prop_selfpay: Decimal
    cvlserv_pay: Decimal
    hifes_pay: Decimal
    hifmi_pay: Decimal
    hifob_pay: Decimal
    maf_pay: Decimal
    oth_pay: Decimal
    hifdm_pay: Decimal
    fund_pay_sumamt: Decimal
    psn_part_amt: Decimal
    acct_pay: Decimal
    acct_mulaid_pay: Decimal
    psn_cash_pay: Decimal
    hosp_part_amt: Decimal
    balc: Decimal  # the account balance after this settlement
    crt_payb_lmt_amt: Decimal | None  # what the annual cap still allowed before it

    def negated(self, balc_after: Decimal) -> SettlementAmounts:
        """The reversal's amounts: every money field negated; ratios and limits unchanged."""
        keep = {"pool_prop_selfpay", "balc", "crt_payb_lmt_amt"}
        changes = {f.name: -getattr(self, f.name) for f in fields(self) if f.name not in keep}
        return replace(self, balc=balc_after, **changes)

    def money_fields(self) -> dict[str, Decimal]:
        return {name: getattr(self, name) for name in MONEY_FIELD_NAMES}


MONEY_FIELD_NAMES = tuple(f.name for f in fields(SettlementAmounts) if f.name != "crt_payb_lmt_amt")


def settle(
    rows: Iterable[FeeClass],
    rule: BenefitRule,
    *,
    pool_used_this_year: Decimal,
    balance: Decimal,
    use_account: bool,
) -> SettlementAmounts:
    medfee = fulamt = overlmt = preselfpay = inscp = hosp_part = ZERO
    for r in rows:  # one pass: the same additions, in the same order, as six separate sums
        medfee += r.amount
        fulamt += r.fulamt_ownpay_amt
        overlmt += r.overlmt_amt
        preselfpay += r.preselfpay_amt
        inscp += r.inscp_scp_amt
        hosp_part += r.hosp_part_amt

    if inscp > 0:
        act_pay_dedc = min(inscp, _money(rule.deductible))
        hifp = ((inscp - act_pay_dedc) * rule.pool_ratio).quantize(CENT, ROUND_HALF_UP)  # money(): a Decimal
    else:
        act_pay_dedc = hifp = ZERO
    cap_left: Decimal | None = None
    if rule.annual_cap is not None:
        cap_left = max(_money(rule.annual_cap) - _money(pool_used_this_year), ZERO)
        hifp = min(hifp, cap_left)
    fund = hifp
    psn_part = medfee - fund - hosp_part
    acct = ZERO
    if use_account and rule.has_account and balance > 0:
        acct = max(min(_money(balance), inscp - fund, psn_part), ZERO)
    # positionally, in the order of the fields (a frozen dataclass's keyword arguments cost a third more)
    return SettlementAmounts(
        medfee, fulamt, overlmt - hosp_part, preselfpay, inscp, act_pay_dedc, hifp, rule.pool_ratio,
        ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO,  # cvlserv_pay hifes_pay hifmi_pay hifob_pay maf_pay oth_pay hifdm_pay
        fund, psn_part, acct, ZERO, psn_part - acct, hosp_part, _money(balance) - acct, cap_left,
    )  # fmt: skip


def _money(value: Any) -> Decimal:
    """money(value), without dec()'s conversions for what is already a Decimal (every amount settle gets)."""
    if type(value) is Decimal:
        return value.quantize(CENT, ROUND_HALF_UP)
    return money(value)
