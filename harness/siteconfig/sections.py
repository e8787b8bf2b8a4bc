"""The tables of a site config beside [site]: [gateway], [limits], [tls], [identities], [items], [values],
[err_msg_patterns]. Each reads one table through a `_Reader` and returns its value."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.personas import SYNTHETIC_SITE_VALUES
from harness.siteconfig.model import GATEWAY_CREDENTIALS, GatewayConfig, Limits, TlsConfig
from harness.siteconfig.reader import _Reader

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


# [values] keys: the defaults (DEFAULT_VALUES) plus the site's other institutions that scenarios sign in as.
VALUE_KEYS: tuple[str, ...] = (*SYNTHETIC_SITE_VALUES, "pharmacy_fixmedins_code", "pharmacy_fixmedins_name",
                               "unnetworked_fixmedins_code", "unnetworked_fixmedins_name")


def _values(table: _Reader) -> dict[str, Any]:
    table.only(VALUE_KEYS)  # a misspelt key would otherwise be ignored while its default is used
    for key, value in table.table.items():
        if not _scalar(value):
            raise table.fail(key, "a string, number or boolean", value)
    return dict(table.table)
