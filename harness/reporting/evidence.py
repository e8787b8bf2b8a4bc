"""The evidence digest: SHA-256 over results.json and the exchanges, so that any later edit shows.

`evidence.sha256` in a run directory is a plain `sha256sum` manifest (`<hex>  <path>`, one line per
file, POSIX paths, LF endings), so anyone can check it with `sha256sum -c` or `Get-FileHash`. The
canonical file list, in this order:

1. `results.json` (the engine's results),
2. `certification.json` (the figures and verdict the certificate shows),
3. `exchanges.jsonl`, then every file under `exchanges/` (sorted by path): the recorded requests
   and responses,

followed by one line for `certificate.html`. The **evidence digest** is the SHA-256 of the manifest
lines of the data files (1–3), exactly as written; it is printed on the certificate, so the
certificate names the evidence and the evidence cannot change without the digest changing
(reproduce it with `grep -v certificate.html evidence.sha256 | sha256sum`). The certificate itself
cannot be inside its own digest; its line in the manifest catches edits to it.

On its own this is tamper-evidence, not a signature: whoever can rewrite every file can rewrite
the manifest too. `manifest.py` adds what is signed (manifest.json, evidence.sig) and the ledger's
chain across a site's runs; `chain.verify_run` checks all of it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import UsageError

__all__ = [
    "CERTIFICATE",
    "MANIFEST",
    "Verification",
    "canonical_files",
    "read_certificate_digest",
    "verify",
    "write_manifest",
]

MANIFEST = "evidence.sha256"
CERTIFICATE = "certificate.html"
DATA_FILES = ("results.json", "certification.json", "exchanges.jsonl")
EXCHANGES_DIR = "exchanges"
_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")
# The certificate carries the digest in a meta tag: machine-readable without parsing the layout.
_CERT_DIGEST = re.compile(r'<meta name="hsa-cert-evidence-digest" content="([0-9a-f]{64})"')


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def canonical_files(run_dir: Path) -> list[str]:
    """The data files of a run directory, in digest order, as POSIX paths relative to it."""
    names = [name for name in DATA_FILES if (run_dir / name).is_file()]
    exchanges = run_dir / EXCHANGES_DIR
    if exchanges.is_dir():
        names.extend(sorted(p.relative_to(run_dir).as_posix() for p in exchanges.rglob("*") if p.is_file()))
    return names


def _lines(run_dir: Path, names: Sequence[str]) -> str:
    return "".join(f"{sha256_file(run_dir / name)}  {name}\n" for name in names)


def digest_of_lines(lines: str) -> str:
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def compute_digest(run_dir: Path) -> str:
    """The evidence digest of the data files as they are on disk now."""
    return digest_of_lines(_lines(run_dir, canonical_files(run_dir)))


def write_manifest(run_dir: Path, *, include_certificate: bool = True) -> str:
    """Write evidence.sha256 and return the evidence digest.

    Call it once before rendering the certificate (to get the digest to print) and once after
    (include_certificate=True adds the certificate's own line); the digest is the same both times.
    """
    names = canonical_files(run_dir)
    if "results.json" not in names:
        raise UsageError(
            "No results.json to digest",
            location=str(run_dir),
            hint="the evidence digest covers results.json; run `hsa-cert certify` to produce it",
        )
    data_lines = _lines(run_dir, names)
    text = data_lines
    if include_certificate and (run_dir / CERTIFICATE).is_file():
        text += _lines(run_dir, [CERTIFICATE])
    (run_dir / MANIFEST).write_text(text, encoding="utf-8", newline="\n")
    return digest_of_lines(data_lines)


def read_certificate_digest(run_dir: Path) -> str | None:
    path = run_dir / CERTIFICATE
    if not path.is_file():
        return None
    match = _CERT_DIGEST.search(path.read_text(encoding="utf-8", errors="replace"))
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class Verification:
    run_dir: str
    digest: str  # recomputed from the data files on disk
    recorded_digest: str  # from the manifest's data lines
    certificate_digest: str | None  # printed on certificate.html
    problems: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (file, what is wrong)

    @property
    def intact(self) -> bool:
        return not self.problems

    def render(self) -> str:
        if self.intact:
            return f"evidence intact: {self.run_dir}\n  digest {self.digest}"
        lines = [f"evidence TAMPERED: {self.run_dir}"]
        lines.extend(f"  {name}: {what}" for name, what in self.problems)
        lines.append(f"  recorded digest   {self.recorded_digest}")
        lines.append(f"  recomputed digest {self.digest}")
        return "\n".join(lines)


def verify(run_dir: Path) -> Verification:
    """Recompute every hash and the digest; name each file that changed, vanished or appeared."""
    manifest = run_dir / MANIFEST
    if not manifest.is_file():
        raise UsageError(
            "Not an evidence directory: no evidence.sha256",
            location=str(run_dir),
            hint="pass the directory `hsa-cert certify` wrote, e.g. reports/<site>/<run-id>",
        )
    recorded: dict[str, str] = {}
    data_text = ""
    problems: list[tuple[str, str]] = []
    for number, raw in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        match = _LINE.match(raw)
        if not match:
            problems.append((MANIFEST, f"line {number} is not '<sha256>  <file>'"))
            continue
        hexdigest, name = match.groups()
        recorded[name] = hexdigest
        if name != CERTIFICATE:
            data_text += f"{hexdigest}  {name}\n"
    for name, hexdigest in recorded.items():
        path = run_dir / name
        if not path.is_file():
            problems.append((name, "missing"))
        elif sha256_file(path) != hexdigest:
            problems.append((name, "changed since the certificate was issued (SHA-256 differs)"))
    for name in canonical_files(run_dir):
        if name not in recorded:
            problems.append((name, "added after the certificate was issued (not in evidence.sha256)"))
    recorded_digest = digest_of_lines(data_text)
    certificate_digest = read_certificate_digest(run_dir)
    if certificate_digest is not None and certificate_digest != recorded_digest:
        problems.append((CERTIFICATE, "the digest printed on the certificate does not match evidence.sha256"))
    elif certificate_digest is None and CERTIFICATE in recorded:
        problems.append((CERTIFICATE, "no evidence digest found on the certificate"))
    return Verification(
        run_dir=str(run_dir),
        digest=compute_digest(run_dir),
        recorded_digest=recorded_digest,
        certificate_digest=certificate_digest,
        problems=tuple(problems),
    )
