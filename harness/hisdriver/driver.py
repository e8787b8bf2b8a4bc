"""The HIS driver: one institution's HIS performing the cases of a client plan over a `post` callable.

`post(path, headers, body) -> Reply` sends one HTTP request; it raises `Lost` when the answer does
not arrive (connection dropped, timeout). A case is performed by the procedure named after its id;
`persona` is the catalogue persona the operator would use for it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from harness.gateway import make_signer
from harness.hisdriver.cases import StayAndPurchaseCases
from harness.platform.samples import (
    SampleHis,
    fee_lines,
    person_input,
    register_input,
    reverse_input,
    settle_input,
    sign_in_input,
    total,
    visit_input,
)

__all__ = ["BUGS", "SHOULD_BUGS", "HisDriver", "Lost", "Reply"]

ENDPOINT = "/fsi/api/rsfComIfsService/callService"

BUGS: dict[str, str] = {
    "uuid-msgid": "msgids are UUIDs instead of fixmedins_code + timestamp + sequence",
    "no-sign-in": "the HIS never signs in (9001)",
    "stale-sign-no": "after signing out and in again the HIS keeps sending the first sign_no",
    "wrong-insuplc": "insuplc_admdvs is the hospital's own region, not the insured region from 1101",
    "empty-mdtrtarea": "mdtrtarea_admvs is sent empty",
    "null-strings": "empty envelope fields are sent as the string \"null\"",
    "text-plain": "requests are sent with Content-Type text/plain",
    "wrong-api-name": "the CSB _api_name header is api_<infno> instead of the profile's name",
    "no-2601": "after a lost settlement answer the HIS does nothing (no 冲正, no query)",
    "new-msgid-resend": "after a lost settlement answer the HIS re-sends it with a new msgid",
    "settle-twice": "the HIS settles a visit that is already settled again (a double click)",
    "sumamt-off": "the settlement's medfee_sumamt is 1.00 more than the uploaded rows",
    "row-amount-off": "a fee row's amount is 0.50 more than price × count",
    "unknown-setl-id": "2208 names a setl_id the platform never returned",
    "retry-refused": "a refused pre-settlement is sent again unchanged",
    "eod-off": "the 3201 medfee_sumamt is 10.00 more than what was settled",
    "no-visit-info": "fee rows are uploaded without the visit information (2203)",
    "fee-reupload": "fee rows are uploaded twice without cancelling them",
    "wrong-oinfno": "2601 names the wrong original transaction (oinfno 2206)",
    "no-discharge": "the inpatient stay is settled before discharge (2402)",
}

# Bugs that break only a SHOULD rule (IF §2.2 [L]: the spec sample itself sends text/plain, and "null" in its empty
# envelope fields): a SHOULD finding
# (an advisory) is the right catch, and a MUST finding would be a false failure.
SHOULD_BUGS = frozenset({"text-plain", "null-strings"})


class Lost(Exception):
    """No answer: the connection dropped or the client's timeout passed."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes


@dataclass
class _Settled:
    setl_id: str
    mdtrt_id: str
    info: dict[str, Any]


