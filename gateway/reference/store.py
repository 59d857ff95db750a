"""The reference store: three tables in the ledger's database (SQLite or PostgreSQL).

The data live beside the ledger, not in a file of each host's state folder, so that every
daemon of a deployment judges a form against the same accepted feed whichever host took it,
and so that a backup or ``gateway ledger copy`` carries the facts with the record of the files
they came from. The ledger's migrations create the tables; ``location`` below is the ledger's:
a database URL or the path of its SQLite file (``Config.ledger_location``).

Only the daemon and ``gateway validate`` write, and only for accepted files (``remember``);
workers and plugin commands read. Each submission's writes are applied in one transaction and
at most once (a daemon that restarts between applying them and writing the receipt validates
the file again and must not apply twice). Writes apply in the order files are accepted, so "the
latest accepted file counts" means the latest to be accepted. Reads are short transactions
(``entries`` pages through a dataset), because a PostgreSQL session left idle inside a
transaction is ended by the server while a plugin command draws a page per prescriber.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway.daemon.ledger.backends import READ_ONLY
from gateway.daemon.ledger.migrate import open_database
from gateway.daemon.ledger.model import now_text
from gateway.daemon.ledger.schema import reference_applied, reference_datasets, reference_entries
from gateway.reference.model import (
    EMPTY,
    DatasetInfo,
    ReferenceEntry,
    ReferenceView,
    ReferenceWrite,
)

if TYPE_CHECKING:
    from gateway.receipts.model import Receipt

Location = str | Path  # a ledger: database URL, or the path of its SQLite file
_KEYS = 500  # keys per IN (...) query, below SQLite's variable limit
_ROWS = 5000  # rows per INSERT batch and per page of ``entries``
_ENTRY = (reference_entries.c.key, reference_entries.c.value, reference_entries.c.submission_id,
          reference_entries.c.submitter, reference_entries.c.received_at)


class ReferenceStore(ReferenceView):
    """The reference data of the ledger database behind ``engine``."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    # -- writing -------------------------------------------------------------------------------

    def remember(self, receipt: Receipt) -> bool:
        """Apply the reference writes a receipt carries, if the file was accepted; True when
        something was written."""
        if not receipt.reference_writes or receipt.status.value == "rejected":
            return False
        return self.apply(receipt.reference_writes, submission_id=receipt.submission_id,
                          submitter=receipt.submitter, received_at=receipt.file.received_at)

    def apply(self, writes: Sequence[ReferenceWrite], *, submission_id: str, submitter: str,
              received_at: str) -> bool:
        """Apply one accepted submission's writes; False when they were applied before."""
        with self._engine.begin() as db:
            first = db.execute(
                self._insert(reference_applied)
                .values(submission_id=submission_id, applied_at=now_text())
                .on_conflict_do_nothing()
                .returning(reference_applied.c.submission_id)).first() is not None
            if first:
                for write in writes:
                    _apply_one(db, self._insert, write,
                               {"submission_id": submission_id, "submitter": submitter,
                                "received_at": received_at})
        return first

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that can skip or update a row whose key exists."""
        return (postgresql if self._engine.dialect.name == "postgresql" else sqlite).insert(table)

    # -- reading -------------------------------------------------------------------------------

    def info(self, dataset: str) -> DatasetInfo | None:
        with self._read() as db:
            row = db.execute(sa.select(reference_datasets.c.submission_id,
                                       reference_datasets.c.submitter,
                                       reference_datasets.c.received_at)
                             .where(reference_datasets.c.dataset == dataset)).first()
            if row is None:
                return None
            count = db.scalar(sa.select(sa.func.count()).select_from(reference_entries)
                              .where(reference_entries.c.dataset == dataset))
        return DatasetInfo(dataset, int(count or 0), *row)

    def get_many(self, dataset: str, keys: Iterable[str]) -> dict[str, ReferenceEntry]:
        wanted = list(dict.fromkeys(str(k) for k in keys))
        found: dict[str, ReferenceEntry] = {}
        with self._read() as db:
            for start in range(0, len(wanted), _KEYS):
                rows = db.execute(sa.select(*_ENTRY).where(
                    reference_entries.c.dataset == dataset,
                    reference_entries.c.key.in_(wanted[start:start + _KEYS])))
                for row in rows:
                    found[row[0]] = _entry(dataset, row)
        return found

    def entries(self, dataset: str) -> Iterator[ReferenceEntry]:
        after: str | None = None
        while True:
            query = (sa.select(*_ENTRY).where(reference_entries.c.dataset == dataset)
                     .order_by(reference_entries.c.key).limit(_ROWS))
            if after is not None:
                query = query.where(reference_entries.c.key > after)
            with self._read() as db:
                page = db.execute(query).all()
            yield from (_entry(dataset, row) for row in page)
            if len(page) < _ROWS:
                return
            after = page[-1][0]

    @property
    def engine(self) -> sa.Engine:
        return self._engine

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """A short read-only transaction (on SQLite it never takes the write lock)."""
        with self._engine.connect() as db, db.execution_options(**{READ_ONLY: True}).begin():
            yield db


def _apply_one(db: sa.Connection, insert: Any, write: ReferenceWrite,
               source: dict[str, str]) -> None:
    if write.replace:
        db.execute(reference_entries.delete().where(reference_entries.c.dataset == write.dataset))
    upsert = insert(reference_entries)
    upsert = upsert.on_conflict_do_update(
        index_elements=[reference_entries.c.dataset, reference_entries.c.key],
        set_={name: upsert.excluded[name]
              for name in ("value", "submission_id", "submitter", "received_at")})
    batch: list[dict[str, str]] = []
    for key, value in write.entries.items():
        batch.append({"dataset": write.dataset, "key": str(key),
                      "value": json.dumps(value, separators=(",", ":")), **source})
        if len(batch) == _ROWS:
            db.execute(upsert, batch)
            batch = []
    if batch:
        db.execute(upsert, batch)
    latest = insert(reference_datasets).values(dataset=write.dataset, **source)
    db.execute(latest.on_conflict_do_update(index_elements=[reference_datasets.c.dataset],
                                            set_=source))


def _entry(dataset: str, row: Any) -> ReferenceEntry:
    key, value, submission_id, submitter, received_at = row
    return ReferenceEntry(dataset, key, json.loads(value), submission_id, submitter,
                          received_at)


def open_store(location: Location) -> tuple[ReferenceStore, sa.Engine]:
    """A store on the ledger at ``location`` for writing, and its engine (the caller disposes
    of it). A missing SQLite ledger is created, as ``gateway serve`` would."""
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
        if len(_READERS) == _KEEP_READERS:
            _READERS.pop(next(iter(_READERS))).engine.dispose()
        _READERS[location] = ReferenceStore(open_database(location, create=False)[1])
    return _READERS[location]


def remember(location: Location, receipt: Receipt) -> bool:
    """Apply the reference writes a receipt carries to the ledger at ``location``, if the file
    was accepted; True when something was written. ``gateway validate`` calls this after
    validating; the daemon uses its own store on the ledger it already holds."""
    if not receipt.reference_writes or receipt.status.value == "rejected":
        return False
    store, engine = open_store(location)
    try:
        return store.remember(receipt)
    finally:
        engine.dispose()


os.register_at_fork(after_in_child=_forget_readers)
