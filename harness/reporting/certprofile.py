"""Certification profiles: which scenarios count toward a certificate, given the site's capabilities.

A profile is data (`specs/certification-profiles/<id>.json`, documented in the README there). This
module only reads it and applies it: it selects the scenarios that belong to the profile and gives
each one its effective level. Applicability (the site declares the capability or not) stays the
runner's business: scenarios of an undeclared capability are handed over and come back
*not applicable*, so they show in the evidence instead of silently vanishing.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigError
from harness.model import Level, Scenario
from harness.specs import default_root

__all__ = [
    "DEFAULT_PROFILE",
    "CertificationProfile",
    "Override",
    "ProfileSelection",
    "list_profiles",
    "load_profile",
    "profile_for_capabilities",
    "profiles_dir",
]

DEFAULT_PROFILE = "hospital-outpatient"
CAPABILITY_LEVELS = ("mandatory", "conditional", "optional")
OVERRIDE_LEVELS = (*CAPABILITY_LEVELS, "exclude")
# Weakest first: combining two levels keeps the weaker one.
_STRENGTH = {Level.OPTIONAL: 0, Level.CONDITIONAL: 1, Level.MANDATORY: 2}


def profiles_dir(root: Path | None = None) -> Path:
    return (root if root is not None else default_root()) / "certification-profiles"


@dataclass(frozen=True, slots=True)
class Override:
    match: str  # fnmatch glob on the scenario id
    level: str  # mandatory | conditional | optional | exclude
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ProfileSelection:
    """The scenarios of a profile, in input order, and the effective level of each."""

    scenarios: tuple[Scenario, ...]
    levels: Mapping[str, Level]
    excluded: tuple[str, ...]  # ids left out of the profile (other business, or excluded by override)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.scenarios)


@dataclass(frozen=True, slots=True)
class CertificationProfile:
    id: str
    title_zh: str
    title_en: str
    institution: str
    capabilities: Mapping[str, str]  # capability -> mandatory | conditional | optional
    overrides: tuple[Override, ...] = ()
    source: str = ""
    issuer: str = ""  # the organisation that issues the certificate (`--issuer` overrides)
    validity_days: int = 365  # a certificate is valid this many days from its issue date
    pending_grace_days: int = 0  # a scenario new since the site's last certified run is pending this long

    @property
    def required_capabilities(self) -> tuple[str, ...]:
        return tuple(c for c, lvl in self.capabilities.items() if lvl == "mandatory")

    def check_site(self, declared: Iterable[str], *, site_location: str = "") -> None:
        """A site certified under this profile must declare every mandatory capability."""
        have = set(declared)
        missing = [c for c in self.required_capabilities if c not in have]
        if missing:
            raise ConfigError(
                f"The site does not declare the capabilities the profile {self.id!r} requires: {', '.join(missing)}",
                location=site_location or self.source,
                detail=f"declared: {', '.join(sorted(have)) or '(none)'}; profile: {self.source}",
                hint=f"add {missing} to the site's capabilities, or choose another profile (hsa-cert certify "
                f"--profile {'|'.join(list_profiles())})",
            )

    def level_of(self, scenario: Scenario) -> Level | None:
        """The effective level of a scenario under this profile, or None when it is not part of it."""
        level: Level | None = Level(scenario.level)
        for cap in scenario.capabilities:
            cap_level = self.capabilities.get(cap)
            if cap_level is None:
                level = None
                break
            level = _weaker(level, Level(cap_level))
        for override in self.overrides:
            if fnmatch.fnmatchcase(scenario.id, override.match):
                level = None if override.level == "exclude" else Level(override.level)
        return level

    def select(self, scenarios: Sequence[Scenario]) -> ProfileSelection:
        chosen: list[Scenario] = []
        levels: dict[str, Level] = {}
        excluded: list[str] = []
        for scenario in scenarios:
            level = self.level_of(scenario)
            if level is None:
                excluded.append(scenario.id)
                continue
            chosen.append(scenario)
            levels[scenario.id] = level
        return ProfileSelection(tuple(chosen), levels, tuple(excluded))


def _weaker(a: Level | None, b: Level) -> Level:
    if a is None:
        return b
    return a if _STRENGTH[a] <= _STRENGTH[b] else b


def list_profiles(root: Path | None = None) -> list[str]:
    folder = profiles_dir(root)
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def load_profile(name: str, root: Path | None = None) -> CertificationProfile:
    path = profiles_dir(root) / f"{name}.json"
    if not path.is_file():
        raise ConfigError(
            f"Unknown certification profile {name!r}",
            location=str(path),
            hint=f"choose one of: {', '.join(list_profiles(root)) or '(none found)'}",
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError("A certification profile cannot be read", location=str(path), detail=str(exc)) from exc
    return _parse(raw, path)


def _parse(raw: object, path: Path) -> CertificationProfile:
    def bad(key: str, what: str) -> ConfigError:
        return ConfigError(
            f"Invalid certification profile: {key} {what}",
            location=f"{path} (key {key!r})",
            hint="see specs/certification-profiles/README.md for the format",
        )

    if not isinstance(raw, Mapping):
        raise bad("(top level)", "must be a JSON object")
    for key in ("id", "title_zh", "title_en"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise bad(key, "must be a non-empty string")
    if raw["id"] != path.stem:
        raise bad("id", f"must equal the file name {path.stem!r}, got {raw['id']!r}")
    caps = raw.get("capabilities")
    if not isinstance(caps, Mapping) or not caps:
        raise bad("capabilities", "must be a non-empty object of capability -> level")
    for cap, level in caps.items():
        if level not in CAPABILITY_LEVELS:
            raise bad(f"capabilities.{cap}", f"must be one of {', '.join(CAPABILITY_LEVELS)}, got {level!r}")
    overrides: list[Override] = []
    for i, item in enumerate(raw.get("overrides") or []):
        if not isinstance(item, Mapping) or not isinstance(item.get("match"), str):
            raise bad(f"overrides[{i}]", "must be an object with a string 'match'")
        if item.get("level") not in OVERRIDE_LEVELS:
            raise bad(f"overrides[{i}].level", f"must be one of {', '.join(OVERRIDE_LEVELS)}")
        overrides.append(Override(item["match"], item["level"], str(item.get("reason", ""))))
    validity = raw.get("validity_days", 365)
    if not isinstance(validity, int) or isinstance(validity, bool) or not 1 <= validity <= 3660:
        raise bad("validity_days", "must be a whole number of days between 1 and 3660")
    grace = raw.get("pending_grace_days", 0)
    if not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= 366:
        raise bad("pending_grace_days", "must be a whole number of days between 0 (off) and 366")
    if not isinstance(raw.get("issuer", ""), str):
        raise bad("issuer", "must be a string (the issuing organisation)")
    return CertificationProfile(
        id=raw["id"],
        title_zh=raw["title_zh"],
        title_en=raw["title_en"],
        institution=str(raw.get("institution", "")),
        capabilities=dict(caps),
        overrides=tuple(overrides),
        source=str(path),
        issuer=str(raw.get("issuer", "")),
        validity_days=validity,
        pending_grace_days=grace,
    )


def profile_for_capabilities(capabilities: Iterable[str]) -> str:
    """The profile a site most plausibly certifies for, when `--profile` is not given."""
    caps = set(capabilities)
    if {"outpatient", "inpatient"} <= caps:
        return "hospital-full"
    if "outpatient" in caps:
        return "hospital-outpatient"
    if "inpatient" in caps:
        return "hospital-inpatient"
    if "pharmacy" in caps:
        return "pharmacy"
    return DEFAULT_PROFILE
