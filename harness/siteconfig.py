"""Site configuration (TOML): where a site is, how to talk to it, what it offers, whom to test with.

A site config is what a hospital or a provincial team writes once per site. It names the endpoint
and its province profile, the gateway family (credentials only as the NAMES of environment
variables, resolved when a run starts and never stored), the institution identity the harness
presents, limits, the capabilities the site declares, and its test identities keyed by the
archetypes of the synthetic-person catalogue. Every problem is a `ConfigError` that names the
file, the key and what is expected. `fixtures/sites/*.toml` are documented examples.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.errors import ConfigError
from harness.personas import SYNTHETIC_SITE_VALUES, Archetype, Catalogue, Persona, load_catalogue
from harness.sitepersons import archetype_needs, split_persons, stand_ins, with_card_sn

__all__ = [
    "CAPABILITIES",
    "DEFAULT_VALUES",
    "GATEWAY_CREDENTIALS",
    "RECON_SCOPES",
    "VALUE_KEYS",
    "GatewayConfig",
    "Limits",
    "SiteConfig",
    "TlsConfig",
    "archetype_needs",
    "embedded_site",
    "load_site",
    "parse_site",
    "read_site_text",
    "stand_ins",
]

# What a site may declare it offers. Scenarios tag themselves with these; a scenario needing a
# capability the site does not declare is "not applicable".
CAPABILITIES: tuple[str, ...] = ("outpatient", "inpatient", "chronic", "pharmacy", "filing", "reconciliation")

# Credentials each gateway family needs, by the names gateway.make_signer expects.
GATEWAY_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "none": (),
    "tif": ("paasid", "token"),
    "csb": ("access_key", "secret_key"),
    "oauth2-sm": ("app_id", "access_token", "sm4_key", "sm2_private_key"),  # national crypto (gateway.SmWrapper)
    "sm2-cainfo": ("sm2_private_key",),
}

URL_STYLES = ("single", "infno")
_ADMDVS = re.compile(r"^[0-9]{6}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_INFNO = re.compile(r"^[0-9]{4}[A-Z]?$")
# How the end-of-run 3201 counts what the harness settled: "day" = every settlement the harness recorded at
# this site for the reconciled dates, across runs (a persistent site: the 2nd run of a day balances too);
# "run" = only this run's (a site whose state is new for every run, like the embedded platform).
RECON_SCOPES = ("day", "run")
_TOP_LEVEL = ("site", "gateway", "limits", "tls", "identities", "items", "values", "err_msg_patterns")


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The gateway family and the environment variables holding its credentials (names only)."""

    family: str = "none"
    credential_env: Mapping[str, str] = field(default_factory=dict)  # credential -> env var name
    options: Mapping[str, Any] = field(default_factory=dict)  # merged over the profile's gateway settings

    def credentials(self, environ: Mapping[str, str] | None = None, *, source: str = "") -> dict[str, str]:
        """Resolve the credentials from the environment; a missing variable is a ConfigError."""
        env = os.environ if environ is None else environ
        resolved: dict[str, str] = {}
        missing = []
        for name, var in self.credential_env.items():
            value = env.get(var, "")
            if not value:
                missing.append(f"{var} (gateway.{name}_env)")
            resolved[name] = value
        if missing:
            raise ConfigError(
                "gateway credentials are not set in the environment",
                location=source,
                detail="missing: " + ", ".join(missing),
                hint="export the variables before the run; secrets never go into the site file",
            )
        return resolved

    def secret_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Credential value -> env var name, for replacing secrets by `$VAR` in reproductions."""
        env = os.environ if environ is None else environ
        return {env[var]: var for var in self.credential_env.values() if env.get(var)}


@dataclass(frozen=True, slots=True)
class Limits:
    timeout_s: float = 10.0
    rate_limit_per_s: float | None = None  # None: unlimited
    breaker_threshold: int = 5  # consecutive infrastructure errors before the run stops
    deadline_s: float | None = None  # the total deadline of one exchange; None: the transport's (3 x timeout_s)
    max_answer_bytes: int | None = None  # an answer's size cap after decompression; None: the transport's (16 MiB)


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """[tls]: how an https:// site is trusted and how the harness proves who it is (absolute paths)."""

    ca_bundle: str | None = None  # PEM file of the CA(s) that sign the site's certificate (a private CA)
    client_cert: str | None = None  # PEM certificate for mutual TLS
    client_key: str | None = None  # its private key (PEM), when not inside client_cert
    verify: bool = True  # false: no certificate check at all (a test environment only)

    def verify_option(self) -> bool | str:
        """What requests takes as `verify`: False, the CA bundle's path, or True (the system's CAs)."""
        if not self.verify:
            return False
        return self.ca_bundle or True

    def cert_option(self) -> str | tuple[str, str] | None:
        if self.client_cert and self.client_key:
            return (self.client_cert, self.client_key)
        return self.client_cert


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """One site under test. `reference` is true only for the embedded reference platform."""

    id: str
    name: str
    base_url: str
    profile: str
    fixmedins_code: str
    fixmedins_name: str
    mdtrtarea_admvs: str
    capabilities: tuple[str, ...]
    url_style: str | None = None  # None: the profile's transport.url_style
    endpoint_path: str | None = None
    infno_path_template: str | None = None
    infver: str | None = None  # None: the profile's infver
    recer_sys_code: str | None = None
    opter: str = "hsa-cert"
    opter_name: str = "hsa-cert"
    opter_type: str = "1"
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    limits: Limits = field(default_factory=Limits)
    tls: TlsConfig = field(default_factory=TlsConfig)
    trust_env: bool = False  # [site] trust_env: proxies and CA bundle variables (REQUESTS_CA_BUNDLE) from the env
    identities: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # archetype -> spec fields
    items: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # alias -> catalogue item fields
    values: Mapping[str, Any] = field(default_factory=dict)  # extra site.<key> template values
    reference: bool = False
    source: str = ""  # the file it came from, for messages
    # [err_msg_patterns]: cause id -> the site's own err_msg regexes, added after the profile's
    err_msg_patterns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    not_offered: tuple[str, ...] = ()  # interfaces the site does not offer: scenarios needing one are N/A
    other_fixmedins_code: str | None = None  # a second institution of the site (isolation scenarios)
    other_fixmedins_name: str | None = None
    setl_optins: str | None = None  # 3201's clearing agency; None: the treating region (mdtrtarea_admvs)
    recon_scope: str = "day"  # see RECON_SCOPES
    daybook: str | None = None  # the file of the harness's settlements at this site; None: beside the reports
    # Rollout metadata for the provincial dashboard's filters (free text; never part of a check).
    city: str | None = None
    level: str | None = None  # e.g. 三级 / 二级 / 一级 / pharmacy
    vendor: str | None = None  # the HIS vendor
    # archetype -> the archetype whose person stands in for it (the site gives no separate person for it)
    stand_ins: Mapping[str, str] = field(default_factory=dict)
    # archetype -> the site's further persons of that behaviour ([[identities.<archetype>]]), for `--jobs`
    extra_persons: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)

    def supports(self, capabilities: Iterable[str]) -> bool:
        return all(cap in self.capabilities for cap in capabilities)

    def identity(self, archetype: str) -> Mapping[str, Any] | None:
        """The site's test person for an archetype, or the person of the archetype standing in for it."""
        found = self.identities.get(archetype)
        if found is None and archetype in self.stand_ins:
            return self.identities.get(self.stand_ins[archetype])
        return found

    def persons(self, archetype: str) -> tuple[Mapping[str, Any], ...]:
        """Every test person the site gives for an archetype (the first is `identity`'s); `--jobs` spreads over them."""
        first = self.identities.get(archetype)
        return ((first,) if first is not None else ()) + tuple(self.extra_persons.get(archetype, ()))

    def with_person(self, archetype: str, index: int) -> SiteConfig:
        """This site with the archetype's `index`-th person as its person (a scenario of a `--jobs` lane)."""
        return replace(self, identities={**self.identities, archetype: self.persons(archetype)[index]})

    def stand_in(self, archetype: str | None) -> str | None:
        """The archetype whose person runs scenarios of `archetype` here, when it is not its own."""
        return self.stand_ins.get(archetype or "")

    def offers(self, infno: str) -> bool:
        return infno not in self.not_offered

    def template_values(self) -> dict[str, Any]:
        """The `site.<key>` namespace of scenario templates: the institution fields plus [values]."""
        core = {
            "id": self.id,
            "name": self.name,
            "fixmedins_code": self.fixmedins_code,
            "fixmedins_name": self.fixmedins_name,
            "mdtrtarea_admvs": self.mdtrtarea_admvs,
            "opter": self.opter,
            "opter_name": self.opter_name,
            "opter_type": self.opter_type,
        }
        if self.infver is not None:
            core["infver"] = self.infver
        if self.recer_sys_code is not None:
            core["recer_sys_code"] = self.recer_sys_code
        core["setl_optins"] = self.setl_optins or self.mdtrtarea_admvs
        other = self._other_institution()
        if other is not None:
            core["other_fixmedins_code"], core["other_fixmedins_name"] = other
        return {**DEFAULT_VALUES, **self.values, **core}

    def _other_institution(self) -> tuple[str, str] | None:
        """The second institution: [site] other_fixmedins_*, else (documented) the site's pharmacy, else none."""
        if self.other_fixmedins_code:
            return self.other_fixmedins_code, self.other_fixmedins_name or self.other_fixmedins_code
        code = self.values.get("pharmacy_fixmedins_code")
        if code:
            return str(code), str(self.values.get("pharmacy_fixmedins_name") or code)
        return None

    def describe(self) -> dict[str, Any]:
        """What reports may show about the site: never a credential, only env var names."""
        return {
            "id": self.id,
            "name": self.name,
            "base_url": self.base_url,
            "profile": self.profile,
            "fixmedins_code": self.fixmedins_code,
            "mdtrtarea_admvs": self.mdtrtarea_admvs,
            "gateway": self.gateway.family,
            "capabilities": list(self.capabilities),
            "archetypes": sorted(self.identities),
            "stand_ins": dict(sorted(self.stand_ins.items())),
            "not_offered": list(self.not_offered),
            "recon_scope": self.recon_scope,
            "reference": self.reference,
            **{key: value for key in ("city", "level", "vendor") if (value := getattr(self, key))},
        }


