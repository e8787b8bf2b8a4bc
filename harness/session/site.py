"""The site a run is about, before and beside the run: its config read ahead, and its day book.

`run`, `certify`, `selftest` and the matrix read the site config first (`preload_site`), to select scenarios
and check the profile, exactly as the engine will load it. A persistent site (recon_scope "day") has a day
book (`open_daybook`): the harness's settlements there across runs, for the end-of-run 3201.
"""

from __future__ import annotations

from pathlib import Path

from harness.personas import load_catalogue
from harness.runner.daybook import DayBook
from harness.siteconfig import SiteConfig, embedded_site, load_site
from harness.specs import load_registry

__all__ = ["open_daybook", "preload_site"]


def open_daybook(site: SiteConfig, run_id: str, reports: Path = Path("reports")) -> DayBook | None:
    """The harness's record of its settlements at a persistent site (recon_scope "day"), else None.

    Default file: reports/<site id>/daybook.sqlite (where runs go without --out), whatever --out says, so
    that runs writing their evidence elsewhere still share it; [site] daybook names another file.
    """
    if site.recon_scope != "day":
        return None
    path = Path(site.daybook) if site.daybook else reports / site.id / "daybook.sqlite"
    return DayBook(path, f"{site.id} {site.base_url}", run_id)


def preload_site(site_file: str | None) -> SiteConfig:
    """The site config as the engine will load it, read first to select scenarios and check the profile."""

    catalogue = load_catalogue()
    if site_file is None:
        return embedded_site("http://127.0.0.1", catalogue=catalogue)
    return load_site(Path(site_file), profiles=load_registry().profiles(),
                     archetypes=catalogue.archetypes, item_aliases=[i.alias for i in catalogue.items])
