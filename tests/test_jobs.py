"""`--jobs N`: scenarios of different persons at once, the same ids, outcomes and evidence as a serial run."""

from __future__ import annotations

import json
import re
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from engine_samples import scenario, settle_step

from harness.model import Outcome, ScenarioResult, Step
from harness.runner import Ledger
from harness.runner.pool import SEGMENT_SCENARIOS, ScenarioPool, lanes_of, must_run_alone
from harness.scenarios.catalogue import load_suites
from harness.session import run_session
from harness.siteconfig import embedded_site, parse_site
from harness.specs import load_registry

_VARYING = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:.+]+|[0-9]{12,}")  # times and msgids vary per run


def _results(run_dir: Path) -> str:
    document = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    document.pop("run")
    for entry in document["scenarios"]:
        entry.pop("duration_ms")
        for step in entry.get("steps", []):
            step.pop("elapsed_ms", None)
            step.pop("msgid", None)
    return _VARYING.sub("#", json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1))


def _junit(run_dir: Path) -> list[tuple]:
    root = ET.parse(run_dir / "junit.xml").getroot()
    return [(case.get("classname"), case.get("name"),
             [(child.tag, _VARYING.sub("#", child.get("message") or "")) for child in case])
            for case in root.iter("testcase")]


def _allure(run_dir: Path) -> dict[str, tuple]:
    def shape(steps: list[dict]) -> list:
        return [(s["name"], s["status"], [a["name"] for a in s.get("attachments", [])], shape(s.get("steps", [])))
                for s in steps]

    found = {}
    for path in (run_dir / "allure-results").glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["name"]] = (data["status"], shape(data.get("steps", [])))
    return found


def _selection() -> list:
    """Every flow, fault, reconciliation, sign-out and isolation scenario, and a slice of the negatives."""
    suite = load_suites(load_registry(), "baseline")
    protocol = [s for s in suite if s.area == "protocol"]
    reconciling = [s for s in protocol if s.interface == "3201"][:4]
    return [s for s in suite if s.area != "protocol"] + protocol[:40] + reconciling


def test_a_run_with_four_jobs_equals_the_serial_run(tmp_path: Path) -> None:
    """Results (minus times and msgids), junit and Allure (names, statuses, steps) are the same."""
    chosen = _selection()
    assert any(must_run_alone(s) for s in chosen) and any(step.fault for s in chosen for step in s.steps)
    runs = {}
    for jobs in (1, 4):
        code, run_dir, document = run_session(scenarios=chosen, seed=11, out=tmp_path / f"jobs-{jobs}", jobs=jobs,
                                              persons=2, echo=lambda _text: None)
        runs[jobs] = (code, run_dir, document)
    (code1, dir1, doc1), (code4, dir4, doc4) = runs[1], runs[4]
    assert code1 == code4
    assert [(s["id"], s["outcome"]) for s in doc1["scenarios"]] == [(s["id"], s["outcome"]) for s in doc4["scenarios"]]
    assert len(doc1["scenarios"]) == len(chosen)
    assert _results(dir1) == _results(dir4)
    assert _junit(dir1) == _junit(dir4)
    allure1, allure4 = _allure(dir1), _allure(dir4)
    assert allure1 == allure4 and len(allure1) == len(chosen)


def test_scenarios_that_must_run_alone_cut_the_run_and_a_person_keeps_its_order() -> None:
    site = embedded_site("http://127.0.0.1")
    a1, a2 = scenario((settle_step(),), id="a1"), scenario((settle_step(),), id="a2")
    other = scenario((settle_step(),), id="b1", archetype="filed-resident")
    nobody = scenario((settle_step(),), id="n1", archetype=None)
    recon = scenario((Step("3201", {}),), id="recon", archetype=None)
    faulty = scenario((replace(settle_step(), fault="drop-after-commit"),), id="fault")
    last = replace(scenario((settle_step(),), id="last"), tags=("run-last",))
    assert [must_run_alone(s) for s in (a1, nobody, recon, faulty, last)] == [False, False, True, True, True]
    segments = lanes_of(site, [a1, other, recon, a2, nobody, faulty, last])
    assert [[s.id for s, _ in segment] for segment in segments] == [["a1", "b1"], ["recon"], ["a2", "n1"],
                                                                     ["fault"], ["last"]]
    assert [person for _s, person in segments[0]] == [("filed-employee", 0), ("filed-resident", 0)]


def test_several_persons_of_one_archetype_take_turns_whatever_the_jobs(tmp_path: Path) -> None:
    site = _site_with_three_employees()
    assert [p["psn_no"] for p in site.persons("filed-employee")] == ["P-1", "P-2", "P-3"]
    assert site.identity("filed-employee")["psn_no"] == "P-1"
    assert site.with_person("filed-employee", 2).identity("filed-employee")["psn_no"] == "P-3"
    flows = [scenario((settle_step(),), id=f"s{i}") for i in range(5)]
    [segment] = lanes_of(site, flows)
    assert [person for _s, person in segment] == [("filed-employee", i % 3) for i in range(5)]