# Template values a site may set under [values] and whose defaults the scenarios use otherwise: department
# and doctor codes of the treating hospital (a site that checks them maps its own) and conventions the spec
# leaves to the province (emergency_ipt_med_type).
DEFAULT_VALUES: Mapping[str, Any] = SYNTHETIC_SITE_VALUES


# --- parsing ----------------------------------------------------------------------------------


class _Reader:
    """Typed access to one TOML table, with errors that name the file and the dotted key."""

    def __init__(self, source: str, table: Mapping[str, Any], prefix: str) -> None:
        self.source = source
        self.table = table
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, expected: str, actual: Any = None, hint: str = "") -> ConfigError:
        got = "" if actual is None else f"; got {actual!r}"
        return ConfigError(f"bad site config key {self.key(name)}: expected {expected}{got}",
                           location=f"{self.source}: {self.key(name)}", hint=hint)

    def only(self, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for name in self.table:
            if name not in allowed:
                raise ConfigError(f"unknown site config key {self.key(name)}",
                                  location=f"{self.source}: {self.key(name)}",
                                  hint="allowed here: " + ", ".join(allowed))

    def text(self, name: str, *, required: bool = True, default: str | None = None,
             pattern: re.Pattern[str] | None = None, choices: Iterable[str] | None = None,
             what: str = "a non-empty string") -> str | None:
        if name not in self.table:
            if required:
                raise self.fail(name, what, hint="the key is missing")
            return default
        value = self.table[name]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, what, value)
        if pattern is not None and not pattern.match(value):
            raise self.fail(name, what, value)
        if choices is not None and value not in tuple(choices):
            raise self.fail(name, "one of " + ", ".join(choices), value)
        return value

    def number(self, name: str, default: float | None, *, minimum: float = 0.0, integer: bool = False) -> Any:
        if name not in self.table:
            return default
        value = self.table[name]
        ok_types = (int,) if integer else (int, float, Decimal)
        if isinstance(value, bool) or not isinstance(value, ok_types) or value < minimum:
            kind = "an integer" if integer else "a number"
            raise self.fail(name, f"{kind} >= {minimum:g}", value)
        return int(value) if integer else float(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.table.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "true or false", value)
        return value

    def sub(self, name: str) -> _Reader:
        value = self.table.get(name, {})
        if not isinstance(value, Mapping):
            raise self.fail(name, "a table", value)
        return _Reader(self.source, value, self.key(name))


