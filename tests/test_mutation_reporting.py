"""Tests that kill the mutants mutation testing found alive in the personas and reporting core.

`tools/mutation.py` plants one-line bugs in the modules a certificate rests on; each test here pins a
behaviour one of those bugs changed and no other test noticed. Expectations are literals.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from reporting_samples import info

from harness.errors import ConfigError, UsageError
from harness.model import Level, Outcome
from harness.personas.checkdigit import gb11643_check_digit, is_valid_certno
from harness.reporting.evidence import canonical_files, read_certificate_digest, verify, write_manifest
from harness.reporting.gate import (
    Baseline,
    GateFinding,
    GatePolicy,
    GateResult,
    KnownFailure,
    evaluate,
    load_baseline,
    parse_pass_rate,
)
from harness.reporting.masking import MAX_DEPTH, Masker, mask, mask_json_text
from harness.reporting.record import FailureRecord, RunRecord, ScenarioRecord

TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels: not shown>"

# --- GB 11643 check digits -----------------------------------------------------------------------------------


def test_a_bad_prefix_is_refused_with_the_value_in_the_message() -> None:
    with pytest.raises(ValueError, match=r"expected 17 ASCII digits, got '4301021992'"):
        gb11643_check_digit("4301021992")


@pytest.mark.parametrize(("first17", "valid"), [
    ("43010219960229106", True),   # 1996 is a leap year: 29 February is real
    ("43010220000229106", True),   # 2000 is a leap year (divisible by 400)
    ("43010219000229106", False),  # 1900 is not (divisible by 100): the whole four-digit year counts
])
def test_the_leap_day_depends_on_the_whole_year(first17: str, valid: bool) -> None:
    assert is_valid_certno(first17 + gb11643_check_digit(first17)) is valid


# --- masking: nesting limits, lists, short values, overlapping known values -----------------------------------


def _nested(levels: int, leaf: Any, *, lists: bool = False) -> Any:
    """`leaf` inside `levels` containers: {"a": {"a": ... leaf}} or [[... leaf]]."""
    value = leaf
    for _ in range(levels):
        value = [value] if lists else {"a": value}
    return value


@pytest.mark.parametrize("lists", [False, True])
def test_mask_shows_exactly_max_depth_levels(lists: bool) -> None:
    assert MAX_DEPTH == 64
    # The leaf at depth 64 is shown; one level deeper it is replaced by the placeholder.
    assert mask(_nested(64, "x", lists=lists)) == _nested(64, "x", lists=lists)
    assert mask(_nested(65, "x", lists=lists)) == _nested(65, TOO_DEEP, lists=lists)


@pytest.mark.parametrize("lists", [False, True])
def test_masker_shows_exactly_max_depth_levels(lists: bool) -> None:
    masker = Masker()
    assert masker.value(_nested(64, "x", lists=lists)) == _nested(64, "x", lists=lists)
    assert masker.value(_nested(65, "x", lists=lists)) == _nested(65, TOO_DEEP, lists=lists)
    off = Masker(enabled=False)
    assert off.value(_nested(64, "x", lists=lists)) == _nested(64, "x", lists=lists)
    assert off.value(_nested(65, "x", lists=lists)) == _nested(65, TOO_DEEP, lists=lists)


def test_mask_reaches_personal_fields_inside_lists() -> None:
    value = {"output": [[{"psn_name": "张三丰"}], ({"certno": "430102199207221062"},)]}
    assert mask(value) == {"output": [[{"psn_name": "张*丰"}], [{"certno": "430************062"}]]}
    assert Masker().value(value) == {"output": [[{"psn_name": "张*丰"}], [{"certno": "430************062"}]]}


@pytest.mark.parametrize("lists", [False, True])
def test_masker_learns_personal_values_down_to_max_depth(lists: bool) -> None:
    # The harvest starts at depth 0; the record holding psn_name sits at depth 1 + levels.
    learnt = Masker().value({"err_msg": "张三丰未备案", "deep": _nested(63, {"psn_name": "张三丰"}, lists=lists)})
    assert learnt["err_msg"] == "张*丰未备案"
    unseen = Masker().value({"err_msg": "张三丰未备案", "deep": _nested(64, {"psn_name": "张三丰"}, lists=lists)})
    assert unseen["err_msg"] == "张三丰未备案"


def test_masker_masks_a_one_character_personal_field_but_does_not_learn_it() -> None:
    # A one-character value is masked where it is a personal field, but never searched for elsewhere:
    # every 张 of every text would go.
    assert Masker().value({"psn_name": "张", "err_msg": "张家界"}) == {"psn_name": "*", "err_msg": "张家界"}
    assert Masker().value({"list": [{"psn_name": "张"}]}) == {"list": [{"psn_name": "*"}]}


def test_masker_learns_a_two_character_name() -> None:
    assert Masker().value({"psn_name": "李四", "err_msg": "李四未备案"}) == {"psn_name": "李*", "err_msg": "李*未备案"}


def test_masker_replaces_the_longest_known_value_first() -> None:
    masker = Masker(["4301021992", "430102199207221062"])
    assert masker.text("证件 430102199207221062 无效") == "证件 430************062 无效"
    assert masker.text("证件 4301021992 无效") == "证件 4********2 无效"


def test_mask_json_text_masks_a_value_with_a_bad_escape_as_written() -> None:
    # "\q" is not a JSON escape: the value is masked as the characters sent (张 \ q 丰).
    assert mask_json_text('{"psn_name": "张\\q丰", "n": 1}') == '{"psn_name": "张**丰", "n": 1}'


# --- the gate: one run with every kind of scenario, every rule, literal output ---------------------------------


def _sc(sid: str, outcome: Outcome, *, level: Level = Level.MANDATORY, failures: tuple[FailureRecord, ...] = (),
        reason: str = "", clauses: tuple[str, ...] = ("R-A",)) -> ScenarioRecord:
    return ScenarioRecord(id=sid, outcome=outcome, level=level, area="outpatient", interface="2207",
                          clauses=clauses, reason=reason, failures=failures)


def _gate_record() -> RunRecord:
    f = FailureRecord
    return RunRecord(info(), (
        _sc("a.pass", Outcome.PASSED),
        _sc("b.fail", Outcome.FAILED, failures=(f("advice", "R-SHOULD", grade="SHOULD"), f("sum wrong", "R-MONEY-SUM"),
                                                f("also", "R-MONEY-SUM"), f("psn", "R-PSN"))),
        _sc("c.noprov", Outcome.NOT_PROVISIONED, reason="no test identity"),
        _sc("d.error", Outcome.ERROR, reason="timeout"),
        _sc("e.error", Outcome.ERROR),
        _sc("f.inconcl", Outcome.INCONCLUSIVE, failures=(f("refused ?", "R-CAUSE", grade="MAY", inconclusive=True),)),
        _sc("g.optional", Outcome.FAILED, level=Level.OPTIONAL, failures=(f("x", "R-X"),)),
        _sc("h.waived", Outcome.FAILED, failures=(f("known", "R-K"),)),
        _sc("i.expired", Outcome.FAILED, failures=(f("old", "R-O"),)),
        _sc("j.regress", Outcome.FAILED, clauses=("R-J1", "R-J2")),
        _sc("k.na", Outcome.NOT_APPLICABLE),
    ))


_BASELINE = Baseline("/somewhere/known.toml", (
    KnownFailure("h.waived", "vendor fix due", date(2026, 1, 31)),
    KnownFailure("i.expired", "was due", date(2025, 12, 31)),
    KnownFailure("a.pass", "fixed since", date(2026, 6, 1)),
    KnownFailure("z.gone", "removed scenario", date(2026, 6, 1)),
))
_PREVIOUS = {"j.regress": Outcome.PASSED, "h.waived": Outcome.PASSED, "d.error": Outcome.PASSED,
             "a.pass": Outcome.PASSED, "b.fail": Outcome.FAILED}


def test_the_gate_applies_every_rule_to_a_mixed_run() -> None:
    policy = GatePolicy(min_pass_rate=0.9, min_coverage=0.95, fail_on_regression=True, baseline=_BASELINE,
                        today=date(2026, 1, 1))
    result = evaluate(_gate_record(), policy, _PREVIOUS, previous_run_id="run-7")
    assert result.exit_code == 3 and result.verdict == "incomplete"
    assert result.render() == """  infrastructure: d.error: timeout
  infrastructure: e.error: infrastructure error
  finding [baseline-expired]: known failure i.expired expired on 2025-12-31 (was due): fix it, or renew the entry with a new date and reason
  finding [mandatory]: mandatory scenario b.fail failed: sum wrong [R-SHOULD, R-MONEY-SUM, R-PSN]
  finding [mandatory]: mandatory scenario c.noprov not provisioned (not run): no test identity [R-A]
  finding [mandatory]: mandatory scenario i.expired failed: old [R-O]
  finding [mandatory]: mandatory scenario j.regress failed [R-J1, R-J2]
  finding [min-pass-rate]: pass rate 16.7% is below the required 90.0%
  finding [min-coverage]: coverage 70.0% is below the required 95.0%
  finding [regression]: d.error passed in run run-7 and is error now
  finding [regression]: j.regress passed in run run-7 and is failed now
  waived (known failure 已豁免): h.waived until 2026-01-31: vendor fix due
  note: known failure a.pass now passes: remove it from known.toml
  note: known failure z.gone is not in this run: remove it from known.toml
  note: 1 scenario(s) inconclusive (refused for a reason the harness cannot recognise; add the site's err_msg patterns to its config to decide them): f.inconcl
  note: 1 advisory finding(s) (应当 SHOULD / 可以 MAY) in 1 scenario(s): reported, not deciding the certificate
verdict: INCOMPLETE (exit 3): 4 mandatory, 2 infrastructure, 2 regression, 1 baseline-expired, 1 min-pass-rate, 1 min-coverage"""  # noqa: E501
    shown = result.to_json()
    assert shown["criteria"] == [
        "all mandatory scenarios ran with no MUST finding 必选场景无“必须”级问题", "pass rate ≥ 90.0% 通过率",
        "coverage ≥ 95.0% 覆盖率", "no regression since the previous run 无回归",
        "known failures waived until expiry 已知失败豁免: known.toml"]
    assert [(f["rule"], f["scenario"], f["clauses"]) for f in shown["findings"]] == [
        ("baseline-expired", "i.expired", []), ("mandatory", "b.fail", ["R-SHOULD", "R-MONEY-SUM", "R-PSN"]),
        ("mandatory", "c.noprov", ["R-A"]), ("mandatory", "i.expired", ["R-O"]),
        ("mandatory", "j.regress", ["R-J1", "R-J2"]), ("min-pass-rate", "", []), ("min-coverage", "", []),
        ("regression", "d.error", ["R-A"]), ("regression", "j.regress", ["R-J1", "R-J2"])]
    assert shown["infrastructure"] == [
        {"rule": "infrastructure", "message": "d.error: timeout", "scenario": "d.error", "clauses": []},
        {"rule": "infrastructure", "message": "e.error: infrastructure error", "scenario": "e.error", "clauses": []}]
    assert (shown["verdict"], shown["exit_code"], shown["waived"], shown["compared_with"]) == (
        "incomplete", 3, ["h.waived"], "run-7")


def test_the_gate_without_options_judges_mandatory_scenarios_only() -> None:
    record = RunRecord(info(), (_sc("a.pass", Outcome.PASSED), _sc("g.optional", Outcome.FAILED, level=Level.OPTIONAL)))
    result = evaluate(record, GatePolicy(), _PREVIOUS, previous_run_id="run-7")
    assert result.to_json() == {
        "verdict": "certified", "exit_code": 0,
        "criteria": ["all mandatory scenarios ran with no MUST finding 必选场景无“必须”级问题"],
        "findings": [], "infrastructure": [], "waived": [], "notes": [], "compared_with": None,
        "waivers": [], "pending": []}
    assert result.render() == "verdict: CERTIFIED (exit 0)"


def test_the_gate_names_a_regression_without_a_run_id_and_skips_it_without_a_previous_run() -> None:
    record = RunRecord(info(), (_sc("j.regress", Outcome.FAILED),))
    found = evaluate(record, GatePolicy(fail_on_regression=True), _PREVIOUS)
    assert [f.message for f in found.findings] == ["mandatory scenario j.regress failed [R-A]",
                                                   "j.regress passed in run previous and is failed now"]
    assert found.exit_code == 1 and found.verdict == "not certified" and found.compared_with is None
    skipped = evaluate(record, GatePolicy(fail_on_regression=True), None, previous_run_id="run-7")
    assert skipped.notes == ("no previous run of this site in the ledger: regression check skipped",)
    assert [f.rule for f in skipped.findings] == ["mandatory"] and skipped.compared_with == "run-7"


def test_the_gate_reports_coverage_with_nothing_applicable_and_lists_at_most_ten_inconclusive() -> None:
    record = RunRecord(info(), tuple(_sc(f"s{i:02}", Outcome.INCONCLUSIVE) for i in range(11)))
    result = evaluate(record, GatePolicy(min_coverage=0.5))
    assert result.exit_code == 0 and result.findings == ()
    assert result.notes == (
        "11 scenario(s) inconclusive (refused for a reason the harness cannot recognise; add the site's err_msg "
        "patterns to its config to decide them): s00, s01, s02, s03, s04, s05, s06, s07, s08, s09 …",)
    nothing = evaluate(RunRecord(info(), (_sc("k.na", Outcome.NOT_APPLICABLE),)), GatePolicy(min_coverage=0.5))
    assert [f.message for f in nothing.findings] == ["coverage n/a (nothing applies) is below the required 50.0%"]


def test_the_coverage_threshold_is_inclusive() -> None:
    record = RunRecord(info(), (_sc("a", Outcome.PASSED), _sc("b", Outcome.NOT_PROVISIONED, level=Level.OPTIONAL)))
    assert record.coverage == 0.5
    assert evaluate(record, GatePolicy(min_coverage=0.5)).findings == ()
    assert [f.rule for f in evaluate(record, GatePolicy(min_coverage=0.5001)).findings] == ["min-coverage"]


def test_the_gate_shows_fifty_findings_and_counts_the_rest() -> None:
    record = RunRecord(info(), tuple(_sc(f"s{i:02}", Outcome.FAILED) for i in range(52)))
    lines = evaluate(record, GatePolicy()).render().splitlines()
    assert len(lines) == 52 and lines[49] == "  finding [mandatory]: mandatory scenario s49 failed [R-A]"
    assert lines[50] == "  … and 2 more findings (all in certification.json)"
    assert lines[51] == "verdict: NOT CERTIFIED (exit 1): 52 mandatory"
    fifty = RunRecord(info(), tuple(_sc(f"s{i:02}", Outcome.FAILED) for i in range(50)))
    assert len(evaluate(fifty, GatePolicy()).render().splitlines()) == 51
    fifty_one = RunRecord(info(), tuple(_sc(f"s{i:02}", Outcome.FAILED) for i in range(51)))
    assert evaluate(fifty_one, GatePolicy()).render().splitlines()[-2] == (
        "  … and 1 more findings (all in certification.json)")


def test_the_gate_shows_fifty_infrastructure_errors_then_the_verdict() -> None:
    record = RunRecord(info(), tuple(_sc(f"s{i:02}", Outcome.ERROR) for i in range(21)))
    lines = evaluate(record, GatePolicy()).render().splitlines()
    assert lines[:-1] == [f"  infrastructure: s{i:02}: infrastructure error" for i in range(21)]
    assert lines[-1] == "verdict: INCOMPLETE (exit 3): 21 infrastructure"


@pytest.mark.parametrize(("text", "value"), [
    ("0.95", 0.95), ("95", 0.95), ("95%", 0.95), (" 95 % ".strip(), 0.95), ("1", 1.0), (1, 1.0), ("0", 0.0),
    ("100%", 1.0), ("100", 1.0), ("0.5%", 0.005), ("1%", 0.01), (0.0, 0.0), ("1.5", 0.015), ("2", 0.02),
])
def test_parse_pass_rate_values(text: str | float, value: float) -> None:
    assert parse_pass_rate(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["abc", "101", "-1", "-0.5", "", "%", "95X", "X95"])
def test_parse_pass_rate_refuses_what_is_not_a_rate(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_pass_rate(text, "--min-coverage")
    assert caught.value.title == f"--min-coverage {text!r} is not a rate"
    assert caught.value.hint == "give a fraction (0.95) or a percentage (95 or 95%) between 0 and 100 %"


def test_parse_pass_rate_names_its_option_by_default() -> None:
    with pytest.raises(UsageError) as caught:
        parse_pass_rate("abc")
    assert caught.value.title == "--min-pass-rate 'abc' is not a rate"


def test_a_baseline_is_read_with_dates_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "known.toml"
    path.write_text('\ufeff[[known_failure]]\nscenario = "a.b"\nreason = "  vendor fix  "\nexpires = 2026-01-31\n'
                    '[[known_failure]]\nscenario = "c.d"\nreason = "x"\nexpires = "2026-02-01"\n', encoding="utf-8")
    assert load_baseline(path) == Baseline(str(path), (KnownFailure("a.b", "vendor fix", date(2026, 1, 31)),
                                                       KnownFailure("c.d", "x", date(2026, 2, 1))))
    path.write_text("", encoding="utf-8")
    assert load_baseline(path) == Baseline(str(path), ())


_ENTRY = '[[known_failure]]\nscenario = "a.b"\nreason = "why"\nexpires = 2026-01-31\n'


@pytest.mark.parametrize(("text", "where", "what"), [
    ('other = 1\n', "top level", "unknown key(s) ['other']"),
    ('[[known_failure]]\nreason = "why"\nexpires = 2026-01-31\n', "known_failure #1",
     "'scenario' must be a scenario id"),
    ('[[known_failure]]\nscenario = ""\n', "known_failure #1", "'scenario' must be a scenario id"),
    (_ENTRY + '[[known_failure]]\nscenario = "c"\nreason = "  "\nexpires = 2026-01-31\n', "known_failure #2",
     "c: 'reason' must say why the failure is accepted"),
    ('[[known_failure]]\nscenario = "c"\nexpires = 2026-01-31\n', "known_failure #1",
     "c: 'reason' must say why the failure is accepted"),
    ('[[known_failure]]\nscenario = "c"\nreason = "r"\nexpires = "31/01/2026"\n', "known_failure #1",
     "c: 'expires' must be a date (YYYY-MM-DD)"),
    ('[[known_failure]]\nscenario = "c"\nreason = "r"\nexpires = 20260131\n', "known_failure #1",
     "c: 'expires' must be a date (YYYY-MM-DD)"),
    (_ENTRY + _ENTRY, "known_failure #2", "a.b is listed twice"),
])
def test_a_bad_baseline_entry_is_named(tmp_path: Path, text: str, where: str, what: str) -> None:
    path = tmp_path / "known.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_baseline(path)
    assert caught.value.title == f"Invalid known-failures baseline: {what}"
    assert caught.value.location == f"{path} ({where})"
    assert caught.value.hint == ('each [[known_failure]] needs scenario = "<id>", reason = "…" and expires = '
                                 "YYYY-MM-DD (see fixtures/known-failures.example.toml)")


def test_an_unreadable_or_broken_baseline_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_baseline(tmp_path / "missing.toml")
    assert (caught.value.title, caught.value.location) == ("Cannot read the known-failures baseline",
                                                           str(tmp_path / "missing.toml"))
    assert "missing.toml" in caught.value.detail
    broken = tmp_path / "broken.toml"
    broken.write_text("[[known_failure]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_baseline(broken)
    assert (caught.value.title, caught.value.location) == ("The known-failures baseline is not valid TOML", str(broken))
    assert "(at line 1, column" in caught.value.detail  # the parser's own words say where


# --- the evidence digest: literal hashes of known files ------------------------------------------------------

_DATA = {"results.json": b'{"a":1}\n', "certification.json": b'{"verdict":"certified"}\n',
         "exchanges.jsonl": b'{"n":1}\n', "exchanges/a.json": b"A", "exchanges/b/2.json": b"B"}
# sha256sum of each file, in digest order (the exchanges sorted by path).
_MANIFEST_LINES = (
    "e346432021b04179518d9614f3560ccd71354a4ee101ddcb893d6959a9d6301c  results.json\n"
    "c13f82c31e012d8f23018555307c1df2d084b2a2d9d1be670aca90c16bd1fb54  certification.json\n"
    "cedf74272c9fc8db5448283a93277e7e7eb7534b71df3bd8ab35fd9b1b73404c  exchanges.jsonl\n"
    "559aead08264d5795d3909718cdd05abd49572e84fe55590eef31a88a08fdffd  exchanges/a.json\n"
    "df7e70e5021544f4834bbee64a9e3789febc4be81470df629cad6ddb03320a5c  exchanges/b/2.json\n")
_DIGEST = "c3c2e144335b0452f98105ccaae7c67d6237f24159a98740f90aadb313352a58"  # sha256sum of those lines


def _run_dir(root: Path) -> Path:
    for name, data in _DATA.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def _certificate(root: Path, digest: str = _DIGEST) -> None:
    (root / "certificate.html").write_text(
        f'<html><head><meta name="hsa-cert-evidence-digest" content="{digest}"></head></html>', encoding="utf-8")


def test_the_manifest_and_digest_of_a_run_are_sha256sum_lines(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    assert canonical_files(run) == list(_DATA)
    assert write_manifest(run) == _DIGEST
    assert (run / "evidence.sha256").read_bytes() == _MANIFEST_LINES.encode()
    _certificate(run)
    cert_line = f"{hashlib.sha256((run / 'certificate.html').read_bytes()).hexdigest()}  certificate.html\n"
    assert write_manifest(run, include_certificate=False) == _DIGEST
    assert (run / "evidence.sha256").read_text(encoding="utf-8") == _MANIFEST_LINES
    assert write_manifest(run) == _DIGEST
    assert (run / "evidence.sha256").read_text(encoding="utf-8") == _MANIFEST_LINES + cert_line
    verification = verify(run)
    assert verification.intact and verification.render() == f"evidence intact: {run}\n  digest {_DIGEST}"
    assert (verification.digest, verification.recorded_digest, verification.certificate_digest) == (
        _DIGEST, _DIGEST, _DIGEST)
    assert read_certificate_digest(run) == _DIGEST


def test_a_run_without_results_has_no_digest(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        write_manifest(tmp_path)
    assert (caught.value.title, caught.value.location) == ("No results.json to digest", str(tmp_path))
    assert caught.value.hint == "the evidence digest covers results.json; run `hsa-cert certify` to produce it"
    with pytest.raises(UsageError) as caught:
        verify(tmp_path)
    assert (caught.value.title, caught.value.location, caught.value.hint) == (
        "Not an evidence directory: no evidence.sha256", str(tmp_path),
        "pass the directory `hsa-cert certify` wrote, e.g. reports/<site>/<run-id>")
    assert read_certificate_digest(tmp_path) is None


def test_every_kind_of_tampering_is_named(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    _certificate(run, "0" * 64)
    write_manifest(run)
    manifest = (run / "evidence.sha256").read_text(encoding="utf-8")
    # A binary-mode line ("<hex> *name") is a valid line too; a garbled one is named by its number.
    manifest = manifest.replace("  exchanges.jsonl", " *exchanges.jsonl") + "not a line\n"
    (run / "evidence.sha256").write_text(manifest, encoding="utf-8")
    (run / "results.json").write_bytes(b'{"a":2}\n')
    (run / "exchanges/a.json").unlink()
    (run / "exchanges/c.json").write_bytes(b"C")
    found = verify(run)
    assert not found.intact
    assert found.problems == (
        ("evidence.sha256", "line 7 is not '<sha256>  <file>'"),
        ("results.json", "changed since the certificate was issued (SHA-256 differs)"),
        ("exchanges/a.json", "missing"),
        ("exchanges/c.json", "added after the certificate was issued (not in evidence.sha256)"),
        ("certificate.html", "the digest printed on the certificate does not match evidence.sha256"),
    )
    assert found.recorded_digest == _DIGEST and found.certificate_digest == "0" * 64
    assert found.render().splitlines() == [
        f"evidence TAMPERED: {run}",
        "  evidence.sha256: line 7 is not '<sha256>  <file>'",
        "  results.json: changed since the certificate was issued (SHA-256 differs)",
        "  exchanges/a.json: missing",
        "  exchanges/c.json: added after the certificate was issued (not in evidence.sha256)",
        "  certificate.html: the digest printed on the certificate does not match evidence.sha256",
        f"  recorded digest   {_DIGEST}",
        f"  recomputed digest {found.digest}",
    ]


def test_a_certificate_without_its_digest_is_named(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    (run / "certificate.html").write_text("<html>no digest</html>", encoding="utf-8")
    write_manifest(run)
    assert verify(run).problems == (("certificate.html", "no evidence digest found on the certificate"),)
    (run / "certificate.html").unlink()
    assert verify(run).problems == (("certificate.html", "missing"),
                                    ("certificate.html", "no evidence digest found on the certificate"))


def test_the_digest_is_read_from_a_certificate_with_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "certificate.html").write_bytes(
        b'<html>\xff\xfe<meta name="hsa-cert-evidence-digest" content="' + _DIGEST.encode() + b'">\xc3</html>')
    assert read_certificate_digest(tmp_path) == _DIGEST


def test_the_gate_boundaries_of_expiry_inconclusive_list_and_clauses() -> None:
    # A known failure expiring today still waives; the day after, it has expired.
    record = RunRecord(info(), (_sc("h.waived", Outcome.FAILED),))
    entry = Baseline("known.toml", (KnownFailure("h.waived", "due", date(2026, 1, 1)),))
    today = evaluate(record, GatePolicy(baseline=entry, today=date(2026, 1, 1)))
    assert (today.exit_code, today.waived, today.findings) == (0, ("h.waived",), ())
    after = evaluate(record, GatePolicy(baseline=entry, today=date(2026, 1, 2)))
    assert [f.rule for f in after.findings] == ["baseline-expired", "mandatory"]
    # Ten inconclusive scenarios are all listed, without the ellipsis.
    ten = RunRecord(info(), tuple(_sc(f"s{i:02}", Outcome.INCONCLUSIVE) for i in range(10)))
    assert evaluate(ten, GatePolicy()).notes[0].endswith("s05, s06, s07, s08, s09")
    # A mandatory finding names at most six clauses.
    many = RunRecord(info(), (_sc("m", Outcome.FAILED, clauses=tuple(f"R-{i}" for i in range(7))),))
    assert evaluate(many, GatePolicy()).findings[0].message == (
        "mandatory scenario m failed [R-0, R-1, R-2, R-3, R-4, R-5]")
    none_ran = RunRecord(info(), (_sc("k.na", Outcome.NOT_APPLICABLE),))
    assert evaluate(none_ran, GatePolicy(min_pass_rate=0.5)).findings[0].message == (
        "pass rate n/a (no scenario ran) is below the required 50.0%")



def test_new_scenarios_within_their_grace_are_pending_up_to_the_last_day() -> None:
    # Two failed new scenarios, both pending (the first does not end the loop); the grace's last day counts.
    record = RunRecord(info(), (_sc("n.one", Outcome.FAILED), _sc("n.two", Outcome.FAILED),
                                _sc("n.late", Outcome.FAILED)))
    policy = GatePolicy(pending={"n.one": date(2026, 1, 31), "n.two": date(2026, 2, 5),
                                 "n.late": date(2026, 1, 30)}, today=date(2026, 1, 31))
    result = evaluate(record, policy)
    assert result.pending == (("n.one", "2026-01-31"), ("n.two", "2026-02-05"))
    assert result.to_json()["pending"] == [{"scenario": "n.one", "until": "2026-01-31"},
                                           {"scenario": "n.two", "until": "2026-02-05"}]
    assert result.to_json()["criteria"][-1] == (
        "3 scenario(s) new since the last certified run pending until their grace ends 新增场景宽限期内不影响结论")
    assert result.render().splitlines() == [
        "  finding [mandatory]: mandatory scenario n.late failed [R-A]",
        "  pending (new scenario 新增场景待定, not deciding until 2026-01-31): n.one",
        "  pending (new scenario 新增场景待定, not deciding until 2026-02-05): n.two",
        "verdict: NOT CERTIFIED (exit 1): 1 mandatory"]


def test_the_gate_counts_infrastructure_errors_beyond_the_limit_and_shows_a_waiver_without_its_entry() -> None:
    errors = tuple(GateFinding("infrastructure", f"s{i}: down", f"s{i}") for i in range(3))
    assert GateResult(3, infra=errors[:2]).render(limit=2) == (
        "  infrastructure: s0: down\n  infrastructure: s1: down\nverdict: INCOMPLETE (exit 3): 2 infrastructure")
    assert GateResult(3, infra=errors).render(limit=2, full_list="c.json").splitlines()[2] == (
        "  … and 1 more infrastructure errors (all in c.json)")
    assert GateResult(0, waived=("w.one",)).render() == (
        "  waived (known failure 已豁免): w.one\nverdict: CERTIFIED WITH WAIVERS (exit 0)")


def test_a_baseline_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "known.toml"
    path.write_bytes(b'# \xff\n')
    with pytest.raises(ConfigError) as caught:
        load_baseline(path)
    error = caught.value
    assert (error.title, error.location, error.hint) == (
        "The known-failures baseline is not UTF-8 text", str(path),
        "pass the TOML file of known failures, saved as UTF-8")
    assert error.detail == "'utf-8' codec can't decode byte 0xff in position 2: invalid start byte"

def test_a_garbled_manifest_line_does_not_hide_the_lines_after_it(tmp_path: Path) -> None:
    run = _run_dir(tmp_path)
    write_manifest(run)
    text = (run / "evidence.sha256").read_text(encoding="utf-8")
    (run / "evidence.sha256").write_text("garbled\n" + text, encoding="utf-8")
    assert verify(run).problems == (("evidence.sha256", "line 1 is not '<sha256>  <file>'"),)
