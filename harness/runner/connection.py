"""The run's standing with the site: its sign-in (9001, once per Runner) and the circuit breaker.

Infrastructure errors (unreachable, timeout, not JSON, HTTP 5xx) make a scenario ERROR, never FAILED;
after `breaker_threshold` consecutive ones the breaker opens and later scenarios are not sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from harness.model import Exchange, Failure, Severity, StepResult
from harness.runner.messages import describe_answer, infcode_of, parse_response, resolve_path, show_infcode
from harness.runner.state import _Run

if TYPE_CHECKING:
    from harness.siteconfig import SiteConfig
    from harness.specs import Profile
    from harness.transport import Target

__all__ = ["Breaker", "Connection"]


class Breaker:
    """Consecutive infrastructure errors and, once open, why: one per run (`--jobs`: shared by its Runners)."""

    __slots__ = ("count", "lock", "reason")

    def __init__(self) -> None:
        self.count = 0
        self.reason: str | None = None
        self.lock = threading.Lock()


class Connection:
    """Sign-in and breaker part of the Runner (a mixin: it uses the runner's target, site, profile, emit)."""

    target: Target
    site: SiteConfig
    profile: Profile
    breaker_threshold: int
    breaker: Breaker
    sign_in_exchange: Exchange | None
    _sign_no: str | None
    _sign_in_failure: Failure | None
    emit: Callable[..., None]
    _envelope: Callable[..., dict[str, Any]]
    _once: Callable[[_Run, int, str, Failure], Failure]

    @property
    def breaker_open(self) -> bool:
        return self.breaker.reason is not None

    @property
    def breaker_reason(self) -> str | None:
        return self.breaker.reason

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


    def _infra(self, run: _Run, exchange: Exchange) -> bool:
        breaker = self.breaker
        with breaker.lock:
            if exchange.error is None:
                breaker.count = 0
                return False
            breaker.count += 1
            opens = breaker.count >= self.breaker_threshold and breaker.reason is None
            if opens:
                breaker.reason = (f"circuit breaker open after {breaker.count} consecutive infrastructure errors "
                                  f"(last: {exchange.infno} {exchange.error} at {exchange.url})")
        run.infra = run.infra or f"{exchange.infno} at {exchange.url}: {exchange.error}"
        if opens:
            self.emit("breaker-open", run.scenario.id, reason=breaker.reason)
        return True

