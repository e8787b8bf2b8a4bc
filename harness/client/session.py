"""Client certification end to end: the platform in judging mode, the case plans, the evidence.

The composition root of `hsa-cert client …` (layer 6, beside `session`): it loads a case plan
(YAML through the scenario loader, validated by specs/client-plan.schema.json), wires a `Judge` into
a reference platform through the platform's generic hooks (observer, screen, tolerate, admin
extension), scripts the platform per case (faults switched on at case start, off at case end), and
writes the same evidence as a site run: results.json, exchanges.jsonl, junit.xml, allure-results/,
certification.json, certificate.html and a ledger row. It prints only through `echo`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, UsageError
from harness.judge import OUTSIDE, CaseVerdict, Judge, Plan, load_rulebook, plan_from_data, tolerated
from harness.model import Level, RunEvent, Scenario, ScenarioResult
from harness.personas import load_catalogue
from harness.platform import HttpRequest, HttpResponse, Platform, PlatformConfig, parse_fault
from harness.platform.wire import json_response
from harness.resources import data_root, scenarios_dir
from harness.scenarios.diagnostics import Problem, render_problem
from harness.scenarios.loader import read_document
from harness.specs import load_registry

__all__ = ["PLANS_DIR", "ClientSession", "case_scenario", "list_plans", "load_plan", "results_of"]

PLANS_DIR = scenarios_dir() / "client"  # checkout or installed copy (harness.resources)
PLAN_SCHEMA = "client-plan.schema.json"
DEFAULT_PLAN = "hospital-outpatient"


def list_plans(root: Path | None = None) -> list[str]:
    return sorted(p.stem for p in (root or PLANS_DIR).glob("*.yaml"))


def load_plan(name: str, root: Path | None = None) -> Plan:
    """A plan by name (scenarios/client/<name>.yaml) or path, validated against the plan schema."""
    path = Path(name)
    if not path.suffix:
        path = (root or PLANS_DIR) / f"{name}.yaml"
    if not path.is_file():
        raise UsageError(f"no client plan {name!r}", location=str(path),
                         hint="known plans: " + ", ".join(list_plans(root)))
    problems: list[Problem] = []
    doc = read_document(path, root=data_root(), problems=problems)
    registry = load_registry()
    if not problems:
        problems += [Problem(doc.name, 0, 0, v.render()) for v in registry.validate_document(PLAN_SCHEMA, doc.data)]
    if not problems:
        known = {a.id for a in load_catalogue().archetypes}
        problems += [Problem(doc.name, 0, 0, f"case {c.get('id')}: unknown persona {c.get('persona')!r}")
                     for c in doc.data["cases"] if c.get("persona") and c["persona"] not in known]
    if problems:
        raise ConfigError("The client plan is not valid", location=str(path),
                          detail="\n".join(render_problem(p, doc.text) for p in problems))  # file:line, snippet
    return plan_from_data(doc.data, source=doc.name)


def _personas(plan: Plan, catalogue: Any) -> dict[str, dict[str, str]]:
    out = {}
    for case in plan.cases:
        if case.persona:
            p = catalogue.persona(case.persona)
            out[case.persona] = {"psn_no": p.psn_no, "certno": p.certno, "card_no": p.card_no}
    return out


def _insured(plan: Plan, catalogue: Any) -> dict[str, str]:
    """psn_no -> insured region of the plan's test persons."""
    return {p.psn_no: p.insuplc_admdvs for p in (catalogue.persona(c.persona) for c in plan.cases if c.persona)}


