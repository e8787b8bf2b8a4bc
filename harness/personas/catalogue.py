"""The catalogue: fixture records plus the personas made from them, loaded once per (seed, root)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.personas.fixtures import (
    _read_archetypes,
    _read_institutions,
    _read_items,
    _read_policies,
    _read_regions,
)
from harness.personas.identity import _make_personas
from harness.personas.records import Archetype, Institution, Item, Persona, Policy, Region
from harness.resources import catalogue_dir

DEFAULT_SEED = 20240101
CATALOGUE_DIR = catalogue_dir()  # the checkout's fixtures/catalogue, or the copy installed with the package

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
