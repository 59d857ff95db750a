"""The ledger: every submission and every state transition, shared by every daemon.

Each write is one short transaction. The daemon's transitions also come in batches (``*_many``):
one transaction, one commit and so one disk flush for every file of a turn of its loop that
reached the same step, which is where a burst of small files spends its bookkeeping. Writes
that carry a submission on are fenced by its ``owner``: a daemon whose lease ran out (it hung,
or lost the database for a while) and whose rows another daemon took over gets ``LostClaim``
(a batch: the ids it lost) instead of overwriting the new owner's work.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway.receipts.model import Receipt
from gateway.site.ledger.backends import READ_ONLY, is_postgres, safe_text
from gateway.site.ledger.migrate import open_database
from gateway.site.ledger.model import (
    COLUMNS,
    UNFINISHED,
    Daemon,
    State,
    Submission,
    now_text,
)
from gateway.site.ledger.schema import daemons, meta, submissions, transitions

Timer = Callable[[str, float], None]  # (operation, seconds): ledger latency for the metrics
# More writes that belong in the transaction recording a receipt's outcome (the notification
# outbox, ``gateway.notify``): all of them happen, or none.
Companion = Callable[[sa.Connection, Receipt], None]

_STATE_ORDER = {state: rank for rank, state in enumerate(
    ("requested", "claimed", "taken_over", "validated", "receipt_written", "filed",
     "forgotten"))}


# A file the submitter layer rejected is judged again when sent again (the registry or the day
# may have changed), so it is never "the first copy" a duplicate repeats.
_NOT_SUBMITTER_REJECTION = sa.or_(submissions.c.status.is_(None),
                                  submissions.c.status != "rejected",
                                  submissions.c.layer.is_(None),
                                  submissions.c.layer != "submitter")


_c = submissions.c
# The duplicate check's questions, asked for every file a daemon takes: built once, their
# values bound per question (building and keying a new statement each time cost more than
# SQLite's answer).
_FIRST_WITH_CONTENT = sa.select(submissions).where(
    _c.submitter == sa.bindparam("submitter"), _c.sha256 == sa.bindparam("sha256"),
    _c.submission_id < sa.bindparam("before"), _c.duplicate_of.is_(None),
    _c.replaces.is_(None), _c.failure.is_(None), _c.problem.is_(None),
    _NOT_SUBMITTER_REJECTION).order_by(_c.submission_id).limit(1)
_UNHASHED_BEFORE = sa.select(_c.submission_id).where(
    _c.submitter == sa.bindparam("submitter"), _c.submission_id < sa.bindparam("before"),
    _c.sha256.is_(None), _c.problem.is_(None), _c.replaces.is_(None),
    _c.state == State.CLAIMED,
    sa.or_(_c.owner.is_(None), _c.owner != sa.bindparam("other_than"))).limit(1)


class LostClaim(RuntimeError):
    """Another daemon took this submission over; the caller must let it go."""


class _SharedRead:
    """``Ledger.reading``'s one read transaction, begun at its first question and ended with
    the ``stack`` it was entered on."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._db: sa.Connection | None = None

    def connection(self, engine: sa.Engine) -> sa.Connection:
        if self._db is None:
            db = self._stack.enter_context(engine.connect())
            self._stack.enter_context(db.execution_options(**{READ_ONLY: True}).begin())
            self._db = db
        return self._db