@dataclass
class ClientSession:
    """One judging session: a platform whose every exchange the judge sees, for one plan."""

    plan: Plan
    profile_name: str = "baseline"
    strict: bool = False
    db_path: str = ":memory:"
    # True: gateway signatures are verified with the HSA_PLATFORM_* credentials when set (client serve); False:
    # only the presence of the profile's gateway headers is judged (the self-test's HIS signs with made-up keys)
    verify_signatures: bool = False
    judge: Judge = field(init=False)
    platform: Platform = field(init=False)
    started_at: str = field(init=False)
    on_finish: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        registry = load_registry()
        if self.profile_name not in registry.profiles():
            raise UsageError(f"unknown profile {self.profile_name!r}", hint="known: " + ", ".join(registry.profiles()))
        profile = registry.profile(self.profile_name)
        catalogue = load_catalogue()
        self.judge = Judge(self.plan, book=load_rulebook(grade_overrides=profile.raw.get("grades") or {}),
                           profile=profile, validator=registry.validator(profile.id),
                           state_changing=frozenset(i.infno for i in registry.interfaces() if i.state_changing),
                           personas=_personas(self.plan, catalogue), strict=self.strict,
                           insured=_insured(self.plan, catalogue))
        self.platform = Platform(PlatformConfig(
            db_path=self.db_path, profile=profile.id, seed=catalogue.seed, observer=self.judge.observe,
            screen=self.judge.screen, tolerate=None if self.strict else tolerated, admin_extension=self.admin,
            gateway_credentials=None if self.verify_signatures else {}))
        self.started_at = datetime.now().astimezone().isoformat(timespec="seconds")
        self._lock = threading.Lock()

    # --- cases ------------------------------------------------------------------------------------

    def start_case(self, case_id: str) -> dict[str, Any]:
        with self._lock:
            case = self.judge.start_case(case_id)
            self.platform.faults.clear()
            spec = case.behaviour.fault_spec()
            if spec is not None:
                self.platform.faults.add(parse_fault(spec))
            return {"case": case.id, "persona": case.persona, "behaviour": case.behaviour.kind}

    def end_case(self, case_id: str) -> dict[str, Any]:
        with self._lock:
            self.judge.end_case(case_id)
            self.platform.faults.clear()
            return {"case": case_id, "ended": True}

    def admin(self, request: HttpRequest) -> HttpResponse:
        """`POST /__admin/session/case {"action": "start"|"end", "case": ID}`, `POST /__admin/session/finish`,
        `GET /__admin/session` (the plan's cases and the open one)."""
        path = request.path.rstrip("/")
        try:
            if path == "/__admin/session" and request.method == "GET":
                return json_response({"plan": self.plan.name, "current": self.judge.current,
                                      "cases": [c.id for c in self.plan.cases]})
            if path == "/__admin/session/case" and request.method == "POST":
                body = json.loads(request.body or b"{}")
                action, case_id = str(body.get("action", "start")), str(body.get("case", ""))
                if action not in ("start", "end"):
                    return json_response({"code": 400, "message": "action must be start or end"}, 400)
                answer = self.start_case(case_id) if action == "start" else self.end_case(case_id)
                return json_response(answer)
            if path == "/__admin/session/finish" and request.method == "POST":
                if self.on_finish is not None:
                    self.on_finish()
                return json_response({"finishing": True})
        except KeyError as exc:
            return json_response({"code": 404, "message": f"no case {exc} in plan {self.plan.name}"}, 404)
        except ValueError as exc:
            return json_response({"code": 400, "message": f"not JSON: {exc}"}, 400)
        return json_response({"code": 404, "message": f"no session route {request.method} {path}"}, 404)

    def finish(self) -> list[CaseVerdict]:
        return self.judge.finish()

    def close(self) -> None:
        self.platform.close()


# --- verdicts as the harness's results --------------------------------------------------------------


def case_scenario(plan: Plan, verdict: CaseVerdict) -> Scenario:
    case = verdict.case
    main = next((s.infno for s in reversed(case.flow) if s.infno not in ("9001", "9002")), case.flow[-1].infno) \
        if case else "----"
    clauses = tuple(dict.fromkeys([*(case.rules if case else ()), *(f.clause for f in verdict.failures)]))
    return Scenario(
        id=f"client.{plan.name}.{verdict.case_id}", title=case.title if case else "Exchanges outside every case",
        title_zh=case.title_zh if case else "不属于任何用例的交易", clauses=clauses, capabilities=(plan.area,),
        level=Level.MANDATORY, area=f"client-{plan.area}", interface=main,
        archetype=case.persona if case else None, steps=(), kind="client",
        source=plan.source, fingerprint=case.fingerprint if case else "", tags=("client",),
    )  # fmt: skip


def results_of(plan: Plan, verdicts: list[CaseVerdict]) -> tuple[list[Scenario], list[ScenarioResult]]:
    scenarios, results = [], []
    for verdict in verdicts:
        scenario = case_scenario(plan, verdict)
        scenarios.append(scenario)
        results.append(ScenarioResult(scenario_id=scenario.id, outcome=verdict.outcome, clauses=scenario.clauses,
                                      duration_ms=0.0, steps=tuple(verdict.steps),
                                      failures=tuple(verdict.failures),
                                      reason="" if verdict.case_id != OUTSIDE else "exchanges outside every case"))
    return scenarios, results


class ReplayRunner:
    """Stands in for the engine's Runner under the pytest plugin: it replays judged cases (each case an Allure
    test, each exchange a step with its request, answer and findings) so that junit and Allure come out
    of the same reporting code as a site run."""

    breaker_reason: str | None = None
    breaker_open = False

    def __init__(self, results: Mapping[str, ScenarioResult]) -> None:
        self.results = dict(results)
        self._listeners: list[Callable[[RunEvent], None]] = []

    def add_listener(self, listener: Callable[[RunEvent], None]) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[RunEvent], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def emit(self, kind: str, scenario_id: str = "", **payload: Any) -> None:
        for listener in self._listeners:
            listener(RunEvent(kind=kind, scenario_id=scenario_id, payload=payload))

    def run_scenario(self, scenario: Scenario) -> ScenarioResult:
        result = self.results[scenario.id]
        self.emit("scenario-started", scenario.id, title=scenario.title)
        for step in result.steps:
            msgid = step.exchange.request_body.get("msgid", "") if step.exchange else ""
            lost = step.exchange.error if step.exchange is not None else None
            self.emit("step-started", scenario.id, index=step.index, infno=step.infno, name=f"msgid {msgid}",
                      teardown=False, fault=lost)
            self.emit("step-finished", scenario.id, step=step)
        self.emit("scenario-finished", scenario.id, result=result)
        return result


def wait_until(event: threading.Event, stop: Callable[[], bool], poll_s: float = 0.2) -> None:
    while not event.is_set() and not stop():
        time.sleep(poll_s)
