"""The suites as shipped: size, clauses, stable ids, and generated negatives that are truly negative."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.model import Scenario
from harness.personas import load_catalogue
from harness.scenarios.catalogue import PROJECT_ROOT, SCENARIOS_DIR, ScenarioCatalogue, _load
from harness.scenarios.diagnostics import Problem
from harness.scenarios.loader import read_document
from harness.scenarios.mutations import leaf_differences
from harness.scenarios.probe import probe_context, probe_envelope
from harness.scenarios.templates import render
from harness.specs import load_registry

REGISTRY = load_registry()
CATALOGUE = load_catalogue()
SPEC_CLAUSES = {rule.id for rule in REGISTRY.rules()} | {
    f.clause for spec in REGISTRY.interfaces() for direction in ("in", "out") for f in spec.fields(direction)
} | {
    sub.get("x-clause") for name in ("envelope/request.json", "envelope/response.json")
    for sub in REGISTRY.schema(name)["properties"].values()
}


def _fresh(profile: str = "baseline") -> ScenarioCatalogue:
    return _load(REGISTRY, profile, SCENARIOS_DIR.resolve(), CATALOGUE, None)


@pytest.fixture(scope="module")
def suites() -> ScenarioCatalogue:
    return _fresh()


def _digest(found: ScenarioCatalogue) -> str:
    return hashlib.sha256("\n".join(f"{s.id} {s.fingerprint}" for s in found.scenarios).encode()).hexdigest()


def test_the_default_suite_has_at_least_500_scenarios_in_every_area(suites: ScenarioCatalogue) -> None:
    chosen = suites.select(["default"])
    assert len(chosen) >= 500
    per_suite = Counter(suites.suite_of[s.id] for s in chosen)
    for name in ("outpatient", "inpatient", "chronic", "pharmacy", "filing", "reversal", "idempotency",
                 "reconciliation", "envelope", "protocol", "causes"):
        assert per_suite[name] > 0, name
    assert len(suites.select(["outpatient", "inpatient"])) == per_suite["outpatient"] + per_suite["inpatient"]


def test_every_scenario_cites_clauses_that_exist_in_specs(suites: ScenarioCatalogue) -> None:
    unknown = {(s.id, c) for s in suites.scenarios for c in s.clauses if c not in SPEC_CLAUSES}
    assert not unknown
    assert all(s.clauses for s in suites.scenarios)


def test_every_failure_cause_is_expected_somewhere(suites: ScenarioCatalogue) -> None:
    expected = {step.expect.cause for s in suites.scenarios for step in s.steps if step.expect.cause}
    assert {c.id for c in REGISTRY.causes()} <= expected


def test_causes_are_tried_against_every_flow_where_they_apply(suites: ScenarioCatalogue) -> None:
    ids = set(suites.by_id)
    for cause in ("not-filed", "lapsed-contributions", "benefits-suspended", "filing-expired", "filed-elsewhere"):
        for flow in ("outpatient", "inpatient", "chronic", "pharmacy"):
            assert f"cause.{cause}.{flow}" in ids
    assert {"cause.region-not-enabled.outpatient", "cause.institution-not-enabled.inpatient",
            "cause.inactive-card.pharmacy", "cause.chronic-not-filed.chronic"} <= ids


def test_levels_and_capabilities_follow_the_interface(suites: ScenarioCatalogue) -> None:
    area_capability = {"outpatient": "outpatient", "inpatient": "inpatient", "pharmacy": "pharmacy",
                       "filing": "filing", "reconciliation": "reconciliation"}
    for scenario in suites.scenarios:
        if scenario.kind != "negative":
            continue
        wanted = area_capability.get(REGISTRY.interface(scenario.interface).area)
        if wanted:
            assert wanted in scenario.capabilities, scenario.id
        required = scenario.steps[-1 if len(scenario.steps) == 1 else 0]  # any step: level is per field
        assert scenario.level.value in ("mandatory", "conditional", "optional"), required


def test_ids_and_fingerprints_do_not_change_between_loads(suites: ScenarioCatalogue) -> None:
    again = _fresh()
    assert [s.id for s in again.scenarios] == [s.id for s in suites.scenarios]
    assert [s.fingerprint for s in again.scenarios] == [s.fingerprint for s in suites.scenarios]
    assert len(set(suites.by_id)) == len(suites.scenarios)


@pytest.mark.slow
def test_ids_and_fingerprints_do_not_depend_on_the_hash_seed(suites: ScenarioCatalogue) -> None:
    code = (
        "import hashlib; from harness.scenarios.catalogue import load_catalogue_of_scenarios as load; "
        "f = load(); print(hashlib.sha256('\\n'.join(f'{s.id} {s.fingerprint}' for s in f.scenarios).encode())"
        ".hexdigest())"
    )
    digests = set()
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                              cwd=PROJECT_ROOT, check=True, timeout=120)
        digests.add(done.stdout.strip())
    assert digests == {_digest(suites)}


def _base_inputs() -> dict[str, Any]:
    problems: list[Problem] = []
    doc = read_document(SCENARIOS_DIR / "protocol" / "_base-inputs.yaml", root=PROJECT_ROOT, problems=problems)
    assert not problems
    return {str(k): v for k, v in doc.data["interfaces"].items()}


def _refused(scenario: Scenario) -> Any:
    (step,) = [s for s in scenario.steps if s.expect.cause == "invalid-request"]
    return step


def test_every_generated_negative_breaks_exactly_one_field_and_is_invalid(suites: ScenarioCatalogue) -> None:
    bases = _base_inputs()
    probes = probe_context(CATALOGUE, {"psn_no": "43000035758424899169", "mdtrt_id": "M1", "setl_id": "S1",
                                       "chrg_bchno": "CB1", "ipt_otp_no": "MZ1", "trt_dcla_detl_sn": "D1",
                                       "settle_msgid": "H52010200001202406011000000001", "file_qury_no": "F1",
                                       "pharmacy_sign_no": "1", "other_sign_no": "2", "fulamt_ownpay_amt": 0,
                                       "overlmt_selfpay": 0, "preselfpay_amt": 4.5, "inscp_scp_amt": 102.7})
    validator = REGISTRY.validator("baseline")
    negatives = [s for s in suites.scenarios if s.kind == "negative"]
    assert len(negatives) > 800
    covered = Counter()
    for scenario in negatives:
        refused = _refused(scenario)
        base = bases[scenario.interface]["step"]["input"]
        diffs = leaf_differences(base, refused.input)
        assert len(diffs) == 1, (scenario.id, diffs)
        field_clause = scenario.clauses[0]
        assert field_clause.endswith("." + str(diffs[0][-1])), (scenario.id, diffs)
        resolve = probes.resolver(scenario.archetype)
        rendered_base, rendered = render(base, resolve), render(refused.input, resolve)
        identity = probes.identities[scenario.archetype] if scenario.archetype else {}
        envelope = probe_envelope(REGISTRY, "baseline", scenario.interface, probes.site,
                                  str(identity.get("insuplc_admdvs", "")), rendered)
        envelope.update(render(dict(refused.envelope), resolve))
        found = validator.validate_request(envelope)
        wanted = "R-XREGION-FIELDS" if scenario.id.endswith(".xregion-missing") else field_clause
        assert found and {v.clause for v in found} == {wanted}, scenario.id
        base_envelope = {**envelope, "input": rendered_base}
        assert validator.validate_request(base_envelope) == [], scenario.id
        covered[scenario.interface] += 1
    assert set(covered) == {spec.infno for spec in REGISTRY.interfaces()}


def test_negative_ids_name_what_they_break(suites: ScenarioCatalogue) -> None:
    ids = set(suites.by_id)
    assert {"neg.2207.in.data.psn_no.missing", "neg.2207.in.data.med_type.code",
            "neg.2207.in.data.psn_no.maxlength", "neg.2207.in.data.medfee_sumamt.type",
            "neg.2204.in.feedetail.fee_ocur_time.pattern", "neg.2207.in.data.psn_name.xregion-missing",
            "env.req.msgid.pattern", "env.req.inf_time.null"} <= ids


def test_every_envelope_negative_overrides_exactly_one_field(suites: ScenarioCatalogue) -> None:
    generated = [s for s in suites.scenarios if s.id.startswith("env.")]
    assert len(generated) >= 20
    for scenario in generated:
        refused = _refused(scenario)
        assert len(refused.envelope) == 1, scenario.id
        (name,) = refused.envelope
        assert scenario.clauses[0] == f"ENV.req.{name}"
        # a required field is both sent as null (.null, the ids of old) and left out ({{ omit }}, .missing)
        value = refused.envelope[name]
        assert (value is None) is scenario.id.endswith(".null")
        assert (value == "{{ omit }}") is scenario.id.endswith(".missing")
    ids = {s.id for s in generated}
    assert {f"env.req.{name}.{kind}" for name in ("msgid", "inf_time", "fixmedins_code")
            for kind in ("null", "missing")} <= ids


def test_state_changing_negatives_prove_nothing_was_committed(suites: ScenarioCatalogue) -> None:
    for scenario in suites.scenarios:
        if scenario.kind != "negative" or not REGISTRY.interface(scenario.interface).state_changing:
            continue
        position = scenario.steps.index(_refused(scenario))
        follow_up = scenario.steps[position + 1]
        assert follow_up.infno == scenario.interface and follow_up.expect.ok is True, scenario.id


@pytest.mark.parametrize("profile", ["hunan", "guangdong"])
def test_province_profiles_generate_cleanly(profile: str) -> None:
    found = _fresh(profile)
    assert len(found.scenarios) >= 500
    if profile == "hunan":  # 2601 may not undo 2208 in Hunan: that scenario is not part of the profile
        assert "reversal.2601.of-reversal" not in found.by_id


def test_cli_lists_and_shows_scenarios() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["scenarios", "list", "--json", "--suite", "reversal"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert rows and {row["suite"] for row in rows} == {"reversal"}
    assert {"id", "level", "grade", "area", "interface", "title", "clauses", "fingerprint", "source"} <= set(rows[0])
    shown = runner.invoke(app, ["scenarios", "show", "neg.2207.in.data.psn_no.missing"])
    assert shown.exit_code == 0, shown.output
    assert "source: scenarios/protocol/_base-inputs.yaml:" in shown.output
    assert "fingerprint: " in shown.output and "cause: invalid-request" in shown.output
    missing = runner.invoke(app, ["scenarios", "show", "neg.2207.in.data.psn_no.missin"])
    assert missing.exit_code == 2
    table = runner.invoke(app, ["scenarios", "list", "--suite", "nope"])
    assert table.exit_code == 2 and "unknown suite 'nope'" in table.output


def test_scenario_files_are_under_the_project(suites: ScenarioCatalogue) -> None:
    for scenario in suites.scenarios:
        path = Path(scenario.source.rsplit(":", 1)[0])
        assert (PROJECT_ROOT / path).is_file(), scenario.source


def test_the_check_names_scenarios_may_use_are_the_engines() -> None:
    from harness.checks import CHECKS
    from harness.scenarios.catalogue import KNOWN_CHECKS

    assert set(KNOWN_CHECKS) == set(CHECKS)


def test_run_last_scenarios_close_the_suite_and_reconcile_the_run_ledger(suites: ScenarioCatalogue) -> None:
    from harness.scenarios.catalogue import RUN_LAST, run_order

    last = [s.id for s in suites.scenarios if RUN_LAST in s.tags]
    assert last == ["reconciliation.3201.run-ledger.hospital", "reconciliation.3201.run-ledger.pharmacy"]
    assert [s.id for s in suites.scenarios[-len(last):]] == last
    assert [s.id for s in suites.select(["reconciliation"])][-len(last):] == last
    for scenario in (suites.get(sid) for sid in last):
        reconciliations = [step for step in scenario.steps if step.infno == "3201"]
        assert all("{{ ledger.medfee_sumamt }}" in str(step.input) for step in reconciliations)
        assert "recon.ledger_covered" in reconciliations[-1].expect.checks
    assert run_order(["a", "z", "b", "y"], lambda s: ("run-last",) if s in "zy" else ()) == ["a", "b", "z", "y"]


def test_generator_tables_report_bad_base_inputs_with_file_and_line(tmp_path: Path) -> None:
    from harness.errors import ScenarioFormatError

    folder = tmp_path / "protocol"
    folder.mkdir()
    others = "\n".join(f'  "{s.infno}": not under test' for s in REGISTRY.interfaces() if s.infno != "5301")
    (folder / "_base-inputs.yaml").write_text(
        "excluded:\n" + others + "\n"
        "interfaces:\n"
        '  "5301":\n'
        "    step:\n"
        '      infno: "5301"\n'
        "      input: {data: {psn_no: 12345}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioFormatError) as info:
        _load(REGISTRY, "baseline", tmp_path.resolve(), CATALOGUE, None)
    text = info.value.render()
    assert "_base-inputs.yaml:" in text and "the base input of 5301 is not valid" in text
    assert "5301.in.data.psn_no" in text


def test_the_cause_matrix_reports_unknown_flows_and_causes(tmp_path: Path) -> None:
    from harness.errors import ScenarioFormatError

    folder = tmp_path / "causes"
    folder.mkdir()
    (folder / "_matrix.yaml").write_text(
        "flows:\n"
        "  person:\n"
        "    title: Person\n"
        "    title_zh: 人员\n"
        "    area: person\n"
        '    interface: "1101"\n'
        "    steps:\n"
        '      - {infno: "1101", input: {data: {mdtrt_cert_type: "02"}},\n'
        '         expect: {ok: false, cause: "{{ args.cause }}"}}\n'
        "causes:\n"
        "  - {cause: not-filedd, archetype: not-filed, flows: [person]}\n"
        "  - {cause: not-filed, archetype: not-filed, flows: [persn]}\n"
        "  - {cause: not-filed, archetype: not-filed, flows: [person]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioFormatError) as info:
        _load(REGISTRY, "baseline", tmp_path.resolve(), CATALOGUE, None)
    text = info.value.render()
    assert "_matrix.yaml:11:" in text and "unknown failure cause 'not-filedd'" in text
    assert "_matrix.yaml:12:" in text and "unknown flow 'persn'" in text and "did you mean 'person'?" in text
    assert "2 problems" in text
