"""The pytest plugin, run by pytester in process: items, outcomes, failure text, Allure output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from engine_samples import FakeSite, person_step, refusal, scenario, settle_step, site

from harness.gateway import make_signer
from harness.model import Expectation, Outcome
from harness.pytest_plugin import ScenarioPlugin
from harness.reporting.allure_ids import stable_ids
from harness.reporting.masking import Masker, mask_text
from harness.runner import Runner
from harness.specs import load_registry
from harness.transport import CallableTarget

NAMES = {"1101": "人员信息获取", "2207": "门诊结算"}


@pytest.fixture(autouse=True)
def only_the_plugins_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner pytest runs load only allure-pytest and ours (as `hsa-cert run` does), not every installed plugin."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_PLUGINS", "allure_pytest.plugin")


def suite() -> list:
    return [
        scenario((person_step(),), id="person.sample.pass", area="person"),
        scenario((settle_step(Expectation(ok=True, checks=("money.sum",))),), id="outpatient.sample.fail",
                 interface="2207"),
        scenario((settle_step(Expectation(ok=False, cause="not-filed")),), id="outpatient.sample.refused",
                 interface="2207"),
        scenario((person_step(),), id="person.sample.unprovisioned", archetype="nobody", area="person"),
        scenario((person_step(),), id="inpatient.sample.na", capabilities=("inpatient",), area="inpatient"),
    ]


def plugin_for(fake: FakeSite, scenarios: list | None = None, *, signer=None, header_env=None,
               capabilities=("outpatient",)) -> ScenarioPlugin:
    target = CallableTarget(fake, signer=signer)
    runner = Runner(target, load_registry(), "baseline", site(capabilities=capabilities), seed=3)
    return ScenarioPlugin(scenarios or suite(), runner, interface_names=NAMES, header_env=header_env)


def test_outcomes_map_onto_pytest(pytester: pytest.Pytester) -> None:
    fake = FakeSite({"2207": refusal("参保人未办理异地就医备案，不能直接结算")})
    plugin = plugin_for(fake)
    result = pytester.runpytest_inprocess("-rA", plugins=[plugin])
    # pass: 1101; fail: expected success got refusal; refused: expected refusal; two skipped.
    result.assert_outcomes(passed=2, failed=1, skipped=2)
    result.stdout.fnmatch_lines(["*SKIPPED*not provisioned: the site config gives no test identity*nobody*",
                                 "*SKIPPED*not applicable: the site does not declare capability inpatient*"])
    outcomes = {r.scenario_id: r.outcome for r in plugin.ordered_results()}
    assert outcomes == {"person.sample.pass": Outcome.PASSED, "outpatient.sample.fail": Outcome.FAILED,
                        "outpatient.sample.refused": Outcome.PASSED,
                        "person.sample.unprovisioned": Outcome.NOT_PROVISIONED,
                        "inpatient.sample.na": Outcome.NOT_APPLICABLE}


def test_node_ids_and_keyword_selection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_never_collected="def test_x():\n    assert False\n")
    result = pytester.runpytest_inprocess("--collect-only", "-q", plugins=[plugin_for(FakeSite())])
    result.stdout.fnmatch_lines(["person::person.sample.pass", "outpatient::outpatient.sample.fail",
                                 "inpatient::inpatient.sample.na"])
    assert "test_never_collected" not in result.stdout.str()
    plugin = plugin_for(FakeSite())
    selected = pytester.runpytest_inprocess("-k", "outpatient and refused", plugins=[plugin])
    assert plugin.selected == ["outpatient.sample.refused"]
    selected.assert_outcomes(failed=1, deselected=4)  # the fake accepts what must be refused


def test_failure_text_has_expected_actual_clause_and_a_curl_line_without_secrets(pytester: pytest.Pytester) -> None:
    signer = make_signer("tif", {"paasid": "paas-visible", "token": "tok-SECRET"}, {"tif": {}})
    plugin = plugin_for(FakeSite(), [suite()[2]], signer=signer, header_env={"x-tif-paasid": "HSA_TIF_PAASID"})
    result = pytester.runpytest_inprocess(plugins=[plugin])
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*[[]critical · 必须 MUST[]] expected a refusal (not-filed), the site accepted",
        "*clause:   R-CAUSE-NOT-FILED",
        "*expected: infcode -1",
        "*actual:   infcode 0",
        "*reproduce (2207, callable://callable/2207):",
        "*curl -sS -X POST 'callable://callable/2207'*x-tif-paasid: $HSA_TIF_PAASID*--data-raw*\"infno\":\"2207\"*",
    ])
    assert "tok-SECRET" not in out and "paas-visible" not in out


def test_infrastructure_errors_are_pytest_errors_and_the_breaker_stops_the_session(pytester: pytest.Pytester) -> None:
    fake = FakeSite({"1101": ConnectionRefusedError("down")})
    scenarios = [scenario((person_step(),), id=f"person.sample.s{i}", area="person") for i in range(7)]
    plugin = plugin_for(fake, scenarios)
    plugin.runner.breaker_threshold = 3
    result = pytester.runpytest_inprocess(plugins=[plugin])
    result.stdout.fnmatch_lines(["*INFRASTRUCTURE ERROR (not a conformance finding)*connection refused*",
                                 "*circuit breaker open after 3 consecutive infrastructure errors*",
                                 "*3 error*"])
    ordered = plugin.ordered_results()
    assert [r.outcome for r in ordered] == [Outcome.ERROR] * 7
    assert ordered[-1].reason.startswith("not run: circuit breaker open")


def _allure_results(directory: Path) -> dict[str, dict]:
    found = {}
    for path in directory.glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        labels = {}
        for label in data["labels"]:
            labels.setdefault(label["name"], []).append(label["value"])
        data["label_map"] = labels
        found[labels["scenario_id"][0]] = data
    return found


def test_allure_labels_steps_masking_and_stable_history(pytester: pytest.Pytester, tmp_path: Path) -> None:
    scenarios = suite()
    runs = []
    for n in (1, 2):
        out = tmp_path / f"allure{n}"
        fake = FakeSite({"2207": refusal("参保人未办理异地就医备案，不能直接结算")})
        pytester.runpytest_inprocess("--alluredir", str(out), plugins=[plugin_for(fake, scenarios)])
        runs.append(_allure_results(out))
    first, second = runs
    refused = first["outpatient.sample.refused"]
    labels = refused["label_map"]
    assert labels["epic"] == ["outpatient 门诊"] and labels["feature"] == ["2207 门诊结算"]
    assert labels["story"] == ["Sample flow"] and labels["severity"] == ["critical"]
    assert set(labels["tag"]) == {"outpatient", "filed-employee"}
    assert refused["status"] == "passed" and first["outpatient.sample.fail"]["status"] == "failed"
    assert first["person.sample.unprovisioned"]["status"] == "skipped"
    by_id = {s.id: s for s in scenarios}
    for sid, data in first.items():
        assert (data["testCaseId"], data["historyId"]) == stable_ids(by_id[sid])
        assert (second[sid]["testCaseId"], second[sid]["historyId"]) == stable_ids(by_id[sid])
        assert not data.get("parameters")  # no per-run values in history parameters
    [step] = refused["steps"]
    assert step["name"] == "1. 2207 门诊结算"
    assert [a["name"] for a in step["attachments"]] == ["request", "response (HTTP 200)"]
    [step] = first["person.sample.pass"]["steps"]
    request = next(a for a in step["attachments"] if a["name"] == "request")
    body = json.loads((tmp_path / "allure1" / request["source"]).read_text(encoding="utf-8"))
    identity = site().identities["filed-employee"]
    data = body["input"]["data"]
    assert data["certno"] == mask_text(identity["certno"]) != identity["certno"]
    assert data["psn_name"] == mask_text(identity["psn_name"]) != identity["psn_name"]
    assert data["mdtrt_cert_type"] == identity["mdtrt_cert_type"]  # not personal: kept


def test_history_changes_exactly_when_the_scenario_changes() -> None:
    from dataclasses import replace

    base = suite()[0]
    assert stable_ids(base) == stable_ids(replace(base))
    changed = replace(base, fingerprint="0" * 16)
    assert stable_ids(changed)[0] == stable_ids(base)[0]  # the same test case
    assert stable_ids(changed)[1] != stable_ids(base)[1]  # a new history


def test_run_last_scenarios_run_after_every_other_item(pytester: pytest.Pytester) -> None:
    from dataclasses import replace

    last = replace(scenario((person_step(),), id="reconciliation.sample.last", area="reconciliation"),
                   tags=("run-last",))
    others = [scenario((person_step(),), id=f"person.sample.{n}", area="person") for n in ("b", "a", "c")]
    plugin = plugin_for(FakeSite(), [last, *others])
    pytester.runpytest_inprocess(plugins=[plugin]).assert_outcomes(passed=4)
    assert plugin.selected == ["person.sample.b", "person.sample.a", "person.sample.c", "reconciliation.sample.last"]
    assert [r.scenario_id for r in plugin.ordered_results()] == plugin.selected
    plugin = plugin_for(FakeSite(), [last, *others])
    pytester.runpytest_inprocess("-k", "last or c", plugins=[plugin]).assert_outcomes(passed=2, deselected=2)
    assert plugin.selected == ["person.sample.c", "reconciliation.sample.last"]


def test_an_answer_lost_by_design_is_no_broken_allure_step(pytester: pytest.Pytester, tmp_path: Path) -> None:
    from dataclasses import replace

    from engine_samples import success

    answers = iter([ConnectionResetError("dropped after commit"), success("2207")])
    fake = FakeSite({"2207": lambda envelope: next(answers)})
    steps = (replace(settle_step(), fault="drop-after-commit"), settle_step())
    flow = scenario(steps, id="reversal.sample.dropped", area="reversal", interface="2601")
    runner = Runner(CallableTarget(fake), load_registry(), "baseline", site(reference=True), seed=3,
                    fault_switch=lambda fault: None)
    plugin = ScenarioPlugin([flow], runner, interface_names=NAMES)
    pytester.runpytest_inprocess("--alluredir", str(tmp_path / "allure"), plugins=[plugin]).assert_outcomes(passed=1)
    result = _allure_results(tmp_path / "allure")["reversal.sample.dropped"]
    assert result["status"] == "passed"
    assert [(s["name"], s["status"]) for s in result["steps"]] == [
        ("1. 2207 门诊结算", "passed"), ("冲正 · 2601", "passed"), ("2. 2207 门诊结算", "passed")]
    assert "expected loss" in [a["name"] for a in result["steps"][0]["attachments"]]


def _allure_steps(directory: Path) -> dict[str, list]:
    """Each scenario's steps as written, attachments by content (file names, times and msgids are per run)."""

    def content(source: str) -> str:
        text = (directory / source).read_text(encoding="utf-8")
        return Masker().text(re.sub(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}|[0-9]{12,}", "#", text))

    def details(found: dict | None) -> dict | None:
        # A message may quote the request: msgids and times vary per run, and the deferred writer masks the whole
        # result file as it writes it (masking itself is tested by the persona scan), so compare both masked.
        masker = Masker()
        return {k: masker.text(re.sub(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}|[0-9]{12,}", "#",
                                      str(v))) for k, v in found.items()} if found else found

    def shown(steps: list[dict]) -> list:
        return [(s["name"], s["status"], details(s.get("statusDetails")), s.get("parameters"),
                 [(a["name"], a["type"], content(a["source"])) for a in s.get("attachments", [])],
                 shown(s.get("steps", []))) for s in steps]

    return {sid: shown(data.get("steps", [])) for sid, data in _allure_results(directory).items()}