class _FakeRunner:
    """Stands in for a Runner in the pool's tests: the attributes the pool reads, and a scenario that passes."""

    def __init__(self, site) -> None:
        self.site, self.ledger, self.breaker_reason = site, Ledger(), None
        self.sign_in_exchange, self.first_findings, self.breaker = None, {}, None

    @property
    def breaker_open(self) -> bool:
        return self.breaker_reason is not None

    def add_listener(self, _listener: object) -> None:
        pass

    def run_scenario(self, case):
        return ScenarioResult(scenario_id=case.id, outcome=Outcome.PASSED, clauses=(), duration_ms=0.0)


def test_two_concurrent_scenarios_never_use_the_same_person() -> None:
    site = _site_with_three_employees()
    busy: set[str] = set()
    clashes: list[str] = []
    lock = threading.Lock()
    order: list[tuple[str, str]] = []

    class Worker(_FakeRunner):  # notes who it ran with, and whether that person was busy
        def run_scenario(self, case):
            person = self.site.identity(case.archetype)["psn_no"]
            with lock:
                if person in busy:
                    clashes.append(f"{case.id} with {person}")
                busy.add(person)
                order.append((person, case.id))
            time.sleep(0.002)  # long enough for the other workers to pick up their next scenario
            with lock:
                busy.discard(person)
            return ScenarioResult(scenario_id=case.id, outcome=Outcome.PASSED, clauses=(), duration_ms=0.0)

    main = Worker(site)
    flows = [scenario((settle_step(),), id=f"s{i}") for i in range(30)]
    pool = ScenarioPool(main, [Worker(site) for _ in range(4)])  # type: ignore[arg-type]
    pool.start(flows)
    taken = [pool.take(flow.id)[0] for flow in flows]
    pool.stop()
    assert not clashes
    assert [r.scenario_id for r in taken if r is not None] == [f.id for f in flows]
    for person in ("P-1", "P-2", "P-3"):  # each person ran its scenarios in run order
        mine = [int(sid[1:]) for who, sid in order if who == person]
        assert mine == sorted(mine) and len(mine) == 10


def test_a_breaker_that_opens_in_a_worker_stops_the_pool_like_a_serial_run() -> None:
    site = embedded_site("http://127.0.0.1")

    class Worker(_FakeRunner):
        def run_scenario(self, case):
            if case.id == "s3":
                self.breaker_reason = "circuit breaker open after 5 consecutive infrastructure errors"
            return ScenarioResult(scenario_id=case.id, outcome=Outcome.PASSED, clauses=(), duration_ms=0.0)

    flows = [scenario((settle_step(),), id=f"s{i}") for i in range(8)]  # one person: one lane, in order
    pool = ScenarioPool(Worker(site), [Worker(site), Worker(site)])  # type: ignore[arg-type]
    pool.start(flows)
    taken = [pool.take(flow.id)[0] for flow in flows]
    pool.stop()
    assert [r.scenario_id if r else None for r in taken] == ["s0", "s1", "s2", "s3", None, None, None, None]
    assert pool.opened_by == "s3" and pool.breaker_reason.startswith("circuit breaker open")


class _CountedFlows:
    """A lazy sequence of flows that notes the furthest position anyone asked for."""

    def __init__(self, count: int) -> None:
        self.count, self.furthest = count, -1

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int):
        if not 0 <= index < self.count:
            raise IndexError(index)
        self.furthest = max(self.furthest, index)
        return scenario((settle_step(),), id=f"s{index}")


def test_the_pool_reads_its_scenarios_as_it_goes_and_keeps_only_the_results_not_yet_taken() -> None:
    site = _site_with_three_employees()

    flows = _CountedFlows(3 * SEGMENT_SCENARIOS + 7)  # three full segments and a short one
    pool = ScenarioPool(_FakeRunner(site), [_FakeRunner(site) for _ in range(3)])  # type: ignore[arg-type]
    pool.start(flows)
    taken, most_waiting, most_ahead = [], 0, 0
    for index in range(len(flows)):
        if index % 50 == 0:
            time.sleep(0.05)  # a slow item: the Runners, left alone, would run the whole list ahead
        most_waiting = max(most_waiting, len(pool._slots))
        most_ahead = max(most_ahead, flows.furthest - index)
        result, _events = pool.take(f"s{index}")
        taken.append(result.scenario_id if result else None)
    pool.stop()
    assert taken == [f"s{i}" for i in range(len(flows))]
    # at most the segment being taken and the one run ahead of it: neither the list nor the results whole
    assert most_waiting <= 2 * SEGMENT_SCENARIOS
    assert most_ahead <= 3 * SEGMENT_SCENARIOS  # ... and the next, read and waiting for its slots
    assert not pool._slots


def _pooled_plugin(fake, scenarios: list, jobs: int, threshold: int | None = None):
    from engine_samples import site as sample_site

    from harness.pytest_plugin import ScenarioPlugin
    from harness.runner import Runner
    from harness.transport import CallableTarget

    def runner() -> Runner:
        made = Runner(CallableTarget(fake), load_registry(), "baseline", sample_site(), seed=3)
        made.breaker_threshold = threshold or made.breaker_threshold
        return made

    main = runner()
    pool = ScenarioPool(main, [runner() for _ in range(jobs)]) if jobs > 1 else None
    return ScenarioPlugin(scenarios, main, pool=pool)


