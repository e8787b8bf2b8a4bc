"""Per-request rules: schemas under the profile, headers, envelope fields, the string "null".

Each function returns findings (`harness.model.Failure`) for one observed request; none keeps state.
The state-dependent envelope rules (sign_no, insuplc_admdvs, msgid uniqueness) live in flow_rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from harness.judge.observed import Observed
from harness.judge.rulebook import Rulebook
from harness.model import Failure

__all__ = ["LET_THROUGH", "msgid_problem", "msgid_style_problem", "null_paths", "request_findings", "tolerated"]

# Schema clauses judged by their own rule (so one deviation is one finding, not two).
_OWN_RULES = {"ENV.req.msgid", "ENV.req.mdtrtarea_admvs", "ENV.req.insuplc_admdvs", "ENV.req.infver",
              "ENV.req.recer_sys_code"}
# Deviations a real platform might let through: the judge serves them (unless --strict) and judges what follows.
LET_THROUGH = ("ENV.req.msgid", "CLI-NULL-STRING", "CLI-CONTENT-TYPE", "CLI-INSUPLC")
_ADMDVS = re.compile(r"^[0-9]{6}$")
_CSB_HEADERS = ("_api_name", "_api_version", "_api_timestamp", "_api_access_key", "_api_signature")
_TIF_HEADERS = ("x-tif-paasid", "x-tif-timestamp", "x-tif-nonce", "x-tif-signature")


def tolerated(violation: Any) -> bool:
    """Schema violations the platform serves anyway in the judge's default (non-strict) mode; the platform also asks
    about an insuplc_admdvs that is not the person's (ENV.req.insuplc_admdvs; the judge records CLI-INSUPLC)."""
    clause = str(getattr(violation, "clause", ""))
    return clause.endswith("msgid") or clause == "ENV.req.insuplc_admdvs" or '"null"' in str(violation.actual)


def null_paths(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, str):
        if value.strip().lower() == "null":
            yield path or "/"
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from null_paths(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from null_paths(item, f"{path}/{index}")


def msgid_problem(msgid: str, fixmedins_code: str, style: str = "") -> str:
    """Why `msgid` is not fixmedins_code + yyyyMMddHHmmss (+ a 4-digit sequence); "" when it is.

    Both lengths are the spec's form ([C]; IF §1.1 #2: 12+14+4, and 12+14 in Guangdong): which one a province
    uses is `msgid_style` [V], judged apart by `msgid_style_problem` (SHOULD).
    """
    if not msgid:
        return "msgid is empty"
    if len(msgid) > 30:
        return f"{len(msgid)} characters, at most 30"
    if not fixmedins_code or not msgid.startswith(fixmedins_code):
        return "does not start with fixmedins_code"
    rest = msgid[len(fixmedins_code):]
    if len(rest) not in (14, 18) or not rest.isdigit():
        return f"after fixmedins_code {len(rest)} characters, expected 14 + 4 digits"
    try:
        datetime.strptime(rest[:14], "%Y%m%d%H%M%S")
    except ValueError:
        return f"{rest[:14]} is not a yyyyMMddHHmmss timestamp"
    return ""


def msgid_style_problem(msgid: str, fixmedins_code: str, style: str) -> str:
    """A spec-form msgid of the other length than the profile's msgid_style ("" when it matches)."""
    digits = {"code12-ts14-seq4": 18, "code12-ts14": 14}.get(style)
    rest = msgid[len(fixmedins_code):]
    if digits is None or len(rest) == digits:
        return ""
    return f"the profile's msgid_style is {style}: {digits} digits after fixmedins_code, got {len(rest)}"


def _headers(obs: Observed, book: Rulebook, profile: Any) -> list[Failure]:
    found = []
    ctype = str(obs.headers.get("content-type", "")).lower()
    wanted = str(profile.transport.get("content_type") or "application/json;charset=utf-8")
    if not ctype.startswith("multipart/form-data") and not ctype.startswith("application/json"):
        found.append(book.finding("CLI-CONTENT-TYPE", msgid=obs.msgid, infno=obs.infno, expected=wanted,
                                  actual=ctype or "(none)", detail="Content-Type of the request"))
    gateway = profile.gateway
    family = str(gateway.get("family") or "none")
    if family in ("csb", "tif"):
        names = _CSB_HEADERS if family == "csb" else _TIF_HEADERS
        missing = [h for h in names if not obs.headers.get(h)]
        if missing:
            found.append(book.finding("CLI-GATEWAY-HEADERS", msgid=obs.msgid, infno=obs.infno,
                                      expected=", ".join(names), actual="missing: " + ", ".join(missing),
                                      detail=f"the profile's gateway family is {family}"))
    if family == "csb" and obs.headers.get("_api_name"):
        template = str((gateway.get("csb") or {}).get("api_name_template") or "{infno}")
        expected = template.format(infno=obs.infno)
        if obs.headers["_api_name"] != expected:
            found.append(book.finding("CLI-API-NAME", msgid=obs.msgid, infno=obs.infno, expected=expected,
                                      actual=obs.headers["_api_name"]))
    return found


def request_findings(obs: Observed, book: Rulebook, profile: Any, validator: Any) -> list[Failure]:
    """Every per-request finding of one observed request (headers, schema, envelope fields, "null")."""
    found = _headers(obs, book, profile)
    env = obs.envelope
    if env is None:
        found.append(book.finding("CLI-SCHEMA", infno=obs.infno, clause="ENV.req",
                                  detail="the body is not a JSON object", actual=obs.body[:200]))
        return found
    nulls = list(null_paths(env))
    for violation in validator.validate_request(dict(env)):
        if violation.clause in _OWN_RULES:
            continue  # (a "null" the field's schema forbids stays a CLI-SCHEMA finding: CLI-NULL-STRING is a SHOULD)
        found.append(book.finding("CLI-SCHEMA", msgid=obs.msgid, infno=obs.infno, clause=violation.clause,
                                  detail=violation.render(), expected=violation.expected, actual=violation.actual))
    code = str(env.get("fixmedins_code") or "")
    problem = msgid_problem(obs.msgid, code)
    if problem:
        found.append(book.finding("ENV.req.msgid", msgid=obs.msgid, infno=obs.infno, actual=obs.msgid, detail=problem,
                                  expected="fixmedins_code + yyyyMMddHHmmss + 4-digit sequence"))
    else:
        style = msgid_style_problem(obs.msgid, code, str(profile.raw.get("msgid_style") or ""))
        if style:
            found.append(book.finding("CLI-MSGID-STYLE", msgid=obs.msgid, infno=obs.infno, actual=obs.msgid,
                                      detail=style))
    area = env.get("mdtrtarea_admvs")
    if not isinstance(area, str) or not _ADMDVS.match(area):
        found.append(book.finding("ENV.req.mdtrtarea_admvs", msgid=obs.msgid, infno=obs.infno,
                                  expected="6-digit region code", actual=repr(area)))
    for name, wanted in (("infver", profile.infver), ("recer_sys_code", profile.recer_sys_code)):
        if wanted and env.get(name) != wanted:
            found.append(book.finding(f"ENV.req.{name}", msgid=obs.msgid, infno=obs.infno, expected=wanted,
                                      actual=repr(env.get(name)), detail=f"profile {profile.id}"))
    if nulls:
        found.append(book.finding("CLI-NULL-STRING", msgid=obs.msgid, infno=obs.infno, expected='"" or absent',
                                  actual='"null" at ' + ", ".join(nulls[:8]), paths=nulls))
    return found
