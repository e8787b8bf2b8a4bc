"""`hsa-cert ledger copy`: a ledger's rows into another ledger (a province moving onto its shared ledger).

Every table of the schema (`ledger_schema.STATEMENTS`, in the order they are created, so that a run is
there before its outcomes and chain link) is copied row by row; the tables and their keys are read from
the statements, so a table added later is copied without a change here. A row whose key (its primary
key or unique column) is already in the target is skipped: copying again copies nothing twice. The
serial `seq` is not copied: the target numbers the runs it receives in the source's order, after its own,
which keeps each site's runs in order.

Each site's hash chain must stay valid in the target. The site's runs in the target must be the start
of its runs in the source (or the other way round: the target is ahead); then the runs appended after
the target's last one continue its chain. Otherwise the two ledgers hold different histories of the
site (two runners' files, or a rewritten run) and merging them would break the chain: the copy is
refused and nothing is written (one transaction on the target, holding each copied site's append lock).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from harness.errors import ConfigError, UsageError
from harness.reporting.ledger_backend import LedgerLocation, LedgerSession, open_backend
from harness.reporting.ledger_schema import STATEMENTS, TABLES

__all__ = ["CopyReport", "TableShape", "copy_ledger", "table_shapes"]


@dataclass(frozen=True, slots=True)
class TableShape:
    name: str
    key: tuple[str, ...]  # what identifies a row across ledgers
    serial: str | None  # the column the store numbers itself (not copied; the order of the rows)


def _shape(statement: str) -> TableShape | None:
    found = re.match(r"\s*CREATE TABLE IF NOT EXISTS (\w+) \((.*)\)\s*$", statement, re.S)
    if found is None:
        return None
    name, body = found.groups()
    serial = next(iter(re.findall(r"(\w+) \{serial\}", body)), None)
    composite = re.search(r"PRIMARY KEY \(([^)]*)\)", body)
    if composite:
        key = tuple(part.strip() for part in composite.group(1).split(","))
    else:
        key = tuple(re.findall(r"(?m)^\s*(\w+) \w+[^,\n]*\b(?:PRIMARY KEY|UNIQUE)\b", body))
    if not key:
        raise RuntimeError(f"ledger table {name} has no key that identifies its rows across ledgers")
    return TableShape(name, key, serial)


def table_shapes() -> tuple[TableShape, ...]:
    """Every table of `ledger_schema.TABLES`, in creation order (referenced tables first)."""
    shapes = tuple(shape for shape in map(_shape, STATEMENTS) if shape is not None)
    if {s.name for s in shapes} != TABLES:
        raise RuntimeError("ledger_schema.TABLES and the CREATE TABLE statements name different tables")
    return shapes


@dataclass(frozen=True, slots=True)
class CopyReport:
    source: str  # locations as shown (passwords masked)
    target: str
    copied: dict[str, int]  # table -> rows copied
    skipped: dict[str, int]  # table -> rows already in the target
    sites: int

    def render(self) -> str:
        copied = ", ".join(f"{n} {table}" for table, n in self.copied.items())
        skipped = ", ".join(f"{n} {table}" for table, n in self.skipped.items())
        return (f"ledger copied from {self.source} to {self.target} ({self.sites} site(s)):\n"
                f"  copied:  {copied}\n"
                f"  skipped: {skipped} (already in the target)")


def _history(session: LedgerSession, site: str) -> list[tuple[str, str | None]]:
    """The site's runs in ledger order, each with its chain digest (None: recorded before the chain)."""
    rows = session.rows("SELECT r.run_id, c.chain_digest FROM runs r LEFT JOIN chain c ON c.run_id = r.run_id"
                        " WHERE r.site_id = ? ORDER BY r.seq", (site,))
    return [(row["run_id"], row["chain_digest"]) for row in rows]


def _divergence(site: str, ours: list[tuple[str, str | None]], theirs: list[tuple[str, str | None]],
                source: str, target: str) -> ConfigError | None:
    """None when one history is the start of the other; else what differs, first."""
    for position, (mine, there) in enumerate(zip(ours, theirs, strict=False), start=1):
        if mine != there:
            what = (f"its run {position} is {there[0]} in the target and {mine[0]} in the source"
                    if mine[0] != there[0] else f"run {mine[0]} has a different chain digest in each")
            return ConfigError(
                f"The target's history of site {site} differs from the source's: copying would break its hash chain",
                location=f"{source} -> {target}", detail=what,
                hint="nothing was written; the site's runs in the target must be the start of its runs in the "
                     "source (or copy from the ledger the target's runs came from); `hsa-cert verify --chain "
                     "--ledger …` on each shows which one was altered")
    return None


def copy_ledger(source: LedgerLocation, target: LedgerLocation) -> CopyReport:
    """Copy every row of `source` missing from `target`, in one transaction on the target; refuse (ConfigError,
    nothing written) when a site's history in the target is not a start of its history in the source."""
    source_store, target_store = open_backend(source), open_backend(target)
    if source_store.key == target_store.key:
        raise UsageError("The source and the target are the same ledger", location=source_store.location,
                         hint="--from names the ledger to copy, --to the ledger that receives its runs")
    if not source_store.exists():
        raise ConfigError("No ledger to copy from", location=source_store.location,
                          hint="--from names an existing ledger file or a postgresql:// URL")
    shapes = table_shapes()
    with source_store.session(create=False) as reader:
        sites = [row["site_id"] for row in reader.rows("SELECT DISTINCT site_id FROM runs ORDER BY site_id")]
        histories = {site: _history(reader, site) for site in sites}
        tables = {shape.name: _read_table(reader, shape) for shape in shapes}
    copied = dict.fromkeys(tables, 0)
    skipped = dict.fromkeys(tables, 0)
    with target_store.session(create=True) as writer:
        for site in sites:  # from here to the commit, no other runner appends to these sites
            writer.lock_site(site)
        for site in sites:
            refusal = _divergence(site, histories[site], _history(writer, site), source_store.location,
                                  target_store.location)
            if refusal is not None:
                raise refusal  # the session rolls back: nothing is written
        for shape in shapes:
            present = {tuple(row[c] for c in shape.key)
                       for row in writer.rows(f"SELECT {', '.join(shape.key)} FROM {shape.name}")}
            missing = [row for row in tables[shape.name] if tuple(row[c] for c in shape.key) not in present]
            skipped[shape.name] = len(tables[shape.name]) - len(missing)
            copied[shape.name] = len(missing)
            if missing:
                columns = [c for c in missing[0] if c != shape.serial]
                writer.run_many(
                    f"INSERT INTO {shape.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                    ([row[c] for c in columns] for row in missing))
    return CopyReport(source_store.location, target_store.location, copied, skipped, len(sites))


def _read_table(reader: LedgerSession, shape: TableShape) -> list[dict[str, Any]]:
    order = shape.serial or ", ".join(shape.key)
    return reader.rows(f"SELECT * FROM {shape.name} ORDER BY {order}")