@pytest.fixture
def inner_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_PLUGINS", "allure_pytest.plugin")


def test_the_plugin_takes_pooled_results_and_the_breaker_stops_the_session(pytester: pytest.Pytester,
                                                                          inner_pytest: None) -> None:
    from engine_samples import FakeSite, person_step

    fake = FakeSite({"1101": ConnectionRefusedError("down")})
    scenarios = [scenario((person_step(),), id=f"person.sample.s{i}", area="person") for i in range(7)]
    plugin = _pooled_plugin(fake, scenarios, jobs=3, threshold=3)
    result = pytester.runpytest_inprocess(plugins=[plugin])
    result.stdout.fnmatch_lines(["*circuit breaker open after 3 consecutive infrastructure errors*"])
    ordered = plugin.ordered_results()
    assert [r.outcome for r in ordered] == [Outcome.ERROR] * 7
    assert ordered[-1].reason.startswith("not run: circuit breaker open")


def test_the_jobs_option_is_offered_and_checked() -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    result = CliRunner().invoke(app, ["run", "--jobs", "0"])
    assert result.exit_code == 2 and "--jobs" in result.output


def _site_with_three_employees():
    persons = "\n".join(f'[[identities.filed-employee]]\npsn_no = "P-{i}"\nmdtrt_cert_type = "02"\n' for i in (1, 2, 3))
    text = f"""
[site]
id = "many"
name = "many persons"
base_url = "http://127.0.0.1:9"
profile = "baseline"
fixmedins_code = "H00000000001"
fixmedins_name = "test"
mdtrtarea_admvs = "110000"
capabilities = ["outpatient"]

[identities.filed-resident]
psn_no = "R-1"

{persons}
"""
    import tomllib

    return parse_site(tomllib.loads(text), source="many.toml")


@pytest.fixture(autouse=True)
def _no_stray_threads():
    before = {t.name for t in threading.enumerate()}
    yield
    mine = ("hsa-cert-pool", "hsa-cert-job")  # the pool's threads (the transport has its own)
    left = [t.name for t in threading.enumerate() if t.name not in before and t.name.startswith(mine)]
    assert not left, left


def test_further_persons_of_the_embedded_platform_are_new_people_of_the_same_behaviour() -> None:
    from harness.personas import is_valid_certno, load_catalogue
    from harness.personcopies import more_personas

    catalogue = load_catalogue()
    extra = more_personas(catalogue, 3)
    assert len(extra) == 2 * len(catalogue.personas)
    everyone = (*catalogue.personas, *extra)
    for key in ("psn_no", "certno", "card_no", "card_sn"):
        assert len({getattr(p, key) for p in everyone}) == len(everyone), key
    serials = [f["trt_dcla_detl_sn"] for p in everyone for f in (*p.filings, *p.chronic)]
    assert len(set(serials)) == len(serials)
    assert all(is_valid_certno(p.certno) for p in extra)
    original = catalogue.persona(extra[0].archetype)
    assert (extra[0].behaviour, extra[0].insu_stas, extra[0].brdy, extra[0].gend) == (
        original.behaviour, original.insu_stas, original.brdy, original.gend)
    site = embedded_site("http://127.0.0.1", catalogue=catalogue, more_persons=extra)
    assert [p["psn_no"] for p in site.persons("filed-employee")] == [
        p.psn_no for p in everyone if p.archetype == "filed-employee"]


def test_persons_are_for_the_embedded_platform_only(tmp_path: Path) -> None:
    from harness.errors import UsageError

    site_file = tmp_path / "site.toml"
    site_file.write_text("[site]\n", encoding="utf-8")
    with pytest.raises(UsageError, match="--persons"):
        run_session(site_file=site_file, persons=2, echo=lambda _t: None, scenarios=[], out=tmp_path / "x")


@pytest.mark.parametrize(("persons", "message"), [
    ('[[identities.filed-employee]]\npsn_no = "1"\n[[identities.filed-employee]]\npsn_no = ["x"]\n',
     "identities.filed-employee.psn_no"),
    ('[[identities.no-such]]\npsn_no = "1"\n', "identities.no-such"),
])
def test_a_bad_further_person_is_a_config_error_naming_its_key(persons: str, message: str) -> None:
    import tomllib

    from harness.errors import ConfigError

    text = ('[site]\nid = "x"\nname = "x"\nbase_url = "http://127.0.0.1:9"\nprofile = "baseline"\n'
            'fixmedins_code = "H00000000001"\nfixmedins_name = "x"\nmdtrtarea_admvs = "110000"\n'
            'capabilities = ["outpatient"]\n' + persons)
    with pytest.raises(ConfigError, match=message):
        parse_site(tomllib.loads(text), source="x.toml", archetypes=["filed-employee", "filed-resident"])
