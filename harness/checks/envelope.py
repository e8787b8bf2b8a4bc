"""Envelope checks (inf_refmsgid, timestamps, a replayed msgid), the shape of a refusal, the reconciliation checks."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime

from harness.checks.registry import (
    Check,
    CheckContext,
    check,
)
from harness.model import Failure, Grade, Severity

_REFMSGID = re.compile(r"^([0-9]{6})([0-9]{14})([0-9]{10})$")  # [0-9]: Python's \d also takes full-width digits
_TIME17 = re.compile(r"^[0-9]{17}$")


def _parse(text: str, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        return None


@check("envelope.inf_refmsgid", "ENV.resp.inf_refmsgid")
def envelope_inf_refmsgid(ctx: CheckContext, chk: Check) -> list[Failure]:
    """inf_refmsgid is admdvs(6) + yyyyMMddHHmmss(14) + sequence(10); empty is allowed on refusals."""
    value = ctx.response.get("inf_refmsgid")
    if value in (None, "") and ctx.response.get("infcode") != 0:
        return []
    match = _REFMSGID.match(value) if isinstance(value, str) else None
    if match is None:
        return [ctx.fail(chk, "inf_refmsgid does not have the 6+14+10 digit form", severity=Severity.MINOR,
                         expected="30 digits: receiver admdvs(6) + yyyyMMddHHmmss(14) + sequence(10)", actual=value)]
    if _parse(match.group(2), "%Y%m%d%H%M%S") is None:
        return [ctx.fail(chk, "inf_refmsgid carries an impossible timestamp", severity=Severity.MINOR,
                         expected="a real yyyyMMddHHmmss at characters 7-20", actual=value)]
    return []


@check("envelope.timestamps", "ENV.resp.respond_time", grade=Grade.SHOULD)
def envelope_timestamps(ctx: CheckContext, chk: Check) -> list[Failure]:
    """refmsg_time and respond_time, when given, are real yyyyMMddHHmmssSSS times, and the answer is not older
    than the request. Both are optional (非空 N, 表4), their form is [C] but no call depends on it: SHOULD."""
    problems = []
    parsed: dict[str, datetime] = {}
    for name in ("refmsg_time", "respond_time"):
        value = ctx.response.get(name)
        if value in (None, ""):
            continue  # optional
        stamp = _parse(value[:14], "%Y%m%d%H%M%S") if isinstance(value, str) and _TIME17.match(value) else None
        if stamp is None:
            problems.append(ctx.fail(chk, f"{name} is not a yyyyMMddHHmmssSSS timestamp", severity=Severity.MINOR,
                                     expected="17 digits, a real time", actual=value))
        else:
            parsed[name] = stamp.replace(microsecond=int(value[14:]) * 1000)
    if len(parsed) == 2 and parsed["respond_time"] < parsed["refmsg_time"]:
        problems.append(ctx.fail(chk, "respond_time is earlier than refmsg_time", severity=Severity.MINOR,
                                 expected=f">= {ctx.response.get('refmsg_time')}",
                                 actual=ctx.response.get("respond_time")))
    return problems


REPLAY_COMPARED = ("infcode", "err_msg", "output")  # not respond_time/refmsg_time: a replay is answered anew


@check("replay.same_response", "R-MSGID-REPLAY", grade=Grade.SHOULD)
def replay_same_response(ctx: CheckContext, chk: Check) -> list[Failure]:
    """A message re-sent with the same msgid gets the original answer (saved as `original_response`): processed once.

    infcode, err_msg and output must equal the original's; the timestamps of the answer may differ.
    """
    original = ctx.saved.get("original_response")
    if not isinstance(original, Mapping):
        return [ctx.fail(chk, "suite bug: no original response to compare the replay with",
                         expected="an earlier step with save: {original_response: response}", actual="not saved")]
    problems = []
    for name in REPLAY_COMPARED:
        found = _differences(original.get(name), ctx.response.get(name), name)
        if not found:
            continue
        where, was, now = found[0]
        listed = "\n".join(f"{path}: original {_brief(a)}, replay {_brief(b)}" for path, a, b in found[:10])
        problems.append(ctx.fail(chk, f"the replayed msgid got a different {name} than the original message",
                                 severity=Severity.CRITICAL if name != "err_msg" else Severity.MAJOR,
                                 expected=f"{where} = {_brief(was)}", actual=f"{where} = {_brief(now)}",
                                 detail="a replay must be answered from the record of the first processing, not "
                                 f"processed again; differences:\n{listed}"))
    return problems


def _differences(a: object, b: object, path: str) -> list[tuple[str, object, object]]:
    """Where two JSON values differ, as (dotted path, a, b), depth first."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[tuple[str, object, object]] = []
        for key in [*a, *(k for k in b if k not in a)]:
            out.extend(_differences(a.get(key, _ABSENT), b.get(key, _ABSENT), f"{path}.{key}"))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [(path, a, b)]