def test_steps_built_when_written_are_what_the_live_allure_api_writes(
        pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A step is noted during the run and built when the deferred writer writes its result; without the writer
    the live allure API (allure.step, allure.attach) records it. Both write the same steps, masked the same
    (the live path once left the PowerShell reproduction unmasked)."""
    from harness.reporting.allure import DeferredWriter

    for out in ("deferred", "live"):
        if out == "live":
            monkeypatch.setattr(DeferredWriter, "start", lambda self: False)
        fake = FakeSite({"2207": refusal("参保人未办理异地就医备案，不能直接结算")})
        plugin = plugin_for(fake, signer=make_signer("none", {}, {}))
        pytester.runpytest_inprocess("--alluredir", str(tmp_path / out), plugins=[plugin])
    deferred, live = _allure_steps(tmp_path / "deferred"), _allure_steps(tmp_path / "live")

    assert deferred == live
    [failing] = deferred["outpatient.sample.fail"]
    assert failing[1] == "failed" and failing[2]["message"].startswith("AssertionError: expected success")
    assert [a[0] for a in failing[4]] == ["request", "response (HTTP 200)", "findings", "reproduce (curl)",
                                      "reproduce (PowerShell)"]


def test_run_pytest_freezes_the_loaded_heap_keeps_collection_on_and_restores_the_collector(tmp_path: Path) -> None:
    """The run keeps no exchange to the end (issue 14): the cycles a scenario leaves are collected as it goes."""
    import gc

    from harness import pytest_plugin

    during: list[tuple[bool, int]] = []
    plugin = plugin_for(FakeSite(), [suite()[0]])
    plugin.on_result = lambda _s, _r: during.append((gc.isenabled(), gc.get_freeze_count()))
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    status = pytest_plugin.run_pytest(plugin, root=tmp_path)
    assert status == 0 and [r.outcome for r in plugin.ordered_results()] == [Outcome.PASSED]
    [(automatic, frozen)] = during
    assert automatic is enabled and frozen > 0  # the specs and scenarios loaded before are never rescanned
    assert (gc.isenabled(), gc.get_threshold()) == (enabled, thresholds)
    assert gc.get_freeze_count() == 0


def test_run_pytest_puts_no_per_scenario_string_into_the_process_environment(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc keeps every string ever given to putenv: pytest's PYTEST_CURRENT_TEST ("<node id> (setup)", three new
    values a scenario) made the harness's C memory grow with the run (issue 14)."""
    import os

    from _pytest import runner as pytest_runner

    from harness import pytest_plugin

    put: list[str] = []
    real_putenv = os.putenv
    monkeypatch.setattr(os, "putenv", lambda key, value: (put.append(os.fsdecode(key)), real_putenv(key, value)))
    outer = os.environ.get("PYTEST_CURRENT_TEST")  # this test's own, set by the pytest running it
    replaced = pytest_runner._update_current_test_var
    plugin = plugin_for(FakeSite(), suite())
    status = pytest_plugin.run_pytest(plugin, root=tmp_path)
    assert status == 1 and len(plugin.ordered_results()) == len(suite())
    assert "PYTEST_CURRENT_TEST" not in put
    assert os.environ.get("PYTEST_CURRENT_TEST") == outer
    assert pytest_runner._update_current_test_var is replaced  # put back after the run


def test_allure_files_are_written_without_interning_their_unique_names(pytester: pytest.Pytester, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """pathlib interns every part of a path (Python 3.11): the dozen unique file names a scenario writes churned
    Python's table of interned strings, whose 4 MB resizes grew the process with the run (issue 14)."""
    import sys

    interned: set[str] = set()
    real_intern = sys.intern
    monkeypatch.setattr(sys, "intern", lambda text: (interned.add(text), real_intern(text))[1])
    fake = FakeSite({"2207": refusal("参保人未办理异地就医备案，不能直接结算")})
    pytester.runpytest_inprocess("--alluredir", str(tmp_path / "allure"), plugins=[plugin_for(fake)])
    written = {path.name for path in (tmp_path / "allure").iterdir()}
    assert any(name.endswith("-result.json") for name in written)
    assert any(name.endswith("-attachment.json") for name in written)
    assert not {name for name in written if name in interned or f"{name}.tmp" in interned}


def test_advisories_pass_visibly_and_inconclusive_is_skipped_with_its_reason(pytester: pytest.Pytester,
                                                                             tmp_path: Path) -> None:
    from dataclasses import replace

    from harness.model import Failure, Grade, ScenarioResult

    class Unsure(Runner):
        """Refused for a reason the harness cannot recognise (what the runner records as inconclusive)."""

        def run_scenario(self, scenario):
            if scenario.id != "outpatient.sample.unsure":
                return super().run_scenario(scenario)
            unsure = Failure(title="refused for an unrecognised reason: '系统繁忙'", clause="R-CAUSE-NOT-FILED",
                             grade=Grade.MAY, evidence={"inconclusive": True})
            return ScenarioResult(scenario.id, Outcome.INCONCLUSIVE, scenario.clauses, 1.0, failures=(unsure,))

    advisory = replace(scenario((settle_step(Expectation(ok=False, cause="not-filed")),), id="outpatient.sample.should",
                                interface="2207"), grade=Grade.SHOULD)  # the fake site accepts: a SHOULD finding
    unsure = scenario((person_step(),), id="outpatient.sample.unsure")
    runner = Unsure(CallableTarget(FakeSite()), load_registry(), "baseline", site(), seed=3)
    plugin = ScenarioPlugin([advisory, unsure], runner, interface_names=NAMES)
    result = pytester.runpytest_inprocess("-rA", "--alluredir", str(tmp_path / "allure"), plugins=[plugin])
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*inconclusive (never counted as passed): refused for an unrecognised*"])
    found = _allure_results(tmp_path / "allure")
    should = found["outpatient.sample.should"]
    assert should["status"] == "passed" and should["label_map"]["grade"] == ["SHOULD"]
    assert should["label_map"]["advisories"] == ["1"]
    assert [p["name"] for p in should["parameters"]] == ["advisories 建议项"]
    assert "SHOULD R-CAUSE-NOT-FILED" in should["parameters"][0]["value"]
    assert [s["status"] for s in should["steps"]] == ["passed"]  # an advisory does not fail its step
    assert any(a["name"] == "advisories 建议项 (1)" for a in should["attachments"])
    assert found["outpatient.sample.unsure"]["status"] == "skipped"
    assert "系统繁忙" in found["outpatient.sample.unsure"]["statusDetails"]["message"]


def test_the_deferred_writer_writes_in_batches_so_a_long_run_does_not_hold_every_result(
        pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounded memory: with a batch of 2, results are on disk while the session still runs, and the whole
    run writes the same steps as one batch at the end."""
    from harness.reporting.allure import DeferredWriter

    seen: list[int] = []
    flush = DeferredWriter.flush

    def counting(self: DeferredWriter) -> None:
        flush(self)
        seen.append(len(list((tmp_path / "batched").glob("*-result.json"))))

    for out, batch in (("whole", 10_000), ("batched", 2)):
        monkeypatch.setattr(DeferredWriter, "FLUSH_RESULTS", batch)
        monkeypatch.setattr(DeferredWriter, "flush", counting if out == "batched" else flush)
        fake = FakeSite({"2207": refusal("参保人未办理异地就医备案，不能直接结算")})
        plugin = plugin_for(fake, signer=make_signer("none", {}, {}))
        pytester.runpytest_inprocess("--alluredir", str(tmp_path / out), plugins=[plugin])
    assert seen[:2] == [2, 4] and seen[-1] == 5  # two batches during the session, the rest at its end
    assert _allure_steps(tmp_path / "batched") == _allure_steps(tmp_path / "whole")
