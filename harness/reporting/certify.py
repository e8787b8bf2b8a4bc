"""After a certification run: the record, the verdict, the evidence, the ledger and the Allure report.

`hsa-cert certify` runs the profile's scenarios through the engine (which writes results.json,
junit.xml and allure-results/ into the run directory), then calls `finish_certification`, which
writes, in this order:

1. `certification.json`: the run record under the certification profile plus the gate result;
2. `evidence.sha256` and the evidence digest (results.json, certification.json, exchanges);
3. `manifest.json` (`manifest.py`): what the run certifies, linked to the site's previous run;
4. `certificate.html`, which prints the digests, the certificate number and the verification code;
5. `evidence.sig` when a signing key is given (`signing.py`): manifest and certificate signed;
6. one row per run (and per scenario) and its chain link in the ledger;
7. the Allure HTML report, with the site's history (skipped with a message if Node is missing).

What the record and the certificate state about the run (`run_info`, the certificate number, issuer
and validity, the identity in the manifest) is `certify_particulars.py`; this module is the order in
which the evidence is written, sealed and entered in the ledger.

`rebuild_reports` (`hsa-cert report DIR`) renders 4 and 7 again from the files on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from harness.errors import HsaCertError, InfrastructureError, UsageError
from harness.model import Level, Scenario
from harness.reporting.allure_report import ReportOutcome, generate_report
from harness.reporting.certificate import write_certificate
from harness.reporting.certify_particulars import _document, _identity, _issue_date, interface_names
from harness.reporting.evidence import canonical_files, sha256_file, verify, write_manifest
from harness.reporting.gate import EXIT_INFRASTRUCTURE, GatePolicy, GateResult, evaluate
from harness.reporting.ledger import (
    LedgerLocation,
    append_run,
    load_outcomes,
    new_since_certified,
    previous_run,
)
from harness.reporting.ledger_attempts import append_attempt
from harness.reporting.ledger_chain import chain_head
from harness.reporting.ledger_session import hold_site
from harness.reporting.manifest import (
    MANIFEST_JSON,
    SIGNATURE,
    build_manifest,
    verification_code,
    write_manifest_json,
    write_signature,
)
from harness.reporting.record import RunInfo, RunRecord
from harness.reporting.results_reader import load_results, record_from_results
from harness.reporting.signing import SigningKey

__all__ = ["CERTIFICATION_JSON", "CertifyOutcome", "finish_certification", "note_breaker_stop", "rebuild_reports",
           "record_attempt", "site_history_path"]

CERTIFICATION_JSON = "certification.json"
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class CertifyOutcome:
    run_dir: Path
    record: RunRecord
    gate: GateResult
    digest: str
    certificate: Path
    allure: ReportOutcome | None
    manifest_digest: str = ""
    key_fingerprint: str = ""  # "" when unsigned

    @property
    def code(self) -> str:
        return verification_code(self.manifest_digest) if self.manifest_digest else ""

    @property
    def number(self) -> str:
        return str((self.record.extra.get("certificate") or {}).get("number", ""))

    @property
    def exit_code(self) -> int:
        return self.gate.exit_code


def site_history_path(reports_dir: Path, site_id: str) -> Path:
    """Allure's history.jsonl is kept per site, beside the site's run directories."""
    return reports_dir / site_id / "history.jsonl"


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8",
                    newline="\n")


def _allure(run_dir: Path, record: RunRecord, reports_dir: Path, progress: Progress, *,
            append_history: bool = True) -> ReportOutcome | None:
    results = run_dir / "allure-results"
    if not results.is_dir():
        return ReportOutcome(False, None, f"no allure-results in {run_dir}: the Allure report was not built")
    info = record.info
    name = f"hsa-cert · {info.site_name or info.site_id} · {info.cert_profile}"
    variables = {
        "site": info.site_id,
        "profile": info.cert_profile,
        "spec": info.spec_version,
        "province": info.province_profile,
        "run": info.run_id,
    }
    return generate_report(
        [results],
        run_dir / "allure-report",
        history=site_history_path(reports_dir, info.site_id),
        name=name,
        environment=info.environment,
        variables=variables,
        progress=progress,
        append_history=append_history,
    )


def _seal_of(run_dir: Path) -> dict[str, str]:
    """What the certificate shows of manifest.json and evidence.sig, read back from disk."""
    path = run_dir / MANIFEST_JSON
    if not path.is_file():
        return {}
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    fingerprint = ""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        fingerprint = str(json.loads((run_dir / SIGNATURE).read_text(encoding="utf-8"))["key_fingerprint"])
    return {"manifest_digest": digest, "code": verification_code(digest), "key_fingerprint": fingerprint}


def _pending(record: RunRecord, ledger: LedgerLocation, grace_days: int) -> dict[str, date]:
    """Scenario id -> last day of its grace, for the scenarios new since the site's last certified run."""
    if grace_days <= 0:
        return {}
    found = new_since_certified(ledger, record.info.site_id)
    if found is None:  # never certified: nothing is "new since", everything decides
        return {}
    known, first_seen = found
    today = _issue_date(record.info)
    pending: dict[str, date] = {}
    for s in record.scenarios:
        if s.id in known:
            continue
        try:
            since = datetime.fromisoformat(first_seen[s.id]).date() if s.id in first_seen else today
        except ValueError:
            since = today
        pending[s.id] = since + timedelta(days=grace_days)
    return pending


