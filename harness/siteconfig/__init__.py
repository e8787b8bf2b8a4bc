"""Site configuration (TOML): where a site is, how to talk to it, what it offers, whom to test with.

A site config is what a hospital or a provincial team writes once per site. It names the endpoint
and its province profile, the gateway family (credentials only as the NAMES of environment
variables, resolved when a run starts and never stored), the institution identity the harness
presents, limits, the capabilities the site declares, and its test identities keyed by the
archetypes of the synthetic-person catalogue. Every problem is a `ConfigError` that names the
file, the key and what is expected. `fixtures/sites/*.toml` are documented examples.

The package: `model` (the dataclasses and vocabularies), `reading` (the file: encodings, TOML errors),
`parse` (the [site] table and the whole), `sections` (the other tables), `reader` (typed table access),
`embedded` (the embedded reference platform's config).
"""

from __future__ import annotations

from harness.siteconfig.embedded import embedded_site
from harness.siteconfig.model import (
    CAPABILITIES,
    DEFAULT_VALUES,
    GATEWAY_CREDENTIALS,
    RECON_SCOPES,
    URL_STYLES,
    GatewayConfig,
    Limits,
    SiteConfig,
    TlsConfig,
)
from harness.siteconfig.parse import parse_site
from harness.siteconfig.reading import load_site, read_site_text
from harness.siteconfig.sections import ITEM_FIELDS, VALUE_KEYS
from harness.sitepersons import archetype_needs, stand_ins

__all__ = [
    "CAPABILITIES",
    "DEFAULT_VALUES",
    "GATEWAY_CREDENTIALS",
    "ITEM_FIELDS",
    "RECON_SCOPES",
    "URL_STYLES",
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
