"""Messages captured from real traffic (fixtures/real/*.captured.json, sources in their sidecars) validate
under the profile of their province, or are rejected under a strict reading with the clause and the hint.

Each sidecar names the expected verdict per profile; the test holds `hsa-cert specs validate` to it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.specs import load_registry

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
CAPTURED = sorted(REAL.glob("*.captured.json"))
runner = CliRunner()


def _sidecar(path: Path) -> dict[str, Any]:
    return json.loads(path.with_name(path.name.replace(".json", ".source.json")).read_text(encoding="utf-8"))


def test_there_are_captured_messages_and_each_has_its_source() -> None:
    assert len(CAPTURED) >= 2
    for path in CAPTURED:
        source = _sidecar(path)
        assert source["message"] == path.name and source["origin"] and source["repository"]
        assert source["verbatim"] is (not source["replaced"]), path.name
        assert set(source["expected"]) >= {"baseline"}


@pytest.mark.parametrize("path", CAPTURED, ids=lambda p: p.name)
def test_a_captured_message_gets_the_verdict_its_sidecar_expects(path: Path) -> None:
    source = _sidecar(path)
    for profile, verdict in source["expected"].items():
        result = runner.invoke(app, ["specs", "validate", str(path), "--profile", profile, "--json"])
        report = json.loads(result.output)
        if verdict.startswith("valid"):
            assert result.exit_code == 0, (profile, result.output)
            advisories = {a["clause"] for a in report.get("advisories", [])}
            named = {word.strip(",.") for word in verdict.split() if word.startswith("DEV.")}
            assert advisories == named, (profile, report)
        else:
            assert result.exit_code == 1, (profile, result.output)
            clauses = {v["clause"] for v in report["violations"]}
            named = {word.strip(",:.") for word in verdict.split() if "." in word and word[0].isupper()}
            assert named and named <= clauses, (profile, clauses)
            assert all(v["hint"] for v in report["violations"]), report


def test_the_zhaoqing_sign_in_is_the_27_character_msgid_the_guangdong_profile_tolerates() -> None:
    doc = json.loads((REAL / "zhaoqing-9001-request.captured.json").read_text(encoding="utf-8"))
    assert len(doc["msgid"]) == 27 and doc["mdtrtarea_admvs"] == "441200"
    (found,) = load_registry().validator("guangdong").validate_request(doc)
    assert found.clause == "DEV.msgid-27" and "SHOULD advisory" in found.hint
    (strict,) = load_registry().validator("baseline").validate_request(doc)
    assert strict.clause == "ENV.req.msgid" and "guangdong" in strict.hint


def test_the_chongqing_settlement_keeps_its_real_shape_without_personal_data() -> None:
    doc = json.loads((REAL / "chongqing-2207-request.captured.json").read_text(encoding="utf-8"))
    assert {"serv_code", "serv_sign"} <= set(doc) and doc["infver"] == "1"
    assert doc["input"]["data"]["psn_no"] == "JM0000000001" and doc["opter_name"] == "收费员"
    assert set(_sidecar(REAL / "chongqing-2207-request.captured.json")["replaced"]) == {
        "input.data.psn_no", "input.data.mdtrt_cert_no", "opter_name", "serv_code"}
