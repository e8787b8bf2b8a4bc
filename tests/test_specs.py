"""harness.specs: loading, profiles, and the contents of every violation.

Profile mechanics are tested on a small spec tree built in tmp_path (so they do not depend on the
data of the day); the real `specs/` is tested for loading, compiling and the 2207 violations.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harness.errors import SpecError
from harness.specs import SPECS_ENV, SpecRegistry, default_root, load_registry

DRAFT = "https://json-schema.org/draft/2020-12/schema"
BASE = "https://hsa-cert.dev/specs/v1.1.27/"
MSGID = "H43010500001202403150930000001"


def _write(root: Path, rel: str, doc: Any) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


def _field(name: str, zh: str, **schema: Any) -> dict[str, Any]:
    return {**schema, "title": zh, "x-clause": f"2207.in.data.{name}"}


def build_mini_specs(root: Path, *, profiles: dict[str, dict[str, Any]] | None = None) -> Path:
    """A spec tree with one interface (a trimmed 2207), two code lists and two profiles."""
    v = "v1.1.27/"
    _write(root, v + "manifest.json", {"spec_version": "v1.1.27", "interfaces": ["2207"]})
    _write(root, v + "types.json", {"$schema": DRAFT, "$id": BASE + "types.json", "$defs": {
        "money": {"type": "number", "x-digits": [16, 2]},
        "date": {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
    }})
    _write(root, v + "codes/med_type.json", {
        "$schema": DRAFT, "$id": BASE + "codes/med_type.json", "title": "医疗类别", "x-dict": "med_type",
        "type": "string", "enum": ["11", "12", "14"], "x-variants": {"extended": ["11", "12", "14", "9901"]}})
    _write(root, v + "codes/psn_cert_type.json", {
        "$schema": DRAFT, "$id": BASE + "codes/psn_cert_type.json", "title": "人员证件类型",
        "x-dict": "psn_cert_type", "type": "string", "enum": ["01", "02"]})
    _write(root, v + "envelope/request.json", {
        "$schema": DRAFT, "$id": BASE + "envelope/request.json", "type": "object", "properties": {
            "infno": {"type": "string", "maxLength": 5, "title": "交易编号", "x-clause": "ENV.req.infno"},
            "msgid": {"type": "string", "maxLength": 30, "pattern": r"^[A-Za-z0-9]{12}[0-9]{18}$",
                      "title": "发送方报文ID", "x-clause": "ENV.req.msgid"},
            "mdtrtarea_admvs": {"type": "string", "title": "就医地医保区划", "x-clause": "ENV.req.mdtrtarea_admvs"},
            "insuplc_admdvs": {"type": ["string", "null"], "title": "参保地医保区划",
                               "x-clause": "ENV.req.insuplc_admdvs"},
            "input": {"type": "object", "title": "交易输入", "x-clause": "ENV.req.input"}},
        "required": ["infno", "msgid", "mdtrtarea_admvs", "input"]})
    _write(root, v + "envelope/response.json", {
        "$schema": DRAFT, "$id": BASE + "envelope/response.json", "type": "object", "properties": {
            "infcode": {"type": "integer", "enum": [0, -1], "title": "交易状态码", "x-clause": "ENV.resp.infcode"},
            "output": {"type": ["object", "null"], "title": "交易输出", "x-clause": "ENV.resp.output"}},
        "required": ["infcode"]})
    _write(root, v + "interfaces/2207.json", {
        "$schema": DRAFT, "$id": BASE + "interfaces/2207.json", "title": "门诊结算", "x-infno": "2207",
        "x-name-en": "Outpatient settlement", "x-area": "outpatient", "x-state-changing": True,
        "x-input-nodes": {"data": "object"}, "x-output-nodes": {"setlinfo": "object", "setldetail": "array"},
        "$defs": {
            "input": {"type": "object", "properties": {"data": {"$ref": "#/$defs/in.data"}}, "required": ["data"]},
            "output": {"type": ["object", "null"], "required": ["setlinfo", "setldetail"], "properties": {
                "setlinfo": {"$ref": "#/$defs/out.setlinfo"},
                "setldetail": {"type": "array", "items": {"$ref": "#/$defs/out.setldetail"}}}},
            "in.data": {"type": "object", "title": "输入", "required": ["psn_no", "med_type", "medfee_sumamt"],
                        "properties": {
                "psn_no": _field("psn_no", "人员编号", type="string", minLength=1, maxLength=30),
                "med_type": _field("med_type", "医疗类别", **{"$ref": "../codes/med_type.json", "x-code": "med_type"}),
                "medfee_sumamt": _field("medfee_sumamt", "医疗费总额", **{"$ref": "../types.json#/$defs/money"}),
                "psn_cert_type": _field("psn_cert_type", "人员证件类型", **{
                    "anyOf": [{"$ref": "../codes/psn_cert_type.json"}, {"enum": ["", None]}],
                    "x-code": "psn_cert_type"}),
                "certno": _field("certno", "证件号码", type=["string", "null"], maxLength=50),
                "begndate": _field("begndate", "开始日期", **{"$ref": "../types.json#/$defs/date"}),
            }},
            "out.setlinfo": {"type": "object", "required": ["setl_id"], "properties": {
                "setl_id": {"type": "string", "maxLength": 30, "title": "结算ID",
                            "x-clause": "2207.out.setlinfo.setl_id"}}},
            "out.setldetail": {"type": "object", "required": ["fund_payamt"], "properties": {
                "fund_payamt": {"$ref": "../types.json#/$defs/money", "title": "基金支付金额",
                                "x-clause": "2207.out.setldetail.fund_payamt"}}},
        }})
    _write(root, v + "rules.json", {
        "rules": [{"id": "R-XREGION-FIELDS", "title_zh": "跨省异地必填字段", "title_en": "Cross-region fields"},
                  {"id": "R-CAUSE-NOT-FILED", "title_zh": "未备案"}],
        "causes": [{"id": "not-filed", "clause": "R-CAUSE-NOT-FILED", "title_zh": "未备案", "applies_to": ["2207"]}]})
    default_profiles = {
        "baseline": {"id": "baseline", "title_zh": "全国基线", "extends": None, "spec_version": "v1.1.27",
                     "gateway": {"family": "none", "tif": {"signature_case": "lower"}},
                     "reversible_by_2601": ["2207", "2304"],
                     "cross_region_required": {"2207": ["psn_cert_type", "certno"]}},
        "ext": {"id": "ext", "title_zh": "扩展", "extends": "baseline",
                "gateway": {"family": "tif"}, "reversible_by_2601": ["2207"],
                "code_variants": {"med_type": "extended"},
                "input_node_aliases": {"2207": {"data": "mdtrtinfo"}, "2260": {"data": "x"}},
                "schema_overrides": [{"schema": "envelope/request.json", "pointer": "/properties/msgid",
                                      "merge": {"pattern": r"^[A-Za-z0-9]{12}[0-9]{14}([0-9]{4})?$"}}]},
    }
    for pid, doc in (profiles if profiles is not None else default_profiles).items():
        _write(root, f"profiles/{pid}.json", doc)
    return root


def request(data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {"infno": "2207", "msgid": MSGID, "mdtrtarea_admvs": "430105", "insuplc_admdvs": "430105",
            "input": {"data": data}, **envelope}


GOOD = {"psn_no": "43000011000000012345", "med_type": "11", "medfee_sumamt": 128.5}


@pytest.fixture()
def mini(tmp_path: Path) -> SpecRegistry:
    return SpecRegistry(build_mini_specs(tmp_path / "specs"))


# --- the real specs/ ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> SpecRegistry:
    return load_registry()


def test_real_registry_loads_every_interface_of_the_manifest(real: SpecRegistry) -> None:
    infnos = [s.infno for s in real.interfaces()]
    assert infnos == sorted(infnos)
    assert set(infnos) == {str(i) for i in real.manifest["interfaces"]}
    assert len(infnos) >= 38
    for spec in real.interfaces():
        assert spec.title_zh and spec.area, spec
        assert spec.path.name == f"{spec.infno}.json"


def test_schema_lookup_by_relative_path_and_by_id_is_the_same_document(real: SpecRegistry) -> None:
    by_path = real.schema("interfaces/2207.json")
    assert real.schema(by_path["$id"]) is by_path
    assert real.schema("interfaces/2207.json#/$defs/input") is by_path["$defs"]["input"]
    with pytest.raises(SpecError, match="Unknown schema"):
        real.schema("interfaces/0000.json")


def test_2207_fields_carry_title_clause_length_and_requiredness(real: SpecRegistry) -> None:
    fields = {(f.node, f.name): f for f in real.interface("2207").fields("in")}
    psn_no = fields[("data", "psn_no")]
    assert (psn_no.title_zh, psn_no.clause, psn_no.max_length, psn_no.required) == (
        "人员编号", "2207.in.data.psn_no", 30, True)
    assert fields[("data", "med_type")].code == "med_type"
    assert fields[("data", "medfee_sumamt")].json_type == "number"
    assert fields[("data", "medfee_sumamt")].digits == (16, 2)
    assert real.schema("interfaces/2207.json")["$defs"]["in.data"]["properties"]["psn_no"] is real.schema(
        "interfaces/2207.json#" + psn_no.pointer)
    out = {f.name for f in real.interface("2207").fields("out") if f.node == "setldetail"}
    assert "fund_pay_type" in out


def test_every_field_of_every_interface_has_a_title_and_its_own_clause(real: SpecRegistry) -> None:
    for spec in real.interfaces():
        for direction in ("in", "out"):
            for f in spec.fields(direction):
                assert f.title_zh, f
                assert f.clause == f"{spec.infno}.{direction}.{f.node}.{f.name}", f


def test_every_interface_compiles_under_every_profile(real: SpecRegistry) -> None:
    assert "baseline" in real.profiles()
    for name in real.profiles():
        validator = real.validator(name)
        for spec in real.interfaces():
            assert isinstance(validator.validate_input(spec.infno, {}), list)
            assert isinstance(validator.validate_output(spec.infno, None), list)


def test_code_lists_rules_and_causes(real: SpecRegistry) -> None:
    med_type = real.code_list("med_type")
    assert "11" in med_type.values and med_type.title_zh
    with pytest.raises(SpecError):
        real.code_list("no_such_dict")
    assert real.rules() and real.causes()
    for cause in real.causes():
        assert real.rule(cause.clause).id == cause.clause


def test_real_2207_request_reports_every_error_with_path_clause_name_expected_actual(real: SpecRegistry) -> None:
    validator = real.validator("baseline")
    data = {"psn_no": "4" * 31, "med_type": "99", "medfee_sumamt": "abc"}  # and mdtrt_cert_type … missing
    envelope = {"infno": "2207", "msgid": "bad", "input": {"data": data}}
    found = validator.validate_request(envelope)
    by_path = {v.path: v for v in found}
    assert by_path["/input/data/psn_no"].clause == "2207.in.data.psn_no"
    assert by_path["/input/data/psn_no"].field_zh == "人员编号"
    assert (by_path["/input/data/psn_no"].expected, by_path["/input/data/psn_no"].actual) == (
        "maxLength 30", "31 characters")
    med = by_path["/input/data/med_type"]
    assert med.clause == "2207.in.data.med_type" and med.field_zh == "医疗类别"
    assert "med_type" in med.expected and "11" in med.expected and med.actual == '"99"'
    amount = by_path["/input/data/medfee_sumamt"]
    assert amount.expected == "type number" and amount.actual == 'string "abc"'
    missing = by_path["/input/data/mdtrt_id"]
    assert (missing.clause, missing.field_zh, missing.actual) == ("2207.in.data.mdtrt_id", "就诊ID", "missing")
    assert by_path["/msgid"].clause == "ENV.req.msgid" and by_path["/msgid"].field_zh == "发送方报文ID"
    assert by_path["/inf_time"].clause == "ENV.req.inf_time"
    assert [v.path for v in found] == sorted(v.path for v in found)
    assert not validator.is_valid_request(envelope)


def test_real_response_output_is_validated_only_on_success(real: SpecRegistry) -> None:
    validator = real.validator("baseline")
    refusal = {"infcode": -1, "inf_refmsgid": "", "err_msg": "参保人未办理异地就医备案，不能直接结算", "output": None}
    assert validator.validate_response("2207", refusal) == []
    success = {"infcode": 0, "inf_refmsgid": "430000202403150930000000000001", "output": {"setldetail": []}}
    found = validator.validate_response("2207", success)
    assert [(v.path, v.clause, v.actual) for v in found] == [("/output/setlinfo", "2207.out.setlinfo", "missing")]
    assert not validator.is_valid_response("2207", success)


# --- registry loading on a small tree -------------------------------------------------------


def test_load_registry_is_cached_per_root_and_version(tmp_path: Path) -> None:
    root = build_mini_specs(tmp_path / "specs")
    assert load_registry(root) is load_registry(str(root))
    assert load_registry(root).interface("2207").title_zh == "门诊结算"


def test_specs_root_follows_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SPECS_ENV, raising=False)
    assert default_root() == Path(__file__).resolve().parents[1] / "specs"
    root = build_mini_specs(tmp_path / "elsewhere")
    monkeypatch.setenv(SPECS_ENV, str(root))
    assert default_root() == root
    assert [s.infno for s in load_registry().interfaces()] == ["2207"]


def test_missing_specs_folder_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_registry(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SpecError, match="version folder"):
        load_registry(tmp_path / "empty")


def test_malformed_json_names_the_file_and_line(tmp_path: Path) -> None:
    root = build_mini_specs(tmp_path / "specs")
    bad = root / "v1.1.27/codes/med_type.json"
    bad.write_text('{"enum": ["11",\n  oops]}', encoding="utf-8")
    with pytest.raises(SpecError) as info:
        SpecRegistry(root)
    assert "not valid JSON" in info.value.title
    assert str(bad) in info.value.location and ":2:" in info.value.location


def test_a_bom_is_accepted(tmp_path: Path) -> None:
    root = build_mini_specs(tmp_path / "specs")
    manifest = root / "v1.1.27/manifest.json"
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes())
    assert SpecRegistry(root).interface("2207")


def test_duplicate_id_and_missing_interface_file_are_spec_errors(tmp_path: Path) -> None:
    root = build_mini_specs(tmp_path / "a")
    _write(root, "v1.1.27/codes/copy.json", json.loads((root / "v1.1.27/codes/med_type.json").read_text("utf-8")))
    with pytest.raises(SpecError, match="same \\$id"):
        SpecRegistry(root)
    root = build_mini_specs(tmp_path / "b")
    _write(root, "v1.1.27/manifest.json", {"spec_version": "v1.1.27", "interfaces": ["2207", "2208"]})
    with pytest.raises(SpecError) as info:
        SpecRegistry(root)
    assert "2208" in info.value.detail


def test_unknown_interface_profile_and_rule_are_spec_errors(mini: SpecRegistry) -> None:
    with pytest.raises(SpecError, match="Unknown interface"):
        mini.interface("9999")
    with pytest.raises(SpecError, match="Unknown profile") as info:
        mini.profile("atlantis")
    assert "baseline, ext" in info.value.hint
    with pytest.raises(SpecError):
        mini.rule("R-NOPE")
    assert mini.cause("not-filed").applies_to == ("2207",)


# --- profiles -----------------------------------------------------------------------------------


def test_extends_deep_merges_dicts_and_replaces_lists(mini: SpecRegistry) -> None:
    ext = mini.profile("ext")
    assert ext.gateway == {"family": "tif", "tif": {"signature_case": "lower"}}
    assert ext.reversible_by_2601 == ("2207",)
    assert ext.cross_region_required == {"2207": ("psn_cert_type", "certno")}
    assert mini.profile("baseline").gateway["family"] == "none"
    assert mini.profiles() == ["baseline", "ext"]


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    profiles = {"a": {"id": "a", "extends": "b"}, "b": {"id": "b", "extends": "a"}}
    registry = SpecRegistry(build_mini_specs(tmp_path / "specs", profiles=profiles))
    with pytest.raises(SpecError, match="cycle"):
        registry.profile("a")


def test_code_variants_swap_the_code_list(mini: SpecRegistry) -> None:
    data = {**GOOD, "med_type": "9901"}
    assert mini.validator("ext").validate_input("2207", {"data": data}) == []
    [violation] = mini.validator("baseline").validate_input("2207", {"data": data})
    assert violation.path == "/input/data/med_type" and "14" in violation.expected and "9901" not in violation.expected
    # the raw registry is untouched by the profile
    assert "9901" not in mini.code_list("med_type").values


def test_schema_overrides_merge_at_a_pointer(mini: SpecRegistry) -> None:
    short_msgid = MSGID[:26]
    assert mini.validator("ext").validate_request(request(GOOD, msgid=short_msgid)) == []
    [violation] = mini.validator("baseline").validate_request(request(GOOD, msgid=short_msgid))
    assert (violation.path, violation.clause, violation.message) == (
        "/msgid", "ENV.req.msgid", "does not match the required pattern")
    assert mini.schema("envelope/request.json")["properties"]["msgid"]["pattern"] == r"^[A-Za-z0-9]{12}[0-9]{18}$"


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"code_variants": {"med_type": "nope"}}, "variant 'nope'"),
        ({"code_variants": {"no_dict": "x"}}, "unknown code list"),
        ({"schema_overrides": [{"schema": "envelope/request.json", "pointer": "/properties/zzz", "merge": {}}]},
         "does not apply"),
        ({"schema_overrides": [{"schema": "envelope/nope.json", "pointer": "", "merge": {}}]}, "does not apply"),
    ],
)
def test_a_profile_that_does_not_apply_is_a_spec_error(tmp_path: Path, override: dict[str, Any], match: str) -> None:
    profiles = {"baseline": {"id": "baseline", **override}}
    registry = SpecRegistry(build_mini_specs(tmp_path / "specs", profiles=profiles))
    with pytest.raises(SpecError, match=match):
        registry.validator("baseline")


def test_cross_region_fields_are_required_only_across_regions(mini: SpecRegistry) -> None:
    validator = mini.validator("baseline")
    assert validator.validate_request(request(GOOD)) == []  # same region
    assert validator.validate_request(request(GOOD, insuplc_admdvs="")) == []  # local business
    across = request({**GOOD, "certno": ""}, insuplc_admdvs="440100")
    found = validator.validate_request(across)
    assert [(v.path, v.clause, v.actual) for v in found] == [
        ("/input/data/certno", "R-XREGION-FIELDS", '""'),
        ("/input/data/psn_cert_type", "R-XREGION-FIELDS", "missing"),
    ]
    assert "2207.in.data.certno" in found[0].message and found[0].field_zh == "证件号码"
    assert not validator.is_valid_request(across)
    complete = request({**GOOD, "certno": "430105198001010019", "psn_cert_type": "01"}, insuplc_admdvs="440100")
    assert validator.validate_request(complete) == [] and validator.is_valid_request(complete)


def test_input_node_aliases_accept_the_provincial_node_name(mini: SpecRegistry) -> None:
    ext = mini.validator("ext")
    assert ext.validate_request(request(GOOD)) == []
    aliased = request(GOOD)
    aliased["input"] = {"mdtrtinfo": {k: v for k, v in GOOD.items() if k != "psn_no"}}
    [missing] = ext.validate_request(aliased)
    assert (missing.path, missing.clause, missing.field_zh) == (
        "/input/mdtrtinfo/psn_no", "2207.in.data.psn_no", "人员编号")
    aliased["input"]["mdtrtinfo"]["psn_no"] = GOOD["psn_no"]
    aliased["insuplc_admdvs"] = "440100"
    assert {v.path for v in ext.validate_request(aliased)} == {
        "/input/mdtrtinfo/psn_cert_type", "/input/mdtrtinfo/certno"}
    [neither] = ext.validate_input("2207", {})
    assert (neither.path, neither.clause, neither.expected) == ("/input", "2207.in", "with data or with mdtrtinfo")
    assert mini.validator("baseline").validate_input("2207", {"mdtrtinfo": GOOD})[0].path == "/input/data"


# --- violation contents -------------------------------------------------------------------------


def test_missing_required_field_cites_the_child_not_the_parent(mini: SpecRegistry) -> None:
    data = {k: v for k, v in GOOD.items() if k != "psn_no"}
    [violation] = mini.validator().validate_request(request(data))
    assert violation.path == "/input/data/psn_no"
    assert violation.clause == "2207.in.data.psn_no"
    assert violation.field_zh == "人员编号"
    assert (violation.message, violation.actual) == ("required field is missing", "missing")
    assert "30" in violation.expected
    assert "psn_no" in violation.render() and "2207.in.data.psn_no" in violation.render()


def test_every_error_is_reported_and_ordered_by_path(mini: SpecRegistry) -> None:
    data = {"med_type": "99", "medfee_sumamt": "12", "psn_cert_type": "7", "begndate": "2024-02-30",
            "certno": "x" * 51}
    found = mini.validator().validate_request(request(data, msgid="short"))
    assert [(v.path, v.clause) for v in found] == [
        ("/input/data/begndate", "2207.in.data.begndate"),
        ("/input/data/certno", "2207.in.data.certno"),
        ("/input/data/med_type", "2207.in.data.med_type"),
        ("/input/data/medfee_sumamt", "2207.in.data.medfee_sumamt"),
        ("/input/data/psn_cert_type", "2207.in.data.psn_cert_type"),
        ("/input/data/psn_no", "2207.in.data.psn_no"),
        ("/msgid", "ENV.req.msgid"),
    ]
    by_path = {v.path: v for v in found}
    assert by_path["/input/data/begndate"].expected == "format date"
    assert (by_path["/input/data/certno"].expected, by_path["/input/data/certno"].actual) == (
        "maxLength 50", "51 characters")
    cert_type = by_path["/input/data/psn_cert_type"]
    assert cert_type.message == "not in the code list" and "01, 02" in cert_type.expected
    assert cert_type.actual == '"7"'


def test_array_items_and_output_nodes_have_indexed_paths(mini: SpecRegistry) -> None:
    output = {"setlinfo": {"setl_id": "S1"}, "setldetail": [{"fund_payamt": 1}, {"fund_payamt": "x"}, {}]}
    found = mini.validator().validate_output("2207", output)
    assert [(v.path, v.clause, v.field_zh) for v in found] == [
        ("/output/setldetail/1/fund_payamt", "2207.out.setldetail.fund_payamt", "基金支付金额"),
        ("/output/setldetail/2/fund_payamt", "2207.out.setldetail.fund_payamt", "基金支付金额"),
    ]


def test_unknown_infno_and_non_object_input(mini: SpecRegistry) -> None:
    validator = mini.validator()
    [unknown] = validator.validate_request(request(GOOD, infno="9999"))
    assert (unknown.path, unknown.clause, unknown.message) == ("/infno", "ENV.req.infno", "unknown transaction code")
    assert not validator.is_valid_request(request(GOOD, infno="9999"))
    broken = request(GOOD)
    broken["input"] = "{}"
    [violation] = validator.validate_request(broken)
    assert (violation.path, violation.clause, violation.expected) == ("/input", "ENV.req.input", "type object")
    assert validator.validate_request([]) and not validator.is_valid_request([])


def test_fast_path_agrees_with_the_full_report(mini: SpecRegistry) -> None:
    validator = mini.validator()
    cases = [request(GOOD), request({}), request(GOOD, msgid=1), request({**GOOD, "begndate": "2024-13-01"}),
             request(GOOD, insuplc_admdvs="440100"), {"infno": "2207"}, request(GOOD, infno=2207)]
    for case in cases:
        assert validator.is_valid_request(copy.deepcopy(case)) == (validator.validate_request(case) == []), case


def test_validate_document_checks_against_any_registry_schema(mini: SpecRegistry) -> None:
    assert mini.validate_document("codes/med_type.json", "11") == []
    [violation] = mini.validate_document("codes/med_type.json", "99")
    assert violation.path == "" and violation.message == "not in the code list"
