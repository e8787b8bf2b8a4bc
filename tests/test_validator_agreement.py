"""Two validators, one verdict: every example in fixtures/examples/ is judged by jsonschema-rs (through
harness.specs, the hot path) and by python-jsonschema (Draft 2020-12, format checker on, a
`referencing.Registry` of the same profile-applied schema documents); both must agree with each other
and with the example's `valid`.

Cross-region required fields are enforced in code, not in JSON Schema, so the examples never depend on
them (their cross-province requests carry those fields); tests/test_specs.py covers that rule.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import referencing
from jsonschema import Draft202012Validator

from harness.specs import load_registry

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "fixtures" / "examples"
PROFILE = "baseline"


def regenerate_hint(*infnos: str) -> str:
    """What to run when the examples are stale: the generator checks each example before it writes it."""
    command = " ".join(["python", "fixtures/examples/_generate.py", *infnos])
    return (f"if the schemas changed on purpose, regenerate the examples: in {ROOT} run\n    {command}\n"
            "then review `git diff fixtures/examples` and commit")


def _cases() -> list[Any]:
    cases = []
    for path in sorted(EXAMPLES.glob("*.json")):
        for group in json.loads(path.read_text(encoding="utf-8")):
            for test in group["tests"]:
                case_id = f"{path.stem}-{group['schema']}-{test['description']}"
                cases.append(pytest.param(path.stem, group["schema"], test["data"], test["valid"], id=case_id))
    return cases


CASES = _cases()


@cache
def _python_validator(ref: str) -> Draft202012Validator:
    docs = load_registry().validator(PROFILE).schema_documents()
    registry = referencing.Registry().with_resources(
        (uri, referencing.Resource.from_contents(doc)) for uri, doc in docs.items()
    )
    return Draft202012Validator({"$ref": ref}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _python_verdict(infno: str, kind: str, data: Any) -> bool:
    registry = load_registry()
    spec = registry.interface(infno)
    request_ref = registry.schema_id("envelope/request.json")
    response_ref = registry.schema_id("envelope/response.json")

    def ok(ref: str, value: Any) -> bool:
        return bool(_python_validator(ref).is_valid(value))

    if kind == "input":
        return ok(spec.input_ref, data)
    if kind == "output":
        return ok(spec.output_ref, data)
    if kind == "request":
        return ok(request_ref, data) and ok(spec.input_ref, data.get("input")) and data.get("infno") == infno
    if kind == "response":
        code = data.get("infcode")
        succeeded = isinstance(code, int | float) and not isinstance(code, bool) and code == 0 and "output" in data
        return ok(response_ref, data) and (not succeeded or ok(spec.output_ref, data["output"]))
    raise AssertionError(f"unknown example kind {kind!r}")


def _rust_verdict(infno: str, kind: str, data: Any) -> tuple[bool, str]:
    validator = load_registry().validator(PROFILE)
    found = {
        "input": lambda: validator.validate_input(infno, data),
        "output": lambda: validator.validate_output(infno, data),
        "request": lambda: validator.validate_request(data),
        "response": lambda: validator.validate_response(infno, data),
    }[kind]()
    if kind == "request":
        assert validator.is_valid_request(data) == (not found)
    if kind == "response":
        assert validator.is_valid_response(infno, data) == (not found)
    return not found, "\n".join(v.render() for v in found)


def test_every_interface_has_examples_of_each_kind() -> None:
    registry = load_registry()
    have = sorted(p.stem for p in EXAMPLES.glob("*.json"))
    assert have == [s.infno for s in registry.interfaces()], regenerate_hint()
    for path in EXAMPLES.glob("*.json"):
        groups = json.loads(path.read_text(encoding="utf-8"))
        tests = [t for g in groups for t in g["tests"]]
        hint = f"{path.name}: {regenerate_hint(path.stem)}"
        assert {g["schema"] for g in groups} <= {"input", "output", "request", "response"}, hint
        assert sum(t["valid"] for t in tests) >= 1, hint
        assert sum(not t["valid"] for t in tests) >= 3, hint


@pytest.mark.parametrize(("infno", "kind", "data", "valid"), CASES)
def test_both_validators_agree_with_the_example(infno: str, kind: str, data: Any, valid: bool) -> None:
    rust, report = _rust_verdict(infno, kind, data)
    python = _python_verdict(infno, kind, data)
    assert rust == python, f"jsonschema-rs says {rust}, python-jsonschema says {python}\n{report}"
    assert rust == valid, f"expected valid={valid}\n{report}\n{regenerate_hint(infno)}"
