"""Normative grades: the table of specs/grades.json per family, profile overrides, the cap by the scenario's
grade, the outcome rule, and the grades the default suite carries."""

from __future__ import annotations

from dataclasses import replace

import pytest
from engine_samples import FakeSite, scenario, settle_step, site

from harness.model import Expectation, Failure, Grade, Outcome, Severity
from harness.runner import Runner
from harness.scenarios.catalogue import load_catalogue_of_scenarios
from harness.scenarios.fingerprint import fingerprint, scenario_to_dict
from harness.specs import Profile, effective_grade, grade_table, load_registry, override_for, scenario_grade
from harness.verdict import graded_outcome

MUST, SHOULD, MAY = Grade.MUST, Grade.SHOULD, Grade.MAY
REGISTRY = load_registry()
TABLE = grade_table(REGISTRY)


@pytest.mark.parametrize(("kind", "clause", "required", "grade"), [
    ("missing", "2207.in.data.psn_no", True, MUST),  # 是否必填 = Y in the national table
    ("missing", "2201.in.data.psn_cert_type", False, MUST),  # required only by the province profile: per profile
    ("null", "ENV.req.msgid", True, MUST),  # a required envelope field sent as null
    ("code", "2207.in.data.med_type", True, MUST),  # bad code in a required coded field
    ("code", "2207.in.data.psn_cert_type", False, SHOULD),  # bad code in an optional coded field
    ("maxlength", "2207.in.data.psn_no", True, SHOULD),  # 长度 is not stated as a limit a receiver must enforce
    ("maxlength", "ENV.req.dev_no", False, SHOULD),
    ("type", "2207.in.data.medfee_sumamt", True, MUST),  # a number sent as text
    ("type", "2303.in.data.fulamt_ownpay_amt", False, SHOULD),
    ("pattern", "2201.in.data.begntime", True, MUST),  # the spec's text fixes date formats
    ("pattern", "2401.in.mdtrtinfo.birctrl_matn_date", False, SHOULD),
    ("xregion-missing", "2207.in.data.certno", False, SHOULD),  # R-XREGION-FIELDS is [L]
    ("pattern", "ENV.req.msgid", True, SHOULD),  # the clause exception: msgid shapes vary [V]
    ("pattern", "ENV.req.inf_time", True, MUST),  # ... and only msgid
])
def test_each_family_of_generated_negative_has_its_grade(kind: str, clause: str, required: bool, grade: Grade) -> None:
    assert TABLE.negative(kind, clause, required=required) is grade


def test_rule_grades_follow_the_fact_tags() -> None:
    assert TABLE.rule("R-MSGID-REPLAY") is SHOULD  # a harness principle, no spec text
    assert TABLE.rule("R-XREGION-FIELDS") is SHOULD  # [L]
    assert TABLE.rule("R-CATALOGUE-UNMAPPED") is SHOULD  # [L], varies in practice
    assert TABLE.rule("R-MONEY-SUM") is MUST and TABLE.rule("R-CAUSE-NOT-FILED") is MUST
    assert TABLE.rule("R-NOT-IN-THE-TABLE") is MUST
    assert TABLE.family("no-such-family") is MUST
    for name in TABLE.families:  # every family says why
        assert len(TABLE.why[name]) > 20, name


# --- profile overrides and the cap ------------------------------------------------------------------------------


def test_override_matches_exact_names_before_globs_and_the_longest_glob() -> None:
    overrides = {"R-MSGID-REPLAY": MUST, "neg.*": SHOULD, "neg.*.maxlength": MUST, "money-sum": MAY}
    assert override_for(overrides, ("R-MSGID-REPLAY", "idempotency.x")) is MUST
    assert override_for(overrides, ("2207.in.data.psn_no", "neg.2207.in.data.psn_no.maxlength")) is MUST
    assert override_for(overrides, ("2207.in.data.psn_no", "neg.2207.in.data.psn_no.missing")) is SHOULD
    assert override_for(overrides, ("R-MONEY-SUM", "money-sum")) is MAY  # a check name
    assert override_for(overrides, ("R-MONEY-SUM", None)) is None
    assert override_for({}, ("R-MONEY-SUM",)) is None


