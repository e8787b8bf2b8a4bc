"""The site config as values: the dataclasses a site TOML becomes, and the vocabularies they draw on.

`SiteConfig` is one site under test (`GatewayConfig`, `Limits` and `TlsConfig` are its tables); reading
and checking the TOML that makes one is `harness.siteconfig.parse`'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from harness.errors import ConfigError
from harness.personas import SYNTHETIC_SITE_VALUES

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
# How the end-of-run 3201 counts what the harness settled: "day" = every settlement the harness recorded at
# this site for the reconciled dates, across runs (a persistent site: the 2nd run of a day balances too);
# "run" = only this run's (a site whose state is new for every run, like the embedded platform).
RECON_SCOPES = ("day", "run")


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
