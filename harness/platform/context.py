"""What a handler sees: the platform-wide context and one call's context, and the handler registry.

A handler is a function `(call: Call) -> output | None` registered for one or more transaction
codes with `@handler("2207")`. It reads the input through `call`, changes state through
`call.conn` (already inside the call's transaction), and refuses by raising `Refusal`. It returns
the `output` node (None means `{}`). Handlers never see HTTP, signatures, sign-in or replays:
the pipeline (pipeline.py) has dealt with those before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from harness.platform.db import Database
from harness.platform.envelope import RefMsgIds, business_id, fmt_datetime
from harness.platform.faults import FaultRegistry, Switches
from harness.platform.refdata import Institution, RefData
from harness.platform.refusals import Refusal, invalid_request
from harness.platform.rules import is_cross_region

__all__ = ["HANDLERS", "Call", "PlatformContext", "handler"]

Handler = Callable[["Call"], "dict[str, Any] | None"]
HANDLERS: dict[str, Handler] = {}


def handler(*infnos: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for infno in infnos:
            if infno in HANDLERS:
                raise RuntimeError(f"two handlers for {infno}")
            HANDLERS[infno] = fn
        return fn

    return register


@dataclass
class PlatformContext:
    """Shared by every call of one platform instance (immutable after start, except faults)."""

    db: Database
    ref: RefData
    registry: Any  # harness.specs.SpecRegistry
    profile: Any  # harness.specs.Profile
    validator: Any  # harness.specs.MessageValidator
    require_sign_in: bool
    reversible: tuple[str, ...]
    faults: FaultRegistry
    refmsgids: RefMsgIds
    clr_way: str
    stmt_rslt_codes: tuple[str, ...]
    input_node_aliases: Mapping[str, Mapping[str, str]]
    state_changing: frozenset[str]
    receiver_override: str | None = None
    tolerate: Callable[[Any], bool] | None = None  # PlatformConfig.tolerate (a client judge's default mode)


@dataclass
class Call:
    ctx: PlatformContext
    conn: sqlite3.Connection
    infno: str
    msgid: str
    envelope: Mapping[str, Any]
    institution: Institution
    now: datetime
    switches: Switches
    upload: bytes | None = None
    warnings: list[str] = field(default_factory=list)
    effect: dict[str, Any] = field(default_factory=dict)
    download: tuple[str, bytes] | None = None

    @property
    def fixmedins_code(self) -> str:
        return str(self.envelope.get("fixmedins_code") or "")

    @property
    def mdtrtarea_admvs(self) -> str:
        return str(self.envelope.get("mdtrtarea_admvs") or "")

    @property
    def insuplc_admdvs(self) -> str:
        return str(self.envelope.get("insuplc_admdvs") or "")

    @property
    def cross_region(self) -> bool:
        return is_cross_region(self.envelope)

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def now_text(self) -> str:
        return fmt_datetime(self.now)

    @property
    def now_precise(self) -> str:
        """For ordering events within a second (filing vs discharge); sorts with now_text."""
        return self.now.isoformat(sep=" ", timespec="microseconds")

    def node(self, name: str) -> Any:
        """An input node by its spec name (or the profile's local alias for it)."""
        data = self.envelope.get("input") or {}
        if name in data:
            return data[name]
        alias = self.ctx.input_node_aliases.get(self.infno, {}).get(name)
        return data.get(alias) if alias else None

    def obj(self, name: str) -> dict[str, Any]:
        value = self.node(name)
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            return value[0]  # some HIS send a one-row array where the spec has an object
        if not isinstance(value, dict):
            raise invalid_request(f"/input/{name} 缺少输入节点")
        return value

    def rows(self, name: str) -> list[dict[str, Any]]:
        value = self.node(name)
        if isinstance(value, dict):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise invalid_request(f"/input/{name} 缺少输入节点")
        return value

    def new_id(self, prefix: str, counter: str) -> str:
        admdvs = self.mdtrtarea_admvs if self.mdtrtarea_admvs.isdigit() else "000000"
        return business_id(prefix, admdvs, self.now, self.ctx.db.next_serial(self.conn, counter))

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def require(self, condition: bool, message: str) -> None:
        if not condition:
            raise Refusal("", message)
