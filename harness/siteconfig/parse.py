"""Checking a site config's data: the [site] table and the site as a whole (the other tables: `sections`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from harness.personas import Archetype, load_catalogue
from harness.siteconfig.embedded import embedded_site
from harness.siteconfig.model import CAPABILITIES, RECON_SCOPES, URL_STYLES, SiteConfig
from harness.siteconfig.reader import _Reader
from harness.siteconfig.sections import _err_msg_patterns, _gateway, _items, _limits, _records, _tls, _values
from harness.sitepersons import split_persons, stand_ins, with_card_sn

_ADMDVS = re.compile(r"^[0-9]{6}$")
_SITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_INFNO = re.compile(r"^[0-9]{4}[A-Z]?$")
_TOP_LEVEL = ("site", "gateway", "limits", "tls", "identities", "items", "values", "err_msg_patterns")


def parse_site(data: Mapping[str, Any], *, source: str = "<site config>", profiles: Iterable[str] | None = None,
               archetypes: Iterable[str | Archetype] | None = None,
               item_aliases: Iterable[str] | None = None) -> SiteConfig:
    known = None if archetypes is None else tuple(archetypes)
    names = None if known is None else [a if isinstance(a, str) else a.id for a in known]
    fallbacks = {a.id: a.fallback for a in known or () if not isinstance(a, str) and a.fallback}
    root = _Reader(source, data, "")
    root.only(_TOP_LEVEL)
    primary, extra = split_persons(root.sub("identities").table)  # [[identities.<archetype>]]: several persons
    site = root.sub("site")
    if "site" not in data:
        raise root.fail("site", "a [site] table", hint="see fixtures/sites/example-province.toml")
    site.only(("id", "name", "base_url", "url_style", "endpoint_path", "infno_path_template", "profile",
               "fixmedins_code", "fixmedins_name", "mdtrtarea_admvs", "infver", "recer_sys_code", "opter",
               "opter_name", "opter_type", "capabilities", "reference", "catalogue_seed",
               "not_offered", "other_fixmedins_code", "other_fixmedins_name", "setl_optins", "recon_scope",
               "daybook", "city", "level", "vendor", "trust_env"))
    known_profiles = tuple(profiles) if profiles is not None else None
    profile = site.text("profile", required=False, default="baseline", choices=known_profiles,
                        what="the name of a province profile in specs/profiles/")
    base_url = site.text("base_url", what="an http:// or https:// URL")
    if not re.match(r"^https?://[^/\s]+", base_url or ""):
        raise site.fail("base_url", "an http:// or https:// URL with a host", base_url)
    config = SiteConfig(
        id=site.text("id", pattern=_SITE_ID, what="a short id of letters, digits, '.', '_' or '-'") or "",
        name=site.text("name", required=False, default="") or "",
        base_url=(base_url or "").rstrip("/"),
        profile=profile or "baseline",
        fixmedins_code=site.text("fixmedins_code", pattern=re.compile(r"^\S{1,30}$"),
                                 what="the institution code (定点医药机构编号), at most 30 characters") or "",
        fixmedins_name=site.text("fixmedins_name", what="the institution name (定点医药机构名称)") or "",
        mdtrtarea_admvs=site.text("mdtrtarea_admvs", pattern=_ADMDVS,
                                  what="a 6-digit region code (就医地医保区划)") or "",
        capabilities=_capabilities(site),
        url_style=site.text("url_style", required=False, choices=URL_STYLES),
        endpoint_path=site.text("endpoint_path", required=False, pattern=re.compile(r"^/"),
                                what="a path starting with /"),
        infno_path_template=site.text("infno_path_template", required=False, pattern=re.compile(r"^/.*\{infno\}"),
                                      what="a path starting with / that contains {infno}"),
        infver=site.text("infver", required=False),
        recer_sys_code=site.text("recer_sys_code", required=False),
        opter=site.text("opter", required=False, default="hsa-cert") or "hsa-cert",
        opter_name=site.text("opter_name", required=False, default="hsa-cert") or "hsa-cert",
        opter_type=site.text("opter_type", required=False, default="1", choices=("1", "2", "3")) or "1",
        gateway=_gateway(root.sub("gateway")),
        limits=_limits(root.sub("limits")),
        tls=_tls(root.sub("tls")),
        trust_env=site.flag("trust_env", False),
        identities=with_card_sn(_records(_Reader(source, primary, "identities"), "archetype", names)),
        extra_persons={arch: tuple(with_card_sn(_records(_Reader(source, {arch: person}, "identities"),
                                                          "archetype", names))[arch] for person in persons)
                       for arch, persons in extra.items()},
        items=_items(root.sub("items"), item_aliases),
        values=_values(root.sub("values")),
        reference=site.flag("reference", False),
        source=source,
        err_msg_patterns=_err_msg_patterns(root.sub("err_msg_patterns")),
        not_offered=_not_offered(site),
        other_fixmedins_code=site.text("other_fixmedins_code", required=False, pattern=re.compile(r"^\S{1,30}$"),
                                       what="the code of a second institution, at most 30 characters"),
        other_fixmedins_name=site.text("other_fixmedins_name", required=False),
        setl_optins=site.text("setl_optins", required=False, pattern=_ADMDVS,
                              what="a 6-digit clearing-agency code (结算经办机构)"),
        recon_scope=site.text("recon_scope", required=False, default="day", choices=RECON_SCOPES) or "day",
        daybook=site.text("daybook", required=False, what="the path of the harness's settlement day book"),
        city=site.text("city", required=False), level=site.text("level", required=False),
        vendor=site.text("vendor", required=False),
    )
    if config.other_fixmedins_code == config.fixmedins_code:
        raise site.fail("other_fixmedins_code", "an institution other than fixmedins_code",
                        config.other_fixmedins_code)
    if config.other_fixmedins_name and not config.other_fixmedins_code:
        raise site.fail("other_fixmedins_code", "a code beside other_fixmedins_name", hint="the key is missing")
    if "catalogue_seed" in site.table:
        config = _with_catalogue(config, site)
    return replace(config, stand_ins=stand_ins(config.identities, fallbacks))


def _not_offered(site: _Reader) -> tuple[str, ...]:
    value = site.table.get("not_offered", [])
    expected = 'a list of interface numbers (infno), e.g. ["3202", "9101"]'
    if not isinstance(value, list):
        raise site.fail("not_offered", expected, value)
    for infno in value:
        if not isinstance(infno, str) or not _INFNO.match(infno):
            raise site.fail("not_offered", expected, infno)
    return tuple(dict.fromkeys(value))


def _with_catalogue(config: SiteConfig, site: _Reader) -> SiteConfig:
    """`catalogue_seed`: identities, items and values of the synthetic catalogue (reference platform only)."""
    seed = site.number("catalogue_seed", None, integer=True)
    if not config.reference:
        raise site.fail("catalogue_seed", "to be used only with reference = true (the embedded reference platform)",
                        hint="a real site lists its own test identities under [identities.<archetype>]")
    derived = embedded_site(config.base_url, catalogue=load_catalogue(seed))
    return replace(
        config,
        identities={**derived.identities, **config.identities},
        items={**derived.items, **config.items},
        values={**derived.values, **config.values},
        other_fixmedins_code=config.other_fixmedins_code or derived.other_fixmedins_code,
        other_fixmedins_name=(config.other_fixmedins_name if config.other_fixmedins_code
                              else derived.other_fixmedins_name),
    )


def _capabilities(site: _Reader) -> tuple[str, ...]:
    value = site.table.get("capabilities")
    expected = "a list drawn from " + ", ".join(CAPABILITIES)
    if not isinstance(value, list) or not value:
        raise site.fail("capabilities", expected, value)
    for cap in value:
        if cap not in CAPABILITIES:
            raise site.fail("capabilities", expected, cap)
    return tuple(dict.fromkeys(value))