def finish_certification(
    run_dir: Path,
    info: RunInfo,
    *,
    scenarios: Mapping[str, Scenario],
    levels: Mapping[str, Level],
    policy: GatePolicy,
    ledger: LedgerLocation,
    reports_dir: Path,
    allure: bool = True,
    progress: Progress = lambda _m: None,
    signing_key: SigningKey | None = None,
    issuer: str = "",
    validity_days: int = 365,
    pending_grace_days: int = 0,
) -> CertifyOutcome:
    results_path = run_dir / "results.json"
    try:
        results = load_results(results_path)  # without the steps: the record needs none of them
    except (OSError, ValueError) as exc:
        raise UsageError("The run left no readable results.json", location=str(results_path),
                         detail=str(exc)) from exc
    record = record_from_results(results, info, scenarios=scenarios, levels=levels)
    # From the previous run it is compared with to its ledger row, the site's appends wait for this run: the
    # certificate number, the manifest's link to the previous run and the chain link agree (concurrent runners).
    with hold_site(ledger, info.site_id):
        before = previous_run(ledger, info.site_id)
        previous = load_outcomes(ledger, before.run_id) if before else None
        pending = _pending(record, ledger, pending_grace_days)
        if pending:
            policy = replace(policy, pending=pending, today=policy.today or _issue_date(info))
        gate = evaluate(record, policy, previous, previous_run_id=before.run_id if before else None)
        coverage = {k: v for k, v in (results.get("coverage") or {}).items() if k != "by_interface"}
        document = _document(info, ledger, issuer=issuer, validity_days=validity_days)
        record = replace(record, extra={"gate": gate.to_json(), "certificate": document,
                                        **({"coverage": coverage} if coverage else {})})
        _write_json(run_dir / CERTIFICATION_JSON, record.to_json())

        digest = write_manifest(run_dir, include_certificate=False)
        head = chain_head(ledger, info.site_id)
        manifest = build_manifest(
            run_id=info.run_id, site_id=info.site_id, certificate_number=document["number"],
            files={name: sha256_file(run_dir / name) for name in canonical_files(run_dir)}, evidence_digest=digest,
            identity={**_identity(info), **{k: document[k] for k in ("issuer", "issued", "valid_until",
                                                                     "mutation_score")}},
            site=(results.get("run") or {}).get("site") or {}, verdict=gate.verdict,
            previous={"run_id": head[0], "chain_digest": head[1]} if head else None,
        )
        manifest_digest = write_manifest_json(run_dir, manifest)
        seal = {"manifest_digest": manifest_digest, "code": verification_code(manifest_digest),
                "key_fingerprint": signing_key.fingerprint if signing_key else ""}
        certificate = write_certificate(run_dir, record, digest=digest,
                                        interface_names=interface_names(info.spec_version), seal=seal)
        write_manifest(run_dir, include_certificate=True)
        if signing_key is not None:
            write_signature(run_dir, signing_key, manifest_digest)

        append_run(ledger, record, verdict=gate.verdict, exit_code=gate.exit_code, out_dir=str(run_dir),
                   manifest_digest=manifest_digest)
    report = _allure(run_dir, record, reports_dir, progress) if allure else None
    return CertifyOutcome(run_dir, record, gate, digest, certificate, report, manifest_digest, seal["key_fingerprint"])


