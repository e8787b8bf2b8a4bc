"""The ledger's hash chain: each of a site's runs linked to the one before it.

The `chain` table (added beside `runs`, so older ledgers gain it empty) links a site's runs: each
row holds the run's manifest digest (`manifest.py`), the previous chained run's chain digest, and
its own chain digest, SHA-256 of "<previous chain digest>\n<manifest digest>". Removing, reordering
or rewriting a run breaks the links (`chain.verify_chain`). `ledger.append_run` writes a run's link in
the transaction that inserts the run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from harness.reporting.ledger_backend import LedgerLocation, LedgerSession
from harness.reporting.ledger_session import _connect, ledger_exists

__all__ = ["ChainLink", "chain_digest", "chain_head", "load_chain"]


def chain_digest(previous_digest: str, manifest_digest: str) -> str:
    return hashlib.sha256(f"{previous_digest}\n{manifest_digest}".encode("ascii")).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainLink:
    seq: int
    run_id: str
    site_id: str
    out_dir: str
    manifest_digest: str | None  # None: the run was recorded before the chain
    previous_digest: str | None
    chain_digest: str | None


_CHAIN_QUERY = ("SELECT r.seq, r.run_id, r.site_id, r.out_dir, c.manifest_digest, c.previous_digest,"
                " c.chain_digest FROM runs r LEFT JOIN chain c ON c.run_id = r.run_id")


def _chain_of(conn: LedgerSession, site: str | None) -> list[ChainLink]:
    rows = (conn.rows(_CHAIN_QUERY + " WHERE r.site_id = ? ORDER BY r.seq", (site,)) if site is not None
            else conn.rows(_CHAIN_QUERY + " ORDER BY r.seq"))
    return [ChainLink(**r) for r in rows]


def _head_of(links: list[ChainLink]) -> tuple[str, str] | None:
    chained = [link for link in links if link.chain_digest]
    if not chained:
        return None
    return chained[-1].run_id, str(chained[-1].chain_digest)


def load_chain(where: LedgerLocation, site: str | None = None) -> list[ChainLink]:
    """Every run of a site (or of all sites) with its chain link, in ledger order."""
    with _connect(where, create=False) as conn:
        return _chain_of(conn, site)


def chain_head(where: LedgerLocation, site: str) -> tuple[str, str] | None:
    """(run id, chain digest) of the site's latest chained run; None if none is chained."""
    if not ledger_exists(where):
        return None
    return _head_of(load_chain(where, site))
