"""Gateway-signature steps: a request signed wrongly on purpose, which the site must refuse (R-GATEWAY-SIGNATURE).

A step with `tamper: <kind>` (harness.gateway.TAMPERS: signature-missing, signature-wrong, timestamp-stale,
app-unknown) is sent once with the target's signer swapped for `harness.gateway.tampered(signer, kind)`;
nothing else of the request changes. The site refused it when

- it answered an HTTP error status (the CSB gateway of the spec answers 401 `{"code":401,"message":…}`,
  湖南 V1.1.27 表6; no source gives the other families' texts, so neither the status nor the text is judged
  beyond "4xx"), or
- a JSON answer says so: infcode -1, or a gateway `code` that is not a success (0 / 200).

Otherwise the site accepted a request whose signature it cannot have verified: a finding against
R-GATEWAY-SIGNATURE (capped by the scenario's grade, which the gateway scenarios take from the tags of
the facts behind each family). A refusal with a server error (5xx) is a refusal, with a SHOULD note.

A scenario with such a step is NOT_APPLICABLE where the profile signs nothing (gateway family none), where
its family has no such part (a timestamp, an app id), or where it names another family (`needs:gateway-<family>`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.gateway import tampered
from harness.model import Exchange, Failure, Grade, Scenario, Severity, Step, StepResult
from harness.runner.messages import describe_answer, parse_response

if TYPE_CHECKING:
    from harness.runner.engine import Runner, _Run

__all__ = ["TAMPER_CLAUSE", "refused", "run_tampered_step", "tamper_not_applicable"]

TAMPER_CLAUSE = "R-GATEWAY-SIGNATURE"
FAMILY_TAG = "needs:gateway-"
_GOOD_CODES = ("0", "200")


def _holder(target: Any) -> Any:
    """The target object that owns the signer (a proxy or wrapper in front passes `.target` through)."""
    seen = 0
    while target is not None and seen < 8:
        if "signer" in getattr(target, "__dict__", {}):
            return target
        target, seen = getattr(target, "__dict__", {}).get("target"), seen + 1
    return None


def _family(target: Any) -> tuple[Any, str]:
    holder = _holder(target)
    signer = getattr(holder, "signer", None) if holder is not None else None
    return signer, str(getattr(signer, "family", "none")) if signer is not None else "none"


def tamper_not_applicable(scenario: Scenario, target: Any) -> str | None:
    """Why the scenario's tampered steps cannot run against this target (None: they can, or there are none)."""
    kinds = list(dict.fromkeys(s.tamper for s in (*scenario.steps, *scenario.teardown) if s.tamper))
    if not kinds:
        return None
    signer, family = _family(target)
    if family == "none":
        return "the profile's gateway signs no request (family none): there is no gateway signature to tamper with"
    named = [t.removeprefix(FAMILY_TAG) for t in scenario.tags if t.startswith(FAMILY_TAG)]
    if named and family not in named:
        return f"the scenario is about the {' / '.join(named)} gateway; this profile's gateway is {family}"
    lacking = [kind for kind in kinds if tampered(signer, kind) is None]
    if lacking:
        return f"the {family} gateway has nothing to tamper with for {', '.join(lacking)}"
    return None


def refused(exchange: Exchange, response: Mapping[str, Any]) -> bool:
    """Did the site (or its gateway) refuse the request? An HTTP error status, infcode -1 or a non-success code."""
    if exchange.status is not None and exchange.status >= 400:
        return True
    if str(response.get("infcode", "")).strip() == "-1":
        return True
    code = response.get("code")
    return "infcode" not in response and code is not None and str(code).strip() not in _GOOD_CODES


def run_tampered_step(runner: Runner, run: _Run, step: Step, index: int, envelope: Mapping[str, Any], *,
                      teardown: bool) -> bool:
    """Send the step with its signature tampered; a refusal is the expected answer. True: the flow goes on."""
    holder = _holder(runner.target)
    original = holder.signer
    holder.signer = tampered(original, str(step.tamper))
    try:
        exchange = runner.target.send(step.infno, envelope)
    finally:
        holder.signer = original
    # an answer came (a gateway's 401 page need not be JSON); only no answer at all is an infrastructure error
    if (exchange.status is None or exchange.status < 400) and runner._infra(run, exchange):
        return runner._record(run, StepResult(index, step.infno, exchange, (), teardown), [])
    response = (parse_response(exchange) if exchange.error is None else None) or {}
    failures: list[Failure] = []
    answer = describe_answer(exchange, response)
    if not refused(exchange, response):
        failures.append(Failure(
            title=f"the site accepted a request whose gateway signature was tampered ({step.tamper}) "
                  "篡改签名的请求未被网关拒绝",
            clause=TAMPER_CLAUSE, severity=Severity.CRITICAL, step=index,
            expected="a refusal: HTTP 401 (CSB {\"code\":401,\"message\":…}) or infcode -1", actual=answer,
            detail=f"{step.infno} was sent with {step.tamper}; a site that verifies its gateway signatures refuses "
                   "it before the platform handles the message"))
    elif exchange.status is not None and exchange.status >= 500:
        failures.append(Failure(
            title=f"the tampered request ({step.tamper}) was refused with a server error 网关拒绝应为401",
            clause=TAMPER_CLAUSE, severity=Severity.MINOR, step=index, grade=Grade.SHOULD,
            expected="HTTP 401 (the gateway's refusal)", actual=answer))
    else:
        run.notes.append(f"step {index + 1} ({step.infno}, {step.tamper}) refused as it must be: {answer}")
    runner._record(run, StepResult(index, step.infno, exchange, tuple(failures), teardown), failures)
    return True
