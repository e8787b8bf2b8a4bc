"""The proxy self-test (judgement with fake runs, one small real run), `selftest --rules` and the CLI's forms."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.checks.registry import Check
from harness.cli import app
from harness.model import Expectation, Level, Scenario, Step
from harness.proxy import load_mutations, mutation_from
from harness.scenarios.catalogue import load_suites
from harness.selftest import CATALOGUE, FailureNote, SuiteResult
from harness.selftest.proxy import CLEAN, ProxyRun, judge_mutation, plan_proxy, run_proxy_selftest
from harness.selftest.rules import rules_report
from harness.specs import load_registry

ROOT = Path(__file__).resolve().parents[1]
SUM = FailureNote("medfee_sumamt is not fund + person + hospital", "R-MONEY-SUM")
ADVICE = FailureNote("a SHOULD finding", "R-REVERSAL-NEGATES", grade="SHOULD")
GOLDEN = FailureNote("output.setlinfo.hifp_pay differs from the reference platform's golden value", "2207.out.x")


def scenario(sid: str, infno: str, kind: str = "flow", tags: tuple[str, ...] = ()) -> Scenario:
    return Scenario(id=sid, title=sid, title_zh=sid, clauses=(), capabilities=(), level=Level.MANDATORY,
                    area="outpatient", interface=infno, archetype=None, steps=(Step(infno, {}),), kind=kind, tags=tags)


SCENARIOS = [scenario("settle", "2207"), scenario("register", "2201"), scenario("neg", "2207", "negative"),
             scenario("cause", "2201", "generated", ("cause:not-filed",))]
MUST = load_mutations()["psn-part-plus-cent"]
SHOULD = load_mutations()["reversal-positive"]
CAUSE = load_mutations()["accept-not-filed"]


def test_a_mutation_meets_the_scenarios_that_call_its_interfaces_or_carry_its_tags() -> None:
    assert [s.id for s in SCENARIOS if MUST.selects(s)] == ["settle"]  # not the negative
    assert [s.id for s in SCENARIOS if CAUSE.selects(s)] == ["cause"]
    tasks = plan_proxy(SCENARIOS, [MUST, CAUSE, SHOULD])
    assert [(t.label, t.scenario_ids, t.faults) for t in tasks] == [
        (CLEAN, ("settle", "cause"), ()), (MUST.name, ("settle",), (MUST.name,)),
        (CAUSE.name, ("cause",), (CAUSE.name,))]


def test_must_mutations_need_a_new_must_failure_and_should_ones_any_new_finding() -> None:
    clean = SuiteResult({"settle": "passed", "cause": "failed"})
    caught = judge_mutation(MUST, clean, ProxyRun(SuiteResult({"settle": "failed"}, {"settle": (SUM,)}), applied=3))
    assert caught.status == "caught" and caught.caught_by[0].clause == "R-MONEY-SUM"
    advisory_only = ProxyRun(SuiteResult({"settle": "passed"}, {"settle": (ADVICE,)}), applied=3)
    assert judge_mutation(MUST, clean, advisory_only).status == "missed"
    assert judge_mutation(SHOULD, clean, advisory_only).status == "caught"
    failed_before = ProxyRun(SuiteResult({"cause": "failed"}, {"cause": (SUM,)}), applied=1)
    assert judge_mutation(CAUSE, clean, failed_before).status == "missed"  # it failed clean: proves nothing
    assert judge_mutation(MUST, clean, ProxyRun(SuiteResult({"settle": "passed"}), applied=0)).status == \
        "not exercised"
    golden = judge_mutation(MUST, clean, ProxyRun(SuiteResult({"settle": "failed"}, {"settle": (GOLDEN,)}), 2))
    assert golden.caught and golden.reference_only
    both = judge_mutation(MUST, clean, ProxyRun(SuiteResult({"settle": "failed"}, {"settle": (GOLDEN, SUM)}), 2))
    assert not both.reference_only and both.caught_by[0].clause == "R-MONEY-SUM"  # the portable catch is shown
    drift = ProxyRun(SuiteResult({"settle": "failed"}, {"settle": (SUM,)}), applied=0)
    assert judge_mutation(MUST, clean, drift).status == "not exercised"  # altered nothing: not its doing


def test_a_mutation_planting_a_deviation_the_profile_tolerates_is_judged_at_should_there() -> None:
    infcode = load_mutations()["infcode-as-string"]
    clean = SuiteResult({"settle": "passed"})
    note = FailureNote("infcode is a string", "DEV.infcode-string", grade="SHOULD")
    run = ProxyRun(SuiteResult({"settle": "passed"}, {"settle": (note,)}), applied=4)
    assert judge_mutation(infcode, clean, run).status == "missed"  # baseline: a MUST [C] rule, no MUST finding
    tolerated = judge_mutation(infcode, clean, run, ("infcode-string",))
    assert tolerated.grade.value == "SHOULD" and tolerated.tolerated and tolerated.status == "caught"
    silent = judge_mutation(infcode, clean, ProxyRun(SuiteResult({"settle": "passed"}), applied=4), ("infcode-string",))
    assert silent.status == "tolerated by profile" and silent.to_json()["catalogue_grade"] == "MUST"


def test_the_pool_share_rounding_is_no_must_bug() -> None:
    """The spec fixes the rounding of fee detail amounts only; the pool share is the insured region's policy."""
    assert load_mutations()["pool-share-rounded-down"].grade.value == "SHOULD"


