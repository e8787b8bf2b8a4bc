"""The evidence digest: written once, recomputed by `verify`, and any edit shows, down to one byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from reporting_samples import mixed_record, write_run_dir

from harness.errors import UsageError
from harness.reporting.certificate import write_certificate
from harness.reporting.evidence import MANIFEST, canonical_files, verify, write_manifest


def _issued(tmp_path: Path) -> tuple[Path, str]:
    run_dir = write_run_dir(tmp_path / "run", mixed_record())
    (run_dir / "exchanges").mkdir()
    (run_dir / "exchanges" / "b.json").write_text("{}", encoding="utf-8")
    (run_dir / "exchanges" / "a.json").write_text("[]", encoding="utf-8")
    digest = write_manifest(run_dir, include_certificate=False)
    write_certificate(run_dir, mixed_record(), digest=digest)
    assert write_manifest(run_dir, include_certificate=True) == digest
    return run_dir, digest


def test_canonical_order_is_results_then_exchanges_sorted(tmp_path: Path) -> None:
    run_dir, _ = _issued(tmp_path)
    assert canonical_files(run_dir) == ["results.json", "exchanges.jsonl", "exchanges/a.json", "exchanges/b.json"]


def test_intact_evidence_verifies_and_the_digest_is_reproducible(tmp_path: Path) -> None:
    run_dir, digest = _issued(tmp_path)
    result = verify(run_dir)
    assert result.intact, result.render()
    assert result.digest == result.recorded_digest == result.certificate_digest == digest
    # Anyone can recompute it: SHA-256 of the manifest lines of the data files.
    lines = [ln for ln in (run_dir / MANIFEST).read_text(encoding="utf-8").splitlines(keepends=True)
             if not ln.rstrip().endswith("certificate.html")]
    assert hashlib.sha256("".join(lines).encode()).hexdigest() == digest
    assert digest in (run_dir / "certificate.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["results.json", "exchanges.jsonl", "exchanges/a.json", "certificate.html"])
def test_a_one_byte_edit_is_detected_and_named(tmp_path: Path, name: str) -> None:
    run_dir, _ = _issued(tmp_path)
    path = run_dir / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify(run_dir)
    assert not result.intact
    assert [n for n, _what in result.problems] == [name]
    assert "TAMPERED" in result.render() and name in result.render()


def test_added_and_removed_files_are_named(tmp_path: Path) -> None:
    run_dir, _ = _issued(tmp_path)
    (run_dir / "exchanges" / "c.json").write_text("{}", encoding="utf-8")
    (run_dir / "exchanges" / "a.json").unlink()
    problems = dict(verify(run_dir).problems)
    assert problems["exchanges/a.json"] == "missing"
    assert "added" in problems["exchanges/c.json"]


def test_a_manifest_rewritten_to_match_an_edit_no_longer_matches_the_certificate(tmp_path: Path) -> None:
    run_dir, digest = _issued(tmp_path)
    (run_dir / "results.json").write_text('{"summary": {}, "scenarios": []}', encoding="utf-8")
    write_manifest(run_dir, include_certificate=True)  # the forger refreshes the manifest too
    result = verify(run_dir)
    assert not result.intact
    assert result.problems[0][0] == "certificate.html"
    assert result.certificate_digest == digest != result.recorded_digest


def test_a_directory_without_a_manifest_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        verify(tmp_path)
    assert info.value.exit_code == 2 and "evidence.sha256" in info.value.title
