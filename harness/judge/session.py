"""A judging session: exchanges in, per-case results out.

`Judge.observe(record)` is the platform observer (thread-safe). Cases are opened and closed
explicitly (`start_case`, `end_case`: the admin endpoint or `hsa-cert client case`); an exchange
that arrives while no case is open is correlated by persona (psn_no, certno or card number) and the
case's flow, else it belongs to the pseudo case `outside-cases`. `finish()` returns one
`CaseVerdict` per case: the exchanges as steps, every finding, and the outcome (FAILED only for a
MUST finding; SHOULD findings are advisories).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from harness.judge.flow_rules import FlowState
from harness.judge.observed import Observed, observed_from_record
from harness.judge.plan import Case, Plan
from harness.judge.request_rules import LET_THROUGH, msgid_problem, null_paths, request_findings
from harness.judge.rulebook import Rulebook
from harness.model import Failure, Grade, Outcome, StepResult

__all__ = ["OUTSIDE", "CaseVerdict", "Judge"]

OUTSIDE = "outside-cases"


@dataclass
class CaseVerdict:
    case_id: str
    case: Case | None
    steps: list[StepResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    observed: list[Observed] = field(default_factory=list)

    def add(self, failure: Failure) -> None:
        """A finding made after the exchange was judged (at case end): also shown on the exchange's step."""
        self.failures.append(failure)
        if failure.step is not None and 0 <= failure.step < len(self.steps):
            step = self.steps[failure.step]
            self.steps[failure.step] = replace(step, failures=(*step.failures, failure))

    @property
    def outcome(self) -> Outcome:
        return Outcome.FAILED if any(f.grade is Grade.MUST for f in self.failures) else Outcome.PASSED


def flow_missing(case: Case, observed: list[Observed]) -> str:
    """The first flow step the observed exchanges do not perform, in the order the client sent them ("" when all
    are): a delayed call is observed after it is processed, so after a resend the client sent later."""
    observed = sorted(observed, key=lambda o: (o.received_at, o.seq))
    position = 0
    for step in case.flow:
        while position < len(observed):
            obs = observed[position]
            position += 1
            if step.accepts(obs.infno) and (obs.outcome == step.outcome or
                                            (step.outcome == "any" and obs.outcome != "lost")):
                break
        else:
            return step.label()
    return ""


