"""`results.json` and `exchanges.jsonl`: the run's results and its recorded traffic, as files.

results.json (format "hsa-cert/results-1"):
  run        run id, site (never credentials), profile, seed, times, exit code, stop reason
  summary    total, passed, failed, error, not_provisioned, not_applicable, inconclusive, pass_rate,
             coverage, advisories, grades
             (pass_rate = passed / (passed + failed): conformance over what ran, null when none ran;
             coverage = (passed + failed + inconclusive) / (total - not_applicable), null when nothing
             applies; advisories = SHOULD/MAY findings; grades = scenarios per grade {MUST, SHOULD, MAY})
  by_area, by_interface   the same counts per business area and per interface
  scenarios  per scenario: id, title, title_zh, area, interface, level, grade, outcome, clauses,
             duration_ms, reason, fingerprint, failures [{title, clause, grade, severity, detail,
             expected, actual, step, evidence}], steps [{index, infno, teardown, status, elapsed_ms, error}]

exchanges.jsonl holds one JSON line per HTTP exchange (request, response text, timing), personal
data masked unless the caller turns masking off.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.model import Exchange, Failure, Scenario, ScenarioResult, StepResult
from harness.reporting.masking import Masker, mask
from harness.specs.findings_zh import title_zh
from harness.verdict import grade_counts, group_summaries, is_advisory, summarize

__all__ = ["RESULTS_FORMAT", "exchange_line", "exchange_lines", "failure_json", "one_line", "results_document",
           "results_head", "scenario_entry", "write_exchanges", "write_results", "write_results_streamed"]

RESULTS_FORMAT = "hsa-cert/results-1"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def failure_json(failure: Failure, *, masked: bool = True) -> dict[str, Any]:
    evidence = _plain(failure.evidence)
    return {
        "title": failure.title,
        "title_zh": title_zh(failure),
        "clause": failure.clause,
        "grade": failure.grade.value,
        "severity": failure.severity.value,
        "detail": failure.detail,
        "expected": failure.expected,
        "actual": failure.actual,
        "step": failure.step,
        "evidence": mask(evidence) if masked else evidence,
    }


def _step_json(step: StepResult) -> dict[str, Any]:
    ex = step.exchange
    return {
        "index": step.index,
        "infno": step.infno,
        "teardown": step.teardown,
        "status": ex.status if ex else None,
        "elapsed_ms": round(ex.elapsed_ms, 3) if ex else None,
        "error": ex.error if ex else None,
        "msgid": (ex.request_body.get("msgid") if ex and isinstance(ex.request_body, Mapping) else None),
    }


def scenario_entry(result: ScenarioResult, scenario: Scenario | None, *, masked: bool = True) -> dict[str, Any]:
    """One scenario's entry of results.json (before the run's masker passes over it)."""
    return {
        "id": result.scenario_id,
        "title": scenario.title if scenario else "",
        "title_zh": scenario.title_zh if scenario else "",
        "area": scenario.area if scenario else "",
        "interface": scenario.interface if scenario else "",
        "level": scenario.level.value if scenario else "mandatory",
        "grade": scenario.grade.value if scenario else "MUST",
        "kind": scenario.kind if scenario else "",
        "archetype": scenario.archetype if scenario else None,
        "outcome": result.outcome.value,
        "clauses": list(result.clauses),
        "duration_ms": round(result.duration_ms, 3),
        "reason": result.reason,
        "fingerprint": scenario.fingerprint if scenario else "",
        "failures": [failure_json(f, masked=masked) for f in result.failures],
        "steps": [_step_json(s) for s in result.steps],
        **({"internal_error": result.internal_error} if result.internal_error else {}),
    }


def results_head(results: Sequence[ScenarioResult], scenarios: Mapping[str, Scenario], *,
                 run: Mapping[str, Any], tool: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """results.json without its `scenarios` (and `coverage`): the run and the figures, from the results' outcomes
    and findings alone (slim results without their exchanges give the same head)."""
    summary = summarize(results)
    summary_json = {k: v for k, v in summary.to_json().items() if k != "outcome"}
    summary_json["advisories"] = sum(1 for r in results for f in r.failures if is_advisory(f))
    summary_json["grades"] = grade_counts(scenarios[r.scenario_id].grade for r in results if r.scenario_id in scenarios)
    return {
        "format": RESULTS_FORMAT,
        **({"tool": dict(tool)} if tool is not None else {}),
        "run": _plain(dict(run)),
        "summary": summary_json,
        "by_area": {k: _counts(v.to_json()) for k, v in group_summaries(results, scenarios, "area").items()},
        "by_interface": {k: _counts(v.to_json()) for k, v in group_summaries(results, scenarios, "interface").items()},
    }


def results_document(results: Sequence[ScenarioResult], scenarios: Mapping[str, Scenario], *,
                     run: Mapping[str, Any], masked: bool = True,
                     tool: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`tool`: version, spec edition and suite fingerprint (`reporting.identity`), as `hsa-cert --version`."""
    return {**results_head(results, scenarios, run=run, tool=tool),
            "scenarios": [scenario_entry(r, scenarios.get(r.scenario_id), masked=masked) for r in results]}


