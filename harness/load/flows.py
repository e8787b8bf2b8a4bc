"""What one simulated HIS user does: sign in once, then visits, each a realistic chain of messages.

Outpatient: 1101 → 2201 → 2203 → 2204 → 2206 → 2207, and for a share of them 2208 right after.
Inpatient: 1101 → 2401 → 2301 → 2402 → 2303 → 2304. Each user draws its person from a pool and
opens its own visits (its own ipt_otp_no / ipt_no numbers), so concurrent users never share a visit.

`Call(infno, envelope) -> output | None` sends one message and returns the answer's `output`, or
None when the answer was an error (the caller has already counted it): the visit then stops, as a
HIS desk would. Envelopes are built by `platform.samples.SampleHis`, the HIS-shaped builder the
benchmarks and the built-in HIS use, with the site's institution fields.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from harness.errors import ConfigError
from harness.load.shapes import LoadShape
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

__all__ = ["FLOW_INTERFACES", "POOL_ARCHETYPES", "Call", "IdentityPool", "LoadHis", "UserFlow", "his_for_site"]

Call = Callable[[str, dict[str, Any]], dict[str, Any] | None]

# Persons whose ordinary outpatient and inpatient settlements succeed (catalogue behaviour); a site
# config provides its own person for each archetype it names.
POOL_ARCHETYPES = ("filed-employee", "filed-resident", "filed-employee-2", "filed-resident-2", "filed-card",
                   "chronic-filed", "chronic-filed-2", "chronic-not-filed")
# Every interface a user may call (sign-in, both flows, the reversal): their validators are compiled before a run.
FLOW_INTERFACES = ("9001", "1101", "2201", "2203", "2204", "2206", "2207", "2208", "2401", "2301", "2402", "2303",
                   "2304")
OUTPATIENT_ITEMS = ("consult", "cefaclor")
INPATIENT_ITEMS = ("bed", "nursing")
_PERSON_DEFAULTS = {"card_sn": "", "psn_type": "", "psn_cert_type": "01", "mdtrt_cert_type": "02"}


class IdentityPool:
    """The test persons users are drawn from, and the catalogue items their fees name."""

    def __init__(self, identities: Mapping[str, Mapping[str, Any]], items: Mapping[str, Mapping[str, Any]]) -> None:
        self.persons = [SimpleNamespace(**{**_PERSON_DEFAULTS, "mdtrt_cert_no": ident.get("certno", ""), **ident})
                        for name in POOL_ARCHETYPES if (ident := identities.get(name))]
        if not self.persons:
            raise ConfigError("no test person for load: the site config names none of the archetypes "
                              + ", ".join(POOL_ARCHETYPES), location="site config [identities]",
                              hint="give at least one person whose ordinary settlement succeeds")
        missing = [a for a in (*OUTPATIENT_ITEMS, *INPATIENT_ITEMS) if a not in items]
        if missing:
            raise ConfigError(f"items for load missing: {', '.join(missing)}", location="site config [items]")
        self.items = {alias: SimpleNamespace(**items[alias]) for alias in (*OUTPATIENT_ITEMS, *INPATIENT_ITEMS)}
        self._next = itertools.count()

    def start_at(self, offset: int) -> None:
        """Start the round robin at `offset` (a worker's index), so that workers spread over the pool too."""
        self._next = itertools.count(offset)

    def person(self) -> SimpleNamespace:
        """The next user's person: round robin, so users spread over every person in the pool."""
        return self.persons[next(self._next) % len(self.persons)]


MSGID_SLOTS = 10  # processes of one distributed run (the local process or master's index 0, workers 1-9)


class LoadHis(SampleHis):
    """SampleHis whose msgid sequence numbers are partitioned between the processes of a run.

    A msgid is fixmedins_code + yyyyMMddHHmmss + a 4-digit sequence: two worker processes numbering
    from 1 would send the same msgid in the same second (a replay the platform refuses). Process k of a
    distributed run numbers within its own thousand (k·1000 … k·1000+999); a lone process uses all 10,000.
    """

    _counter = itertools.count(1)  # per process: every user of the process shares it
    _stamp: tuple[int, str] = (-1, "")  # (second, its yyyyMMddHHmmss): formatted once a second, not per message

    def __init__(self, *args: Any, process_index: int = 0, distributed: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._base, self._span = ((process_index % MSGID_SLOTS) * 1000, 1000) if distributed else (0, 10000)

    def msgid(self) -> str:
        seq = self._base + next(self._counter) % self._span
        second = int(time.time())
        if LoadHis._stamp[0] != second:
            LoadHis._stamp = (second, f"{datetime.fromtimestamp(second):%Y%m%d%H%M%S}")
        return f"{self.fixmedins_code}{LoadHis._stamp[1]}{seq:04d}"


def his_for_site(site: Any, infver: str = "V1.0", *, process_index: int = 0, distributed: bool = False) -> LoadHis:
    return LoadHis(site.fixmedins_code, site.fixmedins_name, site.mdtrtarea_admvs, opter=site.opter,
                   infver=site.infver or infver, recer_sys_code=site.recer_sys_code or "MBS_LOCAL",
                   process_index=process_index, distributed=distributed)


class UserFlow:
    """One user's state: its HIS identity (sign_no), its person, its visit counter."""

    def __init__(self, his: LoadHis, pool: IdentityPool, shape: LoadShape, user_no: int,
                 rng: random.Random | None = None) -> None:
        self.his, self.pool, self.shape = his, pool, shape
        self.person = pool.person()
        self.user_no = user_no
        self.rng = rng or random.Random()
        self._visits = itertools.count(1)
        self.insuplc = self.person.insuplc_admdvs

    def _envelope(self, infno: str, input: dict[str, Any]) -> dict[str, Any]:
        return self.his.envelope(infno, input, self.person, insuplc_admdvs=self.insuplc)

    def sign_in(self, call: Call) -> bool:
        out = call("9001", self.his.envelope("9001", sign_in_input(self.his.opter), insuplc_admdvs=""))
        if out is None:
            return False
        self.his.sign_no = str((out.get("signinoutb") or {}).get("sign_no", ""))
        return True

    def pick_flow(self) -> str:
        kinds: Sequence[str] = list(self.shape.flows)
        return self.rng.choices(kinds, weights=[self.shape.flows[k] for k in kinds])[0]

    def visit(self, call: Call) -> None:
        """One visit of the kind the shape's mix draws."""
        if self.pick_flow() == "inpatient":
            self.inpatient(call)
        else:
            self.outpatient(call)

    def _number(self, prefix: str) -> str:
        return f"{prefix}{self.user_no:04d}{next(self._visits):06d}"[:20]

    def _person_info(self, call: Call) -> bool:
        out = call("1101", self._envelope("1101", person_input(self.person)))
        if out is None:
            return False
        region = next((row.get("insuplc_admdvs") for row in out.get("insuinfo") or [] if row.get("insuplc_admdvs")),
                      None)
        self.insuplc = region or self.insuplc  # later calls go to the insured region 1101 named, as a HIS does
        return True

    def outpatient(self, call: Call) -> None:
        who = self.person
        if not self._person_info(call):
            return
        out = call("2201", self._envelope("2201", register_input(who, self._number("MZ"))))
        if out is None:
            return
        mdtrt_id = str((out.get("data") or {}).get("mdtrt_id", ""))
        if call("2203", self._envelope("2203", visit_input(who, mdtrt_id))) is None:
            return
        items = self.pool.items
        rows = fee_lines(who, mdtrt_id, [(items["consult"], 1), (items["cefaclor"], 1)], chrg_bchno="B1")
        if call("2204", self._envelope("2204", {"feedetail": rows})) is None:
            return
        amount = total(rows)
        if call("2206", self._envelope("2206", settle_input(who, mdtrt_id, "B1", amount, acct_used_flag="0",
                                                            presettle=True))) is None:
            return
        out = call("2207", self._envelope("2207", settle_input(who, mdtrt_id, "B1", amount, acct_used_flag="0")))
        if out is None:
            return
        setl_id = str((out.get("setlinfo") or {}).get("setl_id", ""))
        if setl_id and self.rng.random() < self.shape.reverse_share:
            call("2208", self._envelope("2208", reverse_input(who, mdtrt_id, setl_id)))

    def inpatient(self, call: Call) -> None:
        who = self.person
        if not self._person_info(call):
            return
        area = self.his.mdtrtarea_admvs
        out = call("2401", self._envelope("2401", admit_input(who, self._number("ZY"), mdtrtarea_admvs=area)))
        if out is None:
            return
        mdtrt_id = str((out.get("result") or {}).get("mdtrt_id", ""))
        items = self.pool.items
        rows = fee_lines(who, mdtrt_id, [(items["bed"], 3), (items["nursing"], 3)], inpatient=True)
        if call("2301", self._envelope("2301", {"feedetail": rows})) is None:
            return
        if call("2402", self._envelope("2402", discharge_input(who, mdtrt_id))) is None:
            return
        data = inpatient_settle_input(who, mdtrt_id, total(rows), acct_used_flag="0", mdtrtarea_admvs=area)
        if call("2303", self._envelope("2303", data)) is None:
            return
        call("2304", self._envelope("2304", data))
