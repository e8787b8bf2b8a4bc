"""A site's test persons: one or several per archetype (behaviour), stand-ins, and what the suites need of them.

A site config gives its test persons under `[identities.<archetype>]` (one person) or
`[[identities.<archetype>]]` (several persons of the same behaviour, each a table of spec fields).
The first person is the archetype's person (`SiteConfig.identity`); the others let `--jobs` run
scenarios of one behaviour at the same time, the k-th scenario of an archetype always with the person
`k mod n`, whatever the number of jobs. An archetype the site gives no person for runs with the person
of its fallback when the site gives that one (a stand-in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["archetype_needs", "split_persons", "stand_ins", "with_card_sn"]


def split_persons(table: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """(archetype -> its first person, archetype -> its further persons) of an `[identities]` table.

    An archetype's value is a table (one person) or an array of tables (several); an empty array is
    left as it is, for the reader to report.
    """
    primary: dict[str, Any] = {}
    extra: dict[str, list[Any]] = {}
    for name, value in table.items():
        if isinstance(value, list) and value:
            primary[name] = value[0]
            if len(value) > 1:
                extra[name] = list(value[1:])
        else:
            primary[name] = value
    return primary, extra


def stand_ins(identities: Mapping[str, Any], fallbacks: Mapping[str, str]) -> dict[str, str]:
    """Archetype -> the archetype standing in for it: its fallback, when the site gives only that one."""
    return {name: fallback for name, fallback in sorted(fallbacks.items())
            if name not in identities and fallback in identities}


def with_card_sn(identities: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """`card_sn` (卡识别码) is required with a social-security card (mdtrt_cert_type 03) [C] and sent empty
    otherwise: a person who does not present a card needs none in the site config."""
    for record in identities.values():
        if "card_sn" not in record and str(record.get("mdtrt_cert_type", "")) != "03":
            record["card_sn"] = ""
    return identities


# --- what the suites need of a site's test persons -----------------------------------------------

_IDENTITY_FIELD = re.compile(r"\{\{\s*identity\.([A-Za-z0-9_]+)\s*\}\}")


def _identity_fields(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        found.update(_IDENTITY_FIELD.findall(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            _identity_fields(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _identity_fields(item, found)


def archetype_needs(scenarios: Iterable[Any], archetypes: Iterable[Any], site: Any = None) -> list[dict[str, Any]]:
    """Per archetype: its behaviour, whether it needs a person of its own, the scenarios using it and the
    identity fields they read; with a site, who runs them there (its own person, a stand-in, nobody).

    `scenarios` are `harness.model.Scenario`s (only archetype, steps and teardown are read), `archetypes`
    `harness.personas.Archetype`s, `site` a `harness.siteconfig.SiteConfig` (duck-typed: this module sits below both).
    """
    used: dict[str, int] = {}
    fields_of: dict[str, set[str]] = {}
    for scenario in scenarios:
        if not scenario.archetype:
            continue
        used[scenario.archetype] = used.get(scenario.archetype, 0) + 1
        found = fields_of.setdefault(scenario.archetype, set())
        for step in (*scenario.steps, *scenario.teardown):
            _identity_fields(step.input, found)
            _identity_fields(step.envelope, found)
    rows = []
    for arch in archetypes:
        row: dict[str, Any] = {
            "archetype": arch.id, "cause": arch.cause, "independent": arch.fallback is None,
            "fallback": arch.fallback, "scenarios": used.get(arch.id, 0),
            "identity_fields": sorted(fields_of.get(arch.id, ())), "behaviour": arch.behaviour,
            "why_separate": arch.why_separate,
        }
        if site is not None:
            if arch.id in site.identities:
                row["at_site"] = "own person"
            elif site.stand_in(arch.id):
                row["at_site"] = f"run with the person of {site.stand_in(arch.id)}"
            else:
                row["at_site"] = "not provisioned"
        rows.append(row)
    return rows
