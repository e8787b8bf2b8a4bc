"""The synthetic-person catalogue: hand-written fixtures made into concrete, seeded identities.

`fixtures/catalogue/*.json` defines regions, institutions, the treating region's catalogue items,
insured-region policies and archetypes (test people with a guaranteed behaviour). This module
turns each archetype into one identity: a Chinese name (Faker zh_CN, the only Faker user in the
package), a resident ID number with a valid GB 11643-1999 check digit, a person number and a
social-security card. The same seed gives the same catalogue on every run and machine: every
random draw comes from a generator seeded with a SHA-256 of (seed, archetype), never from
`hash()`, dict order, the clock or the locale. Filing dates stay offsets from "today".
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from faker import Faker

from harness.errors import ConfigError

__all__ = [
    "CATALOGUE_DIR",
    "DEFAULT_SEED",
    "Archetype",
    "Catalogue",
    "Institution",
    "Item",
    "Persona",
    "Policy",
    "PolicyRate",
    "Region",
    "filing_dates",
    "gb11643_check_digit",
    "is_valid_certno",
    "load_catalogue",
]

DEFAULT_SEED = 20240101
CATALOGUE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "catalogue"

# GB 11643-1999: weights 2^(17-i) mod 11 for the first 17 digits; the remainder mod 11 picks the check character.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_CERTNO_RE = re.compile(r"^\d{17}[\dX]$")


def gb11643_check_digit(first17: str) -> str:
    """The MOD 11-2 check character ("0"-"9" or "X") for the first 17 digits of a resident ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 ASCII digits, got {first17!r}")
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def is_valid_certno(certno: str) -> bool:
    """True for an 18-character resident ID number with a real birth date and a correct check character."""
    if not isinstance(certno, str) or not _CERTNO_RE.match(certno):
        return False
    try:
        date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
    except ValueError:
        return False
    return gb11643_check_digit(certno[:17]) == certno[17]


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


# --- reading the fixture files ------------------------------------------------------------------

_ADMDVS_RE = re.compile(r"^\d{6}$")
_FIXMEDINS_RE = re.compile(r"^[HP]\d{11}$")
_ENUMS: dict[str, tuple[str, ...]] = {
    "mdtrt_cert_type": ("02", "03"),  # 01 (e-voucher token) is not modelled: tokens are not stable identities
    "card_state": ("active", "inactive", "lost"),
    "contribution": ("paid", "lapsed"),
    "benefits": ("normal", "suspended"),
    "insutype": ("310", "390"),
}


_LABEL_KEYS = ("id", "alias", "fixmedins_code", "admdvs", "insuplc_admdvs")