def load_site(path: Path | str, *, profiles: Iterable[str] | None = None,
              archetypes: Iterable[str | Archetype] | None = None,
              item_aliases: Iterable[str] | None = None) -> SiteConfig:
    """Read and check a site TOML file. `profiles`/`archetypes`, when given, are the known ones.

    Given as catalogue `Archetype`s (not bare ids), archetypes the site gives no person for are mapped
    to their `fallback` when the site gives that one (`SiteConfig.stand_ins`).
    """
    file = Path(path)
    text = read_site_text(file)
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("the site config is not valid TOML", location=str(file), detail=str(exc)) from exc
    except RecursionError as exc:
        raise ConfigError("the site config nests too deeply to read", location=str(file),
                          hint="a site config is a few tables deep; look for runaway brackets") from exc
    return parse_site(data, source=str(file), profiles=profiles, archetypes=archetypes, item_aliases=item_aliases)


_READ_HINT = "pass --site with the path of a TOML file, e.g. fixtures/sites/example-province.toml"


def read_site_text(file: Path) -> str:
    """The text of a site config, whatever a Windows editor saved it as: UTF-8 (with or without a byte-order
    mark), UTF-16 with its mark (Notepad's "Unicode"), or GBK/GB18030 (common on Chinese Windows). A folder,
    a missing file or a binary one is a ConfigError that says so."""
    try:
        raw = file.read_bytes()
    except IsADirectoryError as exc:
        raise ConfigError("cannot read the site config: it is a folder, not a file", location=str(file),
                          hint=_READ_HINT) from exc
    except FileNotFoundError as exc:
        raise ConfigError("cannot read the site config: no such file", location=str(file), hint=_READ_HINT) from exc
    except OSError as exc:
        raise ConfigError("cannot read the site config", location=str(file), detail=str(exc), hint=_READ_HINT) from exc
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            pass  # judged as binary below
    if b"\x00" in raw:
        raise ConfigError("the site config is a binary file, not TOML text", location=str(file),
                          detail=f"{len(raw)} bytes starting {raw[:16].hex(' ')}", hint=_READ_HINT)
    for encoding in ("utf-8-sig", "gb18030"):  # utf-8-sig also reads plain UTF-8; GB18030 is a superset of GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ConfigError("the site config is not text in a known encoding", location=str(file),
                      detail="tried UTF-8, UTF-16 with a byte-order mark and GBK/GB18030",
                      hint="save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)")


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


