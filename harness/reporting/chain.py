"""`hsa-cert verify`: one run's evidence, manifest, signature and code; and `verify --chain`.

`verify --chain` walks each site's runs in the ledger and checks every link of the hash chain.
With a province's shared ledger (PostgreSQL), the evidence of runs made on other runners is not on this
machine: their links are checked, their directories where they are (the report counts them).

For each run, in ledger order: its link names the chain digest of the run before it (a removed or
reordered run breaks this), its chain digest is recomputed from the previous digest and its manifest
digest (a rewritten ledger row breaks this), and its evidence directory's manifest.json still has the
recorded digest and names the same previous run (a rewritten run directory, or a ledger whose chain
was recomputed after removing a run, breaks this).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from harness.reporting.evidence import CERTIFICATE, Verification
from harness.reporting.evidence import verify as verify_evidence
from harness.reporting.ledger_backend import LedgerLocation, ledger_folder
from harness.reporting.ledger_chain import ChainLink, chain_digest, load_chain
from harness.reporting.manifest import MANIFEST_JSON, SIGNATURE, SealCheck, check_seal, normalise_code
from harness.reporting.signing import ALGORITHM

__all__ = ["ChainReport", "RunCheck", "verify_chain", "verify_run"]


@dataclass(frozen=True, slots=True)
class ChainReport:
    runs: int
    chained: int
    problems: tuple[tuple[str, str], ...]  # (run id, what is wrong)
    elsewhere: int = 0  # server ledger: chained runs whose evidence is on another runner (links checked only)

    @property
    def intact(self) -> bool:
        return not self.problems

    def render(self) -> str:
        head = (f"chain intact: {self.chained} chained run(s) of {self.runs}" if self.intact
                else f"chain BROKEN: {len(self.problems)} problem(s) in {self.runs} run(s)")
        lines = [head]
        lines.extend(f"  {run}: {what}" for run, what in self.problems)
        if self.runs > self.chained and self.intact:
            lines.append(f"  {self.runs - self.chained} run(s) recorded before the chain existed: not checked")
        if self.elsewhere:
            lines.append(f"  {self.elsewhere} run(s) with their evidence on another runner: links checked, evidence "
                         "not (run verify --chain where it is)")
        return "\n".join(lines)


def _locate(out_dir: str, ledger: LedgerLocation) -> Path:
    """The run directory: under a SQLite ledger's folder first (a reports folder copied or moved with its ledger
    keeps its runs), matching the recorded path's tail; else as recorded (relative to where certify ran)."""
    recorded = Path(out_dir)
    folder = ledger_folder(ledger)
    if folder is None:  # a server's ledger: runs stay where their runner wrote them
        return recorded
    parts = recorded.parts[1:] if recorded.is_absolute() else recorded.parts
    for start in range(len(parts)):
        candidate = folder.joinpath(*parts[start:])
        if (candidate / MANIFEST_JSON).is_file():
            return candidate
    return recorded


def _check_dir(link: ChainLink, expected_previous: str, ledger: LedgerLocation) -> list[str]:
    path = _locate(link.out_dir, ledger) / MANIFEST_JSON
    if not link.out_dir or not path.is_file():
        return [f"evidence directory {link.out_dir or '(none recorded)'} has no manifest.json (removed or moved)"]
    data = path.read_bytes()
    found: list[str] = []
    if hashlib.sha256(data).hexdigest() != link.manifest_digest:
        found.append(f"{path} is not the manifest recorded in the ledger (the run was rewritten)")
    try:
        previous = (json.loads(data).get("previous") or {}).get("chain_digest", "")
    except (ValueError, AttributeError):
        previous = None
    if previous != expected_previous:
        found.append("its signed manifest names a different previous run: a run was removed or reordered")
    return found


