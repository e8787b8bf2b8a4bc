"""The interpreter of the catalogue's operations: each rewrites one parsed response envelope in place.

    drop     path                          remove the field(s)
    set      path, value                   set the field(s) to a literal JSON value (created if absent)
    retype   path, to: string|number       the same value as a JSON string, or a string as a number
    add      path, delta | delta_from      add a decimal amount (or the value of another field) to a number
    copy     path, from_path               copy a value from another field (`request.` = the request envelope)
    reround  path, quantum, rounding,      round a number to the quantum (down: toward zero, up: away from it);
             also?, to?                    take the difference from the `also` fields, give it to the `to` fields
    negate   path, keep?                   negate the numbers (`node.*`: every number of the node but `keep`)
    echo     path, from_infnos, from_path  write the value an earlier answer of `from_infnos` had at from_path
    accept   output?                       a refusal becomes a success: infcode 0, err_msg "", a plausible output
                                           (the last successful output of the same interface, ids from the request)
    refuse   err_msg                       a success becomes a refusal with that err_msg, output null

Numbers are Decimal (see codec). `apply` returns whether anything changed; an operation whose field
is absent changes nothing, so a mutation only "applies" to answers that have what it alters.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from harness.proxy.paths import locate, read

__all__ = ["KINDS", "REQUIRED_PARAMS", "ProxyState", "apply_ops"]

REQUIRED_PARAMS: dict[str, tuple[str, ...]] = {
    "drop": ("path",),
    "set": ("path", "value"),
    "retype": ("path", "to"),
    "add": ("path",),
    "copy": ("path", "from_path"),
    "reround": ("path", "quantum"),
    "negate": ("path",),
    "echo": ("path", "from_infnos", "from_path"),
    "accept": (),
    "refuse": ("err_msg",),
}
KINDS = tuple(REQUIRED_PARAMS)
_ID_FIELDS = ("mdtrt_id", "psn_no", "ipt_otp_no", "chrg_bchno")


@dataclass
class ProxyState:
    """What stateful operations remember between answers, for one run through one proxy."""

    msgids: set[str] = field(default_factory=set)  # request msgids seen (a repeat is a replay)
    last_output: dict[str, Any] = field(default_factory=dict)  # infno -> the last successful output
    remembered: dict[str, Any] = field(default_factory=dict)  # "infno:path" -> the last value seen there
    applied: int = 0  # answers the mutation altered

    def observe(self, infno: str, response: Mapping[str, Any]) -> None:
        """Record an unaltered answer (call after the mutation was applied to a copy of it)."""
        if _is_success(response) and response.get("output") is not None:
            self.last_output[infno] = copy.deepcopy(response["output"])


def _is_success(response: Mapping[str, Any]) -> bool:
    return str(response.get("infcode")) == "0"


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _source(path: str, response: Mapping[str, Any], request: Mapping[str, Any]) -> Any:
    if path.startswith("request."):
        return read(request, path.removeprefix("request."))
    return read(response, path)


def _replace(response: dict[str, Any], path: str, make: Any, *, create: bool = False) -> bool:
    """Replace each value the path names with make(old); None from make leaves it alone."""
    changed = False
    for container, key in locate(response, path, create=create):
        old = container[key] if (isinstance(container, list) or key in container) else None
        new = make(old)
        if new is not None and (new != old or type(new) is not type(old)):
            container[key] = new
            changed = True
    return changed


def _add(op: Mapping[str, Any], response: dict[str, Any], request: Mapping[str, Any]) -> bool:
    delta = _number(_source(op["delta_from"], response, request)) if "delta_from" in op else _number(op.get("delta"))
    if not delta:
        return False

    def shifted(old: Any) -> Any:
        value = _number(old)
        return None if value is None or isinstance(old, str) else value + delta

    return _replace(response, op["path"], shifted)


def _reround(op: Mapping[str, Any], response: dict[str, Any]) -> bool:
    value = _number(read(response, op["path"]))
    if value is None:
        return False
    mode = ROUND_DOWN if op.get("rounding", "down") == "down" else ROUND_UP  # toward zero or away: reversals too
    rounded = value.quantize(Decimal(str(op["quantum"])), rounding=mode).quantize(Decimal("0.01"))
    difference = value - rounded
    if not difference:
        return False
    _replace(response, op["path"], lambda _old: rounded)
    for path in op.get("also", ()):
        _replace(response, path, lambda old: None if _number(old) is None else _number(old) - difference)
    for path in op.get("to", ()):
        _replace(response, path, lambda old: None if _number(old) is None else _number(old) + difference)
    return True


def _negate(op: Mapping[str, Any], response: dict[str, Any]) -> bool:
    keep = set(op.get("keep", ()))
    changed = False
    for container, key in locate(response, op["path"]):
        old = container[key]
        if key in keep or isinstance(old, bool) or not isinstance(old, int | Decimal | float) or not old:
            continue
        container[key] = -old
        changed = True
    return changed


def _accept(op: Mapping[str, Any], infno: str, response: dict[str, Any], request: Mapping[str, Any],
            state: ProxyState) -> bool:
    if _is_success(response):
        return False
    output = copy.deepcopy(state.last_output.get(infno, op.get("output", {})))
    data = request.get("input") if isinstance(request.get("input"), Mapping) else {}
    given = {k: v for node in data.values() if isinstance(node, Mapping) for k, v in node.items()
             if k in _ID_FIELDS and isinstance(v, str)}
    msgid = str(request.get("msgid", ""))
    for node in (output.values() if isinstance(output, dict) else ()):
        rows = node if isinstance(node, list) else [node]
        for row in rows:
            if not isinstance(row, dict):
                continue
            row.update({k: v for k, v in given.items() if k in row})
            if "medins_setl_id" in row:
                row["medins_setl_id"] = msgid
            if row.get("setl_id"):
                row["setl_id"] = f"PX{msgid[-20:]}"
    response.update({"infcode": 0, "err_msg": "", "output": output})
    return True


def _refuse(op: Mapping[str, Any], response: dict[str, Any]) -> bool:
    if not _is_success(response):
        return False
    response.update({"infcode": -1, "err_msg": str(op["err_msg"]), "output": None})
    return True


def apply_op(op: Mapping[str, Any], infno: str, response: dict[str, Any], request: Mapping[str, Any],
             state: ProxyState) -> bool:
    kind, path = op["op"], op.get("path", "")
    if kind == "drop":
        slots = locate(response, path)
        for container, key in reversed(slots):  # list indexes from the end: earlier ones stay valid
            del container[key]
        return bool(slots)
    if kind == "set":
        return _replace(response, path, lambda _old: copy.deepcopy(op["value"]), create=True)
    if kind == "retype":
        to = op["to"]

        def retyped(old: Any) -> Any:
            if to == "string" and _number(old) is not None and not isinstance(old, str):
                return format(old, "f") if isinstance(old, Decimal) else str(old)
            if to == "number" and isinstance(old, str) and _number(old) is not None:
                return _number(old)
            return None

        return _replace(response, path, retyped)
    if kind == "add":
        return _add(op, response, request)
    if kind == "copy":
        value = _source(op["from_path"], response, request)
        return value is not None and _replace(response, path, lambda _old: copy.deepcopy(value))
    if kind == "reround":
        return _reround(op, response)
    if kind == "negate":
        return _negate(op, response)
    if kind == "echo":
        value = state.remembered.get(f"{','.join(op['from_infnos'])}:{op['from_path']}")
        return value is not None and _replace(response, path, lambda old: value if old is not None else None)
    if kind == "accept":
        return _accept(op, infno, response, request, state)
    if kind == "refuse":
        return _refuse(op, response)
    raise ValueError(f"unknown operation {kind!r}")  # the catalogue loader refuses these first


def remember(ops: tuple[Mapping[str, Any], ...], infno: str, response: Mapping[str, Any], state: ProxyState) -> None:
    """Echo operations remember, from each original answer of their source interfaces, the value to echo later."""
    for op in ops:
        if op["op"] == "echo" and infno in op["from_infnos"] and _is_success(response):
            value = read(response, op["from_path"])
            if value not in (None, ""):
                state.remembered[f"{','.join(op['from_infnos'])}:{op['from_path']}"] = copy.deepcopy(value)


def apply_ops(ops: tuple[Mapping[str, Any], ...], infno: str, response: dict[str, Any], request: Mapping[str, Any],
              state: ProxyState) -> bool:
    """Apply every operation in order; True when the answer changed."""
    changed = False
    for op in ops:
        changed = apply_op(op, infno, response, request, state) or changed
    return changed
