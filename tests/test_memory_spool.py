"""Bounded memory (issue 14): results are spooled as each scenario ends, the evidence is streamed from the spool,
and the files are the ones the whole-run documents gave (harness/reporting/spool.py)."""

from __future__ import annotations

import gc
import json
import weakref
from pathlib import Path

import pytest

from harness.model import Failure, Grade, Outcome, Scenario, ScenarioResult
from harness.reporting.coverage import coverage_document
from harness.reporting.kept import KeptResults
from harness.reporting.masking import Masker, mask_text
from harness.reporting.results_json import results_document, write_exchanges, write_results, write_results_streamed
from harness.reporting.spool import ResultSpool, slim_entry, slim_result

MUTANT = "2207:mutant=accept-not-filed"


def _subset() -> list:
    from harness.scenarios.catalogue import load_suites
    from harness.specs import load_registry

    suite = load_suites(load_registry(), "baseline")
    chosen = [s for s in suite if s.area in ("outpatient", "person") or s.id.startswith("cause.not-filed")]
    return chosen[:40] + [s for s in suite if s.tags and "run-last" in s.tags][:1]


def test_the_streamed_evidence_is_what_the_whole_run_documents_gave(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.session.run
    from harness.pytest_plugin import ScenarioPlugin
    from harness.session import run_session
    from harness.specs import load_registry

    full: list[ScenarioResult] = []
    kept: list[ScenarioResult] = []
    seen: dict[str, ScenarioPlugin] = {}

    class Recording(ScenarioPlugin):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, on_result=lambda _s, r: full.append(r), **kwargs)  # type: ignore[arg-type]
            seen["plugin"] = self

        def _keep(self, scenario: Scenario, result: ScenarioResult) -> None:
            super()._keep(scenario, result)
            kept.append(self.results[scenario.id])  # read back from the store, as the end of the run reads it

    monkeypatch.setattr(harness.session.run, "ScenarioPlugin", Recording)
    scenarios = _subset()
    _code, run_dir, document = run_session(out=tmp_path / "run", faults=[MUTANT], scenarios=scenarios, seed=11,
                                           echo=lambda _m: None)
    plugin = seen["plugin"]
    outcomes = {r.outcome for r in full}
    assert Outcome.FAILED in outcomes and Outcome.PASSED in outcomes and any(r.failures for r in full)
    # Kept: slim results only, no exchange, on disk (KeptResults); no pytest item is left holding a result.
    assert isinstance(plugin.results, KeptResults) and kept == [slim_result(r) for r in full]
    assert all(r.steps == () for r in kept) and all(r.steps for r in full if r.outcome is Outcome.PASSED)
    assert not plugin._items

    # What the run wrote equals the documents built from the full results with the run's (final) masker.
    masker = plugin.masker
    by_id = {s.id: s for s in scenarios}
    ordered = [next(f for f in full if f.scenario_id == sid) for sid in plugin.selected]
    expected = masker.document(results_document(ordered, by_id, run=document["run"], tool=document["tool"]))
    expected["coverage"] = coverage_document(ordered, load_registry())
    write_results(tmp_path / "expected.json", expected)
    assert (run_dir / "results.json").read_text(encoding="utf-8") == \
        (tmp_path / "expected.json").read_text(encoding="utf-8")
    sign_in = [plugin.runner.sign_in_exchange] if plugin.runner.sign_in_exchange else []
    write_exchanges(tmp_path / "expected.jsonl", ordered, masker=masker, run_exchanges=sign_in)
    assert (run_dir / "exchanges.jsonl").read_text(encoding="utf-8") == \
        (tmp_path / "expected.jsonl").read_text(encoding="utf-8")
    # The document returned keeps every key but the steps; a finding's evidence only says whether it is inconclusive.
    assert [e["id"] for e in document["scenarios"]] == [e["id"] for e in expected["scenarios"]]
    assert document["scenarios"] == [slim_entry(e) for e in expected["scenarios"]]
    assert document["summary"] == expected["summary"] and document["coverage"] == expected["coverage"]


def test_results_json_streamed_entry_by_entry_is_the_same_text() -> None:
    head = {"format": "f", "run": {"site": {"name": "医院"}}, "summary": {"total": 2}}
    tail = {"coverage": {"by_interface": {"2207": {"in": {"missing": ["a", "b"]}}}}}
    for entries in ([], [{"id": "a", "failures": [], "steps": []}],
                    [{"id": "a\u2028", "steps": [{"index": 0, "error": None}]}, {"id": "b", "clauses": [[], {}]}]):
        import tempfile

        folder = Path(tempfile.mkdtemp())
        write_results_streamed(folder / "streamed.json", head, iter(entries), tail)
        write_results(folder / "whole.json", {**head, "scenarios": entries, **tail})
        assert (folder / "streamed.json").read_text(encoding="utf-8") == (folder / "whole.json").read_text(
            encoding="utf-8")