class _File:
    """One fixture file; every accessor names the file and the key path when the data is malformed."""

    def __init__(self, root: Path, name: str) -> None:
        self.path = root / name
        self.labels: dict[str, str] = {}  # "archetypes[2]" -> "filed-employee-2", for error messages
        try:
            self.data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(
                f"catalogue file missing: {name}",
                location=str(self.path),
                hint="restore fixtures/catalogue/ from the repository, or pass the right root to load_catalogue()",
            ) from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"catalogue file is not valid UTF-8 JSON: {name}", location=str(self.path), detail=str(exc),
                hint="fix the JSON syntax (a JSON linter shows the exact position)",
            ) from exc

    def fail(self, where: str, problem: str) -> ConfigError:
        entry = next((label for prefix, label in self.labels.items() if where.startswith(prefix)), None)
        return ConfigError(
            f"malformed catalogue file {self.path.name}: {where}",
            location=f"{self.path} -> {where}",
            detail=problem + (f" (in the entry for {entry})" if entry else ""),
            hint="compare with the _comment at the top of the file and the other entries",
        )

    def records(self, key: str) -> list[tuple[str, Mapping[str, Any]]]:
        rows = self.data.get(key) if isinstance(self.data, dict) else None
        if not isinstance(rows, list) or not rows:
            raise self.fail(key, f"expected a non-empty list under {key!r}")
        out = []
        for index, row in enumerate(rows):
            if not isinstance(row, dict):
                raise self.fail(f"{key}[{index}]", "expected an object")
            label = next((row[k] for k in _LABEL_KEYS if isinstance(row.get(k), str)), None)
            if label:
                self.labels[f"{key}[{index}]."] = label
            out.append((f"{key}[{index}]", row))
        return out

    def get(self, row: Mapping[str, Any], where: str, key: str, kind: type | tuple[type, ...], *,
            nullable: bool = False) -> Any:
        if key not in row:
            raise self.fail(f"{where}.{key}", "required key is missing")
        value = row[key]
        if value is None and nullable:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"{where}.{key}", f"expected {_kind_name(kind)}, got {value!r}")
        return value

    def text(self, row: Mapping[str, Any], where: str, key: str, *, pattern: re.Pattern[str] | None = None,
             nullable: bool = False) -> Any:
        value = self.get(row, where, key, str, nullable=nullable)
        if value is not None and pattern is not None and not pattern.match(value):
            raise self.fail(f"{where}.{key}", f"{value!r} does not match {pattern.pattern}")
        if value is not None and key in _ENUMS and value not in _ENUMS[key]:
            raise self.fail(f"{where}.{key}", f"{value!r} is not one of {', '.join(_ENUMS[key])}")
        return value

    def decimal(self, row: Mapping[str, Any], where: str, key: str, *, places: int | None = None) -> str:
        value = self.get(row, where, key, str)
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number < 0:
            raise self.fail(f"{where}.{key}", f"expected a non-negative decimal string, got {value!r}")
        if places is not None and value != f"{number:.{places}f}":
            raise self.fail(f"{where}.{key}", f"expected exactly {places} decimal places, got {value!r}")
        return value

    def flag(self, row: Mapping[str, Any], where: str, key: str) -> bool:
        return bool(self.get(row, where, key, bool))


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "a string", bool: "true or false", int: "an integer", list: "a list", dict: "an object"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _read_regions(root: Path) -> tuple[Region, ...]:
    f = _File(root, "regions.json")
    out = []
    for where, row in f.records("regions"):
        roles = f.get(row, where, "roles", list)
        if not roles or any(role not in ("insured", "treating") for role in roles):
            raise f.fail(f"{where}.roles", f"expected a non-empty list of 'insured'/'treating', got {roles!r}")
        out.append(Region(
            admdvs=f.text(row, where, "admdvs", pattern=_ADMDVS_RE), name=f.text(row, where, "name"),
            city=f.text(row, where, "city"), province=f.text(row, where, "province"),
            province_admdvs=f.text(row, where, "province_admdvs", pattern=_ADMDVS_RE), roles=tuple(roles),
            xregion_outpatient=f.flag(row, where, "xregion_outpatient"),
            xregion_inpatient=f.flag(row, where, "xregion_inpatient"),
            xregion_chronic=f.flag(row, where, "xregion_chronic"),
        ))
    _unique(f, "regions", [r.admdvs for r in out], "admdvs")
    return tuple(out)


def _read_institutions(root: Path, regions: Mapping[str, Region]) -> tuple[Institution, ...]:
    f = _File(root, "institutions.json")
    out = []
    for where, row in f.records("institutions"):
        inst = Institution(
            fixmedins_code=f.text(row, where, "fixmedins_code", pattern=_FIXMEDINS_RE),
            fixmedins_name=f.text(row, where, "fixmedins_name"), fixmedins_type=f.text(row, where, "fixmedins_type"),
            kind=f.text(row, where, "kind"), mdtrtarea_admvs=f.text(row, where, "mdtrtarea_admvs", pattern=_ADMDVS_RE),
            hosp_lv=f.text(row, where, "hosp_lv", nullable=True),
            hosp_grade=f.text(row, where, "hosp_grade", nullable=True),
            networked=f.flag(row, where, "networked"), default=f.flag(row, where, "default"),
        )
        if inst.kind not in ("hospital", "pharmacy") or inst.fixmedins_code[0] != inst.kind[0].upper():
            raise f.fail(f"{where}.kind", f"kind {inst.kind!r} must be hospital (code H…) or pharmacy (code P…)")
        if inst.kind == "hospital" and inst.hosp_grade not in ("1", "2", "3"):
            raise f.fail(f"{where}.hosp_grade", f"a hospital needs hosp_grade 1, 2 or 3, got {inst.hosp_grade!r}")
        if inst.mdtrtarea_admvs not in regions or inst.fixmedins_code[1:7] != inst.mdtrtarea_admvs:
            raise f.fail(f"{where}.mdtrtarea_admvs", "must be a region of regions.json and match the code's digits 2-7")
        out.append(inst)
    _unique(f, "institutions", [i.fixmedins_code for i in out], "fixmedins_code")
    defaults = [i for i in out if i.default]
    if len(defaults) != 1 or not defaults[0].networked or defaults[0].kind != "hospital":
        raise f.fail("institutions[*].default", "exactly one institution, a networked hospital, must be default")
    return tuple(out)


