"""The evidence of a client certification, written exactly as for a site run.

results.json (the harness's results document, each finding with its `grade` and the `msgid` it is
about, plus a flat `findings` list), exchanges.jsonl, junit.xml and allure-results/ (each case a
test, each exchange a step with the request, the answer and the findings: the pytest plugin replays
the judged cases), then certification.json, evidence.sha256, certificate.html and a ledger row
through `reporting.certify.finish_certification`. Its gate decides the exit code.
"""

from __future__ import annotations

import contextlib
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from harness import __version__
from harness.client.session import ReplayRunner, results_of
from harness.judge import CaseVerdict, Plan
from harness.model import Level, Scenario
from harness.pytest_plugin import ScenarioPlugin, run_pytest
from harness.reporting.certify import finish_certification
from harness.reporting.certify_particulars import interface_names, suite_fingerprint
from harness.reporting.gate import GatePolicy
from harness.reporting.ledger import default_ledger_path
from harness.reporting.record import RunInfo
from harness.reporting.results_json import results_document, write_exchanges, write_results
from harness.specs import load_registry

__all__ = ["ClientEvidence", "write_evidence"]


@dataclass(frozen=True, slots=True)
class ClientEvidence:
    run_dir: Path
    document: dict[str, Any]
    exit_code: int
    verdict: str
    certificate: Path | None


def _his_code(verdicts: list[CaseVerdict]) -> str:
    for verdict in verdicts:
        for obs in verdict.observed:
            code = str((obs.envelope or {}).get("fixmedins_code") or "")
            if code:
                return code
    return "unknown"


def _document(plan: Plan, verdicts: list[CaseVerdict], scenarios: list[Scenario], results: list[Any],
              run: dict[str, Any]) -> dict[str, Any]:
    document = results_document(results, {s.id: s for s in scenarios}, run=run, masked=False)
    flat = []
    for entry, result in zip(document["scenarios"], results, strict=True):
        for raw, failure in zip(entry["failures"], result.failures, strict=True):
            raw.setdefault("grade", failure.grade.value)
            raw.setdefault("msgid", str(failure.evidence.get("msgid") or ""))
            flat.append({"case": entry["id"], "clause": failure.clause, "grade": failure.grade.value,
                         "msgid": raw["msgid"], "infno": str(failure.evidence.get("infno") or ""),
                         "title": failure.title, "step": failure.step, "detail": failure.detail})
    document["findings"] = flat
    document["plan"] = {"name": plan.name, "title": plan.title, "title_zh": plan.title_zh, "source": plan.source}
    return document


def write_evidence(plan: Plan, verdicts: list[CaseVerdict], out: Path, *, profile: str, strict: bool,
                   started_at: str, reports_dir: Path | None = None, ledger: Path | None = None,
                   allure_report: bool = False, echo: Callable[[str], None] = lambda _t: None) -> ClientEvidence:
    out.mkdir(parents=True, exist_ok=True)
    scenarios, results = results_of(plan, verdicts)
    code = _his_code(verdicts)
    finished = datetime.now().astimezone().isoformat(timespec="seconds")
    run_id = f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    site = {"id": f"his-{code}", "name": f"HIS {code}", "fixmedins_code": code, "profile": profile,
            "reference": False, "capabilities": [plan.area], "base_url": "client mode"}
    run = {"run_id": run_id, "mode": "client", "site": site, "profile": profile, "plan": plan.name,
           "strict": strict, "spec_version": load_registry().version, "seed": None, "started_at": started_at,
           "finished_at": finished}
    document = _document(plan, verdicts, scenarios, results, run)
    write_results(out / "results.json", document)
    write_exchanges(out / "exchanges.jsonl", results, masked=False)
    by_id = {s.id: s for s in scenarios}
    plugin = ScenarioPlugin(scenarios, ReplayRunner({r.scenario_id: r for r in results}),  # type: ignore[arg-type]
                            interface_names=interface_names(), masked=False)
    with contextlib.redirect_stdout(io.StringIO()):
        run_pytest(plugin, root=Path.cwd(), alluredir=out / "allure-results", junitxml=out / "junit.xml")
    info = RunInfo(run_id=run_id, site_id=site["id"], site_name=site["name"], fixmedins_code=code,
                   environment="client", base_url="client mode", cert_profile=f"client-{plan.name}",
                   cert_profile_title_zh=plan.title_zh, cert_profile_title_en=plan.title, province_profile=profile,
                   spec_version=str(document["run"].get("spec_version") or ""),
                   suite_fingerprint=suite_fingerprint(document["scenarios"]), harness_version=__version__,
                   started_at=started_at, finished_at=finished, capabilities=(plan.area,))
    reports = reports_dir or out.parent
    outcome = finish_certification(out, info, scenarios=by_id, levels={s.id: Level.MANDATORY for s in scenarios},
                                   policy=GatePolicy(), ledger=ledger or default_ledger_path(reports),
                                   reports_dir=reports, allure=allure_report, progress=echo)
    return ClientEvidence(out, document, outcome.exit_code, outcome.gate.verdict, outcome.certificate)