class Judge:
    def __init__(self, plan: Plan, *, book: Rulebook, profile: Any, validator: Any, state_changing: frozenset[str],
                 personas: Mapping[str, Mapping[str, str]] | None = None, strict: bool = False,
                 insured: Mapping[str, str] | None = None) -> None:
        self.plan = plan
        self.book = book
        self.profile = profile
        self.validator = validator
        self.strict = strict
        self.personas = dict(personas or {})  # archetype -> {psn_no, certno, card_no}
        self.flow = FlowState(book, profile.require_sign_in, state_changing)
        self.flow.test_persons.update(insured or {})  # psn_no -> insured region of the plan's test persons
        self.verdicts: dict[str, CaseVerdict] = {c.id: CaseVerdict(c.id, c) for c in plan.cases}
        self.current: str | None = None
        self.closed: set[str] = set()
        self._opened: list[tuple[str, datetime, datetime | None]] = []  # case, start, end: where a late call belongs
        self._lock = threading.RLock()
        self._seq = 0
        self.finished = threading.Event()

    # --- cases ------------------------------------------------------------------------------------

    def start_case(self, case_id: str) -> Case:
        with self._lock:
            case = self.plan.case(case_id)
            if case is None:
                raise KeyError(case_id)
            if self.current is not None:
                self.end_case(self.current)
            self.current = case_id
            self._opened.append((case_id, datetime.now(), None))
            return case

    def end_case(self, case_id: str) -> None:
        with self._lock:
            if self.current == case_id:
                self.current = None
            self._opened = [(c, start, datetime.now() if c == case_id and end is None else end)
                            for c, start, end in self._opened]
            self._close(case_id)

    def _close(self, case_id: str) -> None:
        if case_id in self.closed:
            return
        self.closed.add(case_id)
        self._report_unresolved(case_id, self.flow.close_case(case_id))

    def _report_unresolved(self, case_id: str, left: list[Any]) -> None:
        verdict = self.verdicts.setdefault(case_id, CaseVerdict(case_id, None))
        index = {o.msgid: i for i, o in enumerate(verdict.observed)}
        for p in left:
            verdict.add(self.book.finding(
                "CLI-FAULT-RESOLVE", msgid=p.obs.msgid, infno=p.obs.infno, step=index.get(p.obs.msgid),
                detail=f"the answer to {p.obs.infno} was lost ({p.obs.fault or 'timeout'}); the case ended without "
                       "2601 冲正, a query or the same msgid again",
                expected=f"2601 with omsgid {p.obs.msgid}, oinfno {p.obs.infno}", actual="nothing"))

    # --- exchanges --------------------------------------------------------------------------------

    def observe(self, record: Mapping[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            obs = observed_from_record(self._seq, record, self.plan.client_timeout_ms)
            # only a call the platform delayed is observed out of order (every other one is observed as it is answered)
            late = self._case_at(obs.received_at) if obs.delay_ms > 0 else None
            case_id = late or self.current or self._correlate(obs)
            verdict = self.verdicts.setdefault(case_id, CaseVerdict(case_id, self.plan.case(case_id)))
            found = request_findings(obs, self.book, self.profile, self.validator)
            found += self.flow.judge(obs, case_id)
            step = len(verdict.observed)
            found = [_at(f, step) for f in found]
            verdict.observed.append(obs)
            verdict.failures.extend(found)
            verdict.steps.append(StepResult(index=step, infno=obs.infno, exchange=obs.to_exchange(),
                                            failures=tuple(found)))

    def _case_at(self, received_at: str) -> str | None:
        """The marked case that was open when the request arrived: a call the platform delays is observed only
        after it is processed, when its case may have ended (the client gave up, resolved it and went on)."""
        try:
            at = datetime.fromisoformat(received_at)
        except ValueError:
            return None
        for case_id, start, end in reversed(self._opened):  # received_at has milliseconds: compare at that grain
            if start.replace(microsecond=start.microsecond // 1000 * 1000) <= at and (end is None or at <= end):
                return case_id
        return None

    def _correlate(self, obs: Observed) -> str:
        who = {obs.psn_no(), str(obs.data().get("certno") or ""), str(obs.data().get("mdtrt_cert_no") or "")} - {""}
        candidates = []
        for case in self.plan.cases:
            if case.id in self.closed:
                continue
            ids = set(self.personas.get(case.persona or "", {}).values())
            if (case.persona and who & ids) or (case.persona is None and not who and
                                                any(s.accepts(obs.infno) for s in case.flow)):
                candidates.append(case)
        for case in candidates:  # the first whose flow is not yet performed
            if flow_missing(case, self.verdicts[case.id].observed):
                return case.id
        return candidates[-1].id if candidates else OUTSIDE

    def screen(self, headers: Mapping[str, str], envelope: Mapping[str, Any]) -> str | None:
        """--strict: refuse what a real platform might let through (the platform's `screen` hook)."""
        if not self.strict:
            return None
        problems = []
        code = str(envelope.get("fixmedins_code") or "")
        problem = msgid_problem(str(envelope.get("msgid") or ""), code)
        if problem:
            problems.append(f"msgid {problem}")
        nulls = list(null_paths(envelope))
        if nulls:
            problems.append('字段值为字符串"null": ' + ", ".join(nulls[:3]))
        ctype = str(headers.get("content-type", "")).lower()
        if not ctype.startswith(("application/json", "multipart/form-data")):
            problems.append(f"Content-Type {ctype or '(none)'}")
        return "；".join(problems) or None

    # --- the end ----------------------------------------------------------------------------------

    def finish(self) -> list[CaseVerdict]:
        with self._lock:
            if self.current is not None:
                self.end_case(self.current)
            for case in self.plan.cases:
                self._close(case.id)
            self._close(OUTSIDE)
            for p in self.flow.unresolved():  # lost calls observed after their case had ended (a delay)
                self._report_unresolved(p.case, self.flow.close_case(p.case))
            for mine, omsgid in self.flow.unknown_corrections():
                verdict = next((v for v in self.verdicts.values() if any(o.msgid == mine for o in v.observed)), None)
                if verdict is not None:
                    step = next(i for i, o in enumerate(verdict.observed) if o.msgid == mine)
                    verdict.add(self.book.finding("CLI-REF-IDS", msgid=mine, infno="2601", step=step,
                                                  actual=f"omsgid {omsgid!r}",
                                                  expected="the msgid of a request this HIS sent"))
            for case in self.plan.cases:
                verdict = self.verdicts[case.id]
                missing = flow_missing(case, verdict.observed)
                if missing:
                    done = " → ".join(f"{o.infno}({o.outcome})" for o in verdict.observed) or "nothing"
                    verdict.failures.append(self.book.finding(
                        "CLI-CASE-FLOW", detail=f"first step not performed: {missing}",
                        expected=" → ".join(s.label() for s in case.flow), actual=done))
            self.finished.set()
            out = [self.verdicts[c.id] for c in self.plan.cases]
            outside = self.verdicts.get(OUTSIDE)
            if outside is not None and outside.observed:
                out.append(outside)
            return out


def _at(failure: Failure, step: int) -> Failure:
    return replace(failure, step=step)


__all__ += ["LET_THROUGH", "flow_missing"]
