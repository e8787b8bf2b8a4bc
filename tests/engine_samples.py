"""Shared helpers for the engine's tests: a scripted fake site (a plain callable), sample scenarios.

Valid inputs and responses come from fixtures/examples (generated from the schemas and checked
against them), so the fake site answers with messages the validator accepts.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from harness.model import Expectation, Level, Scenario, Step
from harness.siteconfig import SiteConfig, embedded_site
from harness.transport import CallableTarget

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "fixtures" / "examples"


@cache
def _examples(infno: str) -> list[dict[str, Any]]:
    return json.loads((EXAMPLES / f"{infno}.json").read_text(encoding="utf-8"))


def example(infno: str, schema: str, description: str | None = None) -> Any:
    """The first valid example of `schema` (input, output, request, response) for an interface."""
    for group in _examples(infno):
        if group["schema"] != schema:
            continue
        for test in group["tests"]:
            if test["valid"] and (description is None or test["description"] == description):
                return copy.deepcopy(test["data"])
    raise LookupError(f"no valid {schema} example for {infno}")


def success(infno: str, output: Any = None) -> dict[str, Any]:
    response = example(infno, "response", "success") if (EXAMPLES / f"{infno}.json").exists() else {}
    response.update({"infcode": 0, "err_msg": None})
    if output is not None:
        response["output"] = output
    return response


def refusal(err_msg: str) -> dict[str, Any]:
    return {"infcode": -1, "inf_refmsgid": "", "refmsg_time": None, "respond_time": None, "err_msg": err_msg,
            "output": None}


SIGN_IN = {"infcode": 0, "inf_refmsgid": "520000202401010000000000000001", "refmsg_time": "20240101000000000",
           "respond_time": "20240101000000001", "err_msg": None,
           "output": {"signinoutb": {"sign_no": "SIGN-0001", "sign_time": "2024-01-01 00:00:00"}}}

Answer = Mapping[str, Any] | Callable[[Mapping[str, Any]], Any] | BaseException


def as_asked(answer: Any, envelope: Mapping[str, Any]) -> Any:
    """The example answer as a correct site gives it: the example's placeholder identities replaced by the
    request's (psn_no, mdtrt_id, medins_setl_id = msgid), and setldetail rows with the sign of the setlinfo
    amounts (a reversal). Values a test set on purpose are not the example's, so they stay as they are."""
    output = answer.get("output") if isinstance(answer, Mapping) else None
    info = output.get("setlinfo") if isinstance(output, Mapping) else None
    if not isinstance(info, dict):
        return answer
    node = (envelope.get("input") or {}).get("data")
    data = node if isinstance(node, Mapping) else {}
    sample = example("2207", "response", "success")["output"]
    placeholders = sample["setlinfo"]
    answer = copy.deepcopy(answer)
    info = answer["output"]["setlinfo"]
    for name in ("psn_no", "mdtrt_id"):
        if info.get(name) == placeholders[name] and data.get(name):
            info[name] = data[name]
    if info.get("medins_setl_id") == placeholders["medins_setl_id"]:
        info["medins_setl_id"] = envelope.get("msgid")
    rows = answer["output"].get("setldetail")
    if isinstance(rows, list) and rows == sample["setldetail"] and Decimal(str(info.get("fund_pay_sumamt", 0))) < 0:
        for row in rows:
            row["fund_payamt"], row["inscp_scp_amt"] = -row["fund_payamt"], -row["inscp_scp_amt"]
    return answer


class FakeSite:
    """A scripted site: answers per infno (a response dict, a callable of the envelope, or an exception)."""

    def __init__(self, answers: Mapping[str, Answer] | None = None) -> None:
        self.answers: dict[str, Answer] = {"9001": SIGN_IN, **(answers or {})}
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, infno: str, envelope: Mapping[str, Any]) -> tuple[int, dict[str, str], str]:
        self.sent.append((infno, json.loads(json.dumps(envelope))))
        answer = self.answers.get(infno)
        if answer is None:
            answer = success(infno)
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(envelope)
            if isinstance(answer, BaseException):
                raise answer
        answer = as_asked(answer, envelope)
        return 200, {"Content-Type": "application/json"}, json.dumps(answer, ensure_ascii=False, default=str)

    def infnos(self) -> list[str]:
        return [infno for infno, _ in self.sent]

    def target(self) -> CallableTarget:
        return CallableTarget(self)


def site(*, reference: bool = False, capabilities: tuple[str, ...] | None = None) -> SiteConfig:
    from dataclasses import replace

    base = embedded_site("http://127.0.0.1:1")
    return replace(base, reference=reference, capabilities=capabilities or base.capabilities)


def scenario(steps: tuple[Step, ...], *, id: str = "outpatient.sample.flow", teardown: tuple[Step, ...] = (),
             archetype: str | None = "filed-employee", capabilities: tuple[str, ...] = ("outpatient",),
             level: Level = Level.MANDATORY, area: str = "outpatient", interface: str = "1101") -> Scenario:
    return Scenario(id=id, title="Sample flow", title_zh="示例流程", clauses=("R-FILING-REQUIRED",),
                    capabilities=capabilities, level=level, area=area, interface=interface, archetype=archetype,
                    steps=steps, teardown=teardown, fingerprint="f" * 16, source="tests/engine_samples.py")


def person_step(expect: Expectation | None = None) -> Step:
    """1101 for the scenario's identity."""
    return Step("1101", {"data": {"mdtrt_cert_type": "{{ identity.mdtrt_cert_type }}",
                                  "mdtrt_cert_no": "{{ identity.mdtrt_cert_no }}",
                                  "psn_cert_type": "{{ identity.psn_cert_type }}", "certno": "{{ identity.certno }}",
                                  "psn_name": "{{ identity.psn_name }}"}},
                expect or Expectation())


def settle_step(expect: Expectation | None = None, infno: str = "2207") -> Step:
    data = example(infno, "input")
    data["data"]["psn_no"] = "{{ identity.psn_no }}"
    return Step(infno, data, expect or Expectation())


def money(value: str) -> Decimal:
    return Decimal(value)
