"""`hsa-cert specs list | show | validate` through Typer's CliRunner, on the real specs/."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
runner = CliRunner()


def _example(infno: str, kind: str, description_start: str) -> dict[str, Any]:
    for group in json.loads((EXAMPLES / f"{infno}.json").read_text(encoding="utf-8")):
        if group["schema"] != kind:
            continue
        for test in group["tests"]:
            if test["description"].startswith(description_start):
                return copy.deepcopy(test["data"])
    raise LookupError(f"{infno} {kind} {description_start}")


@pytest.fixture()
def request_2207() -> dict[str, Any]:
    return _example("2207", "request", "cross-province request")


def _save(tmp_path: Path, doc: Any, name: str = "message.json", *, bom: bool = False) -> str:
    path = tmp_path / name
    data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + data if bom else data)
    return str(path)


def test_list_shows_every_interface_as_a_table() -> None:
    result = runner.invoke(app, ["specs", "list"])
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line[:4].isdigit()]
    assert len(rows) >= 38
    row_2207 = next(r for r in rows if r.startswith("2207"))
    assert "门诊结算" in row_2207 and "Outpatient settlement" in row_2207 and "outpatient" in row_2207


def test_list_as_json() -> None:
    result = runner.invoke(app, ["specs", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) >= 38
    assert {"infno": "2207", "title_zh": "门诊结算", "name_en": "Outpatient settlement", "area": "outpatient"} in rows


def test_show_lists_nodes_and_fields_with_clauses() -> None:
    result = runner.invoke(app, ["specs", "show", "2207"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "门诊结算" in out and "node data" in out and "node setlinfo" in out and "node setldetail" in out
    psn_no = next(line for line in out.splitlines() if line.startswith("psn_no "))
    assert "人员编号" in psn_no and "string(30)" in psn_no and "2207.in.data.psn_no" in psn_no and " Y " in psn_no
    med_type = next(line for line in out.splitlines() if line.startswith("med_type "))
    assert "med_type" in med_type.split("Y", 1)[1]  # the code list column


def test_show_as_json_and_unknown_infno() -> None:
    result = runner.invoke(app, ["specs", "show", "2207", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["output_nodes"] == {"setlinfo": "object", "setldetail": "array"}
    assert any(f["clause"] == "2207.out.setlinfo.setl_id" for f in body["fields"])
    result = runner.invoke(app, ["specs", "show", "9999"])
    assert result.exit_code == 2
    assert "Unknown interface '9999'" in result.stderr and "specs list" in result.stderr


def test_validate_accepts_a_correct_2207_request(tmp_path: Path, request_2207: dict[str, Any]) -> None:
    result = runner.invoke(app, ["specs", "validate", _save(tmp_path, request_2207)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.stdout and "2207" in result.stdout


def test_validate_accepts_a_utf8_bom(tmp_path: Path, request_2207: dict[str, Any]) -> None:
    result = runner.invoke(app, ["specs", "validate", _save(tmp_path, request_2207, bom=True)])
    assert result.exit_code == 0, result.output


def test_validate_rejects_a_missing_psn_no_naming_field_clause_and_path(
    tmp_path: Path, request_2207: dict[str, Any]
) -> None:
    del request_2207["input"]["data"]["psn_no"]
    result = runner.invoke(app, ["specs", "validate", _save(tmp_path, request_2207)])
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert "1 violation" in out
    assert "/input/data/psn_no" in out and "2207.in.data.psn_no" in out and "人员编号" in out
    assert "expected present" in out and "actual missing" in out


def test_validate_lists_every_violation(tmp_path: Path, request_2207: dict[str, Any]) -> None:
    request_2207["msgid"] = "short"
    request_2207["input"]["data"]["med_type"] = "99"
    request_2207["input"]["data"]["medfee_sumamt"] = "128.50"
    result = runner.invoke(app, ["specs", "validate", _save(tmp_path, request_2207), "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["kind"] == "request" and report["profile"] == "baseline"
    assert [v["path"] for v in report["violations"]] == [
        "/input/data/med_type", "/input/data/medfee_sumamt", "/msgid"]
    assert report["violations"][1] | {"message": ""} == {
        "path": "/input/data/medfee_sumamt", "clause": "2207.in.data.medfee_sumamt", "message": "",
        "expected": "type number", "actual": 'string "128.50"', "field_zh": "医疗费总额", "hint": ""}


def test_validate_applies_the_profile_cross_region_rule(tmp_path: Path, request_2207: dict[str, Any]) -> None:
    del request_2207["input"]["data"]["psn_name"]
    path = _save(tmp_path, request_2207)
    result = runner.invoke(app, ["specs", "validate", path, "--profile", "baseline"])
    assert result.exit_code == 1, result.output
    assert "R-XREGION-FIELDS" in result.stdout and "/input/data/psn_name" in result.stdout
    request_2207["insuplc_admdvs"] = request_2207["mdtrtarea_admvs"]  # local business: not required
    assert runner.invoke(app, ["specs", "validate", _save(tmp_path, request_2207)]).exit_code == 0


def test_validate_a_response_needs_infno(tmp_path: Path) -> None:
    path = _save(tmp_path, _example("2207", "response", "success"))
    result = runner.invoke(app, ["specs", "validate", path])
    assert result.exit_code == 2
    assert "--infno" in result.stderr
    assert runner.invoke(app, ["specs", "validate", path, "--infno", "2207"]).exit_code == 0
    refusal = _save(tmp_path, _example("2207", "response", "refusal"), "refusal.json")
    assert runner.invoke(app, ["specs", "validate", refusal, "--infno", "2207"]).exit_code == 0
    broken = _example("2207", "response", "success")
    del broken["output"]["setlinfo"]["setl_id"]
    result = runner.invoke(app, ["specs", "validate", _save(tmp_path, broken, "broken.json"), "--infno", "2207"])
    assert result.exit_code == 1
    assert "/output/setlinfo/setl_id" in result.stdout and "2207.out.setlinfo.setl_id" in result.stdout


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (b'{"infno": "2207", "input": ', [], "not valid JSON"),
        (b"\xff\xfe{}", [], "not UTF-8"),
        (b"[1, 2]", [], "not a JSON object"),
        (b'{"input": {}}', [], "neither a request nor a response"),
        (b'{"infno": "9999", "input": {}}', [], "Unknown interface '9999'"),
        (b'{"infcode": 0, "output": {}}', ["--infno", "9999"], "Unknown interface '9999'"),
        (b'{"infno": "2207", "input": {}}', ["--infno", "2208"], "contradicts"),
        (b'{"infno": "2207", "input": {}}', ["--profile", "atlantis"], "Unknown profile 'atlantis'"),
    ],
)
def test_validate_usage_errors_exit_2(tmp_path: Path, content: bytes, args: list[str], message: str) -> None:
    path = tmp_path / "message.json"
    path.write_bytes(content)
    result = runner.invoke(app, ["specs", "validate", str(path), *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.startswith("error: ")


def test_validate_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["specs", "validate", str(tmp_path / "absent.json")])
    assert result.exit_code == 2
    assert "Cannot read" in result.stderr and "absent.json" in result.stderr
