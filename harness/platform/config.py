"""Configuration of the reference platform, and the fault specifications it accepts.

`PlatformConfig` is everything a running platform needs: where its SQLite state lives, which
province profile it speaks, the persona seed, the faults switched on at start, and the gateway
credentials it verifies signatures with. Credentials come only from the environment:

| variable | used when the profile's gateway family is |
|---|---|
| `HSA_PLATFORM_TIF_PAASID`, `HSA_PLATFORM_TIF_TOKEN` | `tif` (`x-tif-*` headers) |
| `HSA_PLATFORM_CSB_AK`, `HSA_PLATFORM_CSB_SK` | `csb` (`_api_*` headers) |

With the family set but no credentials configured, signatures are not verified: an embedded or
in-process platform (tests, the harness's own target) works without secrets, but `hsa-cert platform
serve` refuses to start a signing profile that way unless told `--no-verify` (server.check_serving).

| variable | meaning |
|---|---|
| `HSA_PLATFORM_ADMIN_TOKEN` | `/__admin/*` needs `Authorization: Bearer <token>`; required to listen beyond loopback |

Requests are limited in size (`max_request_bytes`, default 10 MiB; a 9101 upload `max_upload_bytes`,
default 64 MiB): a larger one is answered HTTP 413 and recorded by its size only, never verbatim.

A fault is written on the command line as `INFNO:KIND[=VALUE]`:

    2207:delay=500            delay every 2207 by 500 ms before it is processed
    2207:drop-after-commit    process and commit 2207, then drop the connection (the client sees a failure)
    *:http-5xx=503            answer every call with HTTP 503 and no processing
    2207:garbled              process, then send a garbled (non-UTF-8, non-JSON) body
    2207:truncated            process, then send half of the JSON body
    *:html-error=502          answer with a gateway HTML error page, no processing (default status 200)
    2207:mutant=skip-account-debit   plant a named deviation (see faults.MUTANTS)

Append `@N` to apply a fault only N times, e.g. `2207:drop-after-commit@1`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

__all__ = [
    "ADMIN_TOKEN_ENV",
    "DEFAULT_DB_PATH",
    "DEFAULT_SEED",
    "FAULT_KINDS",
    "Fault",
    "PlatformConfig",
    "credentials_from_env",
    "parse_fault",
]

DEFAULT_DB_PATH = "hsa-platform.sqlite"
# Same value as harness.personas.DEFAULT_SEED; repeated so that reading a config needs no Faker.
DEFAULT_SEED = 20240101

FAULT_KINDS = ("delay", "drop-after-commit", "http-5xx", "garbled", "truncated", "html-error", "mutant")
_INFNO = re.compile(r"^(\*|[0-9]{4}[A-Z]?)$")

ADMIN_TOKEN_ENV = "HSA_PLATFORM_ADMIN_TOKEN"
DEFAULT_MAX_REQUEST_BYTES = 10 * 1024 * 1024  # the largest business message (a 2204 fee batch) is far below
DEFAULT_MAX_UPLOAD_BYTES = 64 * 1024 * 1024  # 9101 carries a file: its own, larger limit

ENV_CREDENTIALS = {
    "tif_paasid": "HSA_PLATFORM_TIF_PAASID",
    "tif_token": "HSA_PLATFORM_TIF_TOKEN",
    "csb_ak": "HSA_PLATFORM_CSB_AK",
    "csb_sk": "HSA_PLATFORM_CSB_SK",
    # national-crypto families (harness/platform/gateway_sm.py): the client's SM2 public key (128 hex),
    # and for oauth2-sm its app id, bearer token and SM4 key (32 hex)
    "sm_public_key": "HSA_PLATFORM_SM2_PUBLIC_KEY",
    "sm_app_id": "HSA_PLATFORM_SM_APP_ID",
    "sm_access_token": "HSA_PLATFORM_SM_ACCESS_TOKEN",
    "sm4_key": "HSA_PLATFORM_SM4_KEY",
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One switchable fault, scoped to a transaction code (`*` = every code).

    `times` limits how often it applies (None = until removed). `name` is the mutant name for
    kind `mutant`. `status` is the HTTP status for http-5xx and html-error.
    """

    infno: str
    kind: str
    delay_ms: int = 0
    status: int | None = None
    name: str = ""
    times: int | None = None

    def __post_init__(self) -> None:
        if not _INFNO.match(self.infno):
            raise ConfigError(
                "A fault names an invalid transaction code",
                detail=f"infno {self.infno!r}",
                hint="use a 4-digit code such as 2207, or * for every code",
            )
        if self.kind not in FAULT_KINDS:
            raise ConfigError(
                "Unknown fault kind",
                detail=f"kind {self.kind!r}; known kinds: {', '.join(FAULT_KINDS)}",
                hint="e.g. --fault 2207:delay=500 or --fault '*:http-5xx=503'",
            )
        if self.kind == "mutant" and not self.name:
            raise ConfigError("A mutant fault needs a name", hint="e.g. --fault 2207:mutant=skip-account-debit")
        if self.delay_ms < 0 or (self.times is not None and self.times < 1):
            raise ConfigError("A fault has a negative delay or a non-positive count", detail=repr(self))

    def effective_status(self) -> int:
        if self.status is not None:
            return self.status
        return 503 if self.kind == "http-5xx" else 200

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"infno": self.infno, "kind": self.kind}
        if self.kind == "delay":
            data["delay_ms"] = self.delay_ms
        if self.kind in ("http-5xx", "html-error"):
            data["status"] = self.effective_status()
        if self.kind == "mutant":
            data["name"] = self.name
        if self.times is not None:
            data["times"] = self.times
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """Build from the admin endpoint's JSON form: {"infno", "kind", "delay_ms", "status", "name", "times"}."""
        if not isinstance(data, Mapping):
            raise ConfigError("A fault must be a JSON object", detail=repr(data))
        try:
            return cls(
                infno=str(data.get("infno", "*")),
                kind=str(data.get("kind", "")),
                delay_ms=int(data.get("delay_ms") or 0),
                status=int(data["status"]) if data.get("status") not in (None, "") else None,
                name=str(data.get("name") or ""),
                times=int(data["times"]) if data.get("times") not in (None, "") else None,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError("A fault has a field of the wrong type", detail=f"{data!r}: {exc}") from exc


def parse_fault(spec: str | Mapping[str, Any] | Fault) -> Fault:
    """Parse the CLI form `INFNO:KIND[=VALUE][@TIMES]` (or pass a dict / Fault through)."""
    if isinstance(spec, Fault):
        return spec
    if isinstance(spec, Mapping):
        return Fault.from_json(spec)
    text = spec.strip()
    times: int | None = None
    if "@" in text:
        text, _, count = text.rpartition("@")
        if not count.isdigit():
            raise ConfigError("A fault count must be a number", detail=spec, hint="e.g. 2207:drop-after-commit@1")
        times = int(count)
    infno, sep, rest = text.partition(":")
    if not sep or not rest:
        raise ConfigError(
            "A fault must be written INFNO:KIND[=VALUE]",
            detail=f"got {spec!r}",
            hint="e.g. --fault 2207:delay=500, --fault 2207:drop-after-commit, --fault '*:http-5xx=503'",
        )
    kind, _, value = rest.partition("=")
    kind = kind.strip()
    value = value.strip()
    fields: dict[str, Any] = {"infno": infno.strip(), "kind": kind, "times": times}
    if kind == "delay":
        fields["delay_ms"] = _int_value(value or "0", spec)
    elif kind in ("http-5xx", "html-error"):
        fields["status"] = _int_value(value, spec) if value else None
    elif kind == "mutant":
        fields["name"] = value
    elif value:
        raise ConfigError(f"Fault kind {kind!r} takes no value", detail=spec)
    return Fault(**fields)


def _int_value(value: str, spec: str) -> int:
    if not value.isdigit():
        raise ConfigError("A fault value must be a whole number", detail=spec, hint="e.g. 2207:delay=500")
    return int(value)


def credentials_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Gateway credentials found in the environment (missing ones are simply absent)."""
    env = os.environ if environ is None else environ
    return {key: env[var] for key, var in ENV_CREDENTIALS.items() if env.get(var)}


@dataclass
class PlatformConfig:
    """Everything a platform instance needs. `db_path=":memory:"` keeps state in memory (tests)."""

    db_path: str = DEFAULT_DB_PATH
    profile: str = "baseline"
    seed: int = DEFAULT_SEED
    faults: list[Any] = field(default_factory=list)  # Fault, CLI strings or admin-JSON dicts
    require_sign_in: bool | None = None  # None: from the profile
    gateway_credentials: dict[str, str] | None = None  # None: from the environment
    admin: bool = True  # serve /__admin/*
    specs_root: Path | None = None  # None: the repository's specs/
    catalogue_root: Path | None = None  # None: the repository's fixtures/catalogue
    receiver_admdvs: str | None = None  # None: derived from the treating region (inf_refmsgid prefix)
    # Hooks for a caller that watches the platform (e.g. a judge of the client), none of them needed to run it:
    # `observer(record)` is called once per exchange after it is answered, with a plain dict (see
    # answers.observe); `screen(headers, envelope)` may return an err_msg to refuse a request as
    # invalid before it is processed; `admin_extension(request)` answers `/__admin/session/*` routes.
    observer: Callable[[dict[str, Any]], None] | None = None
    screen: Callable[[Mapping[str, str], Mapping[str, Any]], str | None] | None = None
    admin_extension: Callable[[Any], Any] | None = None
    # `tolerate(violation)`: True serves a request despite that schema violation (the judge lets a deviation a
    # real platform might let through pass, so that what the client does next is judged too); also asked, with clause
    # ENV.req.insuplc_admdvs, about an insuplc_admdvs that is not the person's (then served as the person's routes)
    tolerate: Callable[[Any], bool] | None = None
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES  # a multipart request, or a JSON 9101
    admin_token: str | None = None  # set: /__admin/* needs "Authorization: Bearer <token>"
    verify_signatures: bool = True  # False (--no-verify): gateway signatures are not checked, even with credentials

    def parsed_faults(self) -> list[Fault]:
        return [parse_fault(f) for f in self.faults]

    def credentials(self) -> dict[str, str]:
        if not self.verify_signatures:
            return {}
        if self.gateway_credentials is not None:
            return dict(self.gateway_credentials)
        return credentials_from_env()
