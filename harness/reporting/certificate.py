"""The certificate: one printable A4 page, bilingual, rendered with jinja2 (autoescape on).

This is the only module that imports jinja2. The page embeds everything (inline CSS, system fonts
only, no script, no image, no link), so it prints and opens the same anywhere, offline. It is
rendered from `certification.json` alone, so `hsa-cert report DIR` can render it again.

Lists that could grow with the suite (findings, gaps) are cut to fixed lengths with "+N more", so
the page stays one page whatever the run; the full lists are in certification.json.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from harness.model import Grade, Outcome
from harness.reporting.console import AREA_NAMES_ZH
from harness.reporting.mutation_score import render_score
from harness.reporting.record import FailureRecord, RunRecord, ScenarioRecord, Tally
from harness.specs import GRADE_LABELS
from harness.specs.findings_zh import reason_both

__all__ = ["AREA_LABELS", "VERDICT_LABELS", "render_certificate", "render_page", "write_certificate"]

TEMPLATES = Path(__file__).with_name("templates")
MAX_FINDINGS = 6
MAX_GAPS = 4
MAX_CLAUSES = 14
MAX_ADVISORIES = 4
MAX_INCONCLUSIVE = 3
MAX_WAIVERS = 4

AREA_LABELS = AREA_NAMES_ZH  # one vocabulary for the console, Allure and the certificate
VERDICT_LABELS = {
    "certified": ("通过认证", "CERTIFIED"),
    "certified with waivers": ("附豁免通过认证", "CERTIFIED WITH WAIVERS 附豁免"),
    "not certified": ("未通过认证", "NOT CERTIFIED"),
    "incomplete": ("测试未完成（基础设施错误）", "INCOMPLETE: infrastructure error"),
}
ENVIRONMENT_LABELS = {
    "embedded": ("内置参考平台", "embedded reference platform"),
    "site": ("被测机构接口", "site under test"),
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every value from a site or a scenario is data, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pct"] = lambda rate: "–" if rate is None else f"{rate * 100:.1f}%"
    return env


def _duration(start: str, end: str) -> str:
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{seconds:.1f} s"


def _both(f: FailureRecord) -> str:
    """A finding in English and Chinese (`title_zh` of results.json), for the findings table."""
    return f"{f.title} · {f.title_zh}" if f.title_zh and f.title_zh not in f.title else f.title


def _finding(s: ScenarioRecord) -> dict[str, Any]:
    musts = [f for f in s.failures if not f.advisory and not f.inconclusive] or list(s.failures)
    clauses = list(dict.fromkeys(f.clause for f in musts if f.clause)) or list(s.clauses)
    what = _both(musts[0]) if musts else reason_both(s.reason)
    grade = GRADE_LABELS.get(Grade(musts[0].grade), musts[0].grade) if musts and s.outcome is Outcome.FAILED else ""
    return {"id": s.id, "title_zh": s.title_zh, "outcome": s.outcome.value, "what": what, "clauses": clauses[:4],
            "grade": grade}


def _advisory(s: ScenarioRecord, f: FailureRecord) -> dict[str, Any]:
    label = GRADE_LABELS.get(Grade(f.grade), f.grade) if f.grade in Grade.__members__ else f.grade
    return {"id": s.id, "grade": label, "clause": f.clause, "what": _both(f)}


def _inconclusive(s: ScenarioRecord) -> dict[str, Any]:
    why = next((_both(f) for f in s.failures if f.inconclusive), reason_both(s.reason))
    return {"id": s.id, "title_zh": s.title_zh, "what": why}


def _gaps(record: RunRecord, outcome: Outcome) -> tuple[list[tuple[str, int]], int]:
    reasons = Counter(reason_both(s.reason or "(no reason given)") for s in record.scenarios if s.outcome is outcome)
    ranked = reasons.most_common()
    return ranked[:MAX_GAPS], sum(n for _r, n in ranked[MAX_GAPS:])


def _rows(tallies: list[Tally], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"key": t.key, "label": labels.get(t.key, ""), "passed": t.passed, "counted": t.passed + t.failed,
         "failed": t.failed + t.error, "rate": t.pass_rate}
        for t in tallies
    ]


def certificate_context(record: RunRecord, *, digest: str, interface_names: Mapping[str, str],
                        seal: Mapping[str, str] | None = None) -> dict[str, Any]:
    gate = dict(record.extra.get("gate") or {})
    document = {"number": "", "issuer": "", "issued": "", "valid_until": "", "mutation_score": None,
                **dict(record.extra.get("certificate") or {})}
    verdict = gate.get("verdict") or "incomplete"
    summary = record.summary
    covered, missing = record.mandatory_clauses()
    failing = [s for s in record.scenarios if s.must_pass and s.outcome in (Outcome.FAILED, Outcome.ERROR)]
    failing.sort(key=lambda s: (s.outcome is not Outcome.FAILED, s.area, s.id))
    not_provisioned, np_more = _gaps(record, Outcome.NOT_PROVISIONED)
    not_applicable, na_more = _gaps(record, Outcome.NOT_APPLICABLE)
    advisories = record.advisories()
    inconclusive = record.inconclusive()
    info = record.info
    return {
        "info": info,
        "digest": digest,
        "verdict": verdict,
        "verdict_zh": VERDICT_LABELS.get(verdict, (verdict, verdict))[0],
        "verdict_en": VERDICT_LABELS.get(verdict, (verdict, verdict))[1],
        "environment_zh": ENVIRONMENT_LABELS.get(info.environment, (info.environment, ""))[0],
        "environment_en": ENVIRONMENT_LABELS.get(info.environment, ("", info.environment))[1],
        "duration": _duration(info.started_at, info.finished_at),
        "summary": summary,
        "must_pass": sum(1 for s in record.scenarios if s.must_pass),
        "must_pass_passed": sum(1 for s in record.scenarios if s.must_pass and s.outcome is Outcome.PASSED),
        "areas": _rows(record.by_area(), AREA_LABELS),
        "interfaces": _rows(record.by_interface(), interface_names),
        "clauses_covered": len(covered),
        "clauses_total": len(covered) + len(missing),
        "clauses_missing": missing[:MAX_CLAUSES],
        "clauses_missing_more": max(0, len(missing) - MAX_CLAUSES),
        "findings": [_finding(s) for s in failing[:MAX_FINDINGS]],
        "findings_more": max(0, len(failing) - MAX_FINDINGS),
        "not_provisioned": not_provisioned,
        "not_provisioned_more": np_more,
        "not_applicable": not_applicable,
        "not_applicable_more": na_more,
        "gate": gate,
        "advisories": [_advisory(s, f) for s, f in advisories[:MAX_ADVISORIES]],
        "advisories_count": len(advisories),
        "advisories_scenarios": len({s.id for s, _f in advisories}),
        "advisories_more": max(0, len(advisories) - MAX_ADVISORIES),
        "inconclusive": [_inconclusive(s) for s in inconclusive[:MAX_INCONCLUSIVE]],
        "inconclusive_more": max(0, len(inconclusive) - MAX_INCONCLUSIVE),
        "grades": record.grades(),
        "spec_coverage": dict(record.extra.get("coverage") or {}),  # harness/reporting/coverage.py
        "document": document,
        "score_text": render_score(document.get("mutation_score"), info.suite_fingerprint),
        "waivers": list(gate.get("waivers") or [])[:MAX_WAIVERS],
        "waivers_more": max(0, len(gate.get("waivers") or []) - MAX_WAIVERS),
        "seal": {"manifest_digest": "", "code": "", "key_fingerprint": "", **dict(seal or {})},
    }


def render_certificate(record: RunRecord, *, digest: str, interface_names: Mapping[str, str] | None = None,
                       seal: Mapping[str, str] | None = None) -> str:
    """`seal`: manifest_digest, code (the verification code) and key_fingerprint ("" when unsigned)."""
    context = certificate_context(record, digest=digest, interface_names=interface_names or {}, seal=seal)
    return _environment().get_template("certificate.html.j2").render(**context)


def render_page(template: str, context: Mapping[str, Any]) -> str:
    """Another self-contained page from reporting/templates/ with the certificate's environment (autoescape on):
    the provincial dashboard uses it, so jinja2 keeps one owner."""
    return _environment().get_template(template).render(**context)


def write_certificate(run_dir: Path, record: RunRecord, *, digest: str,
                      interface_names: Mapping[str, str] | None = None, seal: Mapping[str, str] | None = None) -> Path:
    path = run_dir / "certificate.html"
    path.write_text(render_certificate(record, digest=digest, interface_names=interface_names, seal=seal),
                    encoding="utf-8", newline="\n")
    return path