def test_a_value_learnt_later_is_masked_in_earlier_records_and_no_known_value_is_spooled_in_clear() -> None:
    masker = Masker()
    masker.learn({"psn_name": "张三丰"})
    early = ScenarioResult("s.one", Outcome.FAILED, ("R-X",), 1.0,
                           failures=(Failure(title="answer names 张三丰 and 李四光", clause="R-X"),))
    late = ScenarioResult("s.two", Outcome.PASSED, ("R-X",), 1.0)
    with ResultSpool({}, masker) as spool:
        spool.add(early)
        spooled = b"".join(path.read_bytes() for path in Path(spool._folder.name).iterdir()).decode("utf-8")
        assert "张三丰" not in spooled and mask_text("张三丰") in spooled  # masked with what was known then
        assert "李四光" in spooled  # not known yet
        masker.learn({"psn_name": "李四光"})  # a later scenario's answer names this person
        spool.add(late)
        [first, second] = list(spool.entries([slim_result(early), slim_result(late)]))
    assert first["failures"][0]["title"] == f"answer names {mask_text('张三丰')} and {mask_text('李四光')}"
    assert second["outcome"] == "passed"


def test_slim_results_keep_the_verdict_and_drop_the_exchanges() -> None:
    unsure = Failure(title="refused", clause="R-CAUSE", grade=Grade.MAY, evidence={"inconclusive": True, "x": [1] * 99})
    must = Failure(title="sum", clause="R-MONEY", evidence={"answer": {"big": "x" * 999}})
    result = ScenarioResult("s", Outcome.FAILED, ("R",), 2.0, failures=(must, unsure), reason="r")
    slim = slim_result(result)
    assert slim.steps == () and slim.reason == "r" and slim.outcome is Outcome.FAILED
    assert [dict(f.evidence) for f in slim.failures] == [{}, {"inconclusive": True}]
    assert [(f.title, f.clause, f.grade) for f in slim.failures] == [(f.title, f.clause, f.grade)
                                                                     for f in result.failures]
    entry = {"id": "s", "steps": [{"index": 0}], "failures": [json.loads(json.dumps(
        {"title": "t", "evidence": {"inconclusive": True, "y": 1}}))]}
    assert slim_entry(entry) == {"id": "s", "failures": [{"title": "t", "evidence": {"inconclusive": True}}]}


def test_pytests_statistics_keep_a_placeholder_per_passed_scenario_and_count_the_same(tmp_path: Path) -> None:
    import contextlib
    import io

    from engine_samples import FakeSite, person_step, scenario, site

    from harness.pytest_plugin import ScenarioPlugin, run_pytest
    from harness.runner import Runner
    from harness.specs import load_registry
    from harness.transport import CallableTarget

    scenarios = [scenario((person_step(),), id=f"person.sample.s{n}", area="person") for n in range(4)]
    runner = Runner(CallableTarget(FakeSite()), load_registry(), "baseline", site(), seed=3)
    made: list[weakref.ref] = []

    class Watched(ScenarioPlugin):
        def item_for(self, scenario):  # type: ignore[no-untyped-def]
            item = super().item_for(scenario)
            made.append(weakref.ref(item))
            return item

    plugin = Watched(scenarios, runner)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        status = run_pytest(plugin, root=tmp_path)
    gc.collect()
    assert status == 0 and [r.outcome for r in plugin.ordered_results()] == [Outcome.PASSED] * 4
    assert "4 passed" in printed.getvalue()  # pytest's summary line counts them all
    stats = plugin._config.pluginmanager.get_plugin("terminalreporter").stats
    assert not stats.get("") and len(stats["passed"]) == 4
    assert len({id(report) for report in stats["passed"]}) == 1  # one shared placeholder, no report kept
    # No item outlives its scenario: each is made right before it runs and let go when it finished (twenty
    # thousand items held to the end of the session took ~40 MB), and -k judges throwaway ones.
    assert [wr() for wr in made] == [None] * len(made) and len(made) == 8  # 4 judged by -k, 4 run
    assert not plugin._items


def test_certify_reads_results_json_without_the_steps_and_builds_the_same_record(tmp_path: Path) -> None:
    from harness.reporting.record import RunInfo
    from harness.reporting.results_reader import load_results, record_from_results

    unsure = {"title": "refused", "clause": "R-C", "grade": "MAY", "severity": "major", "detail": "",
              "expected": "", "actual": "", "step": 0, "evidence": {"inconclusive": True, "answer": {"x": 1}}}
    must = {**unsure, "title": "sum", "grade": "MUST", "evidence": {"answer": {"psn_name": "张*丰"}}}
    document = {"format": "hsa-cert/results-1", "run": {"site": {"id": "s"}}, "coverage": {"percent": 50.0},
                "scenarios": [{"id": "a", "outcome": "failed", "level": "mandatory", "area": "outpatient",
                               "interface": "2207", "clauses": ["R-C"], "duration_ms": 1.0, "failures": [must, unsure],
                               "steps": [{"index": 0, "infno": "2207", "status": 200}]},
                              {"id": "b", "outcome": "inconclusive", "level": "mandatory", "area": "outpatient",
                               "interface": "2207", "clauses": [], "duration_ms": 1.0, "failures": [unsure],
                               "steps": []}]}
    path = tmp_path / "results.json"
    write_results(path, document)
    loaded = load_results(path)
    assert all("steps" not in e for e in loaded["scenarios"]) and loaded["coverage"] == {"percent": 50.0}
    assert [f["evidence"] for f in loaded["scenarios"][0]["failures"]] == [{}, {"inconclusive": True}]
    info = RunInfo(run_id="r", site_id="s")
    assert record_from_results(loaded, info) == record_from_results(document, info)