@pytest.mark.parametrize(("failure_grade", "override", "scenario_grade_", "expected"), [
    (MUST, None, MUST, MUST),
    (MUST, None, SHOULD, SHOULD),  # capped by the scenario's grade
    (SHOULD, None, MUST, SHOULD),  # a SHOULD finding stays an advisory in a MUST scenario
    (MUST, SHOULD, MUST, SHOULD),  # the profile lowers it
    (SHOULD, MUST, MUST, MUST),  # the profile raises it
    (SHOULD, MUST, SHOULD, SHOULD),  # ... but never above the scenario's grade
    (MUST, MAY, SHOULD, MAY),
])
def test_effective_grade_is_the_override_capped_by_the_scenario(failure_grade: Grade, override: Grade | None,
                                                                 scenario_grade_: Grade, expected: Grade) -> None:
    failure = Failure(title="t", clause="R-MONEY-SUM", grade=failure_grade, evidence={"check": "money-sum"})
    overrides = {"R-MONEY-SUM": override} if override else {}
    assert effective_grade(failure, scenario_grade_, overrides) is expected
    by_check = {"money-sum": override} if override else {}  # the same entry, by check name
    assert effective_grade(failure, scenario_grade_, by_check) is expected


def test_a_suite_bug_is_never_graded_down() -> None:
    bug = Failure(title="suite bug: the request of step 1 (2207) breaks the schema", clause="R-XREGION-FIELDS")
    assert effective_grade(bug, SHOULD, {"R-XREGION-FIELDS": MAY}) is MUST
    assert graded_outcome([replace(bug, grade=effective_grade(bug, SHOULD))]) is Outcome.FAILED


def test_a_province_profile_may_carry_grades_and_the_schema_checks_them() -> None:
    base = dict(REGISTRY.profile("baseline").raw)
    assert REGISTRY.profile("baseline").grades == {}
    good = {**base, "grades": {"R-MSGID-REPLAY": "MUST", "neg.*.maxlength": "MUST"}}
    assert REGISTRY.validate_document("profiles/profile.schema.json", good) == []
    assert Profile(good).grades == {"R-MSGID-REPLAY": MUST, "neg.*.maxlength": MUST}
    bad = {**base, "grades": {"R-MSGID-REPLAY": "MANDATORY"}}
    assert REGISTRY.validate_document("profiles/profile.schema.json", bad)


def test_scenario_grade_from_its_leading_clause_and_the_profile() -> None:
    replay = replace(scenario(()), id="idempotency.replay", clauses=("R-MSGID-REPLAY", "R-MONEY-SUM"))
    assert scenario_grade(replay, TABLE) is SHOULD  # the rule it is about is a SHOULD
    assert scenario_grade(replay, TABLE, {"R-MSGID-REPLAY": MUST}) is MUST  # a province makes it a MUST
    money = replace(scenario(()), clauses=("R-MONEY-SUM", "R-MSGID-REPLAY"))
    assert scenario_grade(money, TABLE) is MUST  # only the leading clause counts
    stated = replace(money, grade=MAY)
    assert scenario_grade(stated, TABLE) is MAY  # a grade stated in the YAML lowers it
    too_long = replace(scenario(()), id="neg.2207.in.data.psn_no.maxlength", grade=SHOULD,
                       clauses=("2207.in.data.psn_no",))
    assert scenario_grade(too_long, TABLE, {"neg.*.maxlength": MUST}) is MUST


# --- the outcome rule -------------------------------------------------------------------------------------------


def _f(grade: Grade, *, severity: Severity = Severity.MAJOR, inconclusive: bool = False) -> Failure:
    return Failure(title="t", clause="R-X", severity=severity, grade=grade,
                   evidence={"inconclusive": True} if inconclusive else {})


@pytest.mark.parametrize(("failures", "outcome"), [
    ([], Outcome.PASSED),
    ([_f(SHOULD)], Outcome.PASSED),  # advisories only
    ([_f(MAY), _f(SHOULD)], Outcome.PASSED),
    ([_f(MUST, severity=Severity.WARNING)], Outcome.PASSED),  # a warning never fails
    ([_f(MUST)], Outcome.FAILED),
    ([_f(SHOULD), _f(MUST, severity=Severity.MINOR)], Outcome.FAILED),
    ([_f(MAY, inconclusive=True)], Outcome.INCONCLUSIVE),
    ([_f(MAY, inconclusive=True), _f(SHOULD)], Outcome.INCONCLUSIVE),
    ([_f(MAY, inconclusive=True), _f(MUST)], Outcome.FAILED),  # a MUST finding wins
])
def test_graded_outcome(failures: list[Failure], outcome: Outcome) -> None:
    assert graded_outcome(failures) is outcome


