"""The scenario format: loading, line-numbered errors with snippets, templates, fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from harness.errors import ScenarioFormatError
from harness.scenarios.loader import load_files, load_text
from harness.scenarios.schema import CAUSE_MATRIX, SCENARIO_FILE, STEP, schema_issues
from harness.scenarios.semantics import Vocabulary
from harness.specs import load_registry

VALID = """\
id: demo.outpatient.person
title: Person information for a filed employee
title_zh: 参保人员信息获取
clauses: [R-FILING-REQUIRED]
capabilities: [outpatient]
level: mandatory
area: person
archetype: filed-employee
steps:
  - name: person
    infno: "1101"
    input:
      data:
        mdtrt_cert_type: "{{ identity.mdtrt_cert_type }}"
        mdtrt_cert_no: "{{ identity.mdtrt_cert_no }}"
        psn_cert_type: 01
        begntime: 2024-01-01
    expect:
      save: {psn_no: output.baseinfo.psn_no}
      checks: [envelope.timestamps]
  - infno: 5203
    input: {data: {psn_no: "{{ saved.psn_no }}"}}
    expect: {ok: false, cause: not-found, state_unchanged: true}
"""

VOCAB = Vocabulary(
    infnos=frozenset({"1101", "5203", "2207"}),
    check_names=frozenset({"envelope.timestamps", "money.sum"}),
    archetypes=frozenset({"filed-employee", "not-filed"}),
    causes=frozenset({"not-found", "not-filed"}),
    clauses=frozenset({"R-FILING-REQUIRED", "R-MONEY-SUM"}),
    field_types={"2207": {"data": {"med_type": "string", "medfee_sumamt": "number"}}},
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(tmp_path: Path, files: dict[str, str], vocabulary: Vocabulary | None = VOCAB) -> ScenarioFormatError:
    paths = [_write(tmp_path, name, text) for name, text in files.items()]
    with pytest.raises(ScenarioFormatError) as info:
        load_files(paths, vocabulary=vocabulary, root=tmp_path)
    return info.value


def test_a_valid_file_loads_into_the_model() -> None:
    (scenario,) = load_text(VALID, "demo.yaml", vocabulary=VOCAB)
    assert scenario.id == "demo.outpatient.person"
    assert scenario.interface == "5203"  # defaults to the last step's infno
    first, second = scenario.steps
    assert first.infno == "1101" and second.infno == "5203"  # unquoted 5203 is read as the code it is
    assert first.expect.save == {"psn_no": "output.baseinfo.psn_no"}
    assert second.expect.ok is False and second.expect.cause == "not-found" and second.expect.state_unchanged
    # YAML 1.1 surprises are off: 01 stays "01", a date stays a string
    assert first.input["data"]["psn_cert_type"] == "01"
    assert first.input["data"]["begntime"] == "2024-01-01"
    assert scenario.source == "demo.yaml:1"
    assert len(scenario.fingerprint) == 64


def test_malformed_yaml_names_file_line_and_shows_a_snippet(tmp_path: Path) -> None:
    broken = VALID.replace("    expect:\n      save:", "    expect:\n     save: [unclosed\n      save:", 1)
    error = _error(tmp_path, {"broken.yaml": broken})
    text = error.render()
    assert "broken.yaml:" in text and "YAML syntax error" in text
    assert "\n  > " in text or "  >" in text  # the offending line is marked
    assert "^" in text


def test_schema_violation_points_at_the_key_with_expected_and_a_hint(tmp_path: Path) -> None:
    typo = VALID.replace("      checks: [envelope.timestamps]", "      chekcs: [envelope.timestamps]")
    error = _error(tmp_path, {"typo.yaml": typo})
    text = error.render()
    line = typo.splitlines().index("      chekcs: [envelope.timestamps]") + 1
    assert f"typo.yaml:{line}:7: unknown key 'chekcs'" in text
    assert "did you mean 'checks'?" in text
    assert "expected: one of: ok, cause" in text
    assert f"> {line} |       chekcs" in text


def test_unknown_names_are_reported_with_suggestions(tmp_path: Path) -> None:
    bad = (VALID.replace("envelope.timestamps", "money.summ")
           .replace("archetype: filed-employee", "archetype: filed-employe")
           .replace('infno: "1101"', 'infno: "1102"')
           .replace("cause: not-found", "cause: not-foun")
           .replace("[R-FILING-REQUIRED]", "[R-FILING-REQUIRD]"))
    text = _error(tmp_path, {"names.yaml": bad}).render()
    assert "5 problems" in text
    assert "unknown check 'money.summ'" in text and "did you mean 'money.sum'?" in text
    assert "unknown archetype 'filed-employe'" in text
    assert "unknown infno '1102'" in text
    assert "unknown failure cause 'not-foun'" in text
    assert "unknown clause 'R-FILING-REQUIRD'" in text


def test_duplicate_ids_across_files_name_both_places(tmp_path: Path) -> None:
    text = _error(tmp_path, {"a.yaml": VALID, "b.yaml": VALID}).render()
    assert "b.yaml:1:5: duplicate scenario id 'demo.outpatient.person'" in text
    assert "already used at a.yaml:1" in text


def test_problems_in_several_files_are_collected_into_one_error(tmp_path: Path) -> None:
    first = VALID.replace("title_zh: 参保人员信息获取\n", "")
    second = VALID.replace("demo.outpatient.person", "demo.other").replace("level: mandatory", "level: must")
    error = _error(tmp_path, {"one.yaml": first, "two.yaml": second})
    text = error.render()
    assert "2 problems" in text
    assert "one.yaml:1:1: missing required key 'title_zh'" in text
    assert "two.yaml:6:8: 'must' is not one of the allowed values" in text


def test_template_expressions_are_checked_at_load_time(tmp_path: Path) -> None:
    bad = VALID.replace("{{ saved.psn_no }}", "{{ saved.psn_nr }}").replace(
        "{{ identity.mdtrt_cert_no }}", "{{ person.mdtrt_cert_no }}")
    text = _error(tmp_path, {"tpl.yaml": bad}).render()
    assert "unknown template namespace 'person'" in text
    assert "saved.psn_nr is used but not saved by an earlier step" in text
    assert "did you mean 'psn_no'?" in text


def test_codes_written_as_numbers_are_caught_when_field_types_are_known(tmp_path: Path) -> None:
    text = VALID.replace('  - infno: 5203\n    input: {data: {psn_no: "{{ saved.psn_no }}"}}\n'
                         '    expect: {ok: false, cause: not-found, state_unchanged: true}\n',
                         '  - infno: "2207"\n    input: {data: {med_type: 11, medfee_sumamt: 12.5}}\n')
    rendered = _error(tmp_path, {"codes.yaml": text}).render()
    assert "data.med_type is a string field but the value 11 is a number" in rendered
    assert "1 problem in" in rendered  # medfee_sumamt is a number field: 12.5 is fine there


def test_cause_on_a_success_and_golden_on_a_refusal_are_refused(tmp_path: Path) -> None:
    text = VALID.replace("      checks: [envelope.timestamps]", "      cause: not-filed").replace(
        "state_unchanged: true}", "state_unchanged: true, golden: {output.x: 1}}")
    rendered = _error(tmp_path, {"expect.yaml": text}).render()
    assert "a failure cause on a step expected to succeed" in rendered
    assert "golden values on a step that is not expected to succeed" in rendered


COLLECTION = """\
templates:
  person:
    - name: person
      infno: "1101"
      input: {data: {mdtrt_cert_type: "{{ args.cert_type }}", mdtrt_cert_no: "{{ identity.mdtrt_cert_no }}"}}
      expect: {save: {psn_no: output.baseinfo.psn_no}}
