"""Bilingual findings: every finding has a Chinese text beside the English, and code values carry their labels.

The texts are data (specs/findings-zh.json, the Chinese names in the schemas, rules.json, client-rules.json,
deviations.json); these tests fail when a check, a rule, a client rule, a deviation or a field has none.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
import responses
from reporting_samples import mixed_record

from harness.checks import CHECKS
from harness.model import Failure, Outcome
from harness.platform.config import PlatformConfig
from harness.platform.inprocess import mount
from harness.reporting.certificate import render_certificate
from harness.reporting.console import render_findings
from harness.reporting.gate import GatePolicy, evaluate
from harness.reporting.record import RunRecord
from harness.reporting.results_json import results_document
from harness.runner import Runner
from harness.scenarios.catalogue import load_suites
from harness.siteconfig import embedded_site
from harness.specs import load_registry
from harness.specs.findings_zh import bilingual, finding_texts, title_en, title_zh
from harness.specs.labels import labeller
from harness.transport import HttpTarget

CJK = re.compile(r"[\u4e00-\u9fff]")
# The dictionaries findings cite: every code of their base list has an English label.
CITED = ("insutype", "med_type", "psn_type", "clr_type", "clr_way", "mdtrt_cert_type", "psn_cert_type", "stmt_rslt")


@pytest.fixture(scope="module")
def texts():  # type: ignore[no-untyped-def]
    return finding_texts(load_registry())


def test_every_registered_check_has_a_chinese_text(texts) -> None:  # type: ignore[no-untyped-def]
    missing = [name for name in CHECKS if not CJK.search(texts.checks.get(name, ""))]
    assert not missing, f"add these checks to specs/findings-zh.json `checks`: {missing}"
    stale = sorted(set(texts.checks) - set(CHECKS))
    assert not stale, f"specs/findings-zh.json names checks that do not exist: {stale}"


def test_every_rule_cause_client_rule_and_deviation_clause_has_a_chinese_text(texts) -> None:  # type: ignore[no-untyped-def]
    registry = load_registry()
    clauses = [r.id for r in registry.rules()] + [c.clause for c in registry.causes()]
    clauses += [d.clause for d in registry.deviation_catalogue().deviations] + list(texts.client_rules)
    audit = json.loads((registry.root / "checks" / registry.version / "rule-checks.json").read_text(encoding="utf-8"))
    clauses += [entry["id"] for entry in audit["rules"]] + [check.clause for check in CHECKS.values()]
    missing = sorted({c for c in clauses if not CJK.search(texts.subject(c))})
    assert not missing, f"these clauses have no Chinese text: {missing}"


def test_every_field_and_envelope_clause_has_a_chinese_name(texts) -> None:  # type: ignore[no-untyped-def]
    registry = load_registry()
    clauses = [f.clause for spec in registry.interfaces() for d in ("in", "out") for f in spec.fields(d)]
    clauses += [c for c in texts.fields if c.startswith("ENV.")]
    assert len(clauses) > 1000
    missing = sorted({c for c in clauses if not CJK.search(texts.subject(c))})
    assert not missing, f"these fields have no 中文 title in their schema: {missing[:20]}"


def test_every_kind_of_the_catalogue_renders_in_chinese(texts) -> None:  # type: ignore[no-untyped-def]
    for pattern, template in texts.kinds:
        assert CJK.search(template), pattern.pattern
    for clause, template in texts.clauses.items():
        assert CJK.search(template), clause


@pytest.mark.parametrize("name", CITED)
def test_the_dictionaries_findings_cite_have_english_labels(name: str) -> None:
    registry = load_registry()
    labels = labeller(registry).labels[name]
    base = registry.code_list(name).values
    missing = [code for code in base if not labels.get(code, ("", ""))[1]]
    assert not missing, f"{name}: add English labels to specs/v1.1.27/code-labels-en.json for {missing}"


def test_a_code_value_carries_its_label_in_both_languages() -> None:
    label = labeller(load_registry())
    assert label.field("insutype", "310") == "insutype 310 (职工基本医疗保险 / employee basic medical insurance)"
    assert label.field("med_type", "14") == "med_type 14 (门诊慢特病 / outpatient chronic or special disease)"
    assert label.label("mdtrt_cert_type", "02") == "02 (居民身份证 / resident identity card)"
    assert label.label("cause", "not-filed") == "not-filed (未备案 / Not filed for cross-province care)"
    assert label.label("insutype", "999") == "999"  # no label: the value alone
    text = label.text('infcode -1, clr_type: "11" and insutype 310 (already labelled)')
    assert text == ('infcode -1 (失败 / refusal), clr_type: "11" (门诊 / outpatient) and insutype 310 '
                    "(already labelled)")


def test_a_finding_gets_its_chinese_text_and_labelled_values_from_the_catalogue() -> None:
    schema = Failure(title="response does not conform: /output/setlinfo/clr_way is not in its code list",
                     clause="2207.out.setlinfo.clr_way", expected="one of code list clr_way: 1, 2", actual='"01"')
    text = title_zh(schema)
    assert text.startswith("应答不符合接口规范：清算方式（clr_way）")
    assert '"01" (按项目 / by item)' in text and "1 (按项目 / by item), 2 (单病种 / single disease)" in text
    refused = Failure(title="expected a refusal (not-filed), the site accepted", clause="R-CAUSE-NOT-FILED",
                      expected="infcode -1", actual="infcode 0")
    assert title_zh(refused) == ("应当拒绝却被受理：not-filed (未备案 / Not filed for cross-province care)"
                                 "（应为 infcode -1 (失败 / refusal)，实际为 infcode 0 (成功 / success)）")
    money = Failure(title="medfee_sumamt is not …", clause="R-MONEY-SUM", expected="10.00", actual="9.00",
                    evidence={"check": "money.sum"})
    assert title_zh(money).startswith("医疗费总额（medfee_sumamt）不等于")
    assert "应为 10.00，实际为 9.00" in title_zh(money)
    assert title_en(Failure(title="insutype 310 differs", clause="x")).startswith("insutype 310 (职工基本医疗保险 / ")


def test_the_chinese_text_is_no_part_of_a_findings_identity() -> None:
    plain = Failure(title="t", clause="R-MONEY-SUM", evidence={"check": "money.sum"})
    filled = bilingual(plain)
    assert filled.title_zh and filled == plain and bilingual(filled) is filled


@pytest.mark.slow
def test_a_run_against_a_mutant_platform_yields_bilingual_labelled_findings() -> None:
    base_url = "http://platform.test"
    registry = load_registry()
    wanted = {"outpatient.settle.hospital-share", "cause.not-filed.outpatient"}
    scenarios = [s for s in load_suites(registry, "baseline") if s.id in wanted]
    assert len(scenarios) == 2
    config = PlatformConfig(db_path=":memory:", profile="baseline",
                            faults=["*:mutant=code-outside-list", "*:mutant=accept-not-filed"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mount(rsps, base_url, config)
        site = embedded_site(base_url, profile="baseline")
        settings = registry.profile("baseline")
        with HttpTarget.from_profile(base_url, dict(settings.transport)) as target:
            runner = Runner(target, registry, settings, site, seed=7)
            results = [runner.run_scenario(s) for s in scenarios]
    assert all(r.outcome is Outcome.FAILED for r in results), [(r.scenario_id, r.outcome) for r in results]
    document = results_document(results, {s.id: s for s in scenarios}, run={})
    findings = [f for entry in document["scenarios"] for f in entry["failures"]]
    assert findings and all(CJK.search(f["title_zh"]) for f in findings), [f["title"] for f in findings]
    clr_way = [f for f in findings if f["clause"].endswith(".setlinfo.clr_way")]
    assert clr_way and all("(按项目 / by item)" in f["title_zh"] for f in clr_way)
    refused = [f for f in findings if f["clause"] == "R-CAUSE-NOT-FILED"]
    assert refused and "未备案 / Not filed for cross-province care" in refused[0]["title_zh"]
    shown = render_findings(results, {s.id: s for s in scenarios})
    assert "未备案 / Not filed for cross-province care" in shown and "清算方式（clr_way）" in shown
    json.dumps(document, ensure_ascii=False)  # the texts are plain strings


@pytest.mark.parametrize(("reason", "zh"), [
    ("2207 at http://site.test/fsi: timeout", "超时"),
    ("1101 at http://site.test/fsi: connection refused", "连接被拒绝"),
    ("2201 at http://site.test/fsi: HTTP 502", "HTTP 状态码 502"),
    ("2201 at http://site.test/fsi: not JSON: <html>", "应答不是 JSON"),
    ("circuit breaker open after 5 consecutive infrastructure errors (last: 2207 timeout at u)", "熔断"),
])
def test_an_infrastructure_reason_gets_its_chinese_beside_it(reason: str, zh: str) -> None:
    from harness.specs.findings_zh import reason_both

    shown = reason_both(reason)
    assert shown.startswith(reason + " · ") and zh in shown
    assert reason_both("a reason nobody catalogued") == "a reason nobody catalogued"


def test_junit_and_allure_carry_the_chinese_text(pytester: pytest.Pytester, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from engine_samples import FakeSite, scenario, settle_step, site

    from harness.model import Expectation
    from harness.pytest_plugin import ScenarioPlugin
    from harness.transport import CallableTarget

    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTEST_PLUGINS", "allure_pytest.plugin")
    refused = scenario((settle_step(Expectation(ok=False, cause="not-filed")),), id="outpatient.sample.refused",
                       interface="2207")
    runner = Runner(CallableTarget(FakeSite()), load_registry(), "baseline", site(), seed=3)
    plugin = ScenarioPlugin([refused], runner, interface_names={"2207": "门诊结算"})
    junit, allure_dir = tmp_path / "junit.xml", tmp_path / "allure"
    result = pytester.runpytest_inprocess(f"--junitxml={junit}", "--alluredir", str(allure_dir), plugins=[plugin])
    result.assert_outcomes(failed=1)
    text = junit.read_text(encoding="utf-8")
    assert "应当拒绝却被受理" in text and "未备案 / Not filed for cross-province care" in text
    [data] = [json.loads(p.read_text(encoding="utf-8")) for p in allure_dir.glob("*-result.json")]
    shown = json.dumps(data, ensure_ascii=False)
    assert "应当拒绝却被受理" in data["statusDetails"]["message"], shown[:2000]


def test_the_certificate_findings_table_shows_the_chinese_text_read_back_from_results_json() -> None:
    record = mixed_record()
    document: dict[str, Any] = {"run": asdict(record.info), "scenarios": []}
    for sc in record.scenarios:
        failures = [{"title": f.title, "clause": f.clause, "severity": f.severity, "grade": f.grade,
                     "title_zh": title_zh(Failure(title=f.title, clause=f.clause))} for f in sc.failures]
        document["scenarios"].append({"id": sc.id, "outcome": sc.outcome.value, "level": sc.level.value,
                                      "area": sc.area, "interface": sc.interface, "title": sc.title,
                                      "title_zh": sc.title_zh, "clauses": list(sc.clauses), "reason": sc.reason,
                                      "failures": failures})
    read = RunRecord.from_json(document)
    shown = [f.title_zh for sc in read.scenarios for f in sc.failures if f.title_zh]
    assert shown and all(CJK.search(text) for text in shown)
    gate = evaluate(read, GatePolicy(min_pass_rate=0.5))
    html = render_certificate(replace(read, extra={"gate": gate.to_json()}), digest="ab" * 32)
    assert any(f"· {text}" in html for text in shown), shown
