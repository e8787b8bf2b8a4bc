"""What a certificate states about its run, apart from the steps that write the evidence.

`certify.finish_certification` writes certification.json (the run record, with the certificate's
particulars in its `certificate` extra), manifest.json and certificate.html from these:

- `run_info`: the run's metadata, from the engine's results.json `run` section and the certification
  profile, with `suite_fingerprint` (which scenarios ran, each with its content fingerprint);
- the certificate's own particulars (`_document`): the number `HSA-<SITE>-<YYYYMMDD>-<NNNN>`
  (`certificate_number`, the site's run sequence in the ledger), the issuer, the issue date (the day
  the run finished), the validity and the suite's mutation score;
- the identity the manifest records (`_identity`): suite and spec fingerprints, profiles, tool version;
- `interface_names`, the interfaces' 中文 names the certificate (and `history`) prints.

They are facts about the run, read from results.json, the profile, the specs and the ledger; none of
them writes a file, so they are kept apart from the order in which the evidence is written and sealed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from harness import __version__
from harness.reporting.certprofile import CertificationProfile
from harness.reporting.ledger import LedgerLocation, load_runs
from harness.reporting.ledger_session import ledger_exists
from harness.reporting.manifest import spec_files_fingerprint
from harness.reporting.mutation_score import read_score
from harness.reporting.record import RunInfo
from harness.resources import specs_dir
from harness.specs import load_registry

__all__ = ["DEFAULT_ISSUER", "certificate_number", "interface_names", "run_info", "suite_fingerprint"]


def suite_fingerprint(entries: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 over the sorted `<id> <scenario fingerprint>` lines of the scenarios that ran.

    Same scenario files, same selection: same fingerprint. Any scenario added, removed or changed
    (its own content fingerprint changes with it) gives a different one.
    """
    lines = sorted(f"{e.get('id', '')} {e.get('fingerprint', '')}\n" for e in entries)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()


def run_info(document: Mapping[str, Any], profile: CertificationProfile) -> RunInfo:
    """The run's metadata, from the engine's results.json `run` section and the certification profile."""
    run = document.get("run") or {}
    site = run.get("site") or {}
    tool = document.get("tool") or {}  # results.json written before the tool section: the renderer's version
    return RunInfo(
        run_id=str(run.get("run_id", "")),
        site_id=str(site.get("id", "unknown")),
        site_name=str(site.get("name", "")),
        fixmedins_code=str(site.get("fixmedins_code", "")),
        environment="embedded" if site.get("reference") else "site",
        base_url=str(site.get("base_url", "")),
        cert_profile=profile.id,
        cert_profile_title_zh=profile.title_zh,
        cert_profile_title_en=profile.title_en,
        province_profile=str(run.get("profile") or site.get("profile") or ""),
        spec_version=str(run.get("spec_version", "")),
        suite_fingerprint=suite_fingerprint(document.get("scenarios") or ()),
        harness_version=str(tool.get("version") or __version__),
        default_suite_fingerprint=str(tool.get("suite_fingerprint", "")),
        seed=run.get("seed"),
        started_at=str(run.get("started_at", "")),
        finished_at=str(run.get("finished_at", "")),
        capabilities=tuple(site.get("capabilities") or ()),
    )


def interface_names(spec_version: str | None = None) -> dict[str, str]:
    """infno -> 中文 name, for the certificate and `history`; empty if the specs cannot be read."""
    try:
        registry = load_registry(version=spec_version) if spec_version else load_registry()
        return {i.infno: i.title_zh for i in registry.interfaces()}
    except Exception:  # the names are decoration: a certificate without them is still a certificate
        return {}


DEFAULT_ISSUER = "hsa-cert self-assessment 自评（未经第三方发证）"


def certificate_number(site_id: str, issued: date, sequence: int) -> str:
    """HSA-<SITE>-<YYYYMMDD>-<NNNN>: the site, the issue date and the site's run sequence in the ledger."""
    site = re.sub(r"[^A-Z0-9]+", "-", site_id.upper()).strip("-") or "SITE"
    return f"HSA-{site}-{issued:%Y%m%d}-{sequence:04d}"


def _issue_date(info: RunInfo) -> date:
    try:
        return datetime.fromisoformat(info.finished_at).date()
    except ValueError:
        return datetime.now(UTC).date()


def _document(info: RunInfo, ledger: LedgerLocation, *, issuer: str, validity_days: int) -> dict[str, Any]:
    """The certificate's own particulars: number, issuer, issue date, validity, the suite's mutation score."""
    issued = _issue_date(info)
    sequence = len(load_runs(ledger, info.site_id)) + 1 if ledger_exists(ledger) else 1
    return {
        "number": certificate_number(info.site_id, issued, sequence),
        "issuer": issuer or DEFAULT_ISSUER,
        "issued": issued.isoformat(),
        "validity_days": validity_days,
        "valid_until": (issued + timedelta(days=validity_days)).isoformat(),
        "mutation_score": read_score(ledger),
    }


def _identity(info: RunInfo) -> dict[str, Any]:
    specs = specs_dir()
    return {
        "suite_fingerprint": info.suite_fingerprint,
        "default_suite_fingerprint": info.default_suite_fingerprint,
        "spec_version": info.spec_version,
        "spec_files_fingerprint": spec_files_fingerprint(specs) if specs.is_dir() else "",
        "cert_profile": info.cert_profile,
        "province_profile": info.province_profile,
        "tool": {"name": "hsa-cert", "version": info.harness_version},
    }
