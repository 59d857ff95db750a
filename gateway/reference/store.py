"""The reference store: one SQLite file in the state folder (``reference.sqlite3``).

Only the daemon's main thread and ``gateway validate`` write, and only for accepted files
(``remember``); workers and plugin commands read. Each submission's writes are applied in one
transaction and at most once (a daemon that restarts between applying them and writing the
receipt validates the file again and must not apply twice). Writes apply in the order files are
accepted, so "the latest accepted file counts" means the latest to be accepted.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.reference.model import (
    EMPTY,
    DatasetInfo,
    ReferenceEntry,
    ReferenceView,
    ReferenceWrite,
)

if TYPE_CHECKING:
    from gateway.receipts.model import Receipt

FILE_NAME = "reference.sqlite3"
_BATCH = 500  # keys per IN (...) query, below SQLite's variable limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    dataset       TEXT NOT NULL,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    submitter     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    PRIMARY KEY (dataset, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS datasets (
    dataset       TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL,
    submitter     TEXT NOT NULL,
    received_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applied (
    submission_id TEXT PRIMARY KEY,
    applied_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""


def reference_path(state: Path) -> Path:
    """Where the store of a state folder lives."""
    return state / FILE_NAME


class ReferenceStore(ReferenceView):
    """The store of one state folder. ``create=False`` opens an existing file read-only."""

    def __init__(self, state: Path, *, create: bool = True) -> None:
        path = reference_path(state)
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        else:
            self._db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True,
                                       isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=30000")

    def close(self) -> None:
        self._db.close()

    # -- writing -------------------------------------------------------------------------------

    def apply(self, writes: Sequence[ReferenceWrite], *, submission_id: str, submitter: str,
              received_at: str) -> bool:
        """Apply one accepted submission's writes; False when they were applied before."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            done = db.execute("SELECT 1 FROM applied WHERE submission_id = ?",
                              (submission_id,)).fetchone()
            if done is None:
                for write in writes:
                    self._apply_one(write, submission_id, submitter, received_at)
                db.execute("INSERT INTO applied (submission_id) VALUES (?)", (submission_id,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return done is None

    def _apply_one(self, write: ReferenceWrite, submission_id: str, submitter: str,
                   received_at: str) -> None:
        db = self._db
        if write.replace:
            db.execute("DELETE FROM entries WHERE dataset = ?", (write.dataset,))
        db.executemany(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?)",
            ((write.dataset, str(key), json.dumps(value, separators=(",", ":")),
              submission_id, submitter, received_at) for key, value in write.entries.items()))
        db.execute("INSERT OR REPLACE INTO datasets VALUES (?, ?, ?, ?)",
                   (write.dataset, submission_id, submitter, received_at))

    # -- reading -------------------------------------------------------------------------------

    def info(self, dataset: str) -> DatasetInfo | None:
        row = self._db.execute("SELECT submission_id, submitter, received_at FROM datasets "
                               "WHERE dataset = ?", (dataset,)).fetchone()
        if row is None:
            return None
        (count,) = self._db.execute("SELECT count(*) FROM entries WHERE dataset = ?",
                                    (dataset,)).fetchone()
        return DatasetInfo(dataset, count, *row)

    def get_many(self, dataset: str, keys: Iterable[str]) -> dict[str, ReferenceEntry]:
        wanted = list(dict.fromkeys(str(k) for k in keys))
        found: dict[str, ReferenceEntry] = {}
        for start in range(0, len(wanted), _BATCH):
            chunk = wanted[start:start + _BATCH]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                    f"SELECT key, value, submission_id, submitter, received_at FROM entries "
                    f"WHERE dataset = ? AND key IN ({marks})", (dataset, *chunk)):
                found[row[0]] = _entry(dataset, row)
        return found

    def entries(self, dataset: str) -> Iterator[ReferenceEntry]:
        cursor = self._db.execute(
            "SELECT key, value, submission_id, submitter, received_at FROM entries "
            "WHERE dataset = ? ORDER BY key", (dataset,))
        return (_entry(dataset, row) for row in cursor)


def _entry(dataset: str, row: tuple[str, str, str, str, str]) -> ReferenceEntry:
    key, value, submission_id, submitter, received_at = row
    return ReferenceEntry(dataset, key, json.loads(value), submission_id, submitter,
                          received_at)


@lru_cache(maxsize=4)
def _reader(state: Path) -> ReferenceStore:
    return ReferenceStore(state, create=False)


def reference_view(state: Path | None) -> ReferenceView:
    """The read-only view of a state folder for the pipeline (one connection per process), or
    the empty view when there is no state folder or nothing was ever remembered in it."""
    if state is None or not reference_path(state).exists():
        return EMPTY
    return _reader(state.resolve())


def remember(state: Path, receipt: Receipt) -> bool:
    """Apply the reference writes a receipt carries, if the file was accepted; True when
    something was written. The daemon calls this before writing the receipt (a crash in
    between validates the file again; the second apply is skipped), ``gateway validate``
    after validating."""
    if not receipt.reference_writes or receipt.status.value == "rejected":
        return False
    store = ReferenceStore(state)
    try:
        return store.apply(receipt.reference_writes, submission_id=receipt.submission_id,
                           submitter=receipt.submitter, received_at=receipt.file.received_at)
    finally:
        store.close()