class _Absent:
    def __repr__(self) -> str:
        return "absent"


_ABSENT = _Absent()


def _brief(value: object) -> str:
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= 120 else text[:119] + "…"


@check("refusal.shape", "R-REFUSAL-SHAPE")
def refusal_shape(ctx: CheckContext, chk: Check) -> list[Failure]:
    """A refusal is infcode -1 with a non-empty err_msg and a null output."""
    problems = []
    infcode = ctx.response.get("infcode")
    # a string "-1" is still a refusal: its JSON type is the schema's finding, reported once per run by the runner
    if infcode not in (-1, "-1") or isinstance(infcode, bool):
        shown = f"{json.dumps(infcode, ensure_ascii=False)} (a string)" if isinstance(infcode, str) else infcode
        problems.append(ctx.fail(chk, "a refusal must carry infcode -1", expected=-1, actual=shown))
    err_msg = ctx.response.get("err_msg")
    if not isinstance(err_msg, str) or not err_msg.strip():
        problems.append(ctx.fail(chk, "a refusal must say why in err_msg", expected="a non-empty err_msg",
                                 actual=err_msg if err_msg is not None else "null"))
    if ctx.response.get("output") is not None:
        problems.append(ctx.fail(chk, "a refusal must have a null output", severity=Severity.MINOR,
                                 expected="null", actual=type(ctx.response.get("output")).__name__))
    return problems


# --- reconciliation ---------------------------------------------------------------------------


@check("recon.balanced", "R-RECON-BALANCED")
def recon_balanced(ctx: CheckContext, chk: Check) -> list[Failure]:
    """The 3201 reconciliation of the totals the harness recorded comes back balanced (stmt_rslt 0)."""
    info = ctx.node("stmtinfo")
    if info is None:
        return [ctx.fail(chk, "the response has no output.stmtinfo", expected="output.stmtinfo object",
                         actual="missing")]
    result = info.get("stmt_rslt")
    if str(result) != "0":
        return [ctx.fail(chk, "reconciliation is not balanced", severity=Severity.CRITICAL, expected="stmt_rslt 0 (平)",
                         actual=result if result is not None else "missing",
                         detail=str(info.get("stmt_rslt_dscr") or ""))]
    return []


@check("recon.unbalanced", "R-RECON-BALANCED")
def recon_unbalanced(ctx: CheckContext, chk: Check) -> list[Failure]:
    """A 3201 whose totals differ from the platform's comes back not balanced (stmt_rslt other than 0).

    Which code says so is the province's code list (baseline 1/2/3 by direction, Hunan only 1 不平); the
    output schema check already holds the code to the profile's list.
    """
    info = ctx.node("stmtinfo")
    if info is None:
        return [ctx.fail(chk, "the response has no output.stmtinfo", expected="output.stmtinfo object",
                         actual="missing")]
    result = info.get("stmt_rslt")
    if result is None or str(result) in ("", "0"):
        return [ctx.fail(chk, "totals that differ were reconciled as balanced", severity=Severity.CRITICAL,
                         expected="stmt_rslt other than 0 (不平)", actual=result if result is not None else "missing",
                         detail=str(info.get("stmt_rslt_dscr") or ""))]
    return []

@check("recon.ledger_covered", "R-RECON-BALANCED", grade=Grade.MAY)
def recon_ledger_covered(ctx: CheckContext, chk: Check) -> list[Failure]:
    """Every settlement and reversal the harness recorded for this institution lay within some 3201 of the run.

    Rows outside every reconciliation are a gap in the suite's final reconciliation (an insurance type,
    clearing category or clearing agency its 3201 steps do not ask about), not a fault of the site: a warning.
    """
    if ctx.ledger is None:
        return [ctx.fail(chk, "no run ledger to compare with (the check runs only inside the runner)",
                         severity=Severity.WARNING)]
    left = ctx.ledger.unreconciled(str(ctx.request.get("fixmedins_code") or ""))
    if not left:
        return []
    shown = "; ".join(row.describe() for row in left[:5]) + (f"; … ({len(left)} rows)" if len(left) > 5 else "")
    return [ctx.fail(chk, f"{len(left)} settlement row(s) the harness recorded were in no 3201 reconciliation",
                     severity=Severity.WARNING, expected="every recorded row within the filter of some 3201 step",
                     actual=shown, detail="add a 3201 step for that insutype / clr_type / clr_optins to the "
                     "end-of-run reconciliation scenarios (scenarios/reconciliation/)")]