def _read_items(root: Path) -> tuple[Item, ...]:
    f = _File(root, "items.json")
    out = []
    for where, row in f.records("items"):
        out.append(Item(
            alias=f.text(row, where, "alias"), med_list_codg=f.text(row, where, "med_list_codg"),
            medins_list_codg=f.text(row, where, "medins_list_codg"), name=f.text(row, where, "name"),
            chrgitm_lv=f.text(row, where, "chrgitm_lv", pattern=re.compile(r"^0[123]$")),
            med_chrgitm_type=f.text(row, where, "med_chrgitm_type"), list_type=f.text(row, where, "list_type"),
            pric=f.decimal(row, where, "pric"), pric_uplmt_amt=f.decimal(row, where, "pric_uplmt_amt"),
            selfpay_prop=f.decimal(row, where, "selfpay_prop"), mapped=f.flag(row, where, "mapped"),
        ))
    _unique(f, "items", [i.alias for i in out], "alias")
    _unique(f, "items", [i.med_list_codg for i in out], "med_list_codg")
    return tuple(out)


def _read_policies(root: Path, regions: Mapping[str, Region]) -> tuple[Policy, ...]:
    f = _File(root, "policies.json")
    accounts = f.get(f.data, "", "account_rules", dict)
    out = []
    for where, row in f.records("policies"):
        insuplc, insutype = f.text(row, where, "insuplc_admdvs", pattern=_ADMDVS_RE), f.text(row, where, "insutype")
        if insuplc not in regions:
            raise f.fail(f"{where}.insuplc_admdvs", f"{insuplc} is not a region of regions.json")
        account = f.get(accounts, "account_rules", insutype, dict)
        caps = f.get(row, where, "annual_cap", dict)
        levels = f.get(row, where, "levels", dict)
        if sorted(levels) != ["1", "2", "3"]:
            raise f.fail(f"{where}.levels", f"expected grades 1, 2 and 3, got {sorted(levels)}")
        out.append(Policy(
            insuplc_admdvs=insuplc, insutype=insutype,
            has_personal_account=f.flag(account, f"account_rules.{insutype}", "has_personal_account"),
            annual_cap=MappingProxyType({k: f.decimal(caps, f"{where}.annual_cap", k, places=2) for k in _CARE_KINDS}),
            pharmacy=_rate(f, f.get(row, where, "pharmacy", dict), f"{where}.pharmacy"),
            levels=MappingProxyType({
                grade: MappingProxyType({
                    kind: _rate(f, f.get(levels[grade], f"{where}.levels.{grade}", kind, dict),
                                f"{where}.levels.{grade}.{kind}")
                    for kind in _CARE_KINDS
                })
                for grade in ("1", "2", "3")
            }),
        ))
    _unique(f, "policies", [(p.insuplc_admdvs, p.insutype) for p in out], "(insuplc_admdvs, insutype)")
    return tuple(out)


_CARE_KINDS = ("outpatient", "chronic", "inpatient")


def _rate(f: _File, row: Mapping[str, Any], where: str) -> PolicyRate:
    rate = PolicyRate(deductible=f.decimal(row, where, "deductible", places=2),
                      pool_ratio=f.decimal(row, where, "pool_ratio"))
    if Decimal(rate.pool_ratio) > 1:
        raise f.fail(f"{where}.pool_ratio", f"a ratio is at most 1, got {rate.pool_ratio}")
    return rate


