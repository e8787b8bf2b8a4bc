"""Which session a ledger call runs in: its own, or the one a `hold_site` / `reading` block holds.

Concurrent writers (several certify processes, the workers of `matrix`): `append_run` reads the site's
chain head and inserts in one transaction that holds the site's append lock. A certify run builds its
manifest from the head before it appends, so it holds the lock from reading the head to appending
(`hold_site`): every ledger call inside the block uses the held transaction.

Every query module of the ledger (`ledger`, `ledger_chain`, `ledger_load`, `ledger_attempts`,
`ledger_rates`) opens its session with `_connect`, so a call inside a block joins the block's session.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from harness.reporting.ledger_backend import LedgerLocation, LedgerSession, open_backend

__all__ = ["describe", "hold_site", "ledger_exists", "reading"]


@dataclass(frozen=True, slots=True)
class _Held:
    key: str
    session: LedgerSession
    writing: bool


# The session of the enclosing `hold_site` / `reading` block in this thread (or task), if any.
_HELD: ContextVar[_Held | None] = ContextVar("hsa_cert_ledger_held", default=None)


def describe(where: LedgerLocation) -> str:
    """The ledger as messages and pages name it: the file, or the server's URL with its password masked."""
    return open_backend(where).location


def ledger_exists(where: LedgerLocation) -> bool:
    """A ledger to read: the SQLite file is there (a server's ledger always is)."""
    return open_backend(where).exists()


@contextmanager
def _connect(where: LedgerLocation, *, create: bool, site: str | None = None) -> Iterator[LedgerSession]:
    backend = open_backend(where)
    held = _HELD.get()
    if held is not None and held.key == backend.key:
        if (create or site is not None) and not held.writing:
            raise RuntimeError("a ledger write inside a reading() block")
        if site is not None:
            held.session.lock_site(site)
        yield held.session
        return
    with backend.session(create=create, site=site) as session:
        yield session


@contextmanager
def _holding(where: LedgerLocation, *, site: str | None) -> Iterator[None]:
    backend = open_backend(where)
    held = _HELD.get()
    if held is not None and held.key == backend.key:  # already inside a block on this ledger
        with _connect(where, create=site is not None, site=site):
            yield
        return
    with backend.session(create=site is not None, site=site) as session:
        token = _HELD.set(_Held(backend.key, session, writing=site is not None))
        try:
            yield
        finally:
            _HELD.reset(token)


def hold_site(where: LedgerLocation, site_id: str) -> AbstractContextManager[None]:
    """`with hold_site(ledger, site):` the site's appends wait for this block; every ledger call inside it
    runs in its one transaction (committed at the end, rolled back on an error). certify seals a run in it:
    the previous run it links its manifest to is still the site's last run when it appends."""
    return _holding(where, site=site_id)


@contextmanager
def reading(where: LedgerLocation) -> Iterator[None]:
    """`with reading(ledger):` the reads inside share one session (one connection to a server, one
    consistent view); nothing to hold when there is no ledger yet (the reads report that themselves)."""
    if not ledger_exists(where):
        yield
        return
    with _holding(where, site=None):
        yield
