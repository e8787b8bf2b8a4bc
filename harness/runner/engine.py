"""The Runner: one scenario at a time against a Target (see harness.runner for the whole story)."""

from __future__ import annotations

import hashlib
import re
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from harness.model import (
    Exchange,
    Failure,
    Grade,
    Outcome,
    RunEvent,
    Scenario,
    ScenarioResult,
    Severity,
    Step,
    StepResult,
)
from harness.runner.evaluate import ResponseJudge, merged_patterns
from harness.runner.ledger import Ledger, fill_ledger, first_node, mentions_ledger, protect, unprotect
from harness.runner.messages import (
    describe_answer,
    find_psn_no,
    infcode_of,
    jsonable,
    parse_response,
    resolve_path,
    show_infcode,
)
from harness.runner.msgid import make_msgid
from harness.runner.safety import bounded as _bounded
from harness.runner.safety import internal_error_reason, unanswered
from harness.runner.tamper import run_tampered_step, tamper_not_applicable
from harness.scenarios.templates import OMIT, Expression, TemplateSyntaxError, render
from harness.siteconfig import SiteConfig
from harness.specs import Profile, SpecRegistry, effective_grade
from harness.transport import Target, switch_fault
from harness.verdict import graded_outcome

__all__ = ["DEFAULT_BREAKER_THRESHOLD", "Runner", "internal_error_reason"]  # (the last re-exported from .safety)

DEFAULT_BREAKER_THRESHOLD = 5
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
# What a site config must provide: {{ identity.<field> }}, {{ site.<key> }}, {{ item.<alias>.<field> }}.
_PROVIDED = re.compile(r"\{\{\s*(identity|site|item)\.([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_]+)?)\s*\}\}")
_SAVED = re.compile(r"\{\{\s*saved\.([A-Za-z0-9_]+)\s*\}\}")


class _NotProvisioned(Exception):
    """A template needs an identity, item or site value the site config does not give."""


_LEAVES = frozenset({int, float, bool, type(None)})


def _template_strings(value: Any, found: list[str]) -> None:
    """Append the strings of a template (keys too) that hold `{{`, depth first in document order."""
    kind = type(value)
    if kind is str:
        if "{{" in value:
            found.append(value)
    elif kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and "{{" in key:
                found.append(key)
            item_kind = type(item)
            if item_kind is str:
                if "{{" in item:
                    found.append(item)
            elif item_kind not in _LEAVES:
                _template_strings(item, found)
    elif kind is list or isinstance(value, list | tuple):
        for item in value:
            _template_strings(item, found)
    elif isinstance(value, str) and "{{" in value:
        found.append(value)


class _LedgerInput(Exception):
    """Rendering met `{{ ledger.<field> }}`: the input is rendered again with the ledger's totals."""


class _SuiteBug(Exception):
    """A template cannot be rendered for a reason that lies in the scenario itself."""


class _Run:
    """The state of one scenario execution."""

    def __init__(self, scenario: Scenario, uniq: str) -> None:
        self.scenario = scenario
        self.uniq = uniq
        self.saved: dict[str, Any] = {}
        self.steps: list[StepResult] = []
        self.failures: list[Failure] = []
        self.infra: str | None = None  # the first infrastructure error
        self.notes: list[str] = []
        self.resolve: Callable[[Expression], Any] | None = None  # template values, made once per execution
        self.refused_at: tuple[int, str, str] | None = None  # (step, infno, cause) of the flow's expected refusal
        self.unsaved: dict[str, int] = {}  # saved names a step could not save -> that step's index
        self.internal: str = ""  # the first internal error's reason ("" when none)
        self.trace: str = ""  # its traceback, for the evidence

    def crashed(self, exc: BaseException) -> None:
        """A bug of the harness (an exception in rendering, evaluation, checks, listeners): the first one counts."""
        if not self.internal:
            self.internal = internal_error_reason(exc)
            self.trace = "".join(traceback.format_exception(exc))

    def refused(self, index: int, infno: str, cause: str) -> None:
        """The flow's expected refusal happened (the first one counts)."""
        if self.refused_at is None:
            self.refused_at = (index, infno, cause)

    @property
    def clause(self) -> str:
        return self.scenario.clauses[0] if self.scenario.clauses else f"{self.scenario.interface}"