def _read_archetypes(root: Path, regions: Mapping[str, Region], institutions: Mapping[str, Institution],
                     policies: set[tuple[str, str]]) -> tuple[Archetype, ...]:
    f = _File(root, "archetypes.json")
    out = []
    for where, row in f.records("archetypes"):
        insuplc = f.text(row, where, "insuplc_admdvs", pattern=_ADMDVS_RE)
        insutype = f.text(row, where, "insutype")
        if "insured" not in getattr(regions.get(insuplc), "roles", ()):
            raise f.fail(f"{where}.insuplc_admdvs", f"{insuplc} is not an insured region of regions.json")
        if (insuplc, insutype) not in policies:
            raise f.fail(f"{where}.insutype", f"policies.json has no policy for ({insuplc}, {insutype})")
        years = f.get(row, where, "birth_years", list)
        if len(years) != 2 or not all(isinstance(y, int) for y in years) or not 1900 < years[0] <= years[1] < 2020:
            raise f.fail(f"{where}.birth_years", f"expected [first, last] years, got {years!r}")
        filings = tuple(_filing(f, entry, f"{where}.filings[{i}]", regions, institutions)
                        for i, entry in enumerate(f.get(row, where, "filings", list)))
        chronic = tuple(_chronic(f, entry, f"{where}.chronic[{i}]")
                        for i, entry in enumerate(f.get(row, where, "chronic", list)))
        out.append(Archetype(
            id=f.text(row, where, "id", pattern=re.compile(r"^[a-z][a-z0-9-]*$")),
            cause=f.text(row, where, "cause", nullable=True), behaviour=f.text(row, where, "behaviour"),
            insutype=insutype, psn_type=f.text(row, where, "psn_type"), insuplc_admdvs=insuplc,
            cvlserv_flag=f.text(row, where, "cvlserv_flag"), balc=f.decimal(row, where, "balc", places=2),
            mdtrt_cert_type=f.text(row, where, "mdtrt_cert_type"), card_state=f.text(row, where, "card_state"),
            insu_stas=f.text(row, where, "insu_stas"), contribution=f.text(row, where, "contribution"),
            benefits=f.text(row, where, "benefits"), birth_years=(years[0], years[1]),
            filings=filings, chronic=chronic,
            late_filing=f.flag(row, where, "late_filing"), emergency=f.flag(row, where, "emergency"),
        ))
    _unique(f, "archetypes", [a.id for a in out], "id")
    return tuple(out)


def _offsets(f: _File, row: Mapping[str, Any], where: str) -> dict[str, int | None]:
    begin = f.get(row, where, "begn_offset_days", int)
    end = f.get(row, where, "end_offset_days", int, nullable=True)
    if end is not None and end < begin:
        raise f.fail(f"{where}.end_offset_days", f"ends ({end}) before it begins ({begin})")
    return {"begn_offset_days": begin, "end_offset_days": end}


def _filing(f: _File, row: Any, where: str, regions: Mapping[str, Region],
            institutions: Mapping[str, Institution]) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise f.fail(where, "expected an object")
    area = f.text(row, where, "mdtrtarea_admvs", pattern=_ADMDVS_RE)
    if "treating" not in getattr(regions.get(area), "roles", ()):
        raise f.fail(f"{where}.mdtrtarea_admvs", f"{area} is not a treating region of regions.json")
    codes = f.get(row, where, "fixmedins_codes", list)
    unknown = [c for c in codes if c not in institutions]
    if unknown:
        raise f.fail(f"{where}.fixmedins_codes", f"unknown institutions {unknown}")
    return {"filing_type": f.text(row, where, "filing_type"), "biz_appy_type": f.text(row, where, "biz_appy_type"),
            "mdtrtarea_admvs": area, "fixmedins_codes": tuple(codes), **_offsets(f, row, where)}


