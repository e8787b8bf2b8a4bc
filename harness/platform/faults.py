"""Switchable faults and planted deviations ("mutants"), scoped per transaction code.

Transport faults change what goes over the wire, around an otherwise correct platform:

| kind | when | what the client sees |
|---|---|---|
| delay | before processing | the answer `delay_ms` later (processing happens after the wait) |
| http-5xx | instead of processing | HTTP `status` (default 503), a plain-text body; no state change |
| html-error | instead of processing | a gateway HTML error page, HTTP `status` (default 200); no state change |
| drop-after-commit | after the commit | the connection closes mid-response: state changed, answer lost (冲正's case) |
| garbled | after the commit | HTTP 200, a body that is neither UTF-8 nor JSON |
| truncated | after the commit | HTTP 200, the first half of the JSON body |

Mutants are planted single deviations in the business logic, used to prove that the harness
catches them (mutation self-test). A handler asks `switches.on("name")` at the one place the
deviation applies; adding a mutant is adding a name to `MUTANTS` and one `if` in a handler.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import ConfigError
from harness.platform.config import Fault

__all__ = ["MUTANTS", "POST_COMMIT_KINDS", "PRE_PROCESS_KINDS", "FaultRegistry", "Switches"]

PRE_PROCESS_KINDS = ("http-5xx", "html-error")
POST_COMMIT_KINDS = ("drop-after-commit", "garbled", "truncated")

# The mutation self-test's catalogue (harness/selftest/catalogue.py adds each one's category, violated
# clause and the scenarios relevant to it). Each name is switched on at exactly one place in the platform.
MUTANTS: dict[str, str] = {
    # money
    "shares-dont-add-up": "settlements leave the 乙类 first self-paid part (preselfpay_amt) out of psn_part_amt and "
                          "psn_cash_pay, so medfee_sumamt != fund_pay_sumamt + psn_part_amt + hosp_part_amt",
    "psn-part-split-wrong": "settlements report the whole person part as cash: psn_cash_pay = psn_part_amt even when "
                            "the personal account paid (acct_pay > 0)",
    "float-rounding-error": "settlement outputs compute psn_part_amt in binary floating point (medfee - fund - hosp), "
                            "so it carries a long fraction such as 57.580000000000005",
    "pool-share-truncated": "the pool share (hifp_pay, fund_pay_sumamt) is cut to cents instead of rounded half-up; "
                            "the person pays the difference",
    "skip-account-debit": "settlements (2207/2304/2102) report acct_pay but leave the account balance untouched",
    "reversal-keeps-sign": "reversals (2208/2305/2103) return the original positive amounts instead of negated ones",
    "presettle-ignores-account": "pre-settlements (2101/2206/2303) never use the personal account, so their acct_pay "
                                 "and psn_cash_pay differ from the settlement's",
    # rules
    "accept-not-filed": "cross-region settlements skip the filing checks (not filed, expired, elsewhere)",
    "accept-expired-filing": "a filing whose end date has passed still covers the settlement (validity not checked)",
    "accept-filed-elsewhere": "any cross-region filing covers the settlement, whatever region or institution it names",
    "accept-lapsed-contributions": "settlements do not look at the contribution status (中断缴费 accepted)",
    "accept-inactive-card": "settlements do not check the state of a presented social-security card (type 03)",
    "emergency-not-as-filed": "emergency care of a person without a filing is refused as not filed",
    "settle-twice": "an outpatient visit that is already settled is settled again (its fee rows a second time)",
    "reverse-twice": "a settlement already reversed can be reversed again (another negative row)",
    "correction-does-not-undo": "2601 冲正 of a settlement answers success but leaves the settlement in place",
    "sumamt-unchecked": "medfee_sumamt is not compared with the uploaded fee details: the details are settled",
    "refusal-keeps-changes": "a refused outpatient settlement (2207: a failure cause, a total that differs from the "
                             "details) still consumes its fee details: they are no longer unsettled, so the visit can "
                             "neither be settled nor its fees cancelled afterwards",
    # protocol
    "medins-setl-id-not-msgid": "settlements return a platform id as medins_setl_id instead of the request msgid",
    "malformed-inf-refmsgid": "successful answers carry an inf_refmsgid with a 17-digit (millisecond) timestamp, 33 "
                              "characters instead of 6+14+10",
    "infcode-as-string": "successful answers carry infcode as the string \"0\" instead of the number 0",
    "output-field-missing": "settlement outputs omit the required setlinfo.cvlserv_flag (公务员标志)",
    "code-outside-list": "settlement outputs give clr_way from the other dictionary (padded 01 where the profile "
                         "uses 1, and the reverse)",
    "skip-required-check": "requests missing a required field are not refused: only other schema violations are",
    "accept-missing-sign-no": "business calls without a sign_no are accepted (an unknown sign_no is still refused)",
    "replay-refused": "a state-changing message re-sent with the same msgid and the same content is refused as a "
                      "msgid conflict instead of answered from the record",
    "refusal-output-not-null": "refusals carry output {} instead of null",
    "no-verify": "gateway signatures are not verified: TIF and CSB signature headers and the SM2 signatures "
                 "(cainfo, oauth2-sm signData) are not checked, so tampered requests are answered",
    # isolation
    "cross-institution-read": "5203 shows a settlement to any institution that names its setl_id",
    "cross-institution-reverse": "2208 reverses a settlement of another institution",
}


@dataclass(frozen=True, slots=True)
class ActiveFault:
    id: int
    fault: Fault


class FaultRegistry:
    """The faults currently switched on (thread-safe; changed at run time by the admin endpoint)."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._active: list[ActiveFault] = []
        self._left: dict[int, int] = {}
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault) -> int:
        if fault.kind == "mutant" and fault.name not in MUTANTS:
            raise ConfigError(
                "Unknown mutant",
                detail=f"{fault.name!r}; known mutants: {', '.join(sorted(MUTANTS))}",
                hint="see harness/platform/faults.py MUTANTS",
            )
        with self._lock:
            fid = next(self._ids)
            self._active.append(ActiveFault(fid, fault))
            if fault.times is not None:
                self._left[fid] = fault.times
            return fid

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._active)
            self._active = [a for a in self._active if a.id != fault_id]
            self._left.pop(fault_id, None)
            return len(self._active) != before

    def clear(self) -> None:
        with self._lock:
            self._active.clear()
            self._left.clear()

    def list(self) -> list[dict[str, object]]:
        with self._lock:
            out = []
            for a in self._active:
                data: dict[str, object] = {"id": a.id, **a.fault.to_json()}
                if a.id in self._left:
                    data["times_left"] = self._left[a.id]
                out.append(data)
            return out

    def take(self, infno: str, kinds: Iterable[str]) -> Fault | None:
        """The first active fault of one of `kinds` for `infno`, consuming one use of it."""
        if not self._active:  # the common case: no faults switched on
            return None
        wanted = set(kinds)
        with self._lock:
            for a in self._active:
                if a.fault.kind in wanted and a.fault.infno in ("*", infno):
                    self._consume(a.id)
                    return a.fault
        return None

    def mutant_on(self, name: str, infno: str) -> bool:
        if not self._active:
            return False
        with self._lock:
            for a in self._active:
                f = a.fault
                if f.kind == "mutant" and f.name == name and f.infno in ("*", infno):
                    self._consume(a.id)
                    return True
        return False

    def _consume(self, fault_id: int) -> None:
        if fault_id in self._left:
            self._left[fault_id] -= 1
            if self._left[fault_id] <= 0:
                self._active = [a for a in self._active if a.id != fault_id]
                del self._left[fault_id]


class Switches:
    """The mutant switches as one handler call sees them: `switches.on("skip-account-debit")`."""

    def __init__(self, registry: FaultRegistry, infno: str) -> None:
        self._registry = registry
        self._infno = infno

    def on(self, name: str) -> bool:
        if name not in MUTANTS:
            raise KeyError(f"unknown mutant {name!r}")  # a typo in a handler must not pass silently
        registry = self._registry
        return bool(registry._active) and registry.mutant_on(name, self._infno)  # nothing on: the common case
