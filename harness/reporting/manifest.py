"""The run manifest and its seal: what a certificate certifies, signed, and linked to the site's previous run.

`manifest.json` in a run directory states, canonically (sorted keys, UTF-8, LF): the run and site
ids, the certificate number, the SHA-256 of every data file and the evidence digest (see
`evidence.py`), the suite fingerprint, the spec version and a fingerprint of the spec files, the
certification and province profiles, the site config as reports show it (never a credential), the
tool version, the verdict, and the previous run of the site (its run id and chain digest from the
ledger). Its SHA-256 is the **manifest digest**; the ledger chains the digests of a site's runs.

`evidence.sig` (JSON) holds two Ed25519 signatures by the issuer's key: one over manifest.json, one
over "<manifest digest> <SHA-256 of certificate.html>" (the certificate shows the manifest digest, so
it is sealed after it is rendered). A run without a key has no evidence.sig: `verify` says UNSIGNED.

The **verification code** printed on the certificate is the first 80 bits of the manifest digest in
base32 (`XXXX-XXXX-XXXX-XXXX`): `hsa-cert verify --code CODE DIR` checks it names this run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.reporting.evidence import CERTIFICATE, sha256_file
from harness.reporting.signing import ALGORITHM, SigningKey, fingerprint_of, verify_signature

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_JSON",
    "SIGNATURE",
    "SealCheck",
    "build_manifest",
    "check_seal",
    "normalise_code",
    "public_site",
    "spec_files_fingerprint",
    "verification_code",
    "write_manifest_json",
    "write_signature",
]

MANIFEST_JSON = "manifest.json"
SIGNATURE = "evidence.sig"
MANIFEST_FORMAT = "hsa-cert run manifest 1"
# Keys of the site config that could hold a credential: left out of the manifest whatever their value.
_SECRET = re.compile(r"secret|password|passwd|token|private|credential|(^|_)key($|_)|sign_?key", re.I)
_CERT_MANIFEST = re.compile(r'<meta name="hsa-cert-manifest-digest" content="([0-9a-f]{64})"')
_CERT_KEY = re.compile(r'<meta name="hsa-cert-key-fingerprint" content="(SHA256:[0-9a-f]{64})"')
_SPEC_CACHE: dict[str, str] = {}


def spec_files_fingerprint(root: Path) -> str:
    """SHA-256 over the sorted `<sha256>  <path>` lines of every file under the specs folder."""
    key = str(root.resolve())
    if key not in _SPEC_CACHE:
        files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        lines = "".join(f"{sha256_file(p)}  {p.relative_to(root).as_posix()}\n" for p in files)
        _SPEC_CACHE[key] = hashlib.sha256(lines.encode("utf-8")).hexdigest()
    return _SPEC_CACHE[key]


def public_site(site: Mapping[str, Any]) -> dict[str, Any]:
    """The site config without any key that could hold a secret (recursively)."""
    out: dict[str, Any] = {}
    for name, value in site.items():
        if _SECRET.search(str(name)):
            continue
        out[name] = public_site(value) if isinstance(value, Mapping) else value
    return out


def build_manifest(*, run_id: str, site_id: str, certificate_number: str, files: Mapping[str, str],
                   evidence_digest: str, identity: Mapping[str, Any], site: Mapping[str, Any], verdict: str,
                   previous: Mapping[str, str] | None) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "run_id": run_id,
        "site_id": site_id,
        "certificate_number": certificate_number,
        "verdict": verdict,
        "evidence_digest": evidence_digest,
        "files": dict(sorted(files.items())),
        **dict(identity),
        "site": public_site(site),
        "previous": dict(previous) if previous else None,
    }


def _canonical(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def write_manifest_json(run_dir: Path, manifest: Mapping[str, Any]) -> str:
    """Write manifest.json; return the manifest digest."""
    data = _canonical(manifest)
    (run_dir / MANIFEST_JSON).write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def verification_code(manifest_digest: str) -> str:
    code = base64.b32encode(bytes.fromhex(manifest_digest)[:10]).decode("ascii")
    return "-".join(code[i:i + 4] for i in range(0, 16, 4))


def normalise_code(code: str) -> str:
    """Case, spaces and dashes do not matter when a code is typed in; 0/1 read as O/I (base32 has neither)."""
    raw = re.sub(r"[\s-]", "", code.upper()).replace("0", "O").replace("1", "I")
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def _seal_payload(manifest_digest: str, certificate_sha256: str) -> bytes:
    return f"{manifest_digest} {certificate_sha256}".encode("ascii")


def write_signature(run_dir: Path, key: SigningKey, manifest_digest: str) -> None:
    """Sign manifest.json and the certificate as rendered (call after certificate.html is written)."""
    manifest_bytes = (run_dir / MANIFEST_JSON).read_bytes()
    cert = run_dir / CERTIFICATE
    cert_sha = sha256_file(cert) if cert.is_file() else ""
    seal = {
        "algorithm": ALGORITHM,
        "public_key": key.public_b64,
        "key_fingerprint": key.fingerprint,
        "manifest_digest": manifest_digest,
        "manifest_signature": key.sign(manifest_bytes),
        "certificate_sha256": cert_sha,
        "certificate_signature": key.sign(_seal_payload(manifest_digest, cert_sha)),
    }
    (run_dir / SIGNATURE).write_text(json.dumps(seal, indent=2) + "\n", encoding="utf-8", newline="\n")


@dataclass(frozen=True, slots=True)
class SealCheck:
    """What manifest.json and evidence.sig say about a run directory."""

    manifest_digest: str = ""  # "" when there is no manifest.json (a run from before manifests)
    manifest: Mapping[str, Any] = field(default_factory=dict)
    signed: bool = False
    key_fingerprint: str = ""
    problems: tuple[tuple[str, str], ...] = ()

    @property
    def code(self) -> str:
        return verification_code(self.manifest_digest) if self.manifest_digest else ""


def check_seal(run_dir: Path, *, evidence_digest: str, trusted: frozenset[str] = frozenset()) -> SealCheck:
    """Check manifest.json against the files and evidence.sig against manifest.json and the certificate.

    `trusted`: key fingerprints the checker accepts; empty: any key (the fingerprint is named).
    """
    path = run_dir / MANIFEST_JSON
    if not path.is_file():
        return SealCheck(problems=(((SIGNATURE, "present without manifest.json"),) if (run_dir / SIGNATURE).is_file()
                                   else ()))
    problems: list[tuple[str, str]] = []
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        manifest = json.loads(data)
        if not isinstance(manifest, dict):
            raise ValueError("not an object")
    except ValueError:
        return SealCheck(digest, {}, problems=((MANIFEST_JSON, "not a JSON manifest"),))
    for name, expected in (manifest.get("files") or {}).items():
        file = run_dir / name
        if not file.is_file():
            problems.append((name, "missing (listed in manifest.json)"))
        elif sha256_file(file) != expected:
            problems.append((name, "differs from its SHA-256 in manifest.json"))
    if manifest.get("evidence_digest") != evidence_digest:
        problems.append((MANIFEST_JSON, "its evidence digest is not that of evidence.sha256"))
    cert = run_dir / CERTIFICATE
    printed_key = None
    if cert.is_file():
        html = cert.read_text(encoding="utf-8", errors="replace")
        found = _CERT_MANIFEST.search(html)
        if found is None or found.group(1) != digest:
            problems.append((CERTIFICATE, "does not name this run's manifest (a certificate of another run?)"))
        key_found = _CERT_KEY.search(html)
        printed_key = key_found.group(1) if key_found else None
    sig_path = run_dir / SIGNATURE
    if not sig_path.is_file():
        return SealCheck(digest, manifest, problems=tuple(problems))
    try:
        seal = json.loads(sig_path.read_text(encoding="utf-8"))
        public = str(seal["public_key"])
        fingerprint = fingerprint_of(base64.b64decode(public, validate=True))
    except (ValueError, KeyError, TypeError):
        problems.append((SIGNATURE, "not a readable signature file"))
        return SealCheck(digest, manifest, signed=True, problems=tuple(problems))
    if seal.get("algorithm") != ALGORITHM:
        problems.append((SIGNATURE, f"unknown algorithm {seal.get('algorithm')!r}"))
    if not verify_signature(public, str(seal.get("manifest_signature", "")), data):
        problems.append((MANIFEST_JSON, "the signature does not match: manifest.json changed after signing"))
    cert_sha = sha256_file(cert) if cert.is_file() else ""
    if not verify_signature(public, str(seal.get("certificate_signature", "")), _seal_payload(digest, cert_sha)):
        problems.append((CERTIFICATE, "the signature does not cover this certificate with this manifest"))
    if printed_key is not None and printed_key != fingerprint:
        problems.append((CERTIFICATE, f"names signing key {printed_key}, but the evidence is signed by {fingerprint}"))
    if trusted and fingerprint not in trusted:
        problems.append((SIGNATURE, f"signed by {fingerprint}, which is not a trusted key"))
    return SealCheck(digest, manifest, signed=True, key_fingerprint=fingerprint, problems=tuple(problems))