def _chronic(f: _File, row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise f.fail(where, "expected an object")
    return {"opsp_dise_code": f.text(row, where, "opsp_dise_code"),
            "opsp_dise_name": f.text(row, where, "opsp_dise_name"), **_offsets(f, row, where)}


def _unique(f: _File, key: str, values: list[Any], name: str) -> None:
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise f.fail(f"{key}[{index}].{name}", f"duplicate {name} {value!r}")
        seen.add(value)


# --- making identities --------------------------------------------------------------------------


def _stream_seed(seed: int, archetype: str, attempt: int) -> int:
    digest = hashlib.sha256(f"hsa-cert/personas/{seed}/{archetype}/{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(count))


def _make_persona(arch: Archetype, seed: int, attempt: int, fake: Faker) -> Persona:
    """One identity. The draw order below is part of the stable output: append new draws at the end."""
    stream = _stream_seed(seed, arch.id, attempt)
    rng = random.Random(stream)
    fake.seed_instance(stream)
    male = rng.random() < 0.5
    first_year, last_year = arch.birth_years
    year = rng.randint(first_year, last_year)
    brdy = date(year, 1, 1) + timedelta(days=rng.randrange(365))
    serial = rng.randrange(0, 500) * 2 + (1 if male else 0)  # GB 11643: odd order code for men, even for women
    first17 = f"{arch.insuplc_admdvs}{brdy:%Y%m%d}{serial:03d}"
    certno = first17 + gb11643_check_digit(first17)
    psn_no = f"{arch.insuplc_admdvs[:2]}0000{_digits(rng, 14)}"  # province + 18 digits: fits str(30)
    card_no = rng.choice("ABCDEFGHJKLMN") + _digits(rng, 8)
    card_sn = f"{arch.insuplc_admdvs}D156000005{rng.getrandbits(64):016X}"  # 32 chars: region, country, version, serial
    insu_year = rng.randint(min(max(year + 18, 1998), 2021), 2021)
    psn_insu_date = date(insu_year, 1, 1) + timedelta(days=rng.randrange(365))
    filings = tuple(MappingProxyType({"trt_dcla_detl_sn": f"{arch.insuplc_admdvs}{_digits(rng, 14)}", **entry})
                    for entry in arch.filings)
    chronic = tuple(MappingProxyType({"trt_dcla_detl_sn": f"{arch.insuplc_admdvs}{_digits(rng, 14)}", **entry})
                    for entry in arch.chronic)
    name = fake.last_name() + (fake.first_name_male() if male else fake.first_name_female())
    tel = fake.phone_number()
    emp_name = fake.company() if arch.insutype == "310" else ""
    return Persona(
        archetype=arch.id, cause=arch.cause, behaviour=arch.behaviour, psn_no=psn_no, psn_name=name,
        gend="1" if male else "2", brdy=brdy, naty="01", psn_cert_type="01", certno=certno,
        mdtrt_cert_type=arch.mdtrt_cert_type, mdtrt_cert_no=certno if arch.mdtrt_cert_type == "02" else card_no,
        card_no=card_no, card_sn=card_sn, insutype=arch.insutype, psn_type=arch.psn_type,
        insuplc_admdvs=arch.insuplc_admdvs, cvlserv_flag=arch.cvlserv_flag, balc=arch.balc, emp_name=emp_name,
        tel=tel, psn_insu_date=psn_insu_date, card_state=arch.card_state, insu_stas=arch.insu_stas,
        contribution=arch.contribution, benefits=arch.benefits, filings=filings, chronic=chronic,
        late_filing=arch.late_filing, emergency=arch.emergency,
    )


def _make_personas(archetypes: tuple[Archetype, ...], seed: int) -> tuple[Persona, ...]:
    fake = Faker("zh_CN")
    taken: set[str] = set()
    out = []
    for arch in sorted(archetypes, key=lambda a: a.id):  # identity streams never depend on file order
        for attempt in range(100):
            persona = _make_persona(arch, seed, attempt, fake)
            keys = {persona.psn_no, persona.certno, persona.card_no, persona.card_sn}
            if len(keys) == 4 and not keys & taken:
                break
        else:  # pragma: no cover - needs 100 collisions of 14+ random digits
            raise ConfigError(f"could not make a unique identity for archetype {arch.id}", hint="try another seed")
        taken |= keys
        out.append(persona)
    order = {arch.id: index for index, arch in enumerate(archetypes)}
    return tuple(sorted(out, key=lambda p: order[p.archetype]))


# --- the catalogue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Regions, institutions, items, policies, archetypes and the personas made from them. Read-only."""

    seed: int
    root: Path
    regions: tuple[Region, ...]
    institutions: tuple[Institution, ...]
    items: tuple[Item, ...]
    policies: tuple[Policy, ...]
    archetypes: tuple[Archetype, ...]
    personas: tuple[Persona, ...]

    def persona(self, archetype: str) -> Persona:
        for persona in self.personas:
            if persona.archetype == archetype:
                return persona
        raise ConfigError(f"unknown archetype {archetype!r}", location=str(self.root / "archetypes.json"),
                          hint="known archetypes: " + ", ".join(p.archetype for p in self.personas))

    def find_persona(self, *, mdtrt_cert_type: str | None = None, mdtrt_cert_no: str | None = None,
                     psn_no: str | None = None, certno: str | None = None) -> Persona | None:
        """Look a person up the way the platform would: by psn_no, certno, or a medical certificate
        (02 = ID number, 03 = social-security card number). None when nobody matches."""
        for p in self.personas:
            if psn_no is not None and p.psn_no == psn_no:
                return p
            if certno is not None and p.certno == certno:
                return p
            if mdtrt_cert_no is not None and mdtrt_cert_no == (p.certno if mdtrt_cert_type == "02" else
                                                               p.card_no if mdtrt_cert_type == "03" else None):
                return p
        return None

    def institution(self, code: str) -> Institution:
        for inst in self.institutions:
            if inst.fixmedins_code == code:
                return inst
        raise ConfigError(f"unknown institution {code!r}", location=str(self.root / "institutions.json"),
                          hint="known: " + ", ".join(i.fixmedins_code for i in self.institutions))

    def default_institution(self) -> Institution:
        return next(inst for inst in self.institutions if inst.default)

    def region(self, admdvs: str) -> Region | None:
        return next((r for r in self.regions if r.admdvs == admdvs), None)

    def item(self, alias_or_code: str) -> Item:
        for item in self.items:
            if alias_or_code in (item.alias, item.med_list_codg, item.medins_list_codg):
                return item
        raise ConfigError(f"unknown catalogue item {alias_or_code!r}", location=str(self.root / "items.json"),
                          hint="known aliases: " + ", ".join(i.alias for i in self.items))

    def policy(self, insuplc_admdvs: str, insutype: str) -> Policy | None:
        return next((p for p in self.policies if (p.insuplc_admdvs, p.insutype) == (insuplc_admdvs, insutype)), None)

    def to_json(self) -> dict[str, Any]:
        """{"personas": [...], "institutions": [...], "items": [...]} with the spec's field names."""
        return {
            "personas": [p.to_json() for p in self.personas],
            "institutions": [{f.name: getattr(i, f.name) for f in fields(i)} for i in self.institutions],
            "items": [{f.name: getattr(i, f.name) for f in fields(i)} for i in self.items],
        }


def load_catalogue(seed: int = DEFAULT_SEED, root: Path | None = None) -> Catalogue:
    """The catalogue for `seed`, read from `root` (default fixtures/catalogue). Cached per (seed, root)."""
    return _load(int(seed), (root or CATALOGUE_DIR).resolve())


@functools.lru_cache(maxsize=16)
def _load(seed: int, root: Path) -> Catalogue:
    regions = _read_regions(root)
    by_admdvs = {r.admdvs: r for r in regions}
    institutions = _read_institutions(root, by_admdvs)
    items = _read_items(root)
    policies = _read_policies(root, by_admdvs)
    archetypes = _read_archetypes(root, by_admdvs, {i.fixmedins_code: i for i in institutions},
                                  {(p.insuplc_admdvs, p.insutype) for p in policies})
    return Catalogue(seed=seed, root=root, regions=regions, institutions=institutions, items=items,
                     policies=policies, archetypes=archetypes, personas=_make_personas(archetypes, seed))
