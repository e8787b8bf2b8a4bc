"""Reference data of the platform: institutions, regions, the treating catalogue and the policies.

Built from the synthetic-person catalogue (`harness.personas`, which reads and checks
`fixtures/catalogue/*.json`): institutions (networked or not, hospital grade), regions
(cross-province settlement enabled per kind of care), the treating region's catalogue items
(class 甲/乙/丙, price caps, self-pay share, mapped by the insured region or not) and the insured
regions' policies (deductible, pool ratio by insurance type and hospital grade, annual cap,
personal account). These never change at run time; people, filings, visits and settlements are
state and live in SQLite.

An institution code the catalogue does not know is served as a networked grade-3 hospital of the
envelope's treating region, so that a HIS team can point its own `fixmedins_code` at the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.platform.calc import NO_CAP, BenefitRule, CatalogueItem, dec

__all__ = ["Institution", "RefData", "Region"]


@dataclass(frozen=True, slots=True)
class Institution:
    fixmedins_code: str
    fixmedins_name: str
    kind: str  # hospital | pharmacy
    mdtrtarea_admvs: str
    hosp_grade: str | None  # "1" / "2" / "3"; None for pharmacies
    networked: bool
    known: bool = True


@dataclass(frozen=True, slots=True)
class Region:
    admdvs: str
    name: str
    province_admdvs: str
    xregion_outpatient: bool
    xregion_inpatient: bool
    xregion_chronic: bool

    def enabled_for(self, care: str) -> bool:
        if care == "inpatient":
            return self.xregion_inpatient
        if care == "chronic":
            return self.xregion_chronic
        return self.xregion_outpatient  # outpatient and pharmacy


class RefData:
    """The read-only reference data, indexed for the handlers. `catalogue` is a harness.personas.Catalogue."""

    def __init__(self, catalogue: Any) -> None:
        self.catalogue = catalogue
        self.institutions: dict[str, Institution] = {
            i.fixmedins_code: Institution(
                fixmedins_code=i.fixmedins_code,
                fixmedins_name=i.fixmedins_name,
                kind=i.kind,
                mdtrtarea_admvs=i.mdtrtarea_admvs,
                hosp_grade=i.hosp_grade,
                networked=i.networked,
            )
            for i in catalogue.institutions
        }
        self.default_institution_code = catalogue.default_institution().fixmedins_code
        self.regions: dict[str, Region] = {
            r.admdvs: Region(
                admdvs=r.admdvs,
                name=r.name,
                province_admdvs=r.province_admdvs,
                xregion_outpatient=r.xregion_outpatient,
                xregion_inpatient=r.xregion_inpatient,
                xregion_chronic=r.xregion_chronic,
            )
            for r in catalogue.regions
        }
        self.items: dict[str, CatalogueItem] = {}
        self.items_by_medins_code: dict[str, CatalogueItem] = {}
        for r in catalogue.items:
            item = CatalogueItem(
                med_list_codg=r.med_list_codg,
                medins_list_codg=r.medins_list_codg,
                name=r.name,
                chrgitm_lv=r.chrgitm_lv,
                med_chrgitm_type=r.med_chrgitm_type,
                pric=dec(r.pric),
                pric_uplmt_amt=dec(r.pric_uplmt_amt) if r.pric_uplmt_amt else NO_CAP,
                selfpay_prop=dec(r.selfpay_prop),
                mapped=r.mapped,
                lmt_used_flag=str(getattr(r, "lmt_used_flag", "0") or "0"),
                list_type=r.list_type,
                overlmt_hosp_part=r.overlmt_hosp_part,
            )
            self.items[item.med_list_codg] = item
            if item.medins_list_codg:
                self.items_by_medins_code[item.medins_list_codg] = item
        self.policies = {(p.insuplc_admdvs, p.insutype): p for p in catalogue.policies}
        self._rules: dict[tuple[str, str, str, str | None], BenefitRule | None] = {}

    # --- lookups ------------------------------------------------------------------------------

    def institution(self, code: str, mdtrtarea_admvs: str) -> Institution:
        found = self.institutions.get(code)
        if found is not None:
            return found
        kind = "pharmacy" if code.startswith("P") else "hospital"
        return Institution(
            fixmedins_code=code,
            fixmedins_name="",
            kind=kind,
            mdtrtarea_admvs=mdtrtarea_admvs,
            hosp_grade=None if kind == "pharmacy" else "3",
            networked=True,
            known=False,
        )

    def region(self, admdvs: str) -> Region | None:
        return self.regions.get(admdvs)

    def item(self, med_list_codg: str, medins_list_codg: str = "") -> CatalogueItem | None:
        return self.items.get(med_list_codg) or (
            self.items_by_medins_code.get(medins_list_codg) if medins_list_codg else None
        )

    def has_account(self, insutype: str) -> bool:
        for (_, kind), policy in self.policies.items():
            if kind == insutype:
                return bool(policy.has_personal_account)
        return insutype.startswith("31")  # employee insurance types carry a personal account

    def benefit_rule(self, insuplc_admdvs: str, insutype: str, care: str, grade: str | None) -> BenefitRule | None:
        """The insured region's rule for this care, or None when the catalogue has no policy for it."""
        key = (insuplc_admdvs, insutype, care, grade)
        if key not in self._rules:
            self._rules[key] = self._benefit_rule(insuplc_admdvs, insutype, care, grade)
        return self._rules[key]

    def _benefit_rule(self, insuplc_admdvs: str, insutype: str, care: str, grade: str | None) -> BenefitRule | None:
        policy = self.policies.get((insuplc_admdvs, insutype))
        if policy is None:
            return None
        if care == "pharmacy" or grade is None:
            rate, cap = policy.pharmacy, None
        else:
            rate = policy.rate(care, grade if grade in policy.levels else "3")
            raw_cap = policy.annual_cap.get(care)
            cap = dec(raw_cap) if raw_cap not in (None, "") else None
        return BenefitRule(
            deductible=dec(rate.deductible),
            pool_ratio=dec(rate.pool_ratio),
            annual_cap=cap,
            has_account=bool(policy.has_personal_account),
        )

    def receiver_prefix(self, mdtrtarea_admvs: str) -> str:
        """The 6-digit receiver code that starts inf_refmsgid: the treating province."""
        region = self.regions.get(mdtrtarea_admvs)
        if region is not None:
            return region.province_admdvs
        if len(mdtrtarea_admvs) == 6 and mdtrtarea_admvs.isdigit():
            return mdtrtarea_admvs[:2] + "0000"
        return "000000"
