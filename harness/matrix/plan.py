"""The matrix's plan: the site configs given (files and directories), this runner's shard of the province, and
one `SiteJob` per site, planned before any site runs so that a clash of site ids or an evidence folder already
there stops the whole matrix before it starts (evidence is never overwritten nor mixed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HsaCertError, UsageError


@dataclass(frozen=True, slots=True)
class SiteJob:
    """One site of the matrix, as a worker process receives it (plain values: it crosses a process boundary)."""

    site_id: str
    source: str  # the site TOML
    out_dir: str  # the site's evidence folder
    ledger: str  # a SQLite file or a postgresql:// URL (every worker appends to it)
    reports_dir: str
    keyword: str | None = None
    profile: str | None = None  # certification profile; None: from the site's capabilities
    seed: int | None = None
    allure: bool = False
    masked: bool = True
    problem: str = ""  # the config could not be read when planning: reported, not run


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (1 ≤ I ≤ N): this runner takes the I-th of N stable parts of the province."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard must look like I/N (e.g. 2/4), not {text!r}") from None
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {text}: I must be between 1 and N", hint="e.g. --shard 1/4 … --shard 4/4")
    return index, count


def in_shard(site_id: str, shard: tuple[int, int] | None) -> bool:
    """Stable split by site id: the same site always lands in the same shard, whatever else is listed."""
    if shard is None:
        return True
    digest = hashlib.sha256(site_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shard[1] == shard[0] - 1


def collect_site_files(paths: Sequence[str]) -> list[Path]:
    """Site TOMLs from files and directories (a directory: its *.toml files, not recursive), sorted, unique."""
    found: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found.extend(sorted(p for p in path.glob("*.toml") if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError("no such site config file or directory", location=text)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise UsageError("no site config (*.toml) found", location=", ".join(paths),
                         hint="give site TOML files or directories holding them")
    return unique


def _site_id(path: Path) -> tuple[str, str]:
    """(site id, problem): the id the site's config declares, or the file stem and why it cannot be read."""
    from harness.session import preload_site

    try:
        return preload_site(str(path)).id, ""
    except HsaCertError as exc:
        return path.stem, exc.render()


def plan_jobs(files: Sequence[Path], *, out: Path, shard: tuple[int, int] | None, ledger: Path | str,
              reports_dir: Path, keyword: str | None = None, profile: str | None = None,
              seed: int | None = None, allure: bool = False, masked: bool = True) -> list[SiteJob]:
    """One job per site of this shard. Two files naming one site id, or an evidence folder that is already
    there, are usage errors of the whole matrix (evidence is never overwritten nor mixed)."""
    jobs: list[SiteJob] = []
    seen: dict[str, Path] = {}
    for path in files:
        site_id, problem = _site_id(path)
        if site_id in seen:
            raise UsageError(f"two site configs name the site id {site_id!r}", location=f"{seen[site_id]}, {path}",
                             hint="site ids name evidence folders and ledger rows: they must be unique")
        seen[site_id] = path
        if not in_shard(site_id, shard):
            continue
        site_dir = out / site_id
        if site_dir.exists() and any(site_dir.iterdir()):
            raise UsageError("the evidence folder is already there", location=str(site_dir),
                             hint="give the matrix a new --out folder (the ledger keeps the history across runs)")
        jobs.append(SiteJob(site_id=site_id, source=str(path), out_dir=str(site_dir), ledger=str(ledger),
                            reports_dir=str(reports_dir), keyword=keyword, profile=profile, seed=seed,
                            allure=allure, masked=masked, problem=problem))
    return jobs