def record_attempt(ledger: LedgerLocation, site_id: str, error: HsaCertError, *, kind: str, out_dir: str = "",
                   progress: Progress = lambda _m: None) -> bool:
    """Note in the ledger a certify/matrix attempt that an infrastructure error ended before any verdict (the
    dashboard shows the site as unreachable). Never raises: a ledger that cannot take the note (itself
    unreachable) is said, and the attempt's own error stays the one the user sees."""
    reason = error.title + (f" ({error.location})" if error.location else "")
    try:
        append_attempt(ledger, site_id, kind=kind, reason=reason, exit_code=error.exit_code, out_dir=out_dir)
    except HsaCertError as exc:
        progress(f"hsa-cert: the attempt could not be noted in the ledger: {exc.title}")
        return False
    return True


def note_breaker_stop(ledger: LedgerLocation, outcome: CertifyOutcome, document: Mapping[str, Any], *, kind: str,
                      progress: Progress = lambda _m: None) -> bool:
    """A run the circuit breaker stopped (the site went away or refused TLS after the first connection) is sealed
    as an incomplete run; it is also noted as an attempt without a verdict, with the breaker's reason, so that
    the dashboard shows the site as unreachable. A run that merely had an infrastructure error is not."""
    stop = str((document.get("run") or {}).get("stop_reason") or "")
    if outcome.exit_code != EXIT_INFRASTRUCTURE or not stop:
        return False
    return record_attempt(ledger, outcome.record.info.site_id, InfrastructureError(stop), kind=kind,
                          out_dir=str(outcome.run_dir), progress=progress)


def rebuild_reports(run_dir: Path, *, reports_dir: Path, allure: bool = True,
                    progress: Progress = lambda _m: None) -> CertifyOutcome:
    """Render the certificate and the Allure report again from an intact evidence directory."""
    check = verify(run_dir)
    if not check.intact:
        raise UsageError("The evidence was changed after the certificate was issued: not rebuilding reports",
                         location=str(run_dir), detail=check.render(),
                         hint="re-run `hsa-cert certify` to produce new evidence")
    data = json.loads((run_dir / CERTIFICATION_JSON).read_text(encoding="utf-8"))
    record = RunRecord.from_json(data)
    gate_json = dict(record.extra.get("gate") or {})
    seal = _seal_of(run_dir)
    certificate = write_certificate(run_dir, record, digest=check.recorded_digest,
                                    interface_names=interface_names(record.info.spec_version), seal=seal)
    write_manifest(run_dir, include_certificate=True)
    report = _allure(run_dir, record, reports_dir, progress, append_history=False) if allure else None
    gate = GateResult(exit_code=int(gate_json.get("exit_code", 0)), criteria=tuple(gate_json.get("criteria", ())))
    return CertifyOutcome(run_dir, record, gate, check.recorded_digest, certificate, report,
                          seal.get("manifest_digest", ""), seal.get("key_fingerprint", ""))