def _gateway(gw: _Reader) -> GatewayConfig:
    family = gw.text("family", required=False, default="none", choices=tuple(GATEWAY_CREDENTIALS)) or "none"
    needed = GATEWAY_CREDENTIALS[family]
    gw.only(("family", *(f"{name}_env" for name in needed), "tif", "csb", "oauth2_sm"))
    env: dict[str, str] = {}
    for name in needed:
        env[name] = gw.text(f"{name}_env", pattern=_ENV_NAME,
                            what="the NAME of an environment variable holding the credential (not the secret)") or ""
    options = {key: dict(gw.table[key]) for key in ("tif", "csb", "oauth2_sm")
               if isinstance(gw.table.get(key), Mapping)}
    return GatewayConfig(family=family, credential_env=env, options=options)


def _limits(lim: _Reader) -> Limits:
    lim.only(("timeout_s", "rate_limit_per_s", "breaker_threshold", "deadline_s", "max_answer_bytes"))
    rate = lim.number("rate_limit_per_s", None)
    timeout = lim.number("timeout_s", 10.0)
    if timeout <= 0:
        raise lim.fail("timeout_s", "a number > 0", timeout)
    return Limits(
        timeout_s=timeout,
        rate_limit_per_s=rate or None,
        breaker_threshold=lim.number("breaker_threshold", 5, minimum=1, integer=True),
        deadline_s=_positive(lim, "deadline_s", integer=False),
        max_answer_bytes=_positive(lim, "max_answer_bytes", integer=True),
    )


def _positive(lim: _Reader, name: str, *, integer: bool) -> Any:
    value = lim.number(name, None, integer=integer)
    if value is not None and value <= 0:
        raise lim.fail(name, "an integer > 0" if integer else "a number > 0", value)
    return value


