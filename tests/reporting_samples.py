"""Hand-made runs for the reporting tests: records and results.json of a known mix of outcomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.model import Level, Outcome
from harness.reporting.record import FailureRecord, RunInfo, RunRecord, ScenarioRecord

# id, outcome, level, area, interface, clauses, reason
MIXED: tuple[tuple[str, Outcome, Level, str, str, tuple[str, ...], str], ...] = (
    ("outpatient.settle.reverse", Outcome.PASSED, Level.MANDATORY, "outpatient", "2207",
     ("R-MONEY-SUM", "R-REVERSAL-NEGATES"), ""),
    ("outpatient.not-filed.refused", Outcome.FAILED, Level.MANDATORY, "outpatient", "2207",
     ("R-FILING-REQUIRED", "R-CAUSE-NOT-FILED"), ""),
    ("outpatient.presettle.equals", Outcome.PASSED, Level.MANDATORY, "outpatient", "2206",
     ("R-PRESETTLE-EQUALS-SETTLE",), ""),
    ("chronic.settle.reverse", Outcome.NOT_PROVISIONED, Level.CONDITIONAL, "chronic", "2207",
     ("R-MONEY-SUM",), "no test identity for archetype chronic-filed"),
    ("inpatient.settle.reverse", Outcome.NOT_APPLICABLE, Level.CONDITIONAL, "inpatient", "2304",
     ("R-MONEY-SUM",), "the site does not declare capability inpatient"),
    ("protocol.2207.missing.psn_no", Outcome.PASSED, Level.MANDATORY, "protocol", "2207",
     ("2207.in.data.psn_no",), ""),
    ("envelope.inf_refmsgid", Outcome.FAILED, Level.OPTIONAL, "envelope", "2207",
     ("ENV.resp.inf_refmsgid",), ""),
)


def info(run_id: str = "20250101T000000-aaaa", site: str = "test-site", **over: Any) -> RunInfo:
    base = {
        "run_id": run_id,
        "site_id": site,
        "site_name": "测试医院 Test Hospital",
        "fixmedins_code": "H43010100001",
        "environment": "embedded",
        "base_url": "http://127.0.0.1:8080",
        "cert_profile": "hospital-outpatient",
        "cert_profile_title_zh": "定点医疗机构·跨省门诊直接结算",
        "cert_profile_title_en": "Hospital: cross-province outpatient direct settlement",
        "province_profile": "baseline",
        "spec_version": "v1.1.27",
        "suite_fingerprint": "f" * 64,
        "harness_version": "0.1.0",
        "seed": 20240101,
        "started_at": "2025-01-01T10:00:00+08:00",
        "finished_at": "2025-01-01T10:01:05+08:00",
        "capabilities": ("outpatient", "filing"),
    }
    base.update(over)
    return RunInfo(**base)


def scenario(sid: str, outcome: Outcome, level: Level = Level.MANDATORY, area: str = "outpatient",
             interface: str = "2207", clauses: tuple[str, ...] = ("R-MONEY-SUM",), reason: str = "") -> ScenarioRecord:
    failures = ()
    if outcome is Outcome.FAILED:
        failures = (FailureRecord(title=f"{sid}: expected refusal, got success", clause=clauses[0]),)
    return ScenarioRecord(id=sid, outcome=outcome, level=level, area=area, interface=interface,
                          title=sid, title_zh="场景" + sid, clauses=clauses, reason=reason, failures=failures)


def mixed_record(run_id: str = "20250101T000000-aaaa", **over: Any) -> RunRecord:
    return RunRecord(info(run_id, **over), tuple(scenario(*row) for row in MIXED))


def results_json(record: RunRecord, *, rich: bool = True) -> dict[str, Any]:
    """The engine's results.json shape (summary + per-scenario id, outcome, clauses, duration, failures).

    rich=True adds each scenario's area, interface, level and titles; without them the record must be
    completed from Scenario objects.
    """
    s = record.summary
    return {
        "summary": {"total": s.total, "passed": s.passed, "failed": s.failed, "error": s.error,
                    "not_provisioned": s.not_provisioned, "not_applicable": s.not_applicable,
                    "pass_rate": s.pass_rate},
        "scenarios": [
            {"id": sc.id, "outcome": sc.outcome.value, "clauses": list(sc.clauses), "duration_ms": 12.5,
             "reason": sc.reason,
             "failures": [{"title": f.title, "clause": f.clause, "severity": f.severity} for f in sc.failures],
             **({"area": sc.area, "interface": sc.interface, "level": sc.level.value, "title": sc.title,
                 "title_zh": sc.title_zh} if rich else {})}
            for sc in record.scenarios
        ],
    }


def write_run_dir(run_dir: Path, record: RunRecord) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "results.json").write_text(json.dumps(results_json(record), ensure_ascii=False), encoding="utf-8")
    lines = [json.dumps({"scenario": sc.id, "step": 0, "infno": sc.interface, "request": {"infno": sc.interface},
                         "response": {"infcode": 0}}, ensure_ascii=False) for sc in record.scenarios]
    (run_dir / "exchanges.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run_dir
