"""The site config of the embedded reference platform, derived from the synthetic-person catalogue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from decimal import Decimal
from typing import Any

from harness.personas import Catalogue, Persona, load_catalogue
from harness.siteconfig.model import CAPABILITIES, Limits, SiteConfig

_IDENTITY_SKIP = {"filings", "chronic", "archetype", "behaviour"}


def embedded_site(base_url: str, *, catalogue: Catalogue | None = None, profile: str = "baseline",
                  limits: Limits | None = None, recon_scope: str = "run",
                  more_persons: Iterable[Persona] = ()) -> SiteConfig:
    """The site config of the embedded reference platform running at `base_url`.

    `more_persons`: further persons of the archetypes (`harness.personcopies`; the platform is seeded with
    them too), for `--jobs`.

    Identities and items come from the same synthetic-person catalogue the platform is seeded
    with, so every archetype is provisioned; `reference` enables golden amounts. `recon_scope` is
    "run" because a run starts its own platform on a new database.
    """
    cat = catalogue or load_catalogue()
    home = cat.default_institution()
    identities: dict[str, dict[str, Any]] = {}
    for persona in cat.personas:
        if persona.archetype in identities:
            continue
        identities[persona.archetype] = _identity_record(persona)
    extra: dict[str, list[dict[str, Any]]] = {}
    for persona in more_persons:
        extra.setdefault(persona.archetype, []).append(_identity_record(persona))
    items = {item.alias: {f.name: getattr(item, f.name) for f in fields(item)} for item in cat.items}
    values: dict[str, Any] = {}
    other = next((i for i in cat.institutions if i.kind == "hospital" and i.networked
                  and i.fixmedins_code != home.fixmedins_code and i.mdtrtarea_admvs == home.mdtrtarea_admvs), None)
    for inst in cat.institutions:
        # Other institutions of the reference platform, for scenarios that must present another
        # institution (e.g. a non-networked hospital for institution-not-enabled, a pharmacy).
        if not inst.networked and inst.kind == "hospital" and "unnetworked_fixmedins_code" not in values:
            values["unnetworked_fixmedins_code"] = inst.fixmedins_code
            values["unnetworked_fixmedins_name"] = inst.fixmedins_name
        if inst.kind == "pharmacy" and inst.networked and "pharmacy_fixmedins_code" not in values:
            values["pharmacy_fixmedins_code"] = inst.fixmedins_code
            values["pharmacy_fixmedins_name"] = inst.fixmedins_name
    return SiteConfig(
        id="embedded",
        name="内置参考平台 (embedded reference platform)",
        base_url=base_url.rstrip("/"),
        profile=profile,
        fixmedins_code=home.fixmedins_code,
        fixmedins_name=home.fixmedins_name,
        mdtrtarea_admvs=home.mdtrtarea_admvs,
        capabilities=CAPABILITIES,
        limits=limits or Limits(),
        identities=identities,
        items=items,
        values=values,
        reference=True,
        source="embedded reference platform",
        other_fixmedins_code=other.fixmedins_code if other else None,
        other_fixmedins_name=other.fixmedins_name if other else None,
        recon_scope=recon_scope,
        extra_persons={name: tuple(persons) for name, persons in extra.items()},
    )


def _identity_record(persona: Persona) -> dict[str, Any]:
    record = {k: v for k, v in persona.to_json().items() if k not in _IDENTITY_SKIP and _plain(v)}
    if persona.mdtrt_cert_type != "03":
        record["card_sn"] = ""  # the person does not present the card: no 卡识别码 on the wire
    return record


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, bool, Decimal))
