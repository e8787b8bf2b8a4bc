"""Catalogue records: regions, institutions, items, policies, archetypes and personas (frozen, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

# --- catalogue records --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Region:
    admdvs: str
    name: str
    city: str
    province: str
    province_admdvs: str
    roles: tuple[str, ...]  # "insured" (参保地) and/or "treating" (就医地)
    xregion_outpatient: bool
    xregion_inpatient: bool
    xregion_chronic: bool

    def enabled(self, kind: str) -> bool:
        """Whether this insured region allows cross-province direct settlement for outpatient|inpatient|chronic."""
        return bool(getattr(self, f"xregion_{kind}"))


@dataclass(frozen=True, slots=True)
class Institution:
    fixmedins_code: str
    fixmedins_name: str
    fixmedins_type: str  # 1 定点医疗机构, 2 定点零售药店
    kind: str  # hospital | pharmacy
    mdtrtarea_admvs: str
    hosp_lv: str | None  # code of the spec's hosp_lv dictionary
    hosp_grade: str | None  # plain level 1/2/3 that selects the policy rate
    networked: bool
    default: bool


@dataclass(frozen=True, slots=True)
class Item:
    alias: str
    med_list_codg: str
    medins_list_codg: str
    name: str
    chrgitm_lv: str
    med_chrgitm_type: str
    list_type: str
    pric: str
    pric_uplmt_amt: str
    selfpay_prop: str
    mapped: bool
    overlmt_hosp_part: bool = False  # the hospital absorbs the part of pric above the cap


@dataclass(frozen=True, slots=True)
class PolicyRate:
    deductible: str
    pool_ratio: str


@dataclass(frozen=True, slots=True)
class Policy:
    insuplc_admdvs: str
    insutype: str
    has_personal_account: bool
    annual_cap: Mapping[str, str]  # outpatient | chronic | inpatient -> amount
    pharmacy: PolicyRate
    levels: Mapping[str, Mapping[str, PolicyRate]]  # hosp_grade -> kind -> rate

    def rate(self, kind: str, hosp_grade: str | None) -> PolicyRate:
        """The rate for outpatient|chronic|inpatient care at a hospital of that grade, or for pharmacy purchases."""
        if kind == "pharmacy":
            return self.pharmacy
        return self.levels[hosp_grade or "1"][kind]


# The values scenarios present at the treating hospital as `{{ site.<key> }}` unless a site's [values] set
# them: synthetic department and doctor codes, and conventions the spec leaves to the province.
SYNTHETIC_SITE_VALUES: Mapping[str, str] = {
    "dept_code": "A03",  # 科室编码 (also bilg_dept_codg, adm_dept_codg)
    "dept_name": "内科",
    "caty": "A03",  # 科别
    "atddr_no": "D520102001",  # outpatient doctor (医师编码, bilg_dr_codg)
    "dr_name": "测试医师甲",
    "ipt_atddr_no": "D520102002",  # inpatient doctor (主诊医师)
    "ipt_dr_name": "测试医师乙",
    # med_type of an emergency admission (also marked exp_content IPT_TYPE 2): 21 普通住院 by the national
    # code list; Hunan V1.1.21 says 13 (急诊). The spec leaves it to the province: a site setting.
    "emergency_ipt_med_type": "21",
}


@dataclass(frozen=True, slots=True)
class Archetype:
    id: str
    cause: str | None
    behaviour: str
    insutype: str
    psn_type: str
    insuplc_admdvs: str
    cvlserv_flag: str
    balc: str
    mdtrt_cert_type: str
    card_state: str
    insu_stas: str
    contribution: str
    benefits: str
    birth_years: tuple[int, int]
    filings: tuple[Mapping[str, Any], ...]
    chronic: tuple[Mapping[str, Any], ...]
    late_filing: bool
    emergency: bool
    # The archetype whose person may stand in for this one on a site that gives no separate person
    # (a variant that exists for the reference platform's variety, not for a behaviour of its own).
    fallback: str | None = None
    why_separate: str = ""


@dataclass(frozen=True, slots=True)
class Persona:
    """One concrete synthetic person. Field names follow the spec (1101 baseinfo / insuinfo)."""

    archetype: str
    cause: str | None  # the failure cause a settlement by this person is refused with, if any
    behaviour: str
    psn_no: str
    psn_name: str
    gend: str
    brdy: date
    naty: str
    psn_cert_type: str
    certno: str
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    card_no: str  # 社会保障卡卡号
    card_sn: str  # 卡识别码
    insutype: str
    psn_type: str
    insuplc_admdvs: str
    cvlserv_flag: str
    balc: str
    emp_name: str
    tel: str
    psn_insu_date: date
    card_state: str
    insu_stas: str
    contribution: str
    benefits: str
    filings: tuple[Mapping[str, Any], ...] = field(default=())  # read-only mappings
    chronic: tuple[Mapping[str, Any], ...] = field(default=())
    late_filing: bool = False
    emergency: bool = False

    def age_on(self, day: date) -> int:
        return day.year - self.brdy.year - ((day.month, day.day) < (self.brdy.month, self.brdy.day))

    @property
    def age(self) -> int:
        """Full years today (time-dependent, so kept out of to_json)."""
        return self.age_on(date.today())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for spec in fields(self):  # declaration order: stable output
            name, value = spec.name, getattr(self, spec.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif name in ("filings", "chronic"):
                value = [dict(entry) for entry in value]
            out[name] = value
        return out


def filing_dates(filing: Mapping[str, Any], today: date) -> tuple[date, date | None]:
    """A filing's (begndate, enddate) for `today`; enddate None means open-ended."""
    begin = today + timedelta(days=int(filing["begn_offset_days"]))
    end_offset = filing.get("end_offset_days")
    return begin, None if end_offset is None else today + timedelta(days=int(end_offset))


