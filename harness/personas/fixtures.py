"""Reading fixtures/catalogue/*.json into records, with errors that name the file, entry and key."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness.errors import ConfigError
from harness.personas.records import Archetype, Institution, Item, Policy, PolicyRate, Region

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
                hint="restore fixtures/catalogue/ from the repository (or reinstall hsa-cert, whose wheel carries it), "
                     "or pass the right root to load_catalogue()",
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
            overlmt_hosp_part="overlmt_hosp_part" in row and f.flag(row, where, "overlmt_hosp_part"),
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
            fallback=f.text(row, where, "fallback", nullable=True) if "fallback" in row else None,
            why_separate=f.text(row, where, "why_separate") if "why_separate" in row else "",
        ))
    _unique(f, "archetypes", [a.id for a in out], "id")
    _check_fallbacks(f, out)
    return tuple(out)


def _check_fallbacks(f: _File, archetypes: list[Archetype]) -> None:
    """A fallback names an independent archetype (no fallback of its own) with the same failure cause."""
    by_id = {a.id: a for a in archetypes}
    for index, arch in enumerate(archetypes):
        if arch.fallback is None:
            continue
        target = by_id.get(arch.fallback)
        where = f"archetypes[{index}].fallback"
        if target is None or target.id == arch.id:
            raise f.fail(where, f"{arch.fallback!r} is not another archetype of this file")
        if target.fallback is not None:
            raise f.fail(where, f"{arch.fallback!r} has a fallback itself; name an independent archetype")
        if target.cause != arch.cause:
            raise f.fail(where, f"{arch.fallback!r} has cause {target.cause!r}, this archetype {arch.cause!r}: "
                         "a stand-in must behave the same")


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


