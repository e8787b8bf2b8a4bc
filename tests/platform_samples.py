"""Helpers for the reference platform's tests: a HIS-like driver over any transport.

`Flow` sends envelopes built by `harness.platform.samples` through a `send(envelope) -> dict`
function — straight into `Platform.call`, through `requests` mounted under `responses`, or over
real HTTP to a server started with `start_background` — and offers the common walks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import requests

from harness.personas import load_catalogue
from harness.platform import Platform, PlatformConfig
from harness.platform.samples import (
    SampleHis,
    admit_input,
    discharge_input,
    fee_lines,
    inpatient_settle_input,
    person_input,
    register_input,
    reverse_input,
    settle_input,
    sign_in_input,
    total,
    visit_input,
)

CATALOGUE = load_catalogue()
ITEMS = {item.alias: item for item in CATALOGUE.items}
HOME = CATALOGUE.default_institution()
ENDPOINT = "/fsi/api/rsfComIfsService/callService"

Send = Callable[[dict[str, Any]], dict[str, Any]]


def persona(archetype: str) -> Any:
    return CATALOGUE.persona(archetype)


def memory_platform(**overrides: Any) -> Platform:
    return Platform(PlatformConfig(db_path=":memory:", **overrides))


def http_sender(base_url: str, session: requests.Session | None = None) -> Send:
    http = session or requests.Session()

    def send(envelope: dict[str, Any]) -> dict[str, Any]:
        response = http.post(base_url + ENDPOINT, json=envelope, timeout=10)
        assert response.status_code == 200, response.text[:300]
        return response.json()

    return send


class Refused(AssertionError):
    pass


class Flow:
    """A HIS of one institution, talking through `send`."""

    def __init__(self, send: Send, institution: Any = HOME) -> None:
        self.send = send
        self.his = SampleHis.for_institution(institution)
        self.last: dict[str, Any] = {}

    def call(self, infno: str, input: dict[str, Any], who: Any = None, **envelope: Any) -> dict[str, Any]:
        env = self.his.envelope(infno, input, who)
        env.update(envelope)
        self.last = env
        return self.send(env)

    def ok(self, infno: str, input: dict[str, Any], who: Any = None, **envelope: Any) -> dict[str, Any]:
        response = self.call(infno, input, who, **envelope)
        if response["infcode"] != 0:
            raise Refused(f"{infno} refused: {response['err_msg']}")
        return response["output"]

    def refused(self, infno: str, input: dict[str, Any], who: Any = None, **envelope: Any) -> str:
        response = self.call(infno, input, who, **envelope)
        assert response["infcode"] == -1, f"{infno} should be refused, got {response}"
        assert response["output"] is None and response["err_msg"]
        return str(response["err_msg"])

    # --- walks ------------------------------------------------------------------------------------

    def sign_in(self, opter_no: str = "0001") -> str:
        self.his.sign_no = self.ok("9001", sign_in_input(opter_no))["signinoutb"]["sign_no"]
        return self.his.sign_no

    def balance(self, who: Any) -> Decimal:
        return Decimal(str(self.ok("1101", person_input(who), who)["insuinfo"][0]["balc"]))

    def register(self, who: Any, lines: Sequence[tuple[str, Any]] = (("consult", 1),), *, batch: str = "B1",
                 med_type: str = "11", dise_codg: str = "J06.900", exp_content: Any = "") -> tuple[str, float]:
        """2201 + 2203 + 2204; returns (mdtrt_id, medfee_sumamt)."""
        mdtrt_id = self.ok("2201", register_input(who, f"MZ{self.his.msgid()[-10:]}"), who)["data"]["mdtrt_id"]
        self.ok("2203", visit_input(who, mdtrt_id, med_type=med_type, dise_codg=dise_codg, exp_content=exp_content),
                who)
        rows = fee_lines(who, mdtrt_id, [(ITEMS[alias], cnt) for alias, cnt in lines], chrg_bchno=batch)
        self.ok("2204", {"feedetail": rows}, who)
        return mdtrt_id, total(rows)

    def settle(self, who: Any, mdtrt_id: str, amount: float, *, batch: str = "B1", med_type: str = "11",
               acct_used_flag: str = "1", exp_content: Any = "") -> dict[str, Any]:
        return self.ok("2207", settle_input(who, mdtrt_id, batch, amount, med_type=med_type,
                                            acct_used_flag=acct_used_flag, exp_content=exp_content), who)

    def presettle(self, who: Any, mdtrt_id: str, amount: float, *, batch: str = "B1", med_type: str = "11",
                  acct_used_flag: str = "1") -> dict[str, Any]:
        return self.ok("2206", settle_input(who, mdtrt_id, batch, amount, med_type=med_type,
                                            acct_used_flag=acct_used_flag, presettle=True), who)

    def reverse(self, who: Any, mdtrt_id: str, setl_id: str, infno: str = "2208") -> dict[str, Any]:
        return self.ok(infno, reverse_input(who, mdtrt_id, setl_id), who)

    def admit(self, who: Any, lines: Sequence[tuple[str, Any]] = (("bed", 3), ("nursing", 3)), *,
              med_type: str = "21", exp_content: Any = "") -> tuple[str, list[dict[str, Any]]]:
        ipt_no = f"ZY{self.his.msgid()[-10:]}"
        mdtrt_id = self.ok("2401", admit_input(who, ipt_no, med_type=med_type, exp_content=exp_content,
                                               mdtrtarea_admvs=self.his.mdtrtarea_admvs), who)["result"]["mdtrt_id"]
        rows = fee_lines(who, mdtrt_id, [(ITEMS[a], c) for a, c in lines], inpatient=True, med_type=med_type)
        if rows:
            self.ok("2301", {"feedetail": rows}, who)
        return mdtrt_id, rows

    def discharge(self, who: Any, mdtrt_id: str) -> None:
        self.ok("2402", discharge_input(who, mdtrt_id), who)

    def settle_inpatient(self, who: Any, mdtrt_id: str, amount: float, *, mid_setl_flag: str = "0",
                         infno: str = "2304") -> dict[str, Any]:
        return self.ok(infno, inpatient_settle_input(who, mdtrt_id, amount, mid_setl_flag=mid_setl_flag,
                                                     mdtrtarea_admvs=self.his.mdtrtarea_admvs), who)
