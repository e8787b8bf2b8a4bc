"""How the runner judges a response: schema, success or refusal (and its cause), golden values, checks, saves.

A refusal counts only when it is the refusal the case is about: its err_msg matches the expected
cause's patterns (the profile's, then the site config's `[err_msg_patterns]`). One that matches
another cause's patterns is a MUST finding naming both causes; one that matches no pattern is
inconclusive (a MAY note with `evidence["inconclusive"]`) that says how to make it conclusive. On
the reference platform the messages are exact, so there an unrecognised text is a finding.

One bad field is one finding: a schema finding about the same (interface, clause) is recorded in
full the first time in a run and as a MAY note pointing at the first one afterwards; a value of the
wrong JSON type (money as "12.50", infcode as "0") is still used by the flow and the checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from harness.checks import CheckContext, decimal_of, run_check, run_interface_checks
from harness.model import Exchange, Failure, Grade, Severity, Step
from harness.runner.messages import (
    SETTLING,
    describe_answer,
    field_clause,
    infcode_of,
    resolve_path,
    same_value,
    show,
    show_infcode,
)
from harness.runner.wire import scrubbed, wire_findings
from harness.specs import effective_grade

if TYPE_CHECKING:
    from harness.runner.ledger import Ledger
    from harness.runner.state import _Run
    from harness.siteconfig import SiteConfig
    from harness.specs import MessageValidator, Profile, SpecRegistry

__all__ = ["NOT_OFFERED", "ResponseJudge", "merged_patterns"]

NOT_OFFERED = "interface-not-offered"  # a pattern family, not a failure cause: "接口未开通", "交易不存在"


def merged_patterns(*tables: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[re.Pattern[str], ...]]:
    """cause -> compiled regexes, later tables' patterns added after earlier ones' (profile, then site)."""
    merged: dict[str, list[str]] = {}
    for table in tables:
        for cause, patterns in table.items():
            merged.setdefault(cause, []).extend(p for p in patterns if p not in merged.get(cause, []))
    return {cause: tuple(re.compile(p) for p in patterns) for cause, patterns in merged.items()}


class ResponseJudge:
    """The response-evaluation half of the Runner (a mixin: it uses the runner's validator, profile, site)."""

    validator: MessageValidator
    profile: Profile
    registry: SpecRegistry
    site: SiteConfig
    ledger: Ledger
    err_msg_patterns: Mapping[str, tuple[re.Pattern[str], ...]]  # profile's + site's, compiled once
    first_findings: dict[tuple[str, str], str]  # (interface or "ENV", clause) -> where it was first reported
    _field_types: dict[str, str] | None

    def _evaluate(self, run: _Run, step: Step, index: int, envelope: Mapping[str, Any], exchange: Exchange,
                  response: Mapping[str, Any], failures: list[Failure]) -> bool:
        """Judge one answer; False when the flow cannot use it (so the flow ends here)."""
        expect = step.expect
        infcode = infcode_of(response)
        succeeded = infcode == 0
        self._schema(run, step, index, exchange, response, failures)
        if succeeded or expect.ok is False:  # a refusal may be saved whole, e.g. to compare a replay with
            self._save(run, step, index, envelope, response, failures)
        if succeeded and step.infno == "1101":
            self._route_by_person(run, response)
        as_expected = True
        refused_as_allowed = False
        if expect.ok is True and not succeeded:
            if expect.may_refuse and infcode == -1:
                # success, or a refusal of exactly this cause: then it is the flow's expected refusal
                as_expected = refused_as_allowed = self._judge_cause(run, step, index, response, expect.may_refuse,
                                                                     failures)
            else:
                as_expected = False
                if "infcode" in response:
                    title = f"expected success, the site refused: {str(response.get('err_msg') or '').strip()}"
                else:
                    title = f"expected success, got {describe_answer(exchange, response)}"
                failures.append(Failure(title=title, clause=run.clause, severity=Severity.MAJOR,
                                        expected="infcode 0", actual=describe_answer(exchange, response), step=index))
        elif expect.ok is False:
            as_expected = self._check_refusal(run, step, index, response, succeeded, failures)
        if as_expected and (succeeded or expect.ok is False or refused_as_allowed):
            if succeeded and expect.ok is True:
                self._golden(run, step, index, response, failures)
            ctx = CheckContext(infno=step.infno, step=step, step_index=index, request=envelope, response=response,
                               saved=dict(run.saved), profile=self.profile, registry=self.registry,
                               ledger=self.ledger)
            names = list(expect.checks) if succeeded or expect.ok is False else []
            if (expect.ok is False or refused_as_allowed) and "refusal.shape" not in names:
                names.insert(0, "refusal.shape")
            for name in names:
                failures.extend(run_check(name, ctx))
            if succeeded:  # the checks every successful answer of this interface gets (checks-by-interface.json)
                failures.extend(run_interface_checks(ctx, listed=names, memory=run.saved))
        return as_expected

    # --- schema: one finding per (interface, clause) and run ------------------------------------

    def _schema(self, run: _Run, step: Step, index: int, exchange: Exchange, response: Mapping[str, Any],
                failures: list[Failure]) -> None:
        wire, structured = wire_findings(exchange, response, index)
        failures.extend(self._once(run, index, step.infno, finding) for finding in wire)
        if not structured:  # nested too deep to validate: that is the finding
            return
        answer = exchange.response_json
        if any(f.clause == "ENV.resp.unicode" for f in wire):
            answer = scrubbed(answer)
        raw = response.get("infcode")
        if isinstance(raw, str) and infcode_of(response) is not None:
            # the flow reads "0" as success; validate as if it were 0 (so the output is checked too) and
            # report the type once, with both JSON types shown
            answer = {**(answer or {}), "infcode": infcode_of(response)}
            # a profile that tolerates the deviation (deviations.json infcode-string) reports it as DEV.…
            tolerated = "infcode-string" in self.profile.tolerated_deviations
            failures.append(self._once(run, index, step.infno, Failure(
                title=f"response does not conform: /infcode is {show_infcode(raw)}, the spec types it as a number "
                      "(0 success, -1 refusal) 交易状态码应为数值",
                clause="DEV.infcode-string" if tolerated else "ENV.resp.infcode", severity=Severity.MINOR, step=index,
                expected=f"{infcode_of(response)} (a number)", actual=show_infcode(raw),
                detail="the flow goes on reading it as the number; interface-facts §1.2 [C]: real platforms send a "
                       "JSON number")))
        if self.validator.is_valid_response(step.infno, answer):
            return
        for violation in self.validator.validate_response(step.infno, answer):
            if not step.expect.output_schema and violation.path.startswith("/output"):
                continue
            failures.append(self._once(run, index, step.infno, Failure(
                title=f"response does not conform: {violation.path or '/'} {violation.message}",
                clause=violation.clause, severity=Severity.MINOR, expected=violation.expected,
                actual=violation.actual, step=index, detail=violation.render())))

    def _once(self, run: _Run, index: int, infno: str, failure: Failure) -> Failure:
        """The first finding of its (interface, clause) in the run as it is; later ones as a note pointing at it."""
        key = ("ENV" if failure.clause.startswith("ENV.") else infno, failure.clause)
        here = f"{run.scenario.id} step {index + 1} ({infno})" if index >= 0 else f"{run.scenario.id} sign-in ({infno})"
        first = self.first_findings.get(key)
        if first is None or first == here:
            # A scenario whose grade caps the finding (an advisory negative) does not take the first report:
            # else a MUST finding would be a MAY "again" note everywhere after it, and be lost.
            if effective_grade(failure, run.scenario.grade, self.profile) is not effective_grade(
                    failure, Grade.MUST, self.profile):
                return failure
            first = self.first_findings.setdefault(key, here)  # one step (`--jobs`: Runners share the dict)
        if first == here:
            return failure
        return Failure(title=f"again: {failure.title} (reported once per run, first at {first}) 同一问题已报告",
                       clause=failure.clause, severity=Severity.WARNING, grade=Grade.MAY, detail=failure.detail,
                       expected=failure.expected, actual=failure.actual, step=index,
                       evidence={"repeat_of": first})

    # --- refusals ---------------------------------------------------------------------------------

    def _check_refusal(self, run: _Run, step: Step, index: int, response: Mapping[str, Any], succeeded: bool,
                       failures: list[Failure]) -> bool:
        cause = step.expect.cause
        clause = run.clause
        if cause:
            try:
                clause = self.registry.cause(cause).clause
            except Exception:
                failures.append(Failure(title=f"suite bug: unknown failure cause {cause!r}", clause=run.clause,
                                        severity=Severity.MAJOR, step=index))
        if succeeded:
            state = self._state_changing(step.infno)
            title = f"expected a refusal{f' ({cause})' if cause else ''}, the site accepted"
            if cause and run.refused_at is None and any(s.expect.may_refuse for s in run.scenario.steps):
                # a flow whose refusal may come at any step: none came at all
                title = (f"the site accepted {step.infno} for a person it must refuse ({self._cause_title(cause)}): "
                         f"no step of the flow was refused 整个流程未被拒绝")
            failures.append(Failure(title=title, clause=clause, severity=Severity.CRITICAL if state else Severity.MAJOR,
                                    expected="infcode -1", actual=f"infcode {show_infcode(response.get('infcode'))}",
                                    step=index))
            return False
        if infcode_of(response) != -1:
            return True  # refusal.shape reports a wrong infcode
        if cause:
            # a refusal for another cause is a finding, but still a refusal: the flow can use it and goes on
            self._judge_cause(run, step, index, response, cause, failures)
        else:
            self._judge_not_offered(run, step, index, response, failures)
        return True

    def _cause_title(self, cause: str) -> str:
        try:
            found = self.registry.cause(cause)
        except Exception:
            return cause
        return f"{found.title_en.rstrip('.')}, {found.title_zh}"

    def _matching(self, err_msg: str, cause: str) -> bool:
        return any(p.search(err_msg) for p in self.err_msg_patterns.get(cause, ()))

    def _judge_cause(self, run: _Run, step: Step, index: int, response: Mapping[str, Any], cause: str,
                     failures: list[Failure]) -> bool:
        """A refusal expected for `cause`: True when it counts as that refusal (maybe inconclusively)."""
        err_msg = str(response.get("err_msg") or "")
        clause = self._clause_of(cause, run.clause)
        shown = " | ".join(p.pattern for p in self.err_msg_patterns.get(cause, ())) or \
            f"(no patterns for {cause} in profile {self.profile.id} or the site config)"
        if self._matching(err_msg, cause):
            run.refused(index, step.infno, cause)
            return True
        if self._matching(err_msg, NOT_OFFERED):
            failures.append(self._not_offered(step, index, err_msg, clause))
            return False  # nothing was judged: the interface is not there
        # Another cause's wording counts only where that cause can happen (rules.json applies_to): "原交易不存在"
        # answering a 5203 query is not the reversal-unknown refusal, whose patterns it happens to match.
        other = next((c for c in self.err_msg_patterns if c not in (cause, NOT_OFFERED)
                      and self._applies(c, step.infno) and self._matching(err_msg, c)), None)
        if other is not None:
            failures.append(Failure(
                title=f"refused for another cause: err_msg reads like {other!r}, the case is about {cause!r} "
                      f"因其他原因被拒绝", clause=clause, severity=Severity.MAJOR, expected=shown, actual=err_msg,
                step=index, evidence={"expected_cause": cause, "matched_cause": other}))
            return False
        if self.site.reference:  # the reference platform's messages are exact: an unmatched one is a finding
            failures.append(Failure(title=f"refused, cause unconfirmed: err_msg matches no pattern of {cause!r}",
                                    clause=clause, severity=Severity.MAJOR, expected=shown, actual=err_msg,
                                    step=index))
            return False
        failures.append(Failure(
            title=f"inconclusive: refused, but err_msg matches no pattern of {cause!r}; to make it conclusive add the "
                  f"site's wording to the site config: [err_msg_patterns] {cause} = [\"<regex>\"] 拒绝原因无法确认",
            clause=clause, severity=Severity.WARNING, grade=Grade.MAY, expected=shown, actual=err_msg, step=index,
            evidence={"inconclusive": True, "cause": cause, "err_msg": err_msg}))
        run.refused(index, step.infno, cause)
        return True

    def _applies(self, cause: str, infno: str) -> bool:
        """Whether the failure cause can be the answer of this interface (no applies_to: everywhere)."""
        try:
            applies_to = self.registry.cause(cause).applies_to
        except Exception:  # a site's own pattern family the spec does not name
            return True
        return not applies_to or infno in applies_to

    def _judge_not_offered(self, run: _Run, step: Step, index: int, response: Mapping[str, Any],
                           failures: list[Failure]) -> None:
        """A negative without a named cause is no pass when the site says it does not offer the interface."""
        err_msg = str(response.get("err_msg") or "")
        if self._matching(err_msg, NOT_OFFERED):
            failures.append(self._not_offered(step, index, err_msg, run.clause))

    def _not_offered(self, step: Step, index: int, err_msg: str, clause: str) -> Failure:
        return Failure(
            title=f"inconclusive: the site answered that {step.infno} is not offered, so the case was not judged; "
                  f"declare it under [site] not_offered if the site does not offer {step.infno} 接口未开通",
            clause=clause, severity=Severity.WARNING, grade=Grade.MAY, actual=err_msg, step=index,
            evidence={"inconclusive": True, "not_offered": step.infno, "err_msg": err_msg})

    def _clause_of(self, cause: str, default: str) -> str:
        try:
            return self.registry.cause(cause).clause
        except Exception:
            return default

    def _state_changing(self, infno: str) -> bool:
        try:
            return self.registry.interface(infno).state_changing
        except Exception:
            return infno in SETTLING

    # --- saves and golden values ------------------------------------------------------------------

    def _route_by_person(self, run: _Run, response: Mapping[str, Any]) -> None:
        """Route the visit's later calls to the insured region 1101 answered, as a HIS does (interface-facts:
        insuplc_admdvs comes from the person query), not to the region the site config believes: a site whose
        1101 names the wrong region is then refused or mis-settled where a hospital would be."""
        output = response.get("output")
        rows = output.get("insuinfo") if isinstance(output, Mapping) else None
        if not isinstance(rows, list) or not rows:
            return
        identity = self.site.identity(run.scenario.archetype) if run.scenario.archetype else None
        insutype = str((identity or {}).get("insutype") or "")
        row = next((r for r in rows if isinstance(r, Mapping) and str(r.get("insutype") or "") == insutype),
                   rows[0])
        region = row.get("insuplc_admdvs") if isinstance(row, Mapping) else None
        if isinstance(region, str) and re.fullmatch(r"[0-9]{6}", region):
            run.saved["_insuplc_admdvs"] = region

    def _save(self, run: _Run, step: Step, index: int, envelope: Mapping[str, Any], response: Mapping[str, Any],
              failures: list[Failure]) -> None:
        root = {**response, "request": envelope, "response": response}  # `response`: the whole envelope
        for name, path in step.expect.save.items():
            found, value = resolve_path(root, path)
            if found and value not in (None, ""):
                run.saved[name] = self._usable(step.infno, path, value)
            elif step.expect.ok is not False:
                run.unsaved.setdefault(name, index)
                failures.append(Failure(title=f"cannot save {name}: {path} is missing from the response",
                                        clause=field_clause(step.infno, path) or run.clause, severity=Severity.MAJOR,
                                        expected=f"a value at {path}", actual="missing" if not found else repr(value),
                                        step=index))

    def _usable(self, infno: str, path: str, value: Any) -> Any:
        """A saved value in the JSON type the spec gives its field, so later requests can use it.

        The wrong type itself is reported by the schema check (once per run); here "12.50" becomes the
        number 12.50 and a number id becomes its text, so the flow goes on instead of failing at the next
        request for a reason that is not the next step's.
        """
        clause = field_clause(infno, path)
        if not clause or isinstance(value, Mapping | list | bool):
            return value
        if self._field_types is None:
            self._field_types = {}
            for spec in self.registry.interfaces():
                for f in spec.fields("out"):
                    self._field_types[f.clause] = f.json_type
        wanted = self._field_types.get(clause)
        if wanted in ("number", "integer") and isinstance(value, str):
            number = decimal_of(value)
            return number if number is not None else value
        if wanted == "string" and isinstance(value, int | float | Decimal):
            return show(value)
        return value

    def _golden(self, run: _Run, step: Step, index: int, response: Mapping[str, Any], failures: list[Failure]) -> None:
        if not self.site.reference:
            return
        for path, expected in step.expect.golden.items():
            found, actual = resolve_path(response, path)
            if not found or not same_value(expected, actual):
                failures.append(Failure(title=f"{path} differs from the reference platform's golden value",
                                        clause=field_clause(step.infno, path) or run.clause,
                                        severity=Severity.CRITICAL, expected=show(expected),
                                        actual=show(actual) if found else "missing", step=index))
