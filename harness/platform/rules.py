"""Routing and the refusal rules of cross-province settlement.

Routing: a call is cross-region when the envelope's `insuplc_admdvs` is set and differs from
`mdtrtarea_admvs` (interface-facts §3.6: the platform decides local vs 异地 from that pair).

`check_settlement` runs before every pre-settlement and settlement (2101/2102, 2206/2207,
2303/2304). The first failing check refuses, in this order, so that every archetype of the
catalogue (one defect each) meets exactly its own cause:

1. inactive-card        — the social-security card is presented (mdtrt_cert_type 03) but not active
2. lapsed-contributions — contributions interrupted (psn_insu_stas 2/4 or contribution lapsed)
3. benefits-suspended   — benefits suspended (待遇暂停)
   cross-region only:
4. institution-not-enabled — the institution is not networked for cross-province settlement
5. region-not-enabled   — the insured region has not enabled cross-province settlement for this care
6. the filing (skipped for emergencies, which are treated as filed):
   - not-filed       — no cross-region filing at all, or none in effect yet, or filed after discharge
   - filed-elsewhere — filings exist, but none for this treating region or naming this institution
   - filing-expired  — a filing for this region and institution exists, but its validity ended
7. chronic-not-filed    — chronic outpatient care (med_type 14) without a chronic filing for the disease

Filings that count (the filing *type*): cross-region filings — seeded 异地就医备案, 2505 with
biz_appy_type 06/07/08 (转诊转院 / 异地急诊住院 / 异地安置登记), and 2501 转院备案 with refl_type 2/3.
A filing covers a treating region when its region equals `mdtrtarea_admvs` exactly, and an
institution when it names no designated institutions or names this one. Validity is judged on
the settlement date. Late filing (补备案): an inpatient stay is covered by a filing made before the
discharge (2402) was recorded, even when the filing starts after the admission.

Emergency (急诊抢救视同备案): med_type 13, or exp_content carrying IPT_TYPE 2 (admitted as an
emergency) or OTP_ER_REFL_FLAG 1/3 (outpatient emergency), on the visit or on the settlement call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from harness.platform.refdata import Institution, Region
from harness.platform.refusals import REGION_NOT_ENABLED_INPATIENT, Refusal
from harness.platform.state import Filing, Person

__all__ = [
    "CROSS_REGION_FILING_KINDS",
    "XREGION_BIZ_APPY_TYPES",
    "card_active",
    "check_settlement",
    "is_cross_region",
    "is_emergency",
]

CROSS_REGION_FILING_KINDS = ("xregion", "referral")
XREGION_BIZ_APPY_TYPES = frozenset({"06", "07", "08"})
XREGION_REFL_TYPES = frozenset({"2", "3"})
CHRONIC_MED_TYPES = frozenset({"14"})
EMERGENCY_MED_TYPES = frozenset({"13"})


def is_cross_region(envelope: Mapping[str, Any]) -> bool:
    insuplc = envelope.get("insuplc_admdvs") or ""
    return bool(insuplc) and insuplc != (envelope.get("mdtrtarea_admvs") or "")


def _exp_values(exp_content: Any) -> dict[str, str]:
    """exp_content as key → value: a JSON object, a JSON string of one, or 【KEY】value / KEY=value text."""
    if isinstance(exp_content, Mapping):
        return {str(k).upper(): str(v) for k, v in exp_content.items()}
    if not isinstance(exp_content, str) or not exp_content.strip():
        return {}
    text = exp_content.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, Mapping):
            return {str(k).upper(): str(v) for k, v in parsed.items()}
    found = re.findall(r"【?([A-Za-z_]+)】?\s*[:=：]?\s*\"?([0-9A-Za-z]+)", text)
    return {k.upper(): v for k, v in found}


def is_emergency(med_types: Iterable[str | None], exp_contents: Iterable[Any]) -> bool:
    if any(m in EMERGENCY_MED_TYPES for m in med_types if m):
        return True
    for exp in exp_contents:
        values = _exp_values(exp)
        if values.get("IPT_TYPE") == "2" or values.get("OTP_ER_REFL_FLAG") in ("1", "3"):
            return True
    return False


def _covers_validity(filing: Filing, today: date) -> bool:
    if filing.begndate[:10] > today.isoformat():
        return False
    return filing.enddate is None or filing.enddate[:10] >= today.isoformat()


def card_active(person: Person) -> bool:
    return person["card_state"] in (None, "", "active")


def check_person(person: Person, presented_cert_type: str | None) -> None:
    """Person-level refusals; a card refuses only when the card itself is presented (type 03)."""
    if presented_cert_type == "03" and not card_active(person):
        raise Refusal("inactive-card")
    if person["contribution"] == "lapsed" or person["insu_stas"] in ("2", "4"):
        raise Refusal("lapsed-contributions")
    if person["benefits"] == "suspended":
        raise Refusal("benefits-suspended")


def check_filing(
    filings: list[Filing], *, region: str, fixmedins_code: str, today: date, discharged_at: str | None
) -> None:
    counted = [f for f in filings if f.kind in CROSS_REGION_FILING_KINDS]
    if not counted:
        raise Refusal("not-filed")
    here = [f for f in counted if f.region == region and (not f.fixmedins_codes or fixmedins_code in f.fixmedins_codes)]
    if not here:
        raise Refusal("filed-elsewhere")
    in_time = [f for f in here if discharged_at is None or f.filed_at <= discharged_at]
    if any(_covers_validity(f, today) for f in in_time):
        return
    if any(f.enddate is not None and f.enddate[:10] < today.isoformat() for f in in_time):
        raise Refusal("filing-expired")
    raise Refusal("not-filed")


def check_chronic(chronic_filings: list[Filing], dise_codg: str, today: date) -> None:
    for f in chronic_filings:
        if (not dise_codg or f.opsp_dise_code == dise_codg) and _covers_validity(f, today):
            return
    raise Refusal("chronic-not-filed")


def check_settlement(
    *,
    person: Person,
    presented_cert_type: str | None,
    cross_region: bool,
    institution: Institution,
    insured_region: Region | None,
    care: str,
    med_type: str,
    dise_codg: str,
    emergency: bool,
    filings: list[Filing],
    chronic_filings: list[Filing],
    treating_region: str,
    today: date,
    discharged_at: str | None,
    skip_filing_checks: bool = False,
) -> None:
    """Raise the first applicable Refusal (see the module docstring for the order)."""
    check_person(person, presented_cert_type)
    if cross_region:
        if not institution.networked:
            raise Refusal("institution-not-enabled")
        if insured_region is not None and not insured_region.enabled_for(care):
            if care == "inpatient":
                raise Refusal("region-not-enabled", REGION_NOT_ENABLED_INPATIENT)
            raise Refusal("region-not-enabled")
        if not (emergency or skip_filing_checks):
            check_filing(
                filings,
                region=treating_region,
                fixmedins_code=institution.fixmedins_code,
                today=today,
                discharged_at=discharged_at,
            )
    if med_type in CHRONIC_MED_TYPES:
        check_chronic(chronic_filings, dise_codg, today)
