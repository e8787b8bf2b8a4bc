"""Step execution: run a scenario's steps in order, build and validate each request, send it, judge the answer.

A request the suite meant to be valid that is not is a suite bug, reported as such and never sent. A
step whose `when` value is not saved is skipped; a step that needs a value an expected refusal withheld
is skipped and the flow goes on; teardown steps run whenever their `when` value was saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from harness.model import Exchange, Failure, Severity, Step, StepResult
from harness.runner.messages import infcode_of, parse_response
from harness.runner.safety import bounded as _bounded
from harness.runner.safety import unanswered
from harness.runner.state import SAVED, _NotProvisioned, _Run, _SuiteBug, _template_strings
from harness.runner.tamper import run_tampered_step
from harness.scenarios.templates import render

if TYPE_CHECKING:
    from harness.runner.ledger import Ledger
    from harness.siteconfig import SiteConfig
    from harness.specs import MessageValidator
    from harness.transport import Target

__all__ = ["StepRunner"]


class StepRunner:
    """The step part of the Runner (a mixin: envelopes, judging, sign-in and 冲正 come from the other parts)."""

    target: Target
    site: SiteConfig
    ledger: Ledger
    validator: MessageValidator
    emit: Callable[..., None]

    def _run_steps(self, run: _Run, steps: tuple[Step, ...], *, teardown: bool) -> bool:
        """Run the steps in order; False when the flow ended before its last step."""
        offset = len(run.scenario.steps) if teardown else 0
        for position, step in enumerate(steps):
            index = offset + position
            if teardown and step.when is not None and run.saved.get(step.when) in (None, ""):
                continue
            if self.breaker_open:
                return False
            if not teardown and step.when is not None and run.saved.get(step.when) in (None, ""):
                # a follow-up that proves something only when its prerequisite exists (e.g. fees were uploaded)
                reason = f"step {index + 1} ({step.infno}) skipped: saved.{step.when} (its `when`) is not set"
                run.notes.append(reason)
                self.emit("step-skipped", run.scenario.id, index=index, infno=step.infno, name=step.name,
                          reason=reason)
                continue
            if not teardown and (run.refused_at is not None or run.unsaved):
                missing = [name for name in self._needs(step) if run.saved.get(name) in (None, "")]
                if missing and run.refused_at is not None:
                    # the expected refusal withheld what this step needs: skipped, and the flow goes on
                    at, infno, cause = run.refused_at
                    reason = (f"step {index + 1} ({step.infno}) skipped: the expected refusal ({cause}) came at step "
                              f"{at + 1} ({infno}), so saved.{missing[0]} does not exist")
                    run.notes.append(reason)
                    self.emit("step-skipped", run.scenario.id, index=index, infno=step.infno, name=step.name,
                              reason=reason)
                    continue
                lost = [name for name in missing if name in run.unsaved]
                if lost:
                    # a value a later step needs could not be saved (reported at that step): the flow ends here
                    run.notes.append(f"the flow ends before step {index + 1} ({step.infno}): it needs saved.{lost[0]}, "
                                     f"which step {run.unsaved[lost[0]] + 1} could not save")
                    return False
            carry_on = self._run_step(run, step, index, teardown=teardown)
            if not carry_on and not teardown:
                return False
        return True

    @staticmethod
    def _needs(step: Step) -> list[str]:
        """The saved names a step's templates use (and its `when`), in document order."""
        strings: list[str] = []
        _template_strings(step.input, strings)
        _template_strings(step.envelope, strings)
        names = SAVED.findall("\x00".join(strings))
        return list(dict.fromkeys([*names, *([step.when] if step.when else [])]))

    def _run_step(self, run: _Run, step: Step, index: int, *, teardown: bool, again: bool = False) -> bool:
        """One step; returns False when the flow cannot continue after it."""
        scenario = run.scenario
        self.emit("step-started", scenario.id, index=index, infno=step.infno, name=step.name, teardown=teardown,
                  fault=step.fault)
        identity = self.site.identity(scenario.archetype) if scenario.archetype else None
        routed = run.saved.get("_insuplc_admdvs")  # the insured region 1101 answered (see _route_by_person)
        if routed and identity is not None and identity.get("insuplc_admdvs") != routed:
            identity = {**identity, "insuplc_admdvs": routed}
        if run.resolve is None:
            run.resolve = self._resolver(run)
        resolve = run.resolve
        failures: list[Failure] = []
        try:
            envelope = self._envelope(step.infno, self._render_input(step, resolve), identity=identity,
                                      overrides=render(step.envelope, resolve))
        except (_SuiteBug, _NotProvisioned, ValueError) as exc:
            failures.append(Failure(title=f"step {index + 1} ({step.infno}) cannot be built: {exc}",
                                    clause=run.clause, severity=Severity.MAJOR, step=index,
                                    detail="a suite bug, or a consequence of an earlier failed step"))
            return self._record(run, StepResult(index, step.infno, None, tuple(failures), teardown), failures)
        problem = self._request_problem(run, step, index, envelope)
        if problem is not None:
            return self._record(run, StepResult(index, step.infno, None, (problem,), teardown), [problem])
        if step.fault:
            return self._run_fault_step(run, step, index, envelope, teardown=teardown)
        if step.tamper:  # a gateway-signature step (harness/runner/tamper.py)
            return run_tampered_step(self, run, step, index, envelope, teardown=teardown)
        try:
            exchange, content = self._send(step.infno, envelope)
        except Exception as exc:  # a bug of the transport: the outcome of the call is unknown
            run.crashed(exc)
            exchange, content = unanswered(step.infno, envelope, run.internal), b""
        if content and step.expect.ok is not False:
            # 9102 answered with the file (IF §3.1: a zipped TXT stream): the success form, no output to validate
            failures.extend(() if content[:2] == b"PK" else (Failure(
                title="9102 answered a file that is not a zip archive", clause=run.clause, step=index,
                severity=Severity.MAJOR, expected="a zip archive (PK…)", actual=f"{content[:8]!r}"),))
            return self._record(run, StepResult(index, step.infno, exchange, tuple(failures), teardown), failures)
        if self._infra(run, exchange):
            result = StepResult(index, step.infno, exchange, (), teardown)
            self._record(run, result, [])
            undone = self._resolve_unknown_outcome(run, step, index, envelope, exchange)
            if undone and not teardown and not again and not self.breaker_open and not run.internal:
                # The 冲正 made the outcome known (nothing stands), so sending the step once more, with a
                # new msgid, is no blind retry: it shows the visit can be settled again and lets the flow go on.
                run.notes.append(f"step {index + 1} ({step.infno}) sent again after the 冲正")
                return self._run_step(run, step, index, teardown=teardown, again=True)
            return False
        response: Mapping[str, Any] = {}
        try:
            response = parse_response(exchange) or {}
            self.ledger.record(step.infno, envelope, response)
            carry_on = self._evaluate(run, step, index, envelope, exchange, response, failures)
        except Exception as exc:  # a bug of the harness judging this answer: keep the exchange, end the flow
            run.crashed(exc)
            self._record(run, StepResult(index, step.infno, exchange, tuple(failures), teardown), failures)
            if infcode_of(response) != -1:  # not a plain refusal: what the call did is not known to the run
                self._resolve_unknown_outcome(run, step, index, envelope, exchange)
            return False
        result = StepResult(index, step.infno, exchange, tuple(failures), teardown)
        return self._record(run, result, failures) and carry_on

    def _send(self, infno: str, envelope: Mapping[str, Any]) -> tuple[Exchange, bytes]:
        """(exchange, file bytes): 9102 through the target's download, which keeps a binary answer; else send."""
        download = getattr(self.target, "download", None)
        if infno == "9102" and download is not None:
            return download(envelope)
        return self.target.send(infno, envelope), b""


    def _record(self, run: _Run, result: StepResult, failures: list[Failure]) -> bool:
        if result.failures:
            result = replace(result, failures=tuple(_bounded(f) for f in result.failures))
        run.steps.append(result)
        run.failures.extend(failures)
        self.emit("step-finished", run.scenario.id, step=result)
        return result.exchange is not None and not any(f.title.startswith("suite bug") for f in failures)

    def _request_problem(self, run: _Run, step: Step, index: int, envelope: Mapping[str, Any]) -> Failure | None:
        """Validate before sending: valid unless the step is a deliberate invalid-request negative."""
        # The fast yes/no first: the full report (every violation with its clause) only when it is shown,
        # i.e. when a request meant to be valid is not (a deliberate negative needs only the yes/no).
        valid = self.validator.is_valid_request(envelope)
        deliberate = step.expect.cause == "invalid-request"
        violations = [] if valid or deliberate else self.validator.validate_request(envelope)
        if deliberate and valid:
            return Failure(title=f"suite bug: step {index + 1} ({step.infno}) is meant to be invalid but validates",
                           clause=run.clause, severity=Severity.MAJOR, step=index,
                           detail="a negative case must break the schema; it was not sent")
        if violations and not deliberate:
            first = violations[0]
            return Failure(title=f"suite bug: the request of step {index + 1} ({step.infno}) breaks the schema",
                           clause=first.clause, severity=Severity.MAJOR, step=index,
                           expected=first.expected, actual=first.actual,
                           detail="\n".join(v.render() for v in violations[:20]) + "\n(the request was not sent)")
        return None

