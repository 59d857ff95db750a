"""The reference store: three tables in the ledger's database (SQLite or PostgreSQL).

The data live beside the ledger, not in a file of each host's state folder, so that every
daemon of a deployment judges a form against the same accepted feed whichever host took it,
and so that a backup or ``gateway ledger copy`` carries the facts with the record of the files
they came from. The ledger's migrations create the tables; ``location`` below is the ledger's:
a database URL or the path of its SQLite file (``Config.ledger_location``).

Only the daemon writes, and only for accepted files (``remember``); workers, checks
(``gateway validate`` keeps its own files' writes in memory: ``gateway.site.reference.overlay``) and
plugin commands read. Each submission's writes are applied in one transaction and
at most once (a daemon that restarts between applying them and writing the receipt validates
the file again and must not apply twice). Writes apply in the order files are accepted, so "the
latest accepted file counts" means the latest to be accepted. Reads are short transactions
(``entries`` pages through a dataset), because a PostgreSQL session left idle inside a
transaction is ended by the server while a plugin command draws a page per prescriber.

This module is what the pipeline and the commands import; the SQL (``database``) and the
ledger's engine are loaded only when a ledger is really opened, so validating a file where no
ledger exists (``gateway validate`` on a laptop) does not pay for SQLAlchemy and Alembic.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.contract.reference import EMPTY, ReferenceView

if TYPE_CHECKING:
    import sqlalchemy as sa

    from gateway.receipts.model import Receipt
    from gateway.site.reference.database import ReferenceStore

Location = str | Path  # a ledger: database URL, or the path of its SQLite file


def open_store(location: Location) -> tuple[ReferenceStore, sa.Engine]:
    """A store on the ledger at ``location`` for writing, and its engine (the caller disposes
    of it). A missing SQLite ledger is created, as ``gateway serve`` would."""
    from gateway.site.ledger.migrate import open_database
    from gateway.site.reference.database import ReferenceStore

    _, engine = open_database(location, create=True)
    return ReferenceStore(engine), engine


_READERS: dict[Location, ReferenceStore] = {}  # this process's read-only views, by ledger
_KEEP_READERS = 4  # a process reads one ledger; a test run reads many, one after another


def _forget_readers() -> None:
    """In a forked child: never use the parent's connections (a worker forked by the daemon
    opens its own on first use)."""
    for store in _READERS.values():
        store.engine.dispose(close=False)
    _READERS.clear()


def reference_view(location: Location | None) -> ReferenceView:
    """The read-only view of the ledger at ``location`` (one connection pool per process), or
    the empty view when there is no location or no SQLite ledger was ever made there."""
    if location is None:
        return EMPTY
    if isinstance(location, Path):
        if not location.exists():
            return EMPTY
        location = location.resolve()
    if location not in _READERS:
        from gateway.site.ledger.migrate import open_database
        from gateway.site.reference.database import ReferenceStore

        if len(_READERS) == _KEEP_READERS:
            _READERS.pop(next(iter(_READERS))).engine.dispose()
        _READERS[location] = ReferenceStore(open_database(location, create=False)[1])
    return _READERS[location]


def remember(location: Location, receipt: Receipt) -> bool:
    """Apply the reference writes a receipt carries to the ledger at ``location``, if the file
    was accepted; True when something was written (for tools and tests that stand in for the
    daemon, which uses its own store on the ledger it already holds)."""
    if not receipt.reference_writes or receipt.status.value == "rejected":
        return False
    store, engine = open_store(location)
    try:
        return store.remember(receipt)
    finally:
        engine.dispose()


os.register_at_fork(after_in_child=_forget_readers)