class Ledger:
    """The daemon's record, in SQLite (one host) or PostgreSQL (several).

    ``location`` is a database URL or the path of a SQLite file. ``create`` makes a missing
    SQLite ledger and brings it to the current schema; a PostgreSQL ledger is changed only by
    ``gateway ledger migrate`` and must be current. ``owner`` is the daemon id that fences
    writes; without one (the commands) writes are not fenced.
    """

    def __init__(self, location: str | Path, *, create: bool = True, owner: str | None = None,
                 timer: Timer | None = None) -> None:
        self.url, self._engine = open_database(location, create=create)
        self.shared = is_postgres(self.url)
        self.path: Path | None = None if self.shared else Path(self.url.database or "")
        self.owner = owner
        self._timer = timer
        self.with_validated: list[Companion] = []
        self._reading: dict[int, _SharedRead] = {}  # thread -> its shared read transaction
        self._updates: dict[tuple[str, ...], Any] = {}  # columns set -> its UPDATE statement

    def close(self) -> None:
        self._engine.dispose()

    @property
    def engine(self) -> sa.Engine:
        """The database's engine, for the services that keep their tables beside the ledger's
        (``gateway.contract.reference``)."""
        return self._engine

    def __str__(self) -> str:
        return safe_text(self.url)

    # -- plumbing ----------------------------------------------------------------------------

    @contextmanager
    def _timed(self, operation: str, files: int = 1) -> Iterator[None]:
        """Time one operation for the metrics: once for each of the ``files`` submissions it
        records, so a batch counts as the wait each of its files had."""
        started = time.perf_counter()
        try:
            yield
        finally:
            if self._timer is not None:
                seconds = time.perf_counter() - started
                for _ in range(files):
                    self._timer(operation, seconds)

    @contextmanager
    def _write(self, operation: str, files: int = 1) -> Iterator[sa.Connection]:
        with self._timed(operation, files), self._engine.begin() as db:
            yield db

    @contextmanager
    def _read(self, operation: str) -> Iterator[sa.Connection]:
        shared = self._reading.get(threading.get_ident())
        if shared is not None:
            with self._timed(operation):
                yield shared.connection(self._engine)
            return
        with (self._timed(operation), self._engine.connect() as db,
              db.execution_options(**{READ_ONLY: True}).begin()):
            yield db

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Ask this thread's questions inside it in one read transaction: a daemon's turn asks
        one or two for each file it triages, and on PostgreSQL a transaction of its own costs
        each question three more round trips (ping, begin, end). The transaction begins at the
        first question: most turns of a busy daemon ask none. No write may happen inside."""
        thread = threading.get_ident()
        if thread in self._reading:
            yield
            return
        with ExitStack() as stack:
            self._reading[thread] = _SharedRead(stack)
            try:
                yield
            finally:
                del self._reading[thread]

    def _insert(self, table: sa.Table) -> Any:
        """An INSERT that can skip a row whose unique key exists (one winner per claim)."""
        dialect = postgresql if self.shared else sqlite
        return dialect.insert(table)

    def _move(self, db: sa.Connection, submission_id: str, state: str, at: str,
              **columns: Any) -> bool:
        """One row to ``state``; False when this daemon no longer owns it."""
        return self._update_row(db, submission_id, {"state": state, "updated_at": at,
                                                    **columns})

    def _update_row(self, db: sa.Connection, submission_id: str, values: dict[str, Any]
                    ) -> bool:
        """Set ``values`` on one row this daemon owns; False when it no longer owns it."""
        update, params = self._update_of(submission_id, values)
        return db.execute(update, params).rowcount == 1 or self.owner is None

    def _update_rows(self, db: sa.Connection, rows: Sequence[tuple[str, dict[str, Any]]]
                     ) -> set[str]:
        """``_update_row`` for every ``(submission_id, values)``; returns the ids this daemon
        no longer owns (their rows are left as they are).

        One ``executemany`` for each set of columns, inside a savepoint: when every row was
        still this daemon's (always, unless another daemon took a file over), that is all; else
        the savepoint is rolled back and the rows are updated one by one, which tells which
        were lost. A statement per row cost a round trip each on PostgreSQL and most of a
        batch's time on SQLite."""
        if len(rows) == 1 or self.owner is None:
            return {row for row, values in rows if not self._update_row(db, row, values)}
        groups: dict[Any, list[dict[str, Any]]] = {}
        for row, values in rows:
            update, params = self._update_of(row, values)
            groups.setdefault(update, []).append(params)
        savepoint = db.begin_nested()
        updated = sum(db.execute(update, many).rowcount for update, many in groups.items())
        if updated == len(rows):
            savepoint.commit()
            return set()
        savepoint.rollback()
        return {row for row, values in rows if not self._update_row(db, row, values)}

    def _update_of(self, submission_id: str, values: dict[str, Any]
                   ) -> tuple[Any, dict[str, Any]]:
        """The UPDATE for ``values``' columns and its parameters for one row. The statement is
        built once for each set of columns and kept: building and keying a new one for every
        row was most of a batch's cost (a burst of small files writes thousands of rows a
        minute)."""
        names = tuple(sorted(values))
        update = self._updates.get(names)
        if update is None:
            # the new values' names never meet the WHERE's (a row filed sets ``owner`` while
            # the WHERE fences on it)
            update = (submissions.update()
                      .where(submissions.c.submission_id == sa.bindparam("where_row"))
                      .values({name: sa.bindparam(f"set_{name}") for name in names}))
            if self.owner is not None:
                update = update.where(submissions.c.owner == sa.bindparam("where_owner"))
            self._updates[names] = update
        params = {f"set_{name}": value for name, value in values.items()}
        params["where_row"] = submission_id
        if self.owner is not None:
            params["where_owner"] = self.owner
        return update, params

    def _transition(self, db: sa.Connection, submission_id: str, state: str,
                    **columns: Any) -> None:
        at = now_text()
        if not self._move(db, submission_id, state, at, **columns):
            raise LostClaim(submission_id)
        self._log(db, submission_id, state, at)

    def _log(self, db: sa.Connection, submission_id: str, state: str, at: str) -> None:
        db.execute(transitions.insert().values(submission_id=submission_id, state=state, at=at,
                                               daemon=self.owner))

    def _log_many(self, db: sa.Connection, submission_ids: Sequence[str], state: str,
                  at: str) -> None:
        if submission_ids:
            db.execute(transitions.insert(), [
                {"submission_id": submission_id, "state": state, "at": at,
                 "daemon": self.owner} for submission_id in submission_ids])

    def _transitions(self, operation: str, state: str,
                     changes: Sequence[tuple[str, dict[str, Any]]],
                     then: Callable[[sa.Connection, str], None] | None = None) -> set[str]:
        """Move every ``(submission_id, columns)`` to ``state`` in one transaction; ``then``
        runs in it for each row moved. Returns the ids this daemon no longer owns (left as
        they are)."""
        if not changes:
            return set()
        at = now_text()
        with self._write(operation, len(changes)) as db:
            lost = self._update_rows(db, [(submission_id, {"state": state, "updated_at": at,
                                                           **columns})
                                          for submission_id, columns in changes])
            moved = [submission_id for submission_id, _ in changes if submission_id not in lost]
            if then is not None:
                for submission_id in moved:
                    then(db, submission_id)
            self._log_many(db, moved, state, at)
        return lost

    # -- transitions ------------------------------------------------------------------------

    def add(self, submission: Submission) -> bool:
        """Record a new submission in its first state (``claimed`` or ``requested``). False
        when its ``upload_key`` is already recorded: another daemon claimed that upload."""
        return bool(self.add_many([submission]))

    def add_many(self, batch: Sequence[Submission]) -> set[str]:
        """``add`` for several submissions in one transaction; returns the ids recorded (the
        others' uploads another daemon claimed). Rows are inserted in the order of their
        upload keys, so that daemons claiming overlapping batches at once wait for each other
        instead of deadlocking."""
        if not batch:
            return set()
        at = now_text()
        ordered = sorted(batch, key=lambda s: (s.upload_key or "", s.submission_id))
        for submission in ordered:
            submission.updated_at = at
        # one INSERT for the batch (SQLAlchemy's "insertmanyvalues"), its rows in that order;
        # a row whose upload another daemon claimed first is skipped and not returned
        insert = (self._insert(submissions).on_conflict_do_nothing()
                  .returning(submissions.c.submission_id))
        with self._write("add", len(batch)) as db:
            added = set(db.execute(insert, [{column: getattr(s, column) for column in COLUMNS}
                                            for s in ordered]).scalars())
            for state in {s.state for s in batch}:
                self._log_many(db, [s.submission_id for s in batch
                                    if s.state == state and s.submission_id in added],
                               state, at)
        return added

    def forget(self, submission_id: str) -> None:
        """Drop a claim that never happened (the rename did not take place)."""
        with self._write("forget") as db:
            db.execute(submissions.delete().where(submissions.c.submission_id == submission_id))
            self._log(db, submission_id, "forgotten", now_text())

    def claimed(self, submission_id: str) -> None:
        """A requested replay's original is now in the spool."""
        with self._write("claimed") as db:
            self._transition(db, submission_id, State.CLAIMED)

    def inspected(self, submission_id: str, problem: str | None, size: int,
                  sha256: str | None) -> None:
        """What the spool copy turned out to be: its problem if it may not be read, else its
        size and hash (the identity used to spot duplicates)."""
        if self.inspected_many([(submission_id, problem, size, sha256)]):
            raise LostClaim(submission_id)

    def inspected_many(self, batch: Sequence[tuple[str, str | None, int, str | None]]
                       ) -> set[str]:
        """``inspected`` for several ``(submission_id, problem, size, sha256)`` in one
        transaction; returns the ids this daemon no longer owns."""
        if not batch:
            return set()
        with self._write("inspected", len(batch)) as db:
            return self._update_rows(db, [
                (submission_id, {"problem": problem, "bytes": size, "sha256": sha256})
                for submission_id, problem, size, sha256 in batch])

    def validated(self, receipt: Receipt, failure: str | None = None) -> None:
        """The outcome is known; it is recorded before the receipt is written."""
        if self.validated_many([(receipt, failure)]):
            raise LostClaim(receipt.submission_id)

    def validated_many(self, batch: Sequence[tuple[Receipt, str | None]]) -> set[str]:
        """``validated`` for several outcomes in one transaction, each with the writes of
        ``with_validated`` (the notification outbox) in that same transaction; returns the ids
        this daemon no longer owns (nothing is recorded for them)."""
        receipts = {receipt.submission_id: receipt for receipt, _ in batch}

        def companions(db: sa.Connection, submission_id: str) -> None:
            for companion in self.with_validated:
                companion(db, receipts[submission_id])

        return self._transitions("validated", State.VALIDATED, [
            (receipt.submission_id, _outcome_columns(receipt, failure))
            for receipt, failure in batch], companions)

    def receipt_written(self, submission_id: str, receipt_path: Path) -> None:
        if self.receipt_written_many([(submission_id, receipt_path)]):
            raise LostClaim(submission_id)

    def receipt_written_many(self, batch: Sequence[tuple[str, Path]]) -> set[str]:
        """Receipts durable in their folders, in one transaction; returns the ids lost."""
        return self._transitions("receipt_written", State.RECEIPT_WRITTEN, [
            (submission_id, {"receipt_path": str(path)}) for submission_id, path in batch])

    def filed(self, submission_id: str, stored_path: Path | None) -> None:
        """Done. ``stored_path`` is None only when the original had vanished from the spool."""
        if self.filed_many([(submission_id, stored_path)]):
            raise LostClaim(submission_id)

    def filed_many(self, batch: Sequence[tuple[str, Path | None]]) -> set[str]:
        """``filed`` for several originals, durable in their folders, in one transaction;
        returns the ids lost."""
        return self._transitions("filed", State.FILED, [
            (submission_id, {"owner": None,
                             "stored_path": None if path is None else str(path)})
            for submission_id, path in batch])

    def take_over(self, submission: Submission) -> bool:
        """Make this daemon the owner of an orphaned row, if it still has the owner it had when
        it was read (of several daemons adopting at once, one wins)."""
        assert self.owner is not None
        update = (submissions.update()
                  .where(submissions.c.submission_id == submission.submission_id,
                         submissions.c.state.in_(UNFINISHED))
                  .values(owner=self.owner))
        update = update.where(submissions.c.owner.is_(None) if submission.owner is None
                              else submissions.c.owner == submission.owner)
        with self._write("take_over") as db:
            if db.execute(update).rowcount != 1:
                return False
            self._log(db, submission.submission_id, "taken_over", now_text())
        submission.owner = self.owner
        return True

    # -- questions ----------------------------------------------------------------------------

    def _rows(self, operation: str, query: sa.Select[Any],
              values: dict[str, Any] | None = None) -> list[Submission]:
        with self._read(operation) as db:
            return [_submission(row) for row in db.execute(query, values)]

    def get(self, submission_id: str) -> Submission | None:
        rows = self._rows("get", sa.select(submissions)
                          .where(submissions.c.submission_id == submission_id))
        return rows[0] if rows else None

    def unfinished(self) -> list[Submission]:
        """Everything not yet filed, oldest first."""
        return self._rows("unfinished", sa.select(submissions)
                          .where(submissions.c.state.in_(UNFINISHED))
                          .order_by(submissions.c.submission_id))

    def orphans(self, now: float, dead: Sequence[str] = (), everyone: bool = False
                ) -> list[Submission]:
        """Unfinished rows nobody carries on, oldest first: no owner (a requested replay), an
        owner whose lease ran out or who stopped, an owner in ``dead`` (known dead by other
        means), or, with ``everyone`` (this daemon is the only one), any owner but this one."""
        alive = sa.select(daemons.c.daemon_id).where(daemons.c.lease_until > now,
                                                     daemons.c.stopped_at.is_(None))
        owner = submissions.c.owner
        condition = sa.or_(owner.is_(None), owner.not_in(alive), owner.in_(list(dead)))
        if everyone:
            condition = sa.or_(owner.is_(None), owner != (self.owner or ""))
        return self._rows("orphans", sa.select(submissions)
                          .where(submissions.c.state.in_(UNFINISHED), condition)
                          .order_by(submissions.c.submission_id))

    def first_with_content(self, submitter: str, sha256: str, before: str) -> Submission | None:
        """The first submission of these bytes by this submitter, earlier than ``before``: not a
        duplicate, not a replay, not one the gateway failed on, and not one the submitter layer
        rejected (that outcome depends on the registry in force and the day, so the same bytes
        are judged again)."""
        rows = self._rows("first_with_content", _FIRST_WITH_CONTENT,
                          {"submitter": submitter, "sha256": sha256, "before": before})
        return rows[0] if rows else None

    def unhashed_before(self, submitter: str, before: str, other_than: str) -> bool:
        """Does another daemon hold an earlier upload of this submitter that it has not hashed
        yet? Until it has, nobody can tell whether a later file duplicates it."""
        with self._read("unhashed_before") as db:
            return db.scalar(_UNHASHED_BEFORE, {"submitter": submitter, "before": before,
                                                "other_than": other_than}) is not None

    def latest_outcome(self, submitter: str, sha256: str) -> Submission | None:
        """The most recent receipt the gateway validated for these bytes (a replay's, when one
        superseded the first), which a duplicate repeats."""
        c = submissions.c
        rows = self._rows("latest_outcome", sa.select(submissions).where(
            c.submitter == submitter, c.sha256 == sha256, c.duplicate_of.is_(None),
            c.failure.is_(None), c.problem.is_(None), _NOT_SUBMITTER_REJECTION,
            c.state.in_((State.RECEIPT_WRITTEN, State.FILED)))
            .order_by(c.submission_id.desc()).limit(1))
        return rows[0] if rows else None

    def search(self, *, submitter: str | None = None, status: str | None = None,
               since: str | None = None, until: str | None = None,
               limit: int = 50) -> list[Submission]:
        """Newest first. ``since``/``until`` compare with ``received_at`` (ISO text, UTC)."""
        c = submissions.c
        query = sa.select(submissions).order_by(c.submission_id.desc()).limit(limit)
        if submitter is not None:
            query = query.where(c.submitter == submitter)
        if status is not None:
            query = query.where(c.status == status)
        if since is not None:
            query = query.where(c.received_at >= since)
        if until is not None:
            query = query.where(c.received_at < until)
        return self._rows("search", query)

    def answers(self, submitter: str | None = None) -> list[Submission]:
        """Submissions with a receipt that answered an obligation (accepted or rejected), oldest
        first; duplicates repeat an earlier outcome and are left out."""
        c = submissions.c
        query = sa.select(submissions).where(
            c.obligations.is_not(None), c.obligations != "[]", c.duplicate_of.is_(None),
            c.status.is_not(None), c.state.in_((State.RECEIPT_WRITTEN, State.FILED)))
        if submitter is not None:
            query = query.where(c.submitter == submitter)
        return self._rows("answers", query.order_by(c.submission_id))

    def transitions(self, submission_id: str) -> list[tuple[str, str]]:
        with self._read("transitions") as db:
            rows = db.execute(sa.select(transitions.c.state, transitions.c.at)
                              .where(transitions.c.submission_id == submission_id))
            steps = [(row.state, row.at) for row in rows]
        return sorted(steps, key=lambda step: (step[1], _STATE_ORDER.get(step[0], 99)))

    def count_by_status(self, since: str, submitter: str | None = None) -> dict[str, int]:
        """Filed submissions received since ``since`` (of one submitter, or all), by status."""
        c = submissions.c
        query = sa.select(c.status, sa.func.count()).where(c.received_at >= since,
                                                           c.status.is_not(None))
        if submitter is not None:
            query = query.where(c.submitter == submitter)
        with self._read("count_by_status") as db:
            rows = db.execute(query.group_by(c.status))
            return {status: int(n) for status, n in rows}

    def count_unfinished(self) -> int:
        with self._read("count_unfinished") as db:
            return int(db.scalar(sa.select(sa.func.count()).select_from(submissions)
                                 .where(submissions.c.state.in_(UNFINISHED))) or 0)

    def oldest_unfinished(self) -> str | None:
        """When the oldest submission without a receipt was received (for the alert on an
        unanswered file)."""
        c = submissions.c
        with self._read("oldest_unfinished") as db:
            return db.scalar(sa.select(sa.func.min(c.received_at)).where(
                c.state.in_((State.REQUESTED, State.CLAIMED, State.VALIDATED))))

    # -- daemons and their leases ---------------------------------------------------------------

    def register(self, daemon: Daemon) -> None:
        with self._write("register") as db:
            db.execute(daemons.insert().values(
                daemon_id=daemon.daemon_id, host=daemon.host, pid=daemon.pid,
                started_at=daemon.started_at, lease_until=daemon.lease_until,
                watcher=daemon.watcher))

    def heartbeat(self, daemon_id: str, lease_until: float, **info: Any) -> None:
        with self._write("heartbeat") as db:
            db.execute(daemons.update().where(daemons.c.daemon_id == daemon_id)
                       .values(lease_until=lease_until, **info))

    def stopped(self, daemon_id: str) -> None:
        with self._write("stopped") as db:
            db.execute(daemons.update().where(daemons.c.daemon_id == daemon_id)
                       .values(stopped_at=now_text(), lease_until=0.0))

    def daemons(self) -> list[Daemon]:
        """Every daemon that ever registered, newest first."""
        with self._read("daemons") as db:
            rows = db.execute(sa.select(daemons).order_by(daemons.c.started_at.desc()))
            return [Daemon(**row._mapping) for row in rows]

    def forget_daemons(self, before: float) -> None:
        """Drop rows of daemons that stopped or died before ``before`` and own nothing."""
        owners = sa.select(submissions.c.owner).where(submissions.c.owner.is_not(None))
        with self._write("forget_daemons") as db:
            db.execute(daemons.delete().where(daemons.c.lease_until < before,
                                              daemons.c.daemon_id.not_in(owners)))

    # -- key/value facts for `gateway status` ------------------------------------------------------

    def set_meta(self, **values: str) -> None:
        with self._write("set_meta") as db:
            for key, value in values.items():
                db.execute(self._insert(meta).values(key=key, value=value)
                           .on_conflict_do_update(index_elements=[meta.c.key],
                                                  set_={"value": value}))

    def meta(self) -> dict[str, str]:
        with self._read("meta") as db:
            return {row.key: row.value for row in db.execute(sa.select(meta))}


def _outcome_columns(receipt: Receipt, failure: str | None) -> dict[str, Any]:
    summary = receipt.summary()
    return {"status": summary["status"], "layer": summary["layer"], "route": summary["route"],
            "records": summary["records"], "errors": summary["errors"],
            "warnings": summary["warnings"], "failure": failure,
            "duplicate_of": receipt.duplicate_of,
            "registry_entry": _json_or_none(receipt.registry_entry),
            "obligations": _json_or_none(receipt.obligations)}


def _json_or_none(value: Any) -> str | None:
    return None if not value else json.dumps(value, sort_keys=True)


def _submission(row: sa.Row[Any]) -> Submission:
    mapping = row._mapping
    return Submission(**{column: mapping[column] for column in COLUMNS})
