"""Render templates with stand-in values, so that generators can validate inputs before anything is sent.

Generated negatives must be checked INVALID by the specs validator at generation time, and their base
input checked VALID. Inputs are templates ({{ saved.mdtrt_id }}), so they are rendered here with
deterministic stand-ins: identity and site values from the synthetic-person catalogue, saved values
from the generator table's `probe:` section, and a fixed clock. Nothing here is ever sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from harness.personas import SYNTHETIC_SITE_VALUES, Catalogue
from harness.scenarios.templates import Expression
from harness.specs import SpecRegistry

__all__ = ["PROBE_NOW", "MissingProbe", "ProbeContext", "probe_context", "probe_envelope"]

PROBE_NOW = datetime(2024, 6, 1, 10, 0, 0)
_OFFSET = re.compile(r"date_offset\(\s*([-+]?\d+)\s*\)")


class MissingProbe(KeyError):
    """A template names something the probe context has no stand-in for."""


@dataclass(frozen=True)
class ProbeContext:
    identities: Mapping[str, Mapping[str, Any]]  # archetype -> identity fields
    site: Mapping[str, Any]
    items: Mapping[str, Mapping[str, Any]]
    saved: Mapping[str, Any] = field(default_factory=dict)

    def resolver(self, archetype: str | None) -> Any:
        identity = self.identities.get(archetype or "", {})

        def resolve(expr: Expression) -> Any:
            ns, name = expr.namespace, expr.name
            source: Mapping[str, Any]
            if ns == "identity":
                source = identity
            elif ns == "site":
                source = self.site
            elif ns == "saved":
                source = self.saved
            elif ns == "item":
                alias, _, item_field = name.partition(".")
                if alias in self.items and item_field in self.items[alias]:
                    return self.items[alias][item_field]
                raise MissingProbe(f"item.{name}")
            elif ns == "run":
                return "100000000001"  # the runner's run.uniq: 12 digits, never a leading zero
            elif ns == "now":
                if name == "datetime":
                    return PROBE_NOW.strftime("%Y-%m-%d %H:%M:%S")
                if name == "date":
                    return PROBE_NOW.strftime("%Y-%m-%d")
                match = _OFFSET.fullmatch(name)
                if match:
                    return (PROBE_NOW.date() + timedelta(days=int(match.group(1)))).isoformat()
                raise MissingProbe(f"now.{name}")
            else:
                raise MissingProbe(f"{ns}.{name}")
            if name not in source:
                raise MissingProbe(f"{ns}.{name}")
            return source[name]

        return resolve


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def probe_context(catalogue: Catalogue, saved: Mapping[str, Any]) -> ProbeContext:
    """Stand-ins from the synthetic-person catalogue (the embedded platform's own identities)."""
    identities: dict[str, dict[str, Any]] = {}
    for persona in catalogue.personas:
        if persona.archetype not in identities:
            identities[persona.archetype] = {k: _plain(v) for k, v in persona.to_json().items()}
    home = catalogue.default_institution()
    site: dict[str, Any] = {
        "fixmedins_code": home.fixmedins_code,
        "fixmedins_name": home.fixmedins_name,
        "mdtrtarea_admvs": home.mdtrtarea_admvs,
        "opter": "hsa-cert",
        "opter_name": "hsa-cert",
        "opter_type": "1",
        "setl_optins": home.mdtrtarea_admvs,
        **SYNTHETIC_SITE_VALUES,
    }
    for inst in catalogue.institutions:
        if not inst.networked and inst.kind == "hospital":
            site.setdefault("unnetworked_fixmedins_code", inst.fixmedins_code)
            site.setdefault("unnetworked_fixmedins_name", inst.fixmedins_name)
        if inst.networked and inst.kind == "pharmacy":
            site.setdefault("pharmacy_fixmedins_code", inst.fixmedins_code)
            site.setdefault("pharmacy_fixmedins_name", inst.fixmedins_name)
    items = {item.alias: {
        "med_list_codg": item.med_list_codg,
        "medins_list_codg": item.medins_list_codg,
        "name": item.name,
        "pric": item.pric,
    } for item in catalogue.items}
    return ProbeContext(identities=identities, site=site, items=items, saved=dict(saved))


def probe_envelope(registry: SpecRegistry, profile: str, infno: str, site: Mapping[str, Any],
                   insuplc_admdvs: str, input: Mapping[str, Any]) -> dict[str, Any]:
    """The envelope a runner would build around `input` (fixed clock and sequence)."""
    prof = registry.profile(profile)
    stamp = PROBE_NOW.strftime("%Y%m%d%H%M%S")
    return {
        "infno": infno,
        "msgid": f"{site['fixmedins_code']}{stamp}0001",
        "mdtrtarea_admvs": site["mdtrtarea_admvs"],
        "insuplc_admdvs": insuplc_admdvs,
        "recer_sys_code": prof.recer_sys_code,
        "dev_no": "",
        "dev_safe_info": "",
        "cainfo": "",
        "signtype": "",
        "infver": prof.infver,
        "opter_type": "1",
        "opter": "hsa-cert",
        "opter_name": "hsa-cert",
        "inf_time": PROBE_NOW.strftime("%Y-%m-%d %H:%M:%S"),
        "fixmedins_code": site["fixmedins_code"],
        "fixmedins_name": site["fixmedins_name"],
        "sign_no": "0000000001",
        "input": dict(input),
    }
