"""The client-side mutation score: the built-in HIS, conforming and with one planted bug at a time.

Each run is a fresh in-process session (no sockets): the driver performs every case of every plan
between case start and end; a lost answer (dropped connection, delay past the client's timeout) is
played without waiting. The conforming HIS must pass every case; each bug must be caught by at least
one MUST finding (a bug that only a SHOULD finding notices is reported as caught by SHOULD).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.client.session import ClientSession, load_plan
from harness.hisdriver import BUGS, SHOULD_BUGS, HisDriver, Lost, Reply
from harness.judge import CaseVerdict
from harness.model import Grade, Outcome
from harness.personas import load_catalogue
from harness.platform import HttpRequest

__all__ = ["SELFTEST_PLANS", "SELFTEST_PROFILE", "MutantOutcome", "drive", "run_selftest"]

SELFTEST_PLANS = ("hospital-outpatient", "hospital-inpatient", "pharmacy", "causes")
# A CSB province: the gateway headers and _api_name are judged too (signatures are not verified without keys).
SELFTEST_PROFILE = "jiangxi"


@dataclass(frozen=True, slots=True)
class MutantOutcome:
    name: str
    description: str
    caught: bool  # by a MUST finding (by a SHOULD finding for a bug that only breaks a SHOULD rule)
    caught_by: tuple[str, ...]  # the clauses of the MUST findings (or of SHOULD ones when no MUST caught it)
    grade: str  # MUST | SHOULD | "" (not noticed)


def in_process_post(session: ClientSession) -> Any:
    platform = session.platform
    timeout_ms = session.plan.client_timeout_ms

    def post(path: str, headers: dict[str, str], body: bytes) -> Reply:
        prepared = platform.prepare(HttpRequest("POST", path, dict(headers), body))
        late = prepared.delay_s * 1000 >= timeout_ms  # the HIS gave up; the platform still processes it
        response = platform.execute(prepared)
        if late or response.drop:
            raise Lost("timeout" if late else "connection dropped")
        return Reply(response.status, response.body)

    return post


def drive(plan_name: str, bugs: Sequence[str] = (), profile: str = SELFTEST_PROFILE, *,
          strict: bool = False) -> list[CaseVerdict]:
    """One session of the built-in HIS through a plan; the judged cases."""
    plan = load_plan(plan_name)
    session = ClientSession(plan, profile_name=profile, strict=strict)
    try:
        catalogue = load_catalogue()
        home = next((i.fixmedins_code for i in catalogue.institutions if i.kind == "pharmacy"), "") \
            if plan.area == "pharmacy" else ""
        driver = HisDriver(in_process_post(session), catalogue, session.judge.profile, bugs=frozenset(bugs),
                           institution=home)
        for case in plan.cases:
            session.start_case(case.id)
            driver.perform(case.id, case.persona)
            session.end_case(case.id)
        return session.finish()
    finally:
        session.close()


def _pass_rate(verdicts: list[CaseVerdict]) -> float:
    return round(sum(v.outcome is Outcome.PASSED for v in verdicts) / len(verdicts), 4) if verdicts else 0.0


def run_selftest(plans: Sequence[str] = SELFTEST_PLANS, bugs: Sequence[str] | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    conforming = [v for plan in plans for v in drive(plan)]
    advisories = sorted({f.clause for v in conforming for f in v.failures})
    mutants = []
    for name in bugs if bugs is not None else list(BUGS):
        verdicts = [v for plan in plans for v in drive(plan, [name])]
        must = sorted({f.clause for v in verdicts for f in v.failures if f.grade is Grade.MUST})
        should = sorted({f.clause for v in verdicts for f in v.failures if f.grade is not Grade.MUST})
        grade = "MUST" if must else ("SHOULD" if should else "")
        caught = bool(must) or (name in SHOULD_BUGS and bool(should))
        mutants.append(MutantOutcome(name, BUGS[name], caught, tuple(must or should), grade))
    caught = sum(m.caught for m in mutants)
    return {
        "profile": SELFTEST_PROFILE, "plans": list(plans),
        "conforming": {"pass_rate": _pass_rate(conforming), "cases": len(conforming),
                       "failed": [v.case_id for v in conforming if v.outcome is not Outcome.PASSED],
                       "findings": advisories},
        "mutants": [{"name": m.name, "caught": m.caught, "grade": m.grade, "caught_by": list(m.caught_by),
                     "description": m.description} for m in mutants],
        "score": round(caught / len(mutants), 4) if mutants else None,
        "duration_s": round(time.perf_counter() - started, 2),
    }  # fmt: skip
