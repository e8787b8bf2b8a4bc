"""A load run's evidence beyond results.json: its certificate page and its ledger entry.

`hsa-cert load` (harness/load/) measures and judges; this module, like `certify.py` for conformance runs,
turns the judged run into evidence a provincial reviewer reads:

- `certificate.html` in the load run's own folder, beside results.json: one printable page, bilingual,
  with the verdict on the service levels (服务水平), the site and the load it was held to (shape, users,
  duration, workers), each objective's verdict with what was observed, and p50/p95/p99 per interface.
  It carries the SHA-256 of results.json, the figures it was rendered from. A load run gets a page of
  its own rather than a section in the conformance certificate: the two are different tests, run at
  different times under different conditions, and a site may repeat one without the other; the site's
  history (`hsa-cert history`) shows both kinds of run side by side.
- a `load_runs` row in the ledger (kind "load", the verdict, the SLO verdicts, the per-interface figures).

Verdicts: "slo met" (exit 0), "slo not met" (exit 1), "incomplete" (exit 3: no answer reached us at all).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.reporting.certificate import render_page
from harness.reporting.ledger_load import append_load_run

__all__ = ["LOAD_VERDICTS", "finish_load_evidence", "load_verdict", "render_load_certificate"]

LOAD_VERDICTS = {
    "slo met": ("服务水平达标", "SERVICE LEVELS MET", "certified"),
    "slo not met": ("服务水平未达标", "SERVICE LEVELS NOT MET", "not-certified"),
    "incomplete": ("测试未完成（基础设施错误）", "INCOMPLETE: infrastructure error", "incomplete"),
}


def load_verdict(document: Mapping[str, Any]) -> str:
    run, load = document.get("run") or {}, document.get("load") or {}
    if run.get("exit_code") == 3 or load.get("incomplete"):
        return "incomplete"
    return "slo met" if load.get("passed") else "slo not met"


def _observed(verdict: Mapping[str, Any]) -> str:
    per = verdict.get("per_interface") or {}
    seen = ", ".join(f"{infno}: {o.get('observed', 0):g}" for infno, o in per.items())
    return seen or str(verdict.get("reason", ""))


def render_load_certificate(document: Mapping[str, Any], *, digest: str,
                            interface_names: Mapping[str, str] | None = None) -> str:
    names = interface_names or {}
    run, load = dict(document.get("run") or {}), dict(document.get("load") or {})
    verdict = load_verdict(document)
    zh, en, css = LOAD_VERDICTS[verdict]
    rows = [{"infno": infno, "name": names.get(infno, ""), "count": 0, "errors": 0, "p50_ms": 0.0, "p95_ms": 0.0,
             "p99_ms": 0.0, **row}
            for infno, row in (load.get("interfaces") or {}).items()]
    objectives = [{"id": oid, "holds": bool(v.get("holds")), "description": v.get("description", ""),
                   "title_zh": v.get("title_zh", ""), "observed": _observed(v),
                   "failing": [i for i, o in (v.get("per_interface") or {}).items() if not o.get("holds")]}
                  for oid, v in (load.get("slo") or {}).items()]
    # Every field the page names has a default: a results.json from an older or partial run still renders.
    site = {"id": "", "name": "", "base_url": "", "fixmedins_code": "", "profile": "", **(load.get("site") or {})}
    shape = {"name": "", "description": "", **(load.get("shape") or {})}
    total = {"count": 0, "errors": 0, **(load.get("total") or {})}
    run = {"run_id": "", "started_at": "", "finished_at": "", **run}
    load = {"cert_profile": "", "peak_users": 0, "workers": 0, "duration_s": 0, "elapsed_s": 0, "rate_per_s": 0,
            "faults": [], **load}
    context = {"run": run, "load": load, "site": site, "shape": shape, "total": total, "verdict": verdict,
               "verdict_zh": zh, "verdict_en": en, "verdict_css": css, "rows": rows, "objectives": objectives,
               "digest": digest, "errors": list((load.get("errors") or {}).items())[:5]}
    return render_page("load-certificate.html.j2", context)


def finish_load_evidence(out_dir: Path, document: Mapping[str, Any], *, ledger: Path | None,
                         interface_names: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """Write DIR/certificate.html and (unless `ledger` is None) append the run to the ledger.
    Returns (the certificate's path, the verdict)."""
    digest = hashlib.sha256((out_dir / "results.json").read_bytes()).hexdigest()
    verdict = load_verdict(document)
    path = out_dir / "certificate.html"
    path.write_text(render_load_certificate(document, digest=digest, interface_names=interface_names),
                    encoding="utf-8", newline="\n")
    if ledger is not None:
        append_load_run(ledger, document, verdict=verdict, out_dir=str(out_dir))
    return path, verdict
