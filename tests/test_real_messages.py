"""Real-world message variants (fixtures/real/): each validates under the profile known to tolerate its
deviation (reported as a DEV.<id> advisory), or is rejected under a strict reading with the clause that
says it is off-spec and a hint naming the deviation (specs/<version>/deviations.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.model import SchemaViolation
from harness.specs import load_registry

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
REGISTRY = load_registry()


def _validate(name: str, profile: str, infno: str | None = None) -> list[SchemaViolation]:
    doc: dict[str, Any] = json.loads((REAL / name).read_text(encoding="utf-8"))
    validator = REGISTRY.validator(profile)
    return validator.validate_response(infno, doc) if infno else validator.validate_request(doc)


def _clauses(found: list[SchemaViolation]) -> set[str]:
    return {v.clause for v in found}


# file, infno (responses), tolerant profile, the DEV clauses there, the spec clauses under baseline
CASES = [
    ("chongqing-2201-response.json", "2201", "chongqing", {"DEV.infcode-string"}, {"ENV.resp.infcode"}),
    ("shenyang-2401-request.json", None, "liaoning", {"DEV.empty-string-number", "DEV.object-for-array"},
     {"2401.in.diseinfo", "2401.in.mdtrtinfo.fetts", "2401.in.mdtrtinfo.fetus_cnt", "2401.in.mdtrtinfo.geso_val"}),
    ("zhaoqing-9001-request.json", None, "guangdong", {"DEV.msgid-27"}, {"ENV.req.msgid"}),
]


@pytest.mark.parametrize(("name", "infno", "profile", "tolerated", "strict"), CASES)
def test_a_real_variant_is_an_advisory_where_tolerated_and_a_finding_elsewhere(
        name: str, infno: str | None, profile: str, tolerated: set[str], strict: set[str]) -> None:
    there = _validate(name, profile, infno)
    assert _clauses(there) == tolerated
    assert all("SHOULD advisory" in v.hint for v in there)
    assert REGISTRY.profile(profile).raw["grades"] == {"DEV.*": "SHOULD"}
    found = _validate(name, "baseline", infno)
    assert _clauses(found) == strict
    assert all(v.hint.startswith("known real-world deviation") and profile in v.hint for v in found)


def test_the_national_sample_is_rejected_with_the_clause_and_the_sample_hint() -> None:
    found = _validate("national-sample-1101-request.json", "baseline")
    assert _clauses(found) == {"1101.in.data.begntime", "1101.in.data.psn_cert_type", "1101.in.data.mdtrt_cert_type",
                               "1101.in.data.mdtrt_cert_no"}
    assert all("the national sample itself deviates here" in v.hint for v in found)


def test_extra_envelope_fields_pass_and_the_string_null_is_named() -> None:
    found = _validate("extra-envelope-fields-1101-request.json", "baseline")
    assert [(v.path, v.clause) for v in found] == [("/input/data/begntime", "1101.in.data.begntime")]
    assert "the string \"null\"" in found[0].hint


def test_an_unknown_error_gets_no_deviation_hint() -> None:
    doc = json.loads((REAL / "zhaoqing-9001-request.json").read_text(encoding="utf-8"))
    doc["msgid"] = "not-a-msgid"
    (found,) = REGISTRY.validator("guangdong").validate_request(doc)
    assert found.clause == "ENV.req.msgid" and found.hint == ""


def test_every_tolerated_deviation_is_in_the_catalogue() -> None:
    known = {d.id for d in REGISTRY.deviation_catalogue().deviations}
    for name in REGISTRY.profiles():
        assert set(REGISTRY.profile(name).tolerated_deviations) <= known, name
