"""The foreign site's own world: its institutions, test persons, catalogue and insured-region policies.

Written from the spec and the business context, not from hsa-cert's reference platform: the site sits
in 杭州市西湖区 (330106), its persons are insured in other provinces, and its ids have formats of its
own. Filing validity is kept as day offsets from today, so the same persons work on any date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

TREATING_ADMDVS = "330106"  # 就医地: 杭州市西湖区
RECEIVER_ADMDVS = "330000"  # prefix of inf_refmsgid (the receiving platform's region)
CLEARING_AGENCY = "330199"  # clr_optins / setl_optins: the treating city's agency (市本级) clears with hospitals

# fixmedins_code -> (name, networked for cross-province settlement)
INSTITUTIONS: dict[str, tuple[str, bool]] = {
    "H33010600017": ("杭州市西湖区示范医院（联调测试）", True),
    "H33010600342": ("杭州市西湖区第二测试医院", True),
    "H33010600908": ("西湖区转塘社区卫生服务站（未联网）", False),
}

# Provinces (first two digits of insuplc_admdvs) that opened cross-province outpatient settlement.
OUTPATIENT_ENABLED_PROVINCES = {"11", "32", "37", "41", "42", "43", "44", "51", "61"}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def gb11643(first17: str) -> str:
    """The 18-digit resident ID number with its GB 11643 check character."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


@dataclass(frozen=True)
class Person:
    behaviour: str  # the archetype of hsa-cert's catalogue this person plays
    psn_no: str
    name: str
    certno: str
    insutype: str
    psn_type: str
    insuplc_admdvs: str
    balc: Decimal
    card_no: str = ""  # 社会保障卡号 (mdtrt_cert_type 03); empty: no card
    card_sn: str = ""
    card_state: str = "ok"  # ok | not-activated | voided
    insu_stas: str = "1"  # psn_insu_stas: 1 正常, 2 暂停 (contributions lapsed)
    benefits_frozen: bool = False
    filing_area: str = ""  # admdvs the cross-province filing names; "" = no filing
    filing_from: int = -365  # days from today
    filing_to: int | None = None  # None = open-ended

    @property
    def gend(self) -> str:
        return "1" if int(self.certno[16]) % 2 else "2"

    @property
    def brdy(self) -> date:
        return date(int(self.certno[6:10]), int(self.certno[10:12]), int(self.certno[12:14]))

    def filing_window(self, today: date) -> tuple[date, date | None]:
        end = None if self.filing_to is None else today + timedelta(days=self.filing_to)
        return today + timedelta(days=self.filing_from), end


