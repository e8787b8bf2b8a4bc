"""The platform's JSON codec writes what the standard library wrote, and replay survives the hash change."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from harness.platform.codec import dump_default_str, dump_json, dump_sorted, parse_json
from harness.platform.envelope import EncodedOutput
from harness.platform.pipeline import content_hash, same_content

SAMPLES = [
    {"infcode": 0, "err_msg": None, "output": {"setlinfo": {"psn_name": "张三", "medfee_sumamt": 128.5, "balc": 0.0,
                                                           "age": 41.0, "ok": True}}},
    {"amounts": [0.1, 100.0, 1e16, 0.01, -3.25, 12345678.9], "text": "引号\"、反斜杠\\、换行\n、制表\t"},
    [1, "２０２６", None, {"nested": [{"deep": []}]}, ""],
    EncodedOutput({"setlinfo": {"a": 1}}, '{"setlinfo":{"a":1}}'),
]


def stdlib(value: object, **kwargs: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), **kwargs)


@pytest.mark.parametrize("value", SAMPLES)
def test_dump_json_writes_what_the_standard_library_wrote(value: object) -> None:
    assert dump_json(value) == stdlib(value)
    assert dump_default_str(value) == stdlib(value, default=str)
    assert dump_sorted(value) == stdlib(value, sort_keys=True).encode()


def test_a_tiny_number_differs_only_in_how_its_exponent_is_spelled() -> None:
    assert dump_json([1e-07]) == "[1e-7]" and json.loads(dump_json([1e-07])) == json.loads(stdlib([1e-07]))


def test_what_orjson_does_not_take_goes_to_the_standard_library() -> None:
    assert dump_json({1: "a", "b": 2**70}) == stdlib({1: "a", "b": 2**70})
    for value in ({"at": datetime(2026, 11, 25, 8, 0)}, {"amount": Decimal("1.50")}):
        with pytest.raises(TypeError):
            dump_json(value)
    value = {"amount": Decimal("1.50"), "day": date(2026, 11, 25), "at": datetime(2026, 11, 25, 8, 0, 1)}
    assert dump_default_str(value) == stdlib(value, default=str)


def test_parse_json_is_strict() -> None:
    assert parse_json('{"a": [1, 2.5, "中"]}') == {"a": [1, 2.5, "中"]}
    assert parse_json('{"名": "中"}'.encode()) == {"名": "中"}
    for text in ('{"a": NaN}', '{"a": Infinity}', '"\\ud800"', '{"a": 1', "<html>"):
        with pytest.raises(ValueError):
            parse_json(text)


def test_replay_recognises_hashes_stored_by_the_first_form() -> None:
    envelope = {"infno": "2207", "fixmedins_code": "H1", "mdtrtarea_admvs": "430100", "insuplc_admdvs": "520100",
                "input": {"data": {"psn_no": "P1", "medfee_sumamt": 12.5, "备注": "门诊"}}, "inf_time": "volatile"}
    core = {k: envelope.get(k) for k in ("infno", "fixmedins_code", "mdtrtarea_admvs", "insuplc_admdvs", "input")}
    first_form = hashlib.sha256(json.dumps(core, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    changed = dict(envelope, input={"data": {"psn_no": "P2"}})
    assert same_content(first_form, envelope, None) and not same_content(first_form, changed, None)
    current = content_hash(envelope, None)
    assert current != first_form and current.startswith("2:")
    assert same_content(current, dict(envelope, inf_time="other"), None)
    assert not same_content(current, changed, None) and not same_content(current, envelope, b"file")
    assert same_content(content_hash(envelope, b"file"), envelope, b"file")
