"""The successful answers earlier in the same scenario run, as the automatic checks remember them.

Checks that compare two answers (a settlement with its pre-settlement, a reversal with the settlement
it reverses, a balance with the one the person query gave) find the earlier answer here when the
scenario did not save it. The runner keeps the list in the run's saved values under `ANSWERS`, so it
lives exactly as long as one scenario run; nothing here is shared between scenarios or runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from harness.checks.registry import CheckContext

__all__ = ["ANSWERS", "PRESETTLEMENT_OF", "REVERSAL_OF", "Answer", "answers", "base_infno", "input_data", "latest",
           "remember",
           "replayed"]

ANSWERS = "_answers"  # key in the run's saved values; a leading underscore: no scenario saves under it
# settlement -> its pre-settlement; the A versions (2206A/2207A, IF §3.2) are remembered under their base code
PRESETTLEMENT_OF = {"2102": "2101", "2207": "2206", "2207A": "2206", "2304": "2303"}
REVERSAL_OF = {"2103": "2102", "2208": "2207", "2305": "2304"}  # reversal -> the settlement it reverses
REMEMBERED = frozenset({"1101", "2101", "2102", "2103", "2206", "2207", "2208", "2303", "2304", "2305", "2401",
                        "2601", "5203"})

Answer = Mapping[str, Any]  # {"infno", "msgid", "data": first input node, "output": the answer's output}


def input_data(request: Mapping[str, Any]) -> Mapping[str, Any]:
    """The request's business node: `input.data`, else the first object node of `input` (mdtrtinfo …)."""
    node = request.get("input")
    if not isinstance(node, Mapping):
        return {}
    data = node.get("data")
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        data = data[0]  # 2302 sends data as a list
    if isinstance(data, Mapping):
        return data
    for value in node.values():  # druginfo, mdtrtinfo, … or the first row of feedetail
        if isinstance(value, list) and value and isinstance(value[0], Mapping):
            value = value[0]
        if isinstance(value, Mapping):
            return value
    return {}


def answers(ctx: CheckContext) -> list[Answer]:
    found = ctx.saved.get(ANSWERS)
    return list(found) if isinstance(found, list) else []


def latest(ctx: CheckContext, infnos: tuple[str, ...] | frozenset[str] | set[str],
           where: Callable[[Answer], bool] = lambda a: True) -> Answer | None:
    """The most recent remembered answer of one of `infnos` that satisfies `where`."""
    return next((a for a in reversed(answers(ctx)) if a.get("infno") in infnos and where(a)), None)


def replayed(ctx: CheckContext) -> bool:
    """The request re-sends the msgid of an earlier remembered answer of the same interface (a replay)."""
    msgid = ctx.request.get("msgid")
    return bool(msgid) and latest(ctx, {base_infno(ctx.infno)}, lambda a: a.get("msgid") == msgid) is not None


def base_infno(infno: str) -> str:
    """2207A -> 2207: an A version answers like its base interface."""
    return infno[:-1] if len(infno) == 5 and infno.endswith("A") else infno


def remember(memory: MutableMapping[str, Any], ctx: CheckContext) -> None:
    """Note a successful answer of an interface whose answer a later check may compare with."""
    if base_infno(ctx.infno) not in REMEMBERED:
        return
    found = memory.get(ANSWERS)
    if not isinstance(found, list):
        found = memory[ANSWERS] = []
    if replayed(ctx):
        return  # the same message again, answered from the record: not a second answer
    found.append({"infno": base_infno(ctx.infno), "msgid": ctx.request.get("msgid"), "data": input_data(ctx.request),
                  "output": ctx.output})