def fake_run(ids: tuple[str, ...] | None, names: tuple[str, ...]) -> ProxyRun:
    outcomes = dict.fromkeys(ids or (), "passed")
    failures: dict[str, tuple[FailureNote, ...]] = {}
    if names == (MUST.name,):
        outcomes["settle"], failures["settle"] = "failed", (SUM,)
    return ProxyRun(SuiteResult(outcomes, failures), applied=1 if names else 0)


def test_the_report_scores_exercised_must_mutations_and_sets_the_exit_code() -> None:
    report = run_proxy_selftest(fake_run, SCENARIOS, [MUST, CAUSE, SHOULD])
    data = report.to_json()
    assert (data["caught"], data["total"], data["missed"]) == (1, 2, ["accept-not-filed"])
    assert data["not_exercised"] == ["reversal-positive"] and report.exit_code == 1
    assert {m["name"]: m["caught"] for m in data["mutations"]} == {MUST.name: True, CAUSE.name: False,
                                                                   SHOULD.name: False}
    assert data["mutations"][0]["by"]["scenario"] == "settle"
    text = report.render_text()
    assert "proxy score (MUST mutations caught): 1/2" in text and "missed accept-not-filed" in text
    assert run_proxy_selftest(fake_run, SCENARIOS, [MUST]).exit_code == 0


def test_rules_report_lists_what_verifies_and_breaks_each_rule_and_picks_up_new_checks() -> None:
    registry = load_registry()
    refusal = Step("2207", {}, expect=Expectation(ok=False, cause="not-filed"))
    scenarios = [Scenario(id="s", title="s", title_zh="s", clauses=("R-MONEY-SUM",), capabilities=(),
                          level=Level.MANDATORY, area="outpatient", interface="2207", archetype=None,
                          steps=(refusal, Step("2207", {}, expect=Expectation(checks=("new.check",)))))]
    new = Check("new.check", "R-ISOLATION", lambda _ctx, _chk: [])
    report = rules_report(registry, scenarios, list(CATALOGUE.values()), list(load_mutations().values()),
                          checks={"new.check": new})
    rules = {r.clause: r for r in report.rules}
    assert rules["R-ISOLATION"].checks == ("new.check (MUST)",) and rules["R-ISOLATION"].scenarios == ("s",)
    assert rules["R-CAUSE-NOT-FILED"].refusals == 1 and rules["R-CAUSE-NOT-FILED"].checked
    assert "R-MONEY-SUM" in report.without_check  # no registered check in this mapping
    assert rules["R-MONEY-SUM"].platform_mutants == ("shares-dont-add-up",)
    assert "psn-part-plus-cent" in rules["R-MONEY-SUM"].proxy_mutations
    assert report.without_mutant == []  # R-REFUSAL-NO-STATE-CHANGE: platform mutant refusal-keeps-changes
    assert rules["R-GATEWAY-SIGNATURE"].proxy_mutations == ("gateway-refusal-accepted",)
    tampered = Step("1101", {}, expect=Expectation(ok=False), tamper="signature-wrong")
    gateway = rules_report(registry, [Scenario(id="g", title="g", title_zh="g", clauses=(), capabilities=(),
                                               level=Level.MANDATORY, area="protocol", interface="1101",
                                               archetype=None, steps=(tampered,))], [], [])
    assert {r.clause: r for r in gateway.rules}["R-GATEWAY-SIGNATURE"].checked  # a tamper step is its check
    assert {r.clause for r in report.rules} == {r.id for r in registry.rules()} | {c.clause for c in registry.causes()}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["selftest", *args])
    return result.exit_code, result.stdout, result.stderr


def test_cli_rules_text_and_json() -> None:
    code, out, _ = invoke("--rules", "--json")
    assert code == 0
    data = json.loads(out)
    money = next(r for r in data["rules"] if r["clause"] == "R-MONEY-SUM")
    assert "money.sum (MUST)" in money["checks"] and money["scenarios"] > 0
    assert "shares-dont-add-up" in money["platform_mutants"] and "psn-part-plus-cent" in money["proxy_mutations"]
    assert "R-GATEWAY-SIGNATURE" not in data["without_check"]
    assert data["without_mutant"] == []
    code, out, _ = invoke("--rules")
    assert code == 0 and "without a check" in out and "R-CAUSE-NOT-FILED" in out


def test_cli_lists_both_catalogues() -> None:
    code, out, _ = invoke("--list", "--json")
    data = json.loads(out)
    assert code == 0 and [m["name"] for m in data["proxy"]] == list(load_mutations())
    code, out, _ = invoke("--list", "--mutation", "setl-id-missing")
    assert code == 0 and "setl-id-missing" in out and "shares-dont-add-up" not in out


