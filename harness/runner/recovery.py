"""Unknown outcomes and designed faults: a state-changing call that ended without an answer is undone, not resent.

When the profile lists the interface as reversible, the runner sends 2601 (冲正) for the lost msgid and
records the resolution; a step with a `fault` makes the reference platform lose its answer on purpose
(faults are switched on at /__admin/faults) and expects exactly that 2601 to undo it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from harness.model import Exchange, Failure, Severity, Step, StepResult
from harness.runner.messages import describe_answer, find_psn_no, infcode_of, parse_response
from harness.runner.state import _Run

if TYPE_CHECKING:
    from harness.runner.ledger import Ledger
    from harness.siteconfig import SiteConfig
    from harness.specs import Profile
    from harness.transport import Target

__all__ = ["Recovery"]


class Recovery:
    """The 冲正 part of the Runner (a mixin: it uses the runner's target, ledger, envelopes, breaker, emit)."""

    target: Target
    site: SiteConfig
    profile: Profile
    ledger: Ledger
    fault_switch: Callable[[Mapping[str, Any]], str | None]
    emit: Callable[..., None]

    def _run_fault_step(self, run: _Run, step: Step, index: int, envelope: Mapping[str, Any], *,
                        teardown: bool) -> bool:
        """A step whose answer the reference platform loses on purpose: expect the loss, undo the call with 2601.

        The expected infrastructure error is no ERROR and does not count towards the breaker; the flow goes
        on only when the 2601 undid the call (the next steps then show that the visit can be settled again).
        """
        fault = {"infno": step.infno, "kind": step.fault, "times": 1}
        refused = self.fault_switch(fault)
        if refused is not None:
            run.infra = run.infra or f"cannot switch on the platform fault {step.fault} for {step.infno}: {refused}"
            return self._record(run, StepResult(index, step.infno, None, (), teardown), [])
        exchange = self.target.send(step.infno, envelope)
        if exchange.error is None:
            # The fault did not fire: whatever the platform answered stands (and is in the ledger).
            self.ledger.record(step.infno, envelope, parse_response(exchange) or {})
            failure = Failure(title=f"step {index + 1} ({step.infno}) was answered although the platform was to lose "
                              f"the answer ({step.fault})", clause="R-2601-UNDOES", severity=Severity.MAJOR,
                              step=index, expected=f"an infrastructure error ({step.fault})",
                              actual=describe_answer(exchange, parse_response(exchange) or {}),
                              detail="the reference platform did not apply the fault switched on at /__admin/faults")
            self._record(run, StepResult(index, step.infno, exchange, (failure,), teardown), [failure])
            return False
        run.notes.append(f"step {index + 1} ({step.infno}): the answer was lost as designed ({exchange.error})")
        self._record(run, StepResult(index, step.infno, exchange, (), teardown), [])
        undone = self._resolve_unknown_outcome(run, step, index, envelope, exchange, designed=True)
        if not undone and run.infra is None:
            failure = Failure(title=f"the {step.infno} whose answer was lost could not be undone with 2601",
                              clause="R-2601-UNDOES", severity=Severity.CRITICAL, step=index,
                              expected="2601 (omsgid = the lost message's msgid) succeeds", actual=run.notes[-1])
            run.failures.append(failure)
        return undone


    def _resolve_unknown_outcome(self, run: _Run, step: Step, index: int, envelope: Mapping[str, Any],
                                 exchange: Exchange, *, designed: bool = False) -> bool:
        """A state-changing call ended without an answer: 冲正 it with 2601 rather than resend it.

        Returns True when the 2601 succeeded, i.e. whatever the call did is undone.
        """
        if not self._state_changing(step.infno):
            return False
        msgid = str(envelope.get("msgid"))
        if step.infno not in self.profile.reversible_by_2601:
            run.notes.append(f"the outcome of {step.infno} (msgid {msgid}) is unknown and the profile does not "
                             f"allow 2601 for it: check the site's records")
            return False
        psn_no = find_psn_no(envelope.get("input"))
        if not psn_no or self.breaker_open:
            run.notes.append(f"the outcome of {step.infno} (msgid {msgid}) is unknown and was not resolved "
                             f"({'breaker open' if psn_no else 'no psn_no in the request'})")
            return False
        identity = self.site.identity(run.scenario.archetype) if run.scenario.archetype else None
        reversal = self._envelope("2601", {"data": {"psn_no": psn_no, "omsgid": msgid, "oinfno": step.infno}},
                                  identity=identity)
        answer = self.target.send("2601", reversal)
        if answer.error is None:
            self.ledger.record("2601", reversal, parse_response(answer) or {})
        self._record(run, StepResult(index, "2601", answer, (), True), [])
        undone = False
        if self._infra(run, answer):
            run.notes.append(f"2601 for msgid {msgid} failed too ({answer.error}): the outcome stays unknown")
        else:
            response = parse_response(answer) or {}
            undone = infcode_of(response) == 0
            verdict = "reversed" if undone else f"refused: {response.get('err_msg')}"
            run.notes.append(f"unknown outcome of {step.infno} (msgid {msgid}) resolved with 2601 冲正: {verdict}")
        self.emit("unknown-outcome", run.scenario.id, infno=step.infno, msgid=msgid, notes=run.notes[-1],
                  designed=designed)
        return undone