PERSONS: tuple[Person, ...] = (
    Person("filed-employee", "ZJP4101020000318", "周建华", gb11643("41010219760312541"), "310", "11", "410102",
           Decimal("1500.00"), filing_area="330100"),
    Person("filed-resident", "ZJP4201060000427", "吴秀兰", gb11643("42010619830907262"), "390", "50", "420106",
           Decimal("0.00"), filing_area="330106", filing_from=-20, filing_to=160),
    Person("filed-card", "ZJP5101040000533", "郑海涛", gb11643("51010419790121873"), "310", "11", "510104",
           Decimal("900.00"), card_no="K51010488", card_sn="5a1c0e7f33d94b0c9e8f1a2b3c4d5e6f",
           filing_area="330100"),
    Person("not-filed", "ZJP3701020000641", "王志强", gb11643("37010219850517351"), "310", "11", "370102",
           Decimal("700.00")),
    Person("lapsed-contributions", "ZJP4101020000755", "孙丽娟", gb11643("41010219900228642"), "310", "11",
           "410102", Decimal("120.00"), insu_stas="2", filing_area="330100"),
    Person("benefits-suspended", "ZJP4201060000862", "李春燕", gb11643("42010619711103282"), "390", "50", "420106",
           Decimal("0.00"), benefits_frozen=True, filing_area="330106", filing_to=100),
    Person("inactive-card", "ZJP3201020000979", "赵国平", gb11643("32010219880808157"), "310", "11", "320102",
           Decimal("640.00"), card_no="K32010277", card_sn="0b9e2d4c6a8f4e1d9c3b5a7f2e4d6c8b",
           card_state="not-activated", filing_area="330100"),
    Person("lost-card", "ZJP4401060001086", "钱美玲", gb11643("44010619820416244"), "310", "11", "440106",
           Decimal("380.00"), card_no="K44010631", card_sn="e7d6c5b4a3924f1e8d7c6b5a4f3e2d1c",
           card_state="voided", filing_area="330100"),
    Person("region-not-enabled", "ZJP5401020001193", "冯志远", gb11643("54010219770630191"), "310", "11", "540102",
           Decimal("1100.00"), filing_area="330100"),
    Person("filing-expired", "ZJP4201060001218", "何静", gb11643("42010619950722328"), "390", "50", "420106",
           Decimal("0.00"), filing_area="330106", filing_from=-200, filing_to=-15),
    Person("emergency", "ZJP6101040001432", "唐晓梅", gb11643("61010419870315462"), "390", "50", "610104",
           Decimal("0.00")),  # no filing: settled directly only for an emergency (急诊抢救视同备案)
    Person("filed-elsewhere", "ZJP3701020001325", "许文斌", gb11643("37010219800101773"), "310", "11", "370102",
           Decimal("860.00"), filing_area="440106"),
)

# The treating region's catalogue (就医地目录): med_list_codg -> (class, self-pay share first, price cap).
# 01 甲类, 02 乙类 (the share is paid by the person first), 03 丙类 (all self-paid). Over the cap the
# hospital bears the difference (hosp_part_amt), a common provincial rule.
CATALOGUE: dict[str, tuple[str, Decimal, Decimal | None, str]] = {
    "ZJ-XM-110200001": ("01", Decimal("0"), None, "02"),  # 门诊诊查费
    "ZJ-XM-250201001": ("01", Decimal("0"), None, "04"),  # 血常规
    "ZJ-XM-210300012": ("02", Decimal("0.10"), Decimal("250.00"), "03"),  # 胸部CT
    "ZJ-YP-J01CA04001": ("01", Decimal("0"), None, "09"),  # 阿莫西林
    "ZJ-YP-J01DC04007": ("02", Decimal("0.15"), Decimal("42.00"), "09"),  # 头孢克洛
    "ZJ-YP-ZA01B00871": ("02", Decimal("0.10"), None, "11"),  # 连花清瘟
    "ZJ-YP-C08CA05013": ("01", Decimal("0"), None, "09"),  # 硝苯地平
    "ZJ-YP-A10BA02028": ("01", Decimal("0"), None, "09"),  # 二甲双胍
    "ZJ-YP-T0017006430": ("03", Decimal("1"), None, "10"),  # 冬虫夏草
}

# Insured-region policy (参保地政策) by (province, insutype): deductible per visit and pool ratio.
POLICIES: dict[tuple[str, str], tuple[Decimal, Decimal]] = {
    ("41", "310"): (Decimal("30.00"), Decimal("0.65")),
    ("51", "310"): (Decimal("25.00"), Decimal("0.70")),
    ("42", "390"): (Decimal("50.00"), Decimal("0.50")),
}
DEFAULT_POLICY = {"310": (Decimal("40.00"), Decimal("0.60")), "390": (Decimal("60.00"), Decimal("0.45"))}


def policy(insuplc_admdvs: str, insutype: str) -> tuple[Decimal, Decimal]:
    key = (insuplc_admdvs[:2], insutype)
    return POLICIES.get(key) or DEFAULT_POLICY.get(insutype, (Decimal("50.00"), Decimal("0.50")))


def person_by_no(psn_no: str) -> Person | None:
    return next((p for p in PERSONS if p.psn_no == psn_no), None)
