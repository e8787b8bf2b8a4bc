"""Static parts of specs/v1.1.27 (types, envelopes) and the code-list writer, for tools/import_spec.py.

Envelope fields follow interface-facts.md §1.1/§1.2 (HN 表2/表3 plus real-traffic deviations).
Never imported by harness/ code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import spec_overrides as ov

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
Writer = Callable[[Path, Any], None]

# Digits are written [0-9], never \d: JSON Schema patterns are ECMA-262, where \d is ASCII, but
# python-jsonschema hands them to Python's re, where \d also matches e.g. full-width ２, so the two
# validators the harness cross-checks would disagree (tests/test_validator_agreement.py).
_DATETIME = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
_TIMESTAMP17 = r"^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9][0-9]{3}$"


def _number(title: str, p: int, s: int) -> dict[str, Any]:
    # Precision is a harness check (R-MONEY-PRECISION), not multipleOf: float division makes validators disagree.
    return {"type": "number", "title": title, "x-digits": [p, s]}


TYPES: dict[str, Any] = {
    "$schema": SCHEMA_DIALECT,
    "$id": f"{ov.ID_BASE}types.json",
    "title": "数据类型",
    "description": "Shared value types. Numeric precision is x-digits [precision, scale] (spec 数值型 16,2 …).",
    "$defs": {
        "money": _number("金额 (16,2)", 16, 2),
        "price": _number("单价 (16,6)", 16, 6),
        "qty": _number("数量 (16,4)", 16, 4),
        "ratio": _number("比例 (5,4)", 5, 4),
        "age": _number("年龄 (4,1)", 4, 1),
        "date": {"type": "string", "title": "日期 yyyy-MM-dd", "format": "date",
                 "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "datetime": {"type": "string", "title": "日期时间 yyyy-MM-dd HH:mm:ss", "pattern": _DATETIME},
        "timestamp17": {"type": "string", "title": "时间戳 yyyyMMddHHmmssSSS", "pattern": _TIMESTAMP17},
        "admdvs": {"type": "string", "title": "医保区划 (6位)", "pattern": r"^[0-9]{6}$", "maxLength": 6},
    },
}


def _env_field(clause: str, title: str, schema: dict[str, Any], note: str = "") -> dict[str, Any]:
    out = {**schema, "title": title, "x-clause": clause}
    if note:
        out["description"] = note
    return out


def _opt_str(max_length: int | None = None) -> dict[str, Any]:
    return {"type": ["string", "null"], **({"maxLength": max_length} if max_length else {})}


def _req_str(max_length: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def request_envelope() -> dict[str, Any]:
    c = "ENV.req."
    fields: dict[str, Any] = {
        "infno": _env_field(c + "infno", "交易编号", {"type": "string", "maxLength": 5, "pattern": r"^[0-9]{4}[A-Z]?$"},
                            "IF §1.1 #1: 4 digits; provincial variants add a letter (2203A)"),
        "msgid": _env_field(c + "msgid", "发送方报文ID",
                            {"type": "string", "maxLength": 30, "pattern": r"^[A-Za-z0-9]{12}[0-9]{18}$"},
                            "定点医药机构编号(12)+时间(14)+顺序号(4); profiles may relax (IF §1.1 #2 [V])"),
        "mdtrtarea_admvs": _env_field(c + "mdtrtarea_admvs", "就医地医保区划", {"$ref": "types.json#/$defs/admdvs"}),
        "insuplc_admdvs": _env_field(c + "insuplc_admdvs", "参保地医保区划",
                                     {"anyOf": [{"$ref": "types.json#/$defs/admdvs"}, {"enum": ["", None]}]},
                                     "异地就医必填; empty means local business (IF §1.1 #4)"),
        "recer_sys_code": _env_field(c + "recer_sys_code", "接收方系统代码", _req_str(10)),
        "dev_no": _env_field(c + "dev_no", "设备编号", _opt_str(100)),
        "dev_safe_info": _env_field(c + "dev_safe_info", "设备安全信息", _opt_str(2000)),
        "cainfo": _env_field(c + "cainfo", "数字签名信息", _opt_str(1024)),
        "signtype": _env_field(c + "signtype", "签名类型", _opt_str(10)),
        "infver": _env_field(c + "infver", "接口版本号", _req_str(6)),
        "opter_type": _env_field(c + "opter_type", "经办人类别",
                                 {"$ref": "codes/opter_type.json", "maxLength": 3, "x-code": "opter_type"}),
        "opter": _env_field(c + "opter", "经办人", _req_str(30)),
        "opter_name": _env_field(c + "opter_name", "经办人姓名", _req_str(50)),
        "inf_time": _env_field(c + "inf_time", "交易时间", {"$ref": "types.json#/$defs/datetime"}),
        "fixmedins_code": _env_field(c + "fixmedins_code", "定点医药机构编号", _req_str(30),
                                     "spec length 12; S3 allows 30 (IF §1.1 #15)"),
        "fixmedins_name": _env_field(c + "fixmedins_name", "定点医药机构名称", _req_str(200),
                                     "spec length 20 is too short for real names (IF §1.1 #16)"),
        "sign_no": _env_field(c + "sign_no", "交易签到流水号", _opt_str(ov.SIGN_NO_MAX_LENGTH),
                              "from 9001; may be empty; " + ov.SIGN_NO_NOTE),
        "input": _env_field(c + "input", "交易输入", {"type": "object"},
                            "a JSON object keyed by node names; validated by the interface schema"),
    }
    required = ["infno", "msgid", "mdtrtarea_admvs", "recer_sys_code", "infver", "opter_type", "opter", "opter_name",
                "inf_time", "fixmedins_code", "fixmedins_name", "input"]
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{ov.ID_BASE}envelope/request.json",
        "title": "交易输入报文",
        "x-source": "湖南 V1.1.27 表2; interface-facts §1.1",
        "type": "object",
        "properties": fields,
        "required": required,
    }


def response_envelope() -> dict[str, Any]:
    c = "ENV.resp."
    ts = {"anyOf": [{"$ref": "../types.json#/$defs/timestamp17"}, {"type": "null"}]}
    fields: dict[str, Any] = {
        "infcode": _env_field(c + "infcode", "交易状态码", {"type": "integer", "enum": [0, -1]}, "0 成功, -1 失败"),
        "inf_refmsgid": _env_field(c + "inf_refmsgid", "接收方报文ID",
                                   {"type": ["string", "null"], "maxLength": 30,
                                    "pattern": r"^([0-9]{6}[0-9]{14}[0-9]{10})?$"},
                                   "接收方医保区划(6)+时间(14)+流水号(10); empty on some failures (IF §1.2)"),
        "refmsg_time": _env_field(c + "refmsg_time", "接收报文时间", ts, "yyyyMMddHHmmssSSS"),
        "respond_time": _env_field(c + "respond_time", "响应报文时间", ts, "yyyyMMddHHmmssSSS"),
        "err_msg": _env_field(c + "err_msg", "错误信息", {"type": ["string", "null"]},
                              "spec length 200; real texts may carry a trace suffix"),
        "output": _env_field(c + "output", "交易输出", {"type": ["object", "null"]},
                             "JSON object keyed by output node names; null on failure"),
        "warn_msg": _env_field(c + "warn_msg", "提示信息", _opt_str()),
        "cainfo": _env_field(c + "cainfo", "数字签名信息", _opt_str()),
        "signtype": _env_field(c + "signtype", "签名类型", _opt_str()),
        "enctype": _env_field(c + "enctype", "加密类型", _opt_str()),
    }
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{ov.ID_BASE}envelope/response.json",
        "title": "交易输出报文",
        "x-source": "湖南 V1.1.27 表3; interface-facts §1.2",
        "type": "object",
        "properties": fields,
        "required": ["infcode", "inf_refmsgid"],
    }


def write_static(out: Path, write: Writer) -> None:
    write(out / "types.json", TYPES)
    request = request_envelope()
    # the request envelope lives in envelope/, so its refs climb one level
    for prop in request["properties"].values():
        _relocate(prop)
    write(out / "envelope" / "request.json", request)
    write(out / "envelope" / "response.json", response_envelope())


def _relocate(schema: Any) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and not ref.startswith(("#", "../")):
            schema["$ref"] = "../" + ref
        for value in schema.values():
            _relocate(value)
    elif isinstance(schema, list):
        for item in schema:
            _relocate(item)


# ---------------------------------------------------------------------------------------------------------------
# Code lists

_FLAG_TITLES = {"rx_circ_flag": "外购处方标志", "drt_reim_flag": "直报标志"}


def _sort_key(code: str) -> tuple[int, int, str]:
    return (0, int(code), code) if code.isdigit() else (1, 0, code)


def build_code(name: str, dictionaries: dict[str, tuple[str, list[tuple[str, str]]]]) -> dict[str, Any]:
    patch = ov.CODE_PATCHES.get(name, {})
    title, table = dictionaries.get(name, (patch.get("title") or _FLAG_TITLES.get(name, name), []))
    fix_blank = patch.get("fix_blank", {})
    pairs = [(fix_blank.get(label, code), label) for code, label in table]
    pairs = [(code, label) for code, label in pairs if code]
    if not pairs and name in ov.FLAG01_NAMES:
        pairs = [("0", "否"), ("1", "是")]
    table_codes = [code for code, _ in pairs]
    width = patch.get("padded")
    if width:
        pairs = [(code.zfill(width) if code.isdigit() else code, label) for code, label in pairs]
    labels = dict(pairs)
    labels.update(patch.get("extra", {}))
    enum = list(patch["enum"]) if "enum" in patch else sorted(set(labels), key=_sort_key)
    labels.update(patch.get("labels", {}))
    core = patch.get("core", [])
    variants: dict[str, list[str]] = {}
    for vname, spec in patch.get("variants", {}).items():
        if spec is None:
            values = enum
        elif spec == "table":
            values = [code for code, _ in pairs]
        elif spec == "table+core":
            values = [code for code, _ in pairs] + [c for c in core if c not in labels or c not in table_codes]
        elif spec == "table+extra":
            values = table_codes + list(patch.get("extra", {}))
        elif spec == "unpadded":
            values = table_codes + [c for c in patch.get("extra", {}) if c not in table_codes]
        else:
            values = list(spec)
        variants[vname] = sorted(dict.fromkeys(values), key=_sort_key)
    result: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{ov.ID_BASE}codes/{name}.json",
        "title": title,
        "x-dict": name,
        "type": "string",
        "enum": enum,
        "x-labels": {code: labels.get(code, "") for code in enum},
    }
    if patch.get("open"):
        # [V] free-form: fields never $ref this file; it only documents the known values (IF §5 psn_type).
        result["x-open"] = True
    if core:
        result["x-core"] = core
    if variants:
        result["x-variants"] = variants
        extra_labels = {c: labels.get(c, "") for vals in variants.values() for c in vals if c not in enum}
        extra_labels.update({c: lab for vl in patch.get("variant_labels", {}).values() for c, lab in vl.items()})
        if extra_labels:
            result["x-variant-labels"] = dict(sorted(extra_labels.items(), key=lambda kv: _sort_key(kv[0])))
    return result


def write_codes(out: Path, dictionaries: dict[str, tuple[str, list[tuple[str, str]]]], names: set[str],
                write: Writer) -> list[str]:
    codes_dir = out / "codes"
    for old in codes_dir.glob("*.json"):
        old.unlink()
    written: list[str] = []
    for name in sorted(names):
        write(codes_dir / f"{name}.json", build_code(name, dictionaries))
        written.append(name)
    write(codes_dir / "flag01.json", {
        "$schema": SCHEMA_DIALECT, "$id": f"{ov.ID_BASE}codes/flag01.json", "title": "是否标志 (0 否 / 1 是)",
        "x-dict": "flag01", "type": "string", "enum": ["0", "1"], "x-labels": {"0": "否", "1": "是"},
    })
    written.append("flag01")
    return sorted(written)