@dataclass
class HisDriver(StayAndPurchaseCases):
    post: Callable[[str, dict[str, str], bytes], Reply]
    catalogue: Any
    profile: Any
    bugs: Collection[str] = frozenset()
    institution: str = ""  # fixmedins_code; "" = the catalogue's default hospital
    his: SampleHis = field(init=False)
    ledger: list[dict[str, Any]] = field(default_factory=list)  # what this HIS settled (+) and reversed (-)
    log: list[str] = field(default_factory=list)
    _first_sign_no: str = ""
    _regions: dict[str, str] = field(default_factory=dict)  # psn_no -> insured region from 1101
    _serial: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.bugs) - set(BUGS)
        if unknown:
            raise KeyError(f"unknown HIS bugs: {sorted(unknown)}")
        home = self.catalogue.institution(self.institution) if self.institution else \
            self.catalogue.default_institution()
        self.his = SampleHis.for_institution(home, infver=self.profile.infver,
                                             recer_sys_code=self.profile.recer_sys_code or "MBS_LOCAL")
        gateway = self.profile.gateway
        family = str(gateway.get("family") or "none")
        credentials = {"tif": {"paasid": "his-paas", "token": "his-token"},
                       "csb": {"access_key": "his-ak", "secret_key": "his-sk"}}.get(family, {})
        self.signer = make_signer(family, credentials, gateway)

    def bug(self, name: str) -> bool:
        return name in self.bugs

    # --- one message ------------------------------------------------------------------------------

    def envelope(self, infno: str, input: dict[str, Any], who: Any = None, *, msgid: str | None = None) -> dict:
        if msgid is None and self.bug("uuid-msgid"):
            msgid = uuid.uuid4().hex
        region = self._regions.get(who.psn_no, "") if who is not None else ""
        if who is not None and self.bug("wrong-insuplc"):
            region = self.his.mdtrtarea_admvs
        env = self.his.envelope(infno, input, who, msgid=msgid, insuplc_admdvs=region)
        if self.bug("empty-mdtrtarea"):
            env["mdtrtarea_admvs"] = ""
        if self.bug("null-strings"):
            env.update({k: "null" for k in ("dev_no", "dev_safe_info", "cainfo", "signtype") if env.get(k) == ""})
        return env

    def send(self, env: dict[str, Any]) -> dict[str, Any]:
        """Send one envelope; the answer envelope, or Lost."""
        infno = env["infno"]
        headers = {"content-type": "text/plain" if self.bug("text-plain") else "application/json;charset=utf-8",
                   **{k.lower(): v for k, v in self.signer(infno).items()}}
        if self.bug("wrong-api-name") and "_api_name" in headers:
            headers["_api_name"] = f"api_{infno}"
        reply = self.post(ENDPOINT, headers, json.dumps(env, ensure_ascii=False).encode())
        if reply.status != 200:
            raise Lost(f"HTTP {reply.status}")
        try:
            answer = json.loads(reply.body)
        except ValueError as exc:
            raise Lost("not JSON") from exc
        self.log.append(f"{infno} {answer.get('infcode')} {answer.get('err_msg') or ''}".strip())
        return answer

    def call(self, infno: str, input: dict[str, Any], who: Any = None) -> dict[str, Any] | None:
        """Send; the output on success, None on a refusal (the HIS shows err_msg and stops)."""
        answer = self.send(self.envelope(infno, input, who))
        return answer.get("output") or {} if answer.get("infcode") == 0 else None

    # --- the procedures ---------------------------------------------------------------------------

    def perform(self, case_id: str, persona: str | None) -> None:
        who = self.catalogue.persona(persona) if persona else None
        name = "refused" if case_id.startswith("refused-") else case_id  # every refusal case: settle, see it refused
        procedure = getattr(self, "case_" + name.replace("-", "_"), None)
        if procedure is None:
            raise KeyError(f"the built-in HIS has no procedure for case {case_id!r}")
        try:
            procedure(who)
        except Lost as exc:  # an answer lost outside the designed places: the HIS reports it and stops
            self.log.append(f"lost: {exc}")

    def case_sign_in(self, who: Any) -> None:
        if self.bug("no-sign-in"):
            return
        out = self.call("9001", sign_in_input(self.his.opter))
        self.his.sign_no = str((out or {}).get("signinoutb", {}).get("sign_no") or "")
        if self.bug("stale-sign-no"):
            first = self.his.sign_no
            self.call("9002", {"signOut": {"sign_no": first, "opter_no": self.his.opter}})
            out = self.call("9001", sign_in_input(self.his.opter))
            self.his.sign_no = first

    def _person(self, who: Any) -> None:
        out = self.call("1101", person_input(who), None)
        for row in (out or {}).get("insuinfo") or []:
            if row.get("insutype") == who.insutype or who.psn_no not in self._regions:
                self._regions[who.psn_no] = str(row.get("insuplc_admdvs") or "")

    def _visit(self, who: Any) -> tuple[str, str, float] | None:
        """2201 → 2203 → 2204: (mdtrt_id, chrg_bchno, medfee_sumamt), None when refused."""
        self._serial += 1
        out = self.call("2201", register_input(who, f"MZ{self.his.msgid()[-12:]}"), who)
        if out is None:
            return None
        mdtrt_id = str(out["data"]["mdtrt_id"])
        if not self.bug("no-visit-info") and self.call("2203", visit_input(who, mdtrt_id), who) is None:
            return None
        batch = f"B{self._serial:04d}"
        items = [self.catalogue.item("consult"), self.catalogue.item(self._drug())]
        rows = fee_lines(who, mdtrt_id, [(items[0], 1), (items[1], 2)], chrg_bchno=batch)
        if self.bug("row-amount-off"):
            rows[0]["det_item_fee_sumamt"] = float(Decimal(str(rows[0]["det_item_fee_sumamt"])) + Decimal("0.50"))
        if self.call("2204", {"feedetail": rows}, who) is None:
            return None
        if self.bug("fee-reupload"):
            self.call("2204", {"feedetail": rows}, who)
        amount = total(rows)
        if self.bug("sumamt-off"):
            amount = float(Decimal(str(amount)) + Decimal("1.00"))
        return mdtrt_id, batch, amount

    def _drug(self) -> str:
        return next(i.alias for i in self.catalogue.items if i.alias not in ("consult", "bed", "nursing"))

    def _settle(self, who: Any, visit: tuple[str, str, float]) -> _Settled | None:
        mdtrt_id, batch, amount = visit
        presettle = settle_input(who, mdtrt_id, batch, amount, presettle=True)
        if self.call("2206", presettle, who) is None:
            if self.bug("retry-refused"):
                self.call("2206", presettle, who)
            return None
        env = self.envelope("2207", settle_input(who, mdtrt_id, batch, amount), who)
        try:
            answer = self.send(env)
        except Lost as exc:
            answer = self._recover(env, str(exc), who)
            if answer is None:
                return None
        if answer.get("infcode") != 0:
            return None
        settled = self._record(answer, mdtrt_id)
        if self.bug("settle-twice"):
            self.call("2207", settle_input(who, mdtrt_id, batch, amount), who)
        return settled

    def _record(self, answer: dict[str, Any], mdtrt_id: str) -> _Settled:
        info = dict(answer["output"]["setlinfo"])
        self.ledger.append({k: info.get(k) for k in ("insutype", "clr_type", "clr_optins", "medfee_sumamt",
                                                     "fund_pay_sumamt", "acct_pay")})
        return _Settled(str(info["setl_id"]), mdtrt_id, info)

    def _recover(self, env: dict[str, Any], why: str, who: Any) -> dict[str, Any] | None:
        """The answer to a settlement was lost: resend the same msgid after a 5xx (the gateway may not have
        forwarded it), 冲正 it after a dropped connection or a timeout (it may have been committed)."""
        if self.bug("no-2601"):
            return None
        if self.bug("new-msgid-resend"):
            return self.send(self.envelope(env["infno"], env["input"], who))
        if why.startswith("HTTP 5"):
            return self.send(env)
        oinfno = "2206" if self.bug("wrong-oinfno") else env["infno"]
        self.call("2601", {"data": {"psn_no": who.psn_no, "omsgid": env["msgid"], "oinfno": oinfno}}, who)
        return None

    def case_settle(self, who: Any) -> None:
        self._person(who)
        visit = self._visit(who)
        if visit is not None:
            self._settle(who, visit)

    def case_settle_and_cancel(self, who: Any) -> None:
        self._person(who)
        visit = self._visit(who)
        settled = self._settle(who, visit) if visit is not None else None
        if settled is None:
            return
        setl_id = "S000000000000000000001" if self.bug("unknown-setl-id") else settled.setl_id
        out = self.call("2208", reverse_input(who, settled.mdtrt_id, setl_id), who)
        if out is not None:
            self.ledger.append({k: (out.get("setlinfo") or {}).get(k, settled.info.get(k))
                                for k in ("insutype", "clr_type", "clr_optins", "medfee_sumamt", "fund_pay_sumamt",
                                          "acct_pay")})

    case_lost_settlement_answer = case_settle
    case_gateway_503 = case_settle

    def case_settlement_timeout(self, who: Any) -> None:
        if who.psn_no not in self._regions:
            self._person(who)
        visit = self._visit(who)
        if visit is not None:
            self._settle(who, visit)

    def case_refused(self, who: Any) -> None:
        self.case_settle(who)

    def case_end_of_day(self, who: Any) -> None:
        for clr_type in sorted({str(r.get("clr_type")) for r in self.ledger} or {"11"}):
            self._reconcile(clr_type)
        self.call("9002", {"signOut": {"sign_no": self.his.sign_no, "opter_no": self.his.opter}})

    def _reconcile(self, clr_type: str) -> None:
        rows = [r for r in self.ledger if str(r.get("clr_type")) == clr_type and str(r.get("insutype")) == "310"]
        sums = {k: sum((Decimal(str(r.get(k) or 0)) for r in rows), Decimal("0.00"))
                for k in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")}
        if self.bug("eod-off"):
            sums["medfee_sumamt"] += Decimal("10.00")
        today = self.his.envelope("3201", {})["inf_time"][:10]
        optins = next((str(r.get("clr_optins")) for r in rows if r.get("clr_optins")), self.his.mdtrtarea_admvs)
        self.call("3201", {"data": {"insutype": "310", "clr_type": clr_type, "setl_optins": optins,
                                    "stmt_begndate": today, "stmt_enddate": today,
                                    **{k: float(v) for k, v in sums.items()}, "fixmedins_setl_cnt": len(rows)}})
