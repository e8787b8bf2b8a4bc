"""No persona identifier in any artefact of a failing certification (masking on, the default).

A failing run writes the most: failure texts with expected and actual values, curl reproduction lines,
Allure attachments of every request and answer. The embedded platform with a planted mutant fails the
outpatient settlements; every file written under the run folder and the reports folder (junit.xml,
allure-results, results.json, exchanges.jsonl, certification.json, the certificate, the ledger) is
scanned, as bytes, for every personal value of every identity of the catalogue the platform serves.
The same run with --no-mask finds them, so the scan can fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.personas import load_catalogue

FAULT = "2207:mutant=medins-setl-id-not-msgid"
IDENTIFIERS = ("certno", "psn_name", "mdtrt_cert_no", "card_sn", "card_no", "tel")


def _identifiers() -> set[str]:
    values: set[str] = set()
    for persona in load_catalogue().personas:
        record = persona.to_json()
        values.update(str(record[key]) for key in IDENTIFIERS if record.get(key))
    return values


def _scan(folders: list[Path], values: set[str]) -> dict[str, list[str]]:
    """value -> the files (relative) holding it: raw UTF-8 and JSON's \\u escapes both count."""
    needles = {v: [v.encode("utf-8"), v.encode("unicode_escape").replace(b"\\u", b"\\\\u")] for v in values}
    hits: dict[str, list[str]] = {}
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            for value, forms in needles.items():
                if any(form in data for form in forms):
                    hits.setdefault(value, []).append(str(path.relative_to(folder.parent)))
    return hits


def _certify(tmp: Path, name: str, *extra: str) -> tuple[int, str, list[Path]]:
    out = tmp / name / "run"
    reports = tmp / name / "reports"
    argv = ["certify", "-k", "settle.reverse", "--fault", FAULT, "--seed", "3", "--out", str(out),
            "--reports-dir", str(reports), "--ledger", str(reports / "ledger.sqlite"), "--no-allure", *extra]
    result = CliRunner().invoke(app, argv)
    return result.exit_code, result.output, [out, reports]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("persona-scan")
    yield {"masked": _certify(tmp, "masked"), "unmasked": _certify(tmp, "unmasked", "--no-mask")}


def test_a_failing_run_writes_failure_texts_and_curl_lines(runs: dict[str, Any]) -> None:
    code, output, (out, _reports) = runs["masked"]
    assert code == 1, output
    junit = (out / "junit.xml").read_text(encoding="utf-8")
    assert "<failure" in junit and "curl -sS -X POST" in junit
    assert any("reproduce (curl)" in p.read_text(encoding="utf-8", errors="replace")
               for p in (out / "allure-results").glob("*-result.json"))


def test_no_persona_identifier_in_any_artefact_when_masked(runs: dict[str, Any]) -> None:
    _code, output, folders = runs["masked"]
    values = _identifiers()
    assert len(values) > 20
    hits = _scan(folders, values)
    assert hits == {}
    assert not any(value in output for value in values)  # the console too


def test_the_same_run_unmasked_holds_them_so_the_scan_can_fail(runs: dict[str, Any]) -> None:
    code, output, folders = runs["unmasked"]
    assert code == 1, output
    hits = _scan(folders, _identifiers())
    files = {file for found in hits.values() for file in found}
    assert len(hits) >= 3
    assert any(f.endswith("junit.xml") for f in files) and any(f.endswith("exchanges.jsonl") for f in files)
    assert any("allure-results" in f for f in files)