def verify_chain(ledger: LedgerLocation, site: str | None = None, *, check_dirs: bool = True) -> ChainReport:
    links = load_chain(ledger, site)
    problems: list[tuple[str, str]] = []
    last: dict[str, tuple[str, str]] = {}  # site -> (run id, chain digest) of the last chained run
    chained = elsewhere = 0
    shared = ledger_folder(ledger) is None
    for link in links:
        if link.chain_digest is None:
            if link.site_id in last:
                problems.append((link.run_id, "has no chain link, after chained runs of its site"))
            continue
        chained += 1
        before_id, expected = last.get(link.site_id, ("", ""))
        if link.previous_digest != expected:
            what = f"follows run {before_id}" if before_id else "is the site's first chained run"
            problems.append((link.run_id, f"does not link to the run it {what}: a run was removed or reordered"))
        if chain_digest(str(link.previous_digest), str(link.manifest_digest)) != link.chain_digest:
            problems.append((link.run_id, "its chain digest does not match its manifest: the ledger row was edited"))
        if check_dirs and shared and not (link.out_dir and (Path(link.out_dir) / MANIFEST_JSON).is_file()):
            elsewhere += 1  # a province's ledger: this run's evidence stayed with the runner that made it
        elif check_dirs:
            problems.extend((link.run_id, what) for what in _check_dir(link, expected, ledger))
        last[link.site_id] = (link.run_id, str(link.chain_digest))
    return ChainReport(len(links), chained, tuple(problems), elsewhere)


@dataclass(frozen=True, slots=True)
class RunCheck:
    """`hsa-cert verify DIR`: the evidence files, the manifest and its signature, the code, the ledger link."""

    evidence: Verification
    seal: SealCheck
    problems: tuple[tuple[str, str], ...]  # every problem, the evidence's included
    require_signature: bool = False

    @property
    def intact(self) -> bool:
        return not self.problems and (self.seal.signed or not self.require_signature)

    def render(self) -> str:
        lines = [f"evidence {'intact' if not self.problems else 'TAMPERED'}: {self.evidence.run_dir}"]
        lines.extend(f"  {name}: {what}" for name, what in self.problems)
        lines.append(f"  evidence digest {self.evidence.recorded_digest}")
        if self.seal.manifest_digest:
            lines.append(f"  manifest digest {self.seal.manifest_digest}")
            number = self.seal.manifest.get("certificate_number", "")
            lines.append(f"  certificate {number or '(no number)'}  verification code {self.seal.code}")
        else:
            lines.append("  no manifest.json: a run from before manifests (no chain link, no verification code)")
        if self.seal.signed:
            state = "INVALID" if any(n in (MANIFEST_JSON, SIGNATURE, CERTIFICATE) and "signature" in w
                                     for n, w in self.problems) else "valid"
            lines.append(f"signature: {state}, {ALGORITHM} key {self.seal.key_fingerprint}")
            lines.append("  compare this fingerprint with the one the issuer publishes (or pass --trust)")
        else:
            lines.append("signature: UNSIGNED 未签名: no evidence.sig. The files match their manifest, but nothing "
                         "shows who produced them" + (" (--require-signature: FAILED)" if self.require_signature
                                                       else ""))
        return "\n".join(lines)


def verify_run(run_dir: Path, *, trusted: frozenset[str] = frozenset(), code: str | None = None,
               ledger: LedgerLocation | None = None, require_signature: bool = False) -> RunCheck:
    evidence = verify_evidence(run_dir)
    seal = check_seal(run_dir, evidence_digest=evidence.recorded_digest, trusted=trusted)
    problems = [*evidence.problems, *seal.problems]
    if trusted and not seal.signed:
        problems.append((SIGNATURE, "missing: --trust asks for a signature by a trusted key, the run is unsigned"))
    if code is not None:
        if not seal.code:
            problems.append(("--code", "this run has no manifest, so no verification code"))
        elif normalise_code(code) != seal.code:
            problems.append(("--code", f"{code} is not this run's verification code: the certificate does not "
                                       "belong to this evidence"))
    if ledger is not None and seal.manifest_digest:
        run_id = str(seal.manifest.get("run_id", ""))
        site = str(seal.manifest.get("site_id", ""))
        links = [link for link in load_chain(ledger, site) if link.chain_digest]
        mine = [link for link in links if link.run_id == run_id]
        if mine and mine[0].manifest_digest != seal.manifest_digest:
            problems.append((MANIFEST_JSON, "is not the manifest the ledger recorded for this run (rewritten)"))
        elif not mine and links:
            problems.append((MANIFEST_JSON, f"run {run_id} is not in the ledger's chain of site {site}"))
    return RunCheck(evidence, seal, tuple(problems), require_signature)