defaults:
  area: person
  clauses: [R-FILING-REQUIRED]
  capabilities: [outpatient]
scenarios:
  - id: demo.one
    title: first scenario
    title_zh: 第一
    steps:
      - use: person
        with: {cert_type: "02"}
        envelope: {insuplc_admdvs: "430102"}
  - id: demo.two
    title: second scenario
    title_zh: 第二
    level: optional
    steps:
      - use: person
        with: {cert_type: "03"}
      - infno: "5203"
        input: {data: {psn_no: "{{ saved.psn_no }}"}}
"""


def test_templates_defaults_and_args_expand() -> None:
    one, two = load_text(COLLECTION, "c.yaml", vocabulary=VOCAB)
    assert one.steps[0].input["data"]["mdtrt_cert_type"] == "02"
    assert one.steps[0].envelope == {"insuplc_admdvs": "430102"}
    assert two.steps[0].input["data"]["mdtrt_cert_type"] == "03"
    assert (one.area, one.capabilities, one.level.value) == ("person", ("outpatient",), "mandatory")
    assert two.level.value == "optional"
    assert one.source == "c.yaml:12" and two.source == "c.yaml:19"


def test_template_errors_point_at_the_use_site(tmp_path: Path) -> None:
    text = COLLECTION.replace('with: {cert_type: "03"}', 'with: {cert: "03"}')
    text = text.replace('use: person\n        with: {cert_type: "02"}', "use: persn")
    rendered = _error(tmp_path, {"c.yaml": text}).render()
    assert "unknown template 'persn'" in rendered and "did you mean 'person'?" in rendered
    assert "template 'person' needs args.cert_type but `with:` does not give it" in rendered


def test_fingerprints_follow_content_not_position() -> None:
    (first,) = load_text(VALID, "a.yaml", vocabulary=VOCAB)
    (again,) = load_text(VALID, "a.yaml", vocabulary=VOCAB)
    (moved,) = load_text("# a comment moves every line\n\n" + VALID, "elsewhere.yaml", vocabulary=VOCAB)
    (changed,) = load_text(VALID.replace("not-found", "not-filed"), "a.yaml", vocabulary=VOCAB)
    assert first.fingerprint == again.fingerprint == moved.fingerprint
    assert moved.source == "elsewhere.yaml:3"
    assert changed.fingerprint != first.fingerprint


def test_the_scenario_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(load_registry().schema(SCENARIO_FILE))


@pytest.mark.parametrize(
    "document",
    [
        {"id": "a.b", "title": "abc", "title_zh": "中文", "steps": [{"infno": "1101"}]},
        {"scenarios": [], "templates": {"x": {"infno": "1101"}}},
        {"templates": {"x": [{"use": "y", "with": {"a": 1}}]}},
        {"id": "a.b", "title": "abc", "title_zh": "中文", "steps": []},
        {"id": "A.b", "title": "abc", "title_zh": "中文", "steps": [{"infno": "1101"}]},
        {"id": "a.b", "title": "abc", "title_zh": "中文", "steps": [{"infno": "1101", "expect": {"ok": "yes"}}]},
        {"id": "a.b", "title": "abc", "title_zh": "中文", "clauses": ["X-1"], "steps": [{"infno": "1101"}]},
        {"scenarios": [{"id": "a.b"}]},
        {"defaults": {"level": "mandatory"}},
        {"id": "a.b", "title": "abc", "title_zh": "中文", "steps": [{"use": "x", "infno": "1"}]},
        {"templates": {"x": []}},
        [],
        "text",
    ],
)
def test_the_spec_layer_and_python_jsonschema_agree_on_scenario_documents(document: object) -> None:
    registry = load_registry()
    ours = not schema_issues(registry, SCENARIO_FILE, document)
    reference = jsonschema.Draft202012Validator(registry.schema(SCENARIO_FILE)).is_valid(document)
    assert ours == reference, json.dumps(document, ensure_ascii=False)


def test_a_broken_step_reports_its_own_problems_not_a_failed_alternative() -> None:
    """The schema tells a `use:` step from a transaction with if/then/else, so errors stay precise."""
    registry = load_registry()
    document = {"id": "a.b", "title": "abc", "title_zh": "中文",
                "steps": [{"infno": 2207, "expct": {}}, {"use": "x", "infno": "1101"}]}
    issues = {(issue.path, issue.message, issue.hint) for issue in schema_issues(registry, SCENARIO_FILE, document)}
    assert (("steps", 0, "infno"), "expected string, got integer",
            'write the transaction code as a quoted 4-digit string, e.g. infno: "2207"') in issues
    assert (("steps", 0, "expct"), "unknown key 'expct'", "did you mean 'expect'?") in issues
    assert (("steps", 1, "infno"), "unknown key 'infno'", "") in issues  # a use-step takes use, with, envelope
    assert len(issues) == 3


def test_template_steps_and_generator_tables_are_checked_by_their_schema_locations() -> None:
    registry = load_registry()
    [issue] = schema_issues(registry, STEP, {"infno": "2207", "expect": {"ok": True, "chekcs": []}})
    assert (issue.path, issue.at_key, issue.hint) == (("expect", "chekcs"), True, "did you mean 'checks'?")
    assert issue.expected.startswith("one of: ok, cause")
    table = {"flows": {"f": {"title": "abc", "title_zh": "中文", "area": "outpatient", "interface": "2207",
                             "steps": [{"infno": "2207"}]}},
             "causes": [{"cause": "not-filed", "archetype": "not-filed", "flows": [], "nots": "x"}]}
    found = {(i.path, i.message) for i in schema_issues(registry, CAUSE_MATRIX, table)}
    assert (("causes", 0, "nots"), "unknown key 'nots'") in found
    assert any(path == ("causes", 0, "flows") for path, _ in found)  # an empty list of flows


def test_omit_is_only_a_whole_envelope_value(tmp_path: Path) -> None:
    good = VALID.replace('  - infno: 5203\n', '  - infno: 5203\n    envelope: {msgid: "{{ omit }}"}\n')
    (scenario,) = load_text(good, "omit.yaml", vocabulary=VOCAB)
    assert scenario.steps[1].envelope == {"msgid": "{{ omit }}"}
    bad = (VALID.replace('  - infno: 5203\n', '  - infno: 5203\n    envelope: {msgid: "H1{{ omit }}"}\n')
           .replace("begntime: 2024-01-01", 'begntime: "{{ omit }}"'))
    text = _error(tmp_path, {"omit.yaml": bad}).render()
    assert "2 problems" in text and text.count("'{{ omit }}' can only be the whole value of an envelope field") == 2