def _counts(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "outcome"}


def write_results(path: Path, document: Mapping[str, Any], *, masker: Masker | None = None) -> Path:
    """results.json; with `masker`, personal data masked and the text always writable (see Masker)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = masker.dumps(document, indent=2) if masker is not None else json.dumps(document, ensure_ascii=False,
                                                                                   indent=2)
    path.write_text(text + "\n", encoding="utf-8")
    return path


_ENTRIES = "\x00scenarios\x00"  # stands in for the entries while the rest of the document is serialised


def write_results_streamed(path: Path, head: Mapping[str, Any], entries: Iterable[Mapping[str, Any]],
                           tail: Mapping[str, Any]) -> Path:
    """results.json written entry by entry: the same text as `write_results` of {**head, "scenarios": [...],
    **tail}, without the whole list in memory at once (a run of 20,000 scenarios)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({**head, "scenarios": _ENTRIES, **tail}, ensure_ascii=False, indent=2)
    before, after = text.split(json.dumps(_ENTRIES), 1)
    with path.open("w", encoding="utf-8") as out:
        out.write(before)
        written = 0
        for entry in entries:
            block = json.dumps(entry, ensure_ascii=False, indent=2).replace("\n", "\n    ")
            out.write(("[\n    " if not written else ",\n    ") + block)
            written += 1
        out.write("\n  ]" if written else "[]")
        out.write(after + "\n")
    return path


def write_exchanges(path: Path, results: Iterable[ScenarioResult], *, masked: bool = True,
                    run_exchanges: Sequence[Exchange] = (), masker: Masker | None = None) -> Path:
    """One line per exchange in run order: the run's own (sign-in) first, then per scenario and step.

    With `masker`, each line is masked by it (by field and by value, inside strings too) and always
    writable; without it, personal fields are masked when `masked` (lone surrogates still escaped)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    masker = masker or Masker(enabled=masked)
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for ex in run_exchanges:
            out.write(exchange_line("", -1, False, ex, masker) + "\n")
        for result in results:
            for line in exchange_lines(result, masker):
                out.write(line + "\n")
    return path


def exchange_lines(result: ScenarioResult, masker: Masker) -> Iterable[str]:
    """A scenario's lines of exchanges.jsonl (its steps' exchanges in order), masked by `masker` as they are made."""
    for step in result.steps:
        if step.exchange is not None and step.index >= 0:
            yield exchange_line(result.scenario_id, step.index, step.teardown, step.exchange, masker)


# Characters JSON leaves raw inside strings that line readers (str.splitlines, some editors) take for line
# breaks: written as escapes, so that one exchange is always one line.
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def exchange_line(scenario_id: str, index: int, teardown: bool, ex: Exchange, masker: Masker) -> str:
    request = _plain(ex.request_body)
    return one_line(masker.dumps({
        "scenario_id": scenario_id,
        "step": index,
        "teardown": teardown,
        "infno": ex.infno,
        "url": ex.url,
        "started_at": ex.started_at,
        "elapsed_ms": round(ex.elapsed_ms, 3),
        "status": ex.status,
        "error": ex.error,
        "request_headers": dict(ex.request_headers),
        "request": request,
        "response": masker.text(ex.response_text),  # masked as text first: inside the line its quotes are escaped
    }))


def one_line(text: str) -> str:
    return text.translate(_LINE_BREAKS) if any(c in text for c in "\u2028\u2029\x85") else text
