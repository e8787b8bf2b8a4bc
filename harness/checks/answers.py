"""What an answer must say about what was sent: the identities a settlement echoes, what 1101 and 9001
return for the calls that follow, and the 2601 冲正: which originals it may undo, and that an undone
settlement or admission is gone afterwards."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from harness.checks import history
from harness.checks.registry import Check, CheckContext, check, setlinfo
from harness.model import Failure, Grade, Severity

_ADMDVS = re.compile(r"^[0-9]{6}$")
_REVERSALS = frozenset(history.REVERSAL_OF)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@check("settle.ids_echo", "R-SETTLE-IDS")
def settle_ids_echo(ctx: CheckContext, chk: Check) -> list[Failure]:
    """setlinfo.mdtrt_id and psn_no are the visit and person the request named; a 5203 answer is the settlement
    asked for (setl_id). A reversal has its own setl_id (interface-facts §4.8), so its setl_id is not compared."""
    info, problems = setlinfo(ctx, chk)
    if info is None:
        return problems
    sent = history.input_data(ctx.request)
    names = ("mdtrt_id", "psn_no", "setl_id") if ctx.infno == "5203" else ("mdtrt_id", "psn_no")
    for name in names:
        asked, answered = _text(sent.get(name)), info.get(name)
        if not asked or name not in info:  # absent: the schema check's finding (2208 lists psn_no as optional)
            continue
        if _text(answered) != asked:
            problems.append(ctx.fail(chk, f"setlinfo.{name} is not the {name} of the request",
                                     severity=Severity.CRITICAL, expected=asked,
                                     actual=answered if answered is not None else "missing", field=name))
    return problems


@check("register.ids_echo", "R-SETTLE-IDS")
def register_ids_echo(ctx: CheckContext, chk: Check) -> list[Failure]:
    """2201 answers the person and the hospital's visit number it registered (psn_no, ipt_otp_no) with a
    non-empty mdtrt_id."""
    out = ctx.node("data")
    if out is None:
        return [ctx.fail(chk, "the 2201 answer has no output.data", expected="output.data object", actual="missing")]
    sent = history.input_data(ctx.request)
    problems = []
    if not _text(out.get("mdtrt_id")).strip():
        problems.append(ctx.fail(chk, "2201 returned no mdtrt_id", expected="the visit id (就诊ID)",
                                 actual=out.get("mdtrt_id", "missing")))
    for name in ("psn_no", "ipt_otp_no"):
        if sent.get(name) not in (None, "") and _text(out.get(name)) != _text(sent.get(name)):
            problems.append(ctx.fail(chk, f"output.data.{name} is not the {name} of the request",
                                     expected=sent.get(name), actual=out.get(name, "missing"), field=name))
    return problems


@check("person.insuinfo", "R-PERSON-QUERY")
def person_insuinfo(ctx: CheckContext, chk: Check) -> list[Failure]:
    """1101 answers baseinfo.psn_no and at least one insuinfo row, each with insuplc_admdvs, the 6-digit insured
    region the following calls put in the envelope (the appendix spelling insu_admdvs is accepted)."""
    base = ctx.node("baseinfo")
    problems = []
    # An absent required field is the schema check's finding (1101.out.…); this check judges the values given.
    if base is None or ("psn_no" in base and not _text(base.get("psn_no")).strip()):
        problems.append(ctx.fail(chk, "1101 returned no baseinfo.psn_no", severity=Severity.CRITICAL,
                                 expected="the person number (人员编号)",
                                 actual=(base or {}).get("psn_no", "missing")))
    out = ctx.output if isinstance(ctx.output, Mapping) else {}
    rows = out.get("insuinfo")
    if not isinstance(rows, list) or not rows:
        problems.append(ctx.fail(chk, "1101 returned no insuinfo row", severity=Severity.CRITICAL,
                                 expected="one row per insurance (险种)",
                                 actual=rows if rows is not None else "missing"))
        return problems
    for index, row in enumerate(rows):
        row = row if isinstance(row, Mapping) else {}
        if "insuplc_admdvs" not in row and "insu_admdvs" not in row:
            continue  # the schema check reports the missing field
        region = row.get("insuplc_admdvs", row.get("insu_admdvs"))
        if not isinstance(region, str) or not _ADMDVS.match(region):
            problems.append(ctx.fail(chk, f"insuinfo[{index}].insuplc_admdvs is not a 6-digit region code",
                                     severity=Severity.CRITICAL, expected="6 digits (参保地医保区划)",
                                     actual=region if region is not None else "missing", path=f"insuinfo[{index}]"))
    return problems


@check("signin.sign_no", "R-SIGN-IN-REQUIRED")
def signin_sign_no(ctx: CheckContext, chk: Check) -> list[Failure]:
    """9001 answers signinoutb.sign_no, a non-empty string without blanks that later calls carry, and sign_time
    as yyyy-MM-dd HH:mm:ss (the time's form is the general datetime rule [L]: SHOULD)."""
    node = ctx.node("signinoutb")
    sign_no = (node or {}).get("sign_no")
    text = str(sign_no) if isinstance(sign_no, (str, int)) and not isinstance(sign_no, bool) else ""
    if not text.strip() or any(c.isspace() for c in text):  # a number is the schema check's finding, not this one's
        return [ctx.fail(chk, "9001 returned no usable sign_no", severity=Severity.CRITICAL,
                         expected="a non-empty string (交易签到流水号)",
                         actual=sign_no if sign_no is not None else "missing")]
    sign_time = (node or {}).get("sign_time")
    try:
        datetime.strptime(_text(sign_time), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return [ctx.fail(chk, "signinoutb.sign_time is not yyyy-MM-dd HH:mm:ss", grade=Grade.SHOULD,
                         severity=Severity.MINOR, expected="yyyy-MM-dd HH:mm:ss",
                         actual=sign_time if sign_time is not None else "missing")]
    return []


@check("correction.reversible", "R-2601-REVERSIBLE", grade=Grade.SHOULD)
def correction_reversible(ctx: CheckContext, chk: Check) -> list[Failure]:
    """A 2601 accepted names an oinfno of the profile's reversible list. The spec says which transactions can be
    冲正'd (可被冲正的交易包括…) but not that others must be refused, so accepting another is a SHOULD finding."""
    oinfno = _text(history.input_data(ctx.request).get("oinfno"))
    allowed = ctx.profile.reversible_by_2601 if ctx.profile is not None else ()
    if not allowed or oinfno in allowed:
        return []
    return [ctx.fail(chk, f"2601 accepted a 冲正 of {oinfno or '(no oinfno)'}, which the profile does not list as "
                     "reversible", expected=" / ".join(allowed), actual=oinfno or "missing")]


def _undone(ctx: CheckContext) -> list[history.Answer]:
    """Earlier answers of this scenario that a later successful 2601 (omsgid = their msgid) undid."""
    corrected = {_text((a.get("data") or {}).get("omsgid")) for a in history.answers(ctx) if a.get("infno") == "2601"}
    return [a for a in history.answers(ctx) if a.get("infno") != "2601" and _text(a.get("msgid")) in corrected]


def _output_id(answer: history.Answer, node: str, name: str) -> str:
    out = answer.get("output")
    found = out.get(node) if isinstance(out, Mapping) else None
    return _text(found.get(name)) if isinstance(found, Mapping) else ""


# Calls that act on a visit (mdtrt_id) and must be refused once the admission is 冲正'd.
VISIT_CALLS = frozenset({"2301", "2302", "2303", "2304", "2402", "2403", "2404", "2405"})


@check("correction.undone", "R-2601-UNDOES")
def correction_undone(ctx: CheckContext, chk: Check) -> list[Failure]:
    """After a 2601 of a settlement, that settlement no longer exists: reversing it does not succeed (a 5203
    answering it is a SHOULD finding: a site may keep it marked void). After a 2601 of an admission (2401), calls
    on its mdtrt_id do not succeed. Uses the scenario's earlier answers; silent when there was no 2601."""
    sent = history.input_data(ctx.request)
    problems = []
    for original in _undone(ctx):
        kind = original.get("infno")
        if kind in history.PRESETTLEMENT_OF and ctx.infno in (*_REVERSALS, "5203"):
            setl_id = _output_id(original, "setlinfo", "setl_id")
            if setl_id and _text(sent.get("setl_id")) == setl_id:
                query = ctx.infno == "5203"
                problems.append(ctx.fail(
                    chk, f"{'5203 still answers' if query else 'a reversal succeeded for'} settlement {setl_id}, "
                    f"which a 2601 冲正 undid", severity=Severity.CRITICAL,
                    grade=Grade.SHOULD if query else None, expected="infcode -1 (the settlement no longer exists)",
                    actual="infcode 0", omsgid=original.get("msgid")))
        elif kind == "2401" and ctx.infno in VISIT_CALLS:
            mdtrt_id = _output_id(original, "result", "mdtrt_id")
            if mdtrt_id and _text(sent.get("mdtrt_id")) == mdtrt_id:
                problems.append(ctx.fail(chk, f"{ctx.infno} succeeded on admission {mdtrt_id}, which a 2601 冲正 "
                                         "undid", severity=Severity.CRITICAL,
                                         expected="infcode -1 (the admission no longer exists)", actual="infcode 0",
                                         omsgid=original.get("msgid")))
    return problems