def _accepting_site_run(profile: Profile | str = "baseline", grade: Grade = MUST):
    steps = (settle_step(Expectation(ok=False, cause="not-filed")),)  # the fake site accepts it
    return Runner(FakeSite().target(), REGISTRY, profile, site(), seed=3).run_scenario(replace(scenario(steps),
                                                                                              grade=grade))


def test_the_runner_fails_a_must_scenario_and_passes_a_should_one_with_an_advisory() -> None:
    must = _accepting_site_run()
    assert must.outcome is Outcome.FAILED and must.failures[0].grade is MUST
    should = _accepting_site_run(grade=SHOULD)
    assert should.outcome is Outcome.PASSED
    assert should.failures and all(f.grade is SHOULD for f in should.failures)  # kept, as advisories


def test_the_runner_applies_the_profiles_grades() -> None:
    clause = _accepting_site_run().failures[0].clause
    lowered = Profile({**REGISTRY.profile("baseline").raw, "grades": {clause: "SHOULD"}})
    result = _accepting_site_run(lowered)
    assert result.outcome is Outcome.PASSED
    assert any(f.grade is SHOULD and f.clause == clause for f in result.failures)


# --- the default suite ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def suite():
    return load_catalogue_of_scenarios(REGISTRY, "baseline")


def test_the_default_suite_carries_grades_from_data(suite) -> None:
    grade = {s.id: s.grade for s in suite.scenarios}
    assert grade["neg.2207.in.data.psn_no.missing"] is MUST
    assert grade["neg.2207.in.data.psn_no.maxlength"] is SHOULD
    assert grade["env.req.msgid.missing"] is MUST and grade["env.req.msgid.pattern"] is SHOULD
    assert grade["neg.2207.in.data.certno.xregion-missing"] is SHOULD
    assert grade["idempotency.msgid-replay.settlement"] is SHOULD
    assert grade["outpatient.settle.reverse"] is MUST
    assert all(g is MUST for sid, g in grade.items() if sid.startswith("cause."))
    negatives = [s for s in suite.scenarios if s.kind == "negative"]
    assert all(s.grade is SHOULD for s in negatives if "mutation:maxlength" in s.tags)
    assert all(s.grade is MUST for s in negatives if "mutation:missing" in s.tags)


def test_a_must_scenario_keeps_its_fingerprint_and_a_graded_one_changes_it(suite) -> None:
    settle = suite.get("outpatient.settle.reverse")
    assert "grade" not in scenario_to_dict(settle)
    assert fingerprint(replace(settle, grade=SHOULD)) != settle.fingerprint
    too_long = suite.get("neg.2207.in.data.psn_no.maxlength")
    assert scenario_to_dict(too_long)["grade"] == "SHOULD" and fingerprint(too_long) == too_long.fingerprint


def test_the_hunan_profile_raises_the_one_length_its_text_makes_hard() -> None:
    hunan = {s.id: s.grade for s in load_catalogue_of_scenarios(REGISTRY, "hunan").scenarios}
    assert hunan["neg.2204.in.feedetail.feedetl_sn.maxlength"] is MUST  # 不能大于15位
    assert hunan["neg.2302.in.data.feedetl_sn.maxlength"] is SHOULD  # not named by the Hunan text
    assert hunan["neg.2207.in.data.psn_no.maxlength"] is SHOULD
    baseline = {s.id: s.grade for s in load_catalogue_of_scenarios(REGISTRY, "baseline").scenarios}
    assert baseline["neg.2204.in.feedetail.feedetl_sn.maxlength"] is SHOULD


def test_a_site_config_cannot_change_a_grade(tmp_path) -> None:
    """Grades are the spec's and the province's: a site's own config may not lower them."""
    from harness.errors import ConfigError
    from harness.personas import load_catalogue
    from harness.siteconfig import load_site

    path = tmp_path / "site.toml"
    path.write_text('[site]\nid = "t1"\nbase_url = "http://127.0.0.1:8080/"\nfixmedins_code = "H52010200001"\n'
                    'fixmedins_name = "测试医院"\nmdtrtarea_admvs = "520102"\ncapabilities = ["outpatient"]\n\n'
                    '[grades]\n"R-MONEY-SUM" = "SHOULD"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="grades"):
        load_site(path, profiles=REGISTRY.profiles(), archetypes=[a.id for a in load_catalogue().archetypes])