def _tls(tls: _Reader) -> TlsConfig:
    """[tls]: paths are relative to the site file; each must name a readable file."""
    tls.only(("ca_bundle", "client_cert", "client_key", "verify"))
    base = Path(tls.source).parent if tls.source and not tls.source.startswith("<") else Path.cwd()
    paths: dict[str, str | None] = {}
    for name in ("ca_bundle", "client_cert", "client_key"):
        value = tls.text(name, required=False, what="the path of a PEM file (relative to the site file)")
        if value is None:
            paths[name] = None
            continue
        path = (base / Path(value).expanduser()).resolve()
        if not path.is_file():
            raise tls.fail(name, "the path of a readable PEM file (relative to the site file)", value,
                           hint=f"no file at {path}")
        paths[name] = str(path)
    if paths["client_key"] and not paths["client_cert"]:
        raise tls.fail("client_key", "to come with client_cert (the certificate it belongs to)",
                       hint="add client_cert, or drop client_key")
    verify = tls.flag("verify", True)
    if not verify and paths["ca_bundle"]:
        raise tls.fail("verify", "true when ca_bundle is set (a CA bundle is only used to verify)", verify,
                       hint="drop verify = false, or drop ca_bundle")
    return TlsConfig(ca_bundle=paths["ca_bundle"], client_cert=paths["client_cert"],
                     client_key=paths["client_key"], verify=verify)


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, Decimal, bool)) and not isinstance(value, float)


def _records(table: _Reader, what: str, known: Iterable[str] | None) -> dict[str, dict[str, Any]]:
    allowed = tuple(known) if known is not None else None
    out: dict[str, dict[str, Any]] = {}
    for name, record in table.table.items():
        if allowed is not None and name not in allowed:
            raise table.fail(name, f"a known {what}", hint="known: " + ", ".join(sorted(allowed)))
        if not isinstance(record, Mapping) or not record:
            raise table.fail(name, "a non-empty table of spec fields, e.g. psn_no = \"...\"", record)
        for key, value in record.items():
            if not _scalar(value):
                raise table.sub(name).fail(key, "a string, number or boolean", value)
        out[name] = dict(record)
    return out


def _err_msg_patterns(table: _Reader) -> dict[str, tuple[str, ...]]:
    """`cause-id = ["regex", ...]`: known failure causes (or interface-not-offered), regexes that compile."""
    if not table.table:
        return {}
    from harness.specs import load_registry  # only when the table is there: the causes are spec data

    known = sorted({c.id for c in load_registry().causes()} | {"interface-not-offered"})
    out: dict[str, tuple[str, ...]] = {}
    for cause, patterns in table.table.items():
        if cause not in known:
            raise table.fail(cause, "a failure-cause id of specs rules.json (or interface-not-offered)",
                             hint="known: " + ", ".join(known))
        if isinstance(patterns, str):
            patterns = [patterns]
        if not isinstance(patterns, list) or not patterns or not all(isinstance(p, str) and p for p in patterns):
            raise table.fail(cause, 'a list of regular expressions, e.g. ["未备案", "备案.*无效"]', patterns)
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                hint = f"{exc}; escape ( ) [ ] . * + ? with a backslash to match them literally"
                raise table.fail(cause, "regular expressions that compile (Python re)", pattern, hint=hint) from exc
        out[cause] = tuple(patterns)
    return out
# What scenarios read of a site's catalogue item ({{ item.<alias>.<field> }}), and its name for people.
ITEM_FIELDS = ("med_list_codg", "medins_list_codg", "name")
def _items(table: _Reader, aliases: Iterable[str] | None) -> dict[str, dict[str, Any]]:
    items = _records(table, "item alias", aliases)
    for alias, record in items.items():
        for key in record:
            if key not in ITEM_FIELDS:
                raise table.sub(alias).fail(
                    key, "one of " + ", ".join(ITEM_FIELDS) + " (the fields scenarios read)", record[key],
                    hint="no scenario reads it: fees are billed at the catalogue's prices (fixtures/catalogue/"
                         "items.json), which the reference platform's golden amounts assume; a site maps only "
                         "its codes")
    return items
# [values] keys: the defaults above plus the site's other institutions that scenarios sign in as.
VALUE_KEYS: tuple[str, ...] = (*SYNTHETIC_SITE_VALUES, "pharmacy_fixmedins_code", "pharmacy_fixmedins_name",
                               "unnetworked_fixmedins_code", "unnetworked_fixmedins_name")


def _values(table: _Reader) -> dict[str, Any]:
    table.only(VALUE_KEYS)  # a misspelt key would otherwise be ignored while its default is used
    for key, value in table.table.items():
        if not _scalar(value):
            raise table.fail(key, "a string, number or boolean", value)
    return dict(table.table)


# --- the embedded reference platform ------------------------------------------------------------

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
