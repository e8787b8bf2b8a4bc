"""How the runner judges a response: schema, success or refusal (and its cause), golden values, checks, saves."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.checks import CheckContext, run_check, run_interface_checks
from harness.model import Exchange, Failure, Severity, Step
from harness.runner.messages import SETTLING, describe_answer, field_clause, resolve_path, same_value, show

if TYPE_CHECKING:
    from harness.runner.engine import _Run
    from harness.runner.ledger import Ledger
    from harness.siteconfig import SiteConfig
    from harness.specs import MessageValidator, Profile, SpecRegistry

__all__ = ["ResponseJudge"]


class ResponseJudge:
    """The response-evaluation half of the Runner (a mixin: it uses the runner's validator, profile, site)."""

    validator: MessageValidator
    profile: Profile
    registry: SpecRegistry
    site: SiteConfig
    ledger: Ledger
    err_msg_patterns: Mapping[str, tuple[str, ...]]  # the profile's, read once

    def _evaluate(self, run: _Run, step: Step, index: int, envelope: Mapping[str, Any], exchange: Exchange,
                  response: Mapping[str, Any], failures: list[Failure]) -> bool:
        expect = step.expect
        infcode = response.get("infcode")
        succeeded = infcode == 0 and not isinstance(infcode, bool)
        answer = exchange.response_json
        valid = self.validator.is_valid_response(step.infno, answer)
        for violation in () if valid else self.validator.validate_response(step.infno, answer):
            if not expect.output_schema and violation.path.startswith("/output"):
                continue
            failures.append(Failure(title=f"response does not conform: {violation.path or '/'} {violation.message}",
                                    clause=violation.clause, severity=Severity.MINOR, expected=violation.expected,
                                    actual=violation.actual, step=index,
                                    detail=violation.render()))
        if succeeded or expect.ok is False:  # a refusal may be saved whole, e.g. to compare a replay with
            self._save(run, step, index, envelope, response, failures)
        as_expected = True
        if expect.ok is True and not succeeded:
            as_expected = False
            if "infcode" in response:
                title = f"expected success, the site refused: {str(response.get('err_msg') or '').strip()}"
            else:
                title = f"expected success, got {describe_answer(exchange, response)}"
            failures.append(Failure(title=title, clause=run.clause, severity=Severity.MAJOR, expected="infcode 0",
                                    actual=describe_answer(exchange, response), step=index))
        elif expect.ok is False:
            as_expected = self._check_refusal(run, step, index, response, succeeded, failures)
        if as_expected and (succeeded or expect.ok is False):
            if succeeded and expect.ok is True:
                self._golden(run, step, index, response, failures)
            ctx = CheckContext(infno=step.infno, step=step, step_index=index, request=envelope, response=response,
                               saved=dict(run.saved), profile=self.profile, registry=self.registry,
                               ledger=self.ledger)
            names = list(expect.checks)
            if expect.ok is False and "refusal.shape" not in names:
                names.insert(0, "refusal.shape")
            for name in names:
                failures.extend(run_check(name, ctx))
            if succeeded:  # the checks every successful answer of this interface gets (checks-by-interface.json)
                failures.extend(run_interface_checks(ctx, listed=names, memory=run.saved))
        return as_expected

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
            failures.append(Failure(title=f"expected a refusal{f' ({cause})' if cause else ''}, the site accepted",
                                    clause=clause, severity=Severity.CRITICAL if state else Severity.MAJOR,
                                    expected="infcode -1", actual="infcode 0", step=index))
            return False
        if response.get("infcode") != -1:
            return True  # refusal.shape reports a wrong infcode
        if cause:
            err_msg = str(response.get("err_msg") or "")
            patterns = self.err_msg_patterns.get(cause, ())
            if not any(re.search(p, err_msg) for p in patterns):
                other = next((c for c, ps in self.err_msg_patterns.items()
                              if c != cause and any(re.search(p, err_msg) for p in ps)), None)
                hint = f" (it reads like {other!r})" if other else ""
                # The reference platform's messages are exact, so there an unmatched cause is a finding.
                failures.append(Failure(
                    title=f"refused, cause unconfirmed: err_msg matches no pattern of {cause!r}{hint}",
                    clause=clause, severity=Severity.MAJOR if self.site.reference else Severity.WARNING,
                    expected=" | ".join(patterns) or f"(profile {self.profile.id} has no patterns for {cause})",
                    actual=err_msg, step=index))
        return True

    def _state_changing(self, infno: str) -> bool:
        try:
            return self.registry.interface(infno).state_changing
        except Exception:
            return infno in SETTLING

    def _save(self, run: _Run, step: Step, index: int, envelope: Mapping[str, Any], response: Mapping[str, Any],
              failures: list[Failure]) -> None:
        root = {**response, "request": envelope, "response": response}  # `response`: the whole envelope
        for name, path in step.expect.save.items():
            found, value = resolve_path(root, path)
            if found and value not in (None, ""):
                run.saved[name] = value
            elif step.expect.ok is not False:
                failures.append(Failure(title=f"cannot save {name}: {path} is missing from the response",
                                        clause=field_clause(step.infno, path) or run.clause, severity=Severity.MAJOR,
                                        expected=f"a value at {path}", actual="missing" if not found else repr(value),
                                        step=index))

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