class Runner(ResponseJudge):
    """Runs scenarios against one target for one site and profile."""

    def __init__(self, target: Target, registry: SpecRegistry, profile: Profile | str, site: SiteConfig,
                 events: Callable[[RunEvent], None] | None = None, seed: int = 0, *,
                 breaker_threshold: int | None = None, clock: Callable[[], datetime] = datetime.now,
                 fault_switch: Callable[[Mapping[str, Any]], str | None] | None = None) -> None:
        self.target = target
        self.registry = registry
        self.profile = registry.profile(profile) if isinstance(profile, str) else profile
        self.validator = registry.validator(self.profile.id)
        self.site = site
        self.seed = seed
        self.breaker_threshold = breaker_threshold or site.limits.breaker_threshold or DEFAULT_BREAKER_THRESHOLD
        self.clock = clock
        # How a step's `fault` is switched on at the reference platform: None when done, else why not.
        self.fault_switch = fault_switch or (lambda fault: switch_fault(site.base_url, fault,
                                                                        timeout_s=min(site.limits.timeout_s, 5.0)))
        self._listeners: list[Callable[[RunEvent], None]] = [events] if events else []
        self.listener_errors: list[str] = []  # exceptions a listener raised (reported by the session)
        self._executions: dict[str, int] = {}
        self._provisioned: set[str] = set()
        self._sign_no: str | None = None
        self._sign_in_failure: Failure | None = None
        self._consecutive_infra = 0
        self.breaker_reason: str | None = None
        self.sign_in_exchange: Exchange | None = None
        self.ledger = Ledger()  # what this run settled and reversed, for 3201 ({{ ledger.<field> }})
        # Profile values read on every message, taken once (a Profile builds them from its raw dict on each read).
        self._extra_envelope_fields = tuple((self.profile.extra_fields.get("envelope") or {}).items())
        # the profile's err_msg patterns, then the site config's [err_msg_patterns] (compiled once)
        self.err_msg_patterns = merged_patterns(self.profile.err_msg_patterns,
                                                getattr(site, "err_msg_patterns", None) or {})
        self.first_findings: dict[tuple[str, str], str] = {}  # one schema finding per (interface, clause) and run
        self._field_types: dict[str, str] | None = None

    # --- events -------------------------------------------------------------------------------

    def add_listener(self, listener: Callable[[RunEvent], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[RunEvent], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, kind: str, scenario_id: str = "", **payload: Any) -> None:
        event = RunEvent(kind=kind, scenario_id=scenario_id, payload=payload)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception as exc:  # a reporter's bug must not end the scenario, nor lose what it sent
                self.listener_errors.append(f"{kind}: {internal_error_reason(exc)}")

    @property
    def breaker_open(self) -> bool:
        return self.breaker_reason is not None

    # --- one scenario -------------------------------------------------------------------------

    def run_scenario(self, scenario: Scenario) -> ScenarioResult:
        started = time.perf_counter()
        self.emit("scenario-started", scenario.id, title=scenario.title)
        result = self._execute(scenario, started)
        self.emit("scenario-finished", scenario.id, result=result)
        return result

    def _execute(self, scenario: Scenario, started: float) -> ScenarioResult:
        def finish(outcome: Outcome | None, reason: str = "", run: _Run | None = None) -> ScenarioResult:
            # Each finding with its effective grade (the profile's override, capped by the scenario's grade).
            graded = [_bounded(replace(f, grade=effective_grade(f, scenario.grade, self.profile)))
                      for f in (run.failures if run else ())]
            if outcome is None:  # the steps ran: FAILED only for a MUST finding (harness.verdict.graded_outcome)
                outcome = graded_outcome(graded)
            failures = sorted(graded, key=lambda f: (f.grade.rank, f.severity.rank))
            return ScenarioResult(scenario_id=scenario.id, outcome=outcome, clauses=scenario.clauses,
                                  duration_ms=round((time.perf_counter() - started) * 1000, 3),
                                  steps=tuple(run.steps) if run else (), failures=tuple(failures), reason=reason,
                                  internal_error=run.trace if run else "")

        if self.breaker_open:
            return finish(Outcome.ERROR, f"not run: {self.breaker_reason}")
        missing = [cap for cap in scenario.capabilities if cap not in self.site.capabilities]
        if missing:
            return finish(Outcome.NOT_APPLICABLE, f"the site does not declare capability {', '.join(missing)}")
        unoffered = sorted({step.infno for step in scenario.steps if not self.site.offers(step.infno)})
        if unoffered:
            return finish(Outcome.NOT_APPLICABLE, f"the site does not offer {', '.join(unoffered)} (not_offered)")
        faulty = next((s for s in (*scenario.steps, *scenario.teardown) if s.fault), None)
        if faulty is not None and not self.site.reference:
            return finish(Outcome.NOT_APPLICABLE, f"the scenario makes the platform lose an answer ({faulty.fault} "
                          f"on {faulty.infno}), which only the embedded reference platform can do (reference = true)")
        if (untampered := tamper_not_applicable(scenario, self.target)) is not None:
            return finish(Outcome.NOT_APPLICABLE, untampered)
        try:
            if scenario.id not in self._provisioned:  # the site config does not change during a run
                self._preflight(scenario)
                self._provisioned.add(scenario.id)
        except _NotProvisioned as exc:
            return finish(Outcome.NOT_PROVISIONED, str(exc))
        count = self._executions[scenario.id] = self._executions.get(scenario.id, 0) + 1
        run = _Run(scenario, self._uniq(scenario.id, count))
        stand_in = self.site.stand_in(scenario.archetype)
        if stand_in:  # the site gives one person per behaviour: a variant runs with its fallback's person
            run.notes.append(f"run with the person of {stand_in} (no [identities.{scenario.archetype}]; "
                             f"{stand_in} stands in)")
        try:
            if not self._ensure_signed_in(run):
                outcome = Outcome.ERROR if run.infra else Outcome.FAILED
                return finish(outcome, f"sign-in (9001) failed: {run.infra}" if run.infra else "", run)
            if self._run_steps(run, scenario.steps, teardown=False) and not run.internal:
                self._no_refusal_at_all(run)
        except Exception as exc:  # a bug of the harness: what was sent stays recorded, the teardown still runs
            run.crashed(exc)
        if not self.breaker_open:
            try:
                self._run_steps(run, scenario.teardown, teardown=True)
            except Exception as exc:
                run.crashed(exc)
        if run.internal:
            infra = [run.infra] if run.infra and run.internal not in run.infra else []
            return finish(Outcome.ERROR, "; ".join([run.internal, *infra, *run.notes]), run)
        if run.infra:
            return finish(Outcome.ERROR, "; ".join([run.infra, *run.notes]), run)
        return finish(None, "; ".join(run.notes), run)  # the outcome follows from the graded findings

    def _no_refusal_at_all(self, run: _Run) -> None:
        """A flow whose refusal may come at any step, that no step refused, accepted the person: a MUST finding.

        (When its settlement step expects the refusal, that step already says so; this covers the rest.)
        """
        cause = next((s.expect.may_refuse for s in run.scenario.steps if s.expect.may_refuse), None)
        if cause is None or run.refused_at is not None or run.infra:
            return
        if any(f.grade is Grade.MUST and f.severity is not Severity.WARNING for f in run.failures):
            return  # the flow already failed (e.g. the settlement was accepted): no second word for it
        run.failures.append(Failure(
            title=f"the site accepted the whole flow for a person it must refuse ({self._cause_title(cause)}): no "
                  "step was refused 整个流程未被拒绝", clause=self._clause_of(cause, run.clause),
            severity=Severity.CRITICAL, expected=f"a refusal for {cause} at some step", actual="every step succeeded"))

    def _uniq(self, scenario_id: str, count: int) -> str:
        digest = hashlib.sha256(f"{self.seed}:{scenario_id}:{count}".encode()).hexdigest()
        number = int(digest, 16) % 10**11
        return f"{1 + int(digest[0], 16) % 9}{number:011d}"  # 12 digits, never a leading zero

    def _preflight(self, scenario: Scenario) -> None:
        """Check before sending anything that the site provides every identity, item and value used."""
        if scenario.archetype and self.site.identity(scenario.archetype) is None:
            raise _NotProvisioned(f"the site config gives no test identity for archetype {scenario.archetype!r} "
                                  f"(add [identities.{scenario.archetype}] to {self.site.source or 'the site config'})")
        identity = self.site.identity(scenario.archetype) if scenario.archetype else {}
        site_values = self.site.template_values()
        # One regex pass over the template strings (those holding `{{`), in document order.
        strings: list[str] = []
        for step in (*scenario.steps, *scenario.teardown):
            _template_strings(step.input, strings)
            _template_strings(step.envelope, strings)
        for namespace, name in _PROVIDED.findall("\x00".join(strings)):  # \x00: no match spans two strings
            if namespace == "identity" and name not in (identity or {}):
                raise _NotProvisioned(f"the test identity for archetype {scenario.archetype!r} lacks "
                                      f"{name!r} (used as {{{{ identity.{name} }}}})")
            if namespace == "site" and name not in site_values:
                raise _NotProvisioned(f"the site config gives no value {name!r} (add it under [values])")
            if namespace == "item":
                alias, _, field = name.partition(".")
                if field not in self.site.items.get(alias, {}):
                    raise _NotProvisioned(f"the site config gives no catalogue item {alias!r} with {field!r} "
                                          f"(add [items.{alias}])")

    # --- sign-in ------------------------------------------------------------------------------

    def _ensure_signed_in(self, run: _Run) -> bool:
        if not self.profile.require_sign_in or self._sign_no is not None:
            return True
        if self._sign_in_failure is not None:
            run.failures.append(self._sign_in_failure)
            return False
        envelope = self._envelope("9001", {"signIn": {"opter_no": self.site.opter[:20], "mac": "02-00-00-00-00-01",
                                                      "ip": "127.0.0.1"}}, identity=None, sign_no="")
        exchange = self.target.send("9001", envelope)
        self.sign_in_exchange = exchange
        self.emit("sign-in", run.scenario.id, exchange=exchange)
        if self._infra(run, exchange):
            run.steps.append(StepResult(-1, "9001", exchange))  # index -1: the run's sign-in, not a scenario step
            return False
        response = parse_response(exchange) or {}
        found, sign_no = resolve_path(response, "output.signinoutb.sign_no")
        if infcode_of(response) == 0 and found and isinstance(sign_no, str) and sign_no:
            self._sign_no = sign_no
            if isinstance(response.get("infcode"), str):  # "0": signed in; the type is reported once
                failure = self._once(run, -1, "9001", Failure(
                    title=f"response does not conform: /infcode is {show_infcode(response.get('infcode'))} at sign-in, "
                          "the spec types it as a number 交易状态码应为数值", clause="ENV.resp.infcode",
                    severity=Severity.MINOR, expected="0 (a number)", actual=show_infcode(response.get("infcode")),
                    detail="the run goes on signed in; interface-facts §1.2 [C]: real platforms send a JSON number"))
                run.failures.append(failure)
                run.steps.append(StepResult(-1, "9001", exchange, (failure,)))
            return True
        self._sign_in_failure = Failure(
            title="sign-in (9001) was refused, so no transaction can run", clause="R-SIGN-IN-REQUIRED",
            severity=Severity.CRITICAL, expected="infcode 0 and output.signinoutb.sign_no",
            actual=describe_answer(exchange, response),
            evidence={"url": exchange.url, "operator": self.site.opter},
        )
        run.failures.append(self._sign_in_failure)
        run.steps.append(StepResult(-1, "9001", exchange, (self._sign_in_failure,)))
        return False

    # --- envelopes ----------------------------------------------------------------------------

    def _next_msgid(self, fixmedins_code: str, now: datetime, stamp: str | None = None) -> str:
        return make_msgid(fixmedins_code, now, stamp)

    def _envelope(self, infno: str, input: Mapping[str, Any], *, identity: Mapping[str, Any] | None,
                  sign_no: str | None = None, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        site, now = self.site, self.clock()
        stamp = f"{now:%Y%m%d%H%M%S}"  # formatted once: inf_time and the msgid's timestamp are the same moment
        base: dict[str, Any] = {
            "infno": infno,
            "msgid": "",
            "mdtrtarea_admvs": site.mdtrtarea_admvs,
            "insuplc_admdvs": str((identity or {}).get("insuplc_admdvs") or ""),
            "recer_sys_code": site.recer_sys_code or self.profile.recer_sys_code or "MBS_LOCAL",
            "dev_no": "",
            "dev_safe_info": "",
            "cainfo": "",
            "signtype": "",
            "infver": site.infver or self.profile.infver,
            "opter_type": site.opter_type,
            "opter": site.opter,
            "opter_name": site.opter_name,
            "inf_time": f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]} {stamp[8:10]}:{stamp[10:12]}:{stamp[12:]}",
            "fixmedins_code": site.fixmedins_code,
            "fixmedins_name": site.fixmedins_name,
            "sign_no": (self._sign_no or "") if sign_no is None else sign_no,
            "input": input,  # template values are made JSON-ready when resolved
        }
        if overrides:
            base.update(overrides)
            for name in [name for name, value in overrides.items() if value is OMIT]:  # `{{ omit }}`: leave it out
                del base[name]  # (an override, so neither the msgid nor a profile's extra field fills it in again)
        if not (overrides and "msgid" in overrides):
            base["msgid"] = self._next_msgid(str(base.get("fixmedins_code") or site.fixmedins_code), now, stamp)
        # The profile's extra envelope fields (e.g. Guangdong's recer_admdvs = "{mdtrtarea_admvs}"): literals
        # whose {placeholders} name other envelope fields; a step's own override of the field wins.
        for name, value in self._extra_envelope_fields:
            if not (overrides and name in overrides):
                base[name] = _PLACEHOLDER.sub(lambda m: str(base.get(m.group(1), "")), str(value))
        return base

    # --- templates ----------------------------------------------------------------------------

    def _resolver(self, run: _Run) -> Callable[[Expression], Any]:
        """Values for templates, JSON-ready (Decimals from TOML or responses become JSON numbers)."""
        identity = self.site.identity(run.scenario.archetype) if run.scenario.archetype else None
        site_values = self.site.template_values()

        def resolve(expr: Expression) -> Any:
            ns, name = expr.namespace, expr.name
            if ns == "identity":
                if identity is None or name not in identity:
                    raise _NotProvisioned(f"no identity field {name!r} for archetype {run.scenario.archetype!r}")
                return jsonable(identity[name])
            if ns == "site":
                if name not in site_values:
                    raise _NotProvisioned(f"the site config gives no value {name!r}")
                return jsonable(site_values[name])
            if ns == "item":
                alias, _, field = name.partition(".")
                item = self.site.items.get(alias) or {}
                if field not in item:
                    raise _NotProvisioned(f"the site config gives no item {alias!r} with {field!r}")
                return jsonable(item[field])
            if ns == "saved":
                if name not in run.saved:
                    raise _SuiteBug(f"saved.{name} is not set (no earlier step saved it, or that step failed)")
                return jsonable(run.saved[name])
            if ns == "run":
                return run.uniq
            if ns == "omit":
                return OMIT
            if ns == "now":
                now = self.clock()
                if name == "datetime":
                    return f"{now:%Y-%m-%d %H:%M:%S}"
                if name == "date":
                    return f"{now:%Y-%m-%d}"
                days = int(name[name.index("(") + 1: name.index(")")])
                return f"{now + timedelta(days=days):%Y-%m-%d}"
            raise _SuiteBug(f"template namespace {ns!r} cannot be resolved at run time")

        return resolve

    # --- steps --------------------------------------------------------------------------------

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
        names = _SAVED.findall("\x00".join(strings))
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

    def _render_input(self, step: Step, envelope_resolve: Callable[[Expression], Any]) -> Any:
        """Render the step input; `{{ ledger.<field> }}` is filled last, filtered by the rendered input."""

        def resolve(expr: Expression) -> Any:
            if expr.namespace == "omit":
                raise _SuiteBug("{{ omit }} removes envelope fields only; to leave an input field out, do not write it")
            if expr.namespace == "ledger":
                raise _LedgerInput
            return envelope_resolve(expr)

        # Rendered as a plain template first: only a 3201 step asks the ledger, so the others are not searched
        # for ledger expressions beforehand (rendering has no effect but the values it asks for).
        try:
            return render(step.input, resolve)
        except _LedgerInput:
            pass
        except TemplateSyntaxError:
            if not mentions_ledger(step.input):  # a malformed ledger field is reported by fill_ledger below
                raise
        rendered = unprotect(render(protect(step.input), resolve))
        overrides = render(step.envelope, envelope_resolve)
        named = overrides.get("fixmedins_code")
        code = str(named) if named and named is not OMIT else self.site.fixmedins_code
        return fill_ledger(rendered, jsonable(self.ledger.totals(code, first_node(rendered))))

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

    # --- infrastructure -----------------------------------------------------------------------

    def _infra(self, run: _Run, exchange: Exchange) -> bool:
        if exchange.error is None:
            self._consecutive_infra = 0
            return False
        self._consecutive_infra += 1
        run.infra = run.infra or f"{exchange.infno} at {exchange.url}: {exchange.error}"
        if self._consecutive_infra >= self.breaker_threshold and not self.breaker_open:
            self.breaker_reason = (f"circuit breaker open after {self._consecutive_infra} consecutive "
                                   f"infrastructure errors (last: {exchange.infno} {exchange.error} at {exchange.url})")
            self.emit("breaker-open", run.scenario.id, reason=self.breaker_reason)
        return True

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

    # --- expectations -------------------------------------------------------------------------