@pytest.mark.parametrize(("args", "message"), [
    (["--mutation", "no-such"], "unknown proxy mutation 'no-such'"),
    (["--only", "both"], "--only must be one of platform, proxy"),
    (["--site", "site.toml", "--mutant", "settle-twice"], "platform mutants run only against the embedded"),
    (["--only", "proxy", "--write-baseline"], "--write-baseline needs a full run"),
])
def test_cli_usage_errors_exit_2(args: list[str], message: str) -> None:
    code, _out, err = invoke(*args)
    assert code == 2 and message in err


@pytest.mark.slow
def test_proxy_selftest_of_a_few_mutations_against_the_embedded_platform() -> None:
    """A -k-style subset: a money rewrite, a named refusal accepted, and a rule switched off in 3201."""
    code, out, err = invoke("--mutation", "three-decimal-cash", "--mutation", "accept-not-filed",
                            "--mutation", "recon-always-balanced", "--json")
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    assert report["platform"] is None
    proxy = report["proxy"]
    assert proxy["clean"]["not_passed"] == [], "the clean run through the proxy must pass"
    by_name = {m["name"]: m for m in proxy["mutations"]}
    assert all(m["caught"] for m in by_name.values()), by_name
    assert by_name["three-decimal-cash"]["by"]["clause"] in ("R-MONEY-PRECISION", "2207.out.setlinfo.acct_pay",
                                                            "2207.out.setlinfo.psn_cash_pay")
    assert by_name["accept-not-filed"]["by"]["scenario"].startswith("cause.not-filed")
    assert proxy["score"] == 1.0 and proxy["total"] == 3


def test_every_mutation_meets_some_scenario_of_the_default_suite() -> None:
    registry = load_registry()
    scenarios = load_suites(registry, "baseline")
    idle = [m.name for m in load_mutations().values() if not any(m.selects(s) for s in scenarios)]
    assert idle == ["gateway-refusal-accepted"]  # the gateway scenarios are in the signing profiles' suites
    assert any(load_mutations()["gateway-refusal-accepted"].selects(s) for s in load_suites(registry, "hunan"))


def test_an_unknown_when_condition_is_refused_at_load() -> None:
    with pytest.raises(Exception, match="when must be one of"):
        mutation_from({"name": "x", "description": "d", "category": "money", "infnos": ["2207"], "when": "later",
                       "ops": [{"op": "drop", "path": "output.x"}], "clauses": ["R-MONEY-SUM"], "grade": "MUST"})


def test_an_unreachable_site_is_an_infrastructure_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    embedded = (ROOT / "fixtures" / "sites" / "embedded.toml").read_text(encoding="utf-8")
    site = tmp_path / "down.toml"
    site.write_text(embedded.replace("http://127.0.0.1:8080", f"http://127.0.0.1:{port}"), encoding="utf-8")
    code, _out, err = invoke("--site", str(site), "--mutation", "setl-id-missing")
    assert code == 3 and "not reachable" in err


def test_against_a_persistent_site_a_scenario_that_drifted_by_the_end_is_no_catch() -> None:
    runs: list[tuple[str, ...]] = []

    def drifting(ids: tuple[str, ...] | None, names: tuple[str, ...]) -> ProxyRun:
        runs.append(names)
        outcomes = dict.fromkeys(ids or (), "passed")
        failures: dict[str, tuple[FailureNote, ...]] = {}
        if len(runs) > 1:  # from the second run on, the site's state makes `settle` fail whatever the mutation
            outcomes["settle"], failures["settle"] = "failed", (SUM,)
        return ProxyRun(SuiteResult(outcomes, failures), applied=1 if names else 0)

    report = run_proxy_selftest(drifting, SCENARIOS, [MUST], jobs=2, recheck=True)
    assert runs == [(), (MUST.name,), ()] and report.jobs == 1  # one after another, the clean run last again
    assert report.verdicts[0].status == "missed" and "drifted" in report.render_text()
    runs.clear()
    assert run_proxy_selftest(drifting, SCENARIOS, [MUST]).verdicts[0].status == "caught"  # without the recheck


def test_mutations_over_the_generated_negatives_are_bounded_per_interface() -> None:
    scenarios = load_suites(load_registry(), "baseline")
    accept = load_mutations()["accept-invalid-request"]
    met = [s for s in scenarios if accept.selects(s)]
    planned = dict((t.label, t.scenario_ids) for t in plan_proxy(scenarios, [accept]))[accept.name]
    assert len(met) > 300 and 10 <= len(planned) <= len({s.interface for s in met})
    chosen = [s for s in met if s.id in planned]
    assert len({s.interface for s in chosen}) == len(chosen)  # one per interface
    assert all(s.grade.value == "MUST" for s in chosen if any(o.interface == s.interface and o.grade.value == "MUST"
                                                                for o in met))
