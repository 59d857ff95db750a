"""The ledger: every submission and every state transition, in an embedded SQLite database.

States, in order (see docs/operations.md for the recovery rules of each):

``requested``        an operator asked for a replay; the original is not yet copied to the spool
``claimed``          the upload was renamed into the spool (the row is written first; a row
                     whose spool file is missing is a claim that never happened)
``validated``        the outcome is known and recorded here; the receipt is being written
``receipt_written``  the JSON receipt is in the submitter's receipts folder
``filed``            the original is in the archive or the quarantine; nothing more to do

Write-ahead logging lets ``gateway status`` read while the daemon writes; ``synchronous=FULL``
makes each transition durable before the file operation it announces.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from gateway.receipts.model import Receipt


class State(StrEnum):
    REQUESTED = "requested"
    CLAIMED = "claimed"
    VALIDATED = "validated"
    RECEIPT_WRITTEN = "receipt_written"
    FILED = "filed"


UNFINISHED = (State.REQUESTED, State.CLAIMED, State.VALIDATED, State.RECEIPT_WRITTEN)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    submission_id TEXT PRIMARY KEY,
    submitter     TEXT NOT NULL,
    upload_name   TEXT NOT NULL,
    name          TEXT NOT NULL,
    problem       TEXT,
    state         TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    bytes         INTEGER,
    sha256        TEXT,
    status        TEXT,
    layer         TEXT,
    route         TEXT,
    records       INTEGER,
    errors        INTEGER,
    warnings      INTEGER,
    failure       TEXT,
    duplicate_of  TEXT,
    replaces      TEXT,
    receipt_path  TEXT,
    stored_path   TEXT,
    updated_at    TEXT NOT NULL,
    registry_entry TEXT,
    obligations   TEXT
);
CREATE INDEX IF NOT EXISTS submissions_content ON submissions (submitter, sha256);
CREATE INDEX IF NOT EXISTS submissions_state ON submissions (state);
CREATE INDEX IF NOT EXISTS submissions_received ON submissions (received_at);
CREATE TABLE IF NOT EXISTS transitions (
    submission_id TEXT NOT NULL,
    state         TEXT NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transitions_submission ON transitions (submission_id);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Submission:
    """One ledger row. ``name`` is the safe spelling used in receipt and archive names;
    ``upload_name`` is what arrived. ``problem`` marks an upload rejected before reading
    (``symlink``, ``hardlink``, ``special``, ``unreadable``, ``name``); ``failure`` a worker
    crash or limit."""

    submission_id: str
    submitter: str
    upload_name: str
    name: str
    state: str
    received_at: str
    problem: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    status: str | None = None
    layer: str | None = None
    route: str | None = None
    records: int | None = None
    errors: int | None = None
    warnings: int | None = None
    failure: str | None = None
    duplicate_of: str | None = None
    replaces: str | None = None
    receipt_path: str | None = None
    stored_path: str | None = None
    updated_at: str = ""
    # the submitter layer: the sender's registry entry that judged the file and the obligations
    # it answers (JSON text; see gateway.submitters.compliance)
    registry_entry: str | None = None
    obligations: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


_COLUMNS = tuple(f.name for f in fields(Submission))
_NOT_SUBMITTER_REJECTION = "(status IS NULL OR status != 'rejected' OR layer IS NULL" \
    " OR layer != 'submitter')"


class Ledger:
    """The daemon's record. One writer (the daemon, or a command while no daemon runs) plus any
    number of readers; every write is one short transaction."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        if not create and not path.exists():
            raise FileNotFoundError(f"no ledger at {path}; has the gateway run here?")
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0,
                                   check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        if create:
            self._db.executescript(_SCHEMA)
            self._add_missing_columns()

    def close(self) -> None:
        self._db.close()

    def _add_missing_columns(self) -> None:
        """Columns added after a ledger was created (the submitter layer's) are added to it."""
        have = {row["name"] for row in self._db.execute("PRAGMA table_info(submissions)")}
        for column in ("registry_entry", "obligations"):
            if column not in have:
                self._db.execute(f"ALTER TABLE submissions ADD COLUMN {column} TEXT")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _transition(self, db: sqlite3.Connection, submission_id: str, state: State,
                    **columns: Any) -> None:
        at = now_text()
        assignments = ", ".join(f"{name} = ?" for name in columns)
        db.execute(f"UPDATE submissions SET state = ?, updated_at = ?"
                   f"{', ' + assignments if assignments else ''} WHERE submission_id = ?",
                   (state.value, at, *columns.values(), submission_id))
        db.execute("INSERT INTO transitions VALUES (?, ?, ?)", (submission_id, state.value, at))

    # -- transitions ------------------------------------------------------------------------

    def add(self, submission: Submission) -> None:
        """Record a new submission in its first state (``claimed`` or ``requested``)."""
        submission.updated_at = now_text()
        with self._write() as db:
            db.execute(f"INSERT INTO submissions ({', '.join(_COLUMNS)}) "
                       f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                       tuple(getattr(submission, c) for c in _COLUMNS))
            db.execute("INSERT INTO transitions VALUES (?, ?, ?)",
                       (submission.submission_id, submission.state, submission.updated_at))

    def forget(self, submission_id: str) -> None:
        """Drop a claim that never happened (the rename did not take place)."""
        with self._write() as db:
            db.execute("DELETE FROM submissions WHERE submission_id = ?", (submission_id,))
            db.execute("INSERT INTO transitions VALUES (?, 'forgotten', ?)",
                       (submission_id, now_text()))

    def claimed(self, submission_id: str) -> None:
        """A requested replay's original is now in the spool."""
        with self._write() as db:
            self._transition(db, submission_id, State.CLAIMED)

    def inspected(self, submission_id: str, problem: str | None, size: int,
                  sha256: str | None) -> None:
        """What the spool copy turned out to be: its problem if it may not be read, else its
        size and hash (the identity used to spot duplicates)."""
        with self._write() as db:
            db.execute("UPDATE submissions SET problem = ?, bytes = ?, sha256 = ? "
                       "WHERE submission_id = ?", (problem, size, sha256, submission_id))

    def validated(self, receipt: Receipt, failure: str | None = None) -> None:
        """The outcome is known; it is recorded before the receipt is written."""
        summary = receipt.summary()
        with self._write() as db:
            self._transition(db, receipt.submission_id, State.VALIDATED,
                             status=summary["status"], layer=summary["layer"],
                             route=summary["route"], records=summary["records"],
                             errors=summary["errors"], warnings=summary["warnings"],
                             failure=failure, duplicate_of=receipt.duplicate_of,
                             registry_entry=_json_or_none(receipt.registry_entry),
                             obligations=_json_or_none(receipt.obligations))

    def receipt_written(self, submission_id: str, receipt_path: Path) -> None:
        with self._write() as db:
            self._transition(db, submission_id, State.RECEIPT_WRITTEN,
                             receipt_path=str(receipt_path))

    def filed(self, submission_id: str, stored_path: Path | None) -> None:
        """Done. ``stored_path`` is None only when the original had vanished from the spool."""
        with self._write() as db:
            self._transition(db, submission_id, State.FILED,
                             stored_path=None if stored_path is None else str(stored_path))

    # -- questions ----------------------------------------------------------------------------

    def get(self, submission_id: str) -> Submission | None:
        row = self._db.execute("SELECT * FROM submissions WHERE submission_id = ?",
                               (submission_id,)).fetchone()
        return _submission(row) if row else None

    def unfinished(self) -> list[Submission]:
        """Everything not yet filed, oldest first: what a starting daemon must finish."""
        marks = ", ".join("?" * len(UNFINISHED))
        rows = self._db.execute(f"SELECT * FROM submissions WHERE state IN ({marks}) "
                                "ORDER BY submission_id", tuple(UNFINISHED))
        return [_submission(row) for row in rows]

    def first_with_content(self, submitter: str, sha256: str, before: str) -> Submission | None:
        """The first submission of these bytes by this submitter, earlier than ``before``: not a
        duplicate, not a replay, not one the gateway failed on, and not one the submitter layer
        rejected (that outcome depends on the registry in force and the day, so the same bytes
        are judged again)."""
        row = self._db.execute(
            "SELECT * FROM submissions WHERE submitter = ? AND sha256 = ? AND submission_id < ?"
            " AND duplicate_of IS NULL AND replaces IS NULL AND failure IS NULL"
            f" AND problem IS NULL AND {_NOT_SUBMITTER_REJECTION}"
            " ORDER BY submission_id LIMIT 1",
            (submitter, sha256, before)).fetchone()
        return _submission(row) if row else None

    def latest_outcome(self, submitter: str, sha256: str) -> Submission | None:
        """The most recent receipt the gateway validated for these bytes (a replay's, when one
        superseded the first), which a duplicate repeats."""
        row = self._db.execute(
            "SELECT * FROM submissions WHERE submitter = ? AND sha256 = ?"
            " AND duplicate_of IS NULL AND failure IS NULL AND problem IS NULL"
            f" AND {_NOT_SUBMITTER_REJECTION}"
            " AND state IN ('receipt_written', 'filed') ORDER BY submission_id DESC LIMIT 1",
            (submitter, sha256)).fetchone()
        return _submission(row) if row else None

    def search(self, *, submitter: str | None = None, status: str | None = None,
               since: str | None = None, until: str | None = None,
               limit: int = 50) -> list[Submission]:
        """Newest first. ``since``/``until`` compare with ``received_at`` (ISO text, UTC)."""
        clauses, args = [], []
        for clause, value in (("submitter = ?", submitter), ("status = ?", status),
                              ("received_at >= ?", since), ("received_at < ?", until)):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(f"SELECT * FROM submissions {where} "
                                "ORDER BY submission_id DESC LIMIT ?", (*args, limit))
        return [_submission(row) for row in rows]

    def answers(self, submitter: str | None = None) -> list[Submission]:
        """Submissions with a receipt that answered an obligation (accepted or rejected), oldest
        first; duplicates repeat an earlier outcome and are left out."""
        clause, args = ("AND submitter = ?", (submitter,)) if submitter else ("", ())
        rows = self._db.execute(
            "SELECT * FROM submissions WHERE obligations IS NOT NULL AND obligations != '[]'"
            " AND duplicate_of IS NULL AND status IS NOT NULL"
            f" AND state IN ('receipt_written', 'filed') {clause} ORDER BY submission_id", args)
        return [_submission(row) for row in rows]

    def transitions(self, submission_id: str) -> list[tuple[str, str]]:
        rows = self._db.execute("SELECT state, at FROM transitions WHERE submission_id = ? "
                                "ORDER BY rowid", (submission_id,))
        return [(row["state"], row["at"]) for row in rows]

    def count_by_status(self, since: str, submitter: str | None = None) -> dict[str, int]:
        """Filed submissions received since ``since`` (of one submitter, or all), by status."""
        clause, args = ("AND submitter = ? ", (submitter,)) if submitter else ("", ())
        rows = self._db.execute("SELECT status, COUNT(*) AS n FROM submissions "
                                f"WHERE received_at >= ? AND status IS NOT NULL {clause}"
                                "GROUP BY status", (since, *args))
        return {row["status"]: row["n"] for row in rows}

    def count_unfinished(self) -> int:
        marks = ", ".join("?" * len(UNFINISHED))
        row = self._db.execute(f"SELECT COUNT(*) FROM submissions WHERE state IN ({marks})",
                               tuple(UNFINISHED)).fetchone()
        return int(row[0])

    # -- the daemon's heartbeat, for `gateway status` ---------------------------------------------

    def set_meta(self, **values: str) -> None:
        with self._write() as db:
            db.executemany("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                           "SET value = excluded.value", list(values.items()))

    def meta(self) -> dict[str, str]:
        try:
            rows = self._db.execute("SELECT key, value FROM meta")
        except sqlite3.OperationalError:
            return {}
        return {row["key"]: row["value"] for row in rows}


def _json_or_none(value: Any) -> str | None:
    return None if not value else json.dumps(value, sort_keys=True)


def _submission(row: sqlite3.Row) -> Submission:
    return Submission(**{column: row[column] for column in _COLUMNS})
