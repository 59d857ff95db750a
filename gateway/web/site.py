"""The site as the console reads it: the one module of ``gateway.web`` that imports the
gateway's config, ledger, folder layout, names, registry, compliance and receipts.

Everything the console knows comes from the same files and database ``gateway serve`` uses;
nothing here imports the daemon's service (the console runs in its own process, possibly on
another host).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import threading
import time as clock
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gateway.contract.reference import DatasetInfo, ReferenceEntry, ReferenceView
from gateway.contract.registry import Registry
from gateway.readers.limits import Limits
from gateway.receipts.model import new_submission_id
from gateway.site.config import Config, find_config, load_config
from gateway.site.layout import iter_submitters
from gateway.site.ledger import Ledger, State, Submission, now_text
from gateway.site.ledger.backends import READ_ONLY
from gateway.site.ledger.schema import (
    ANSWERS_WHERE,
    web_accounts,
    web_audit,
    web_failures,
    web_sessions,
    web_tokens,
    web_uploads,
)
from gateway.site.ledger.schema import submissions as submissions_table
from gateway.site.names import is_submitter_id, is_temporary, is_valid_upload_name
from gateway.submitters.compliance import Answer, Line, answers_from, report
from gateway.submitters.obligations import Owed
from gateway.submitters.registry_file import RegistryError, load_registry
from gateway.submitters.windows import SubmitterPolicy, today

__all__ = ["READ_ONLY", "Config", "Ledger", "Line", "Registry", "RegistryError", "Site", "State",
           "Submission", "is_submitter_id", "is_temporary", "is_valid_upload_name",
           "load_site", "now_text", "submissions_table", "web_accounts", "web_audit",
           "web_failures", "web_sessions", "web_tokens", "web_uploads"]

NOT_READ = ("symlink", "hardlink", "special", "unreadable")
# the latest answer of each (submitter, obligations answered, status): (received_at, id)
Groups = dict[tuple[str, str | None, str], tuple[str, str]]


class ReplayRefused(RuntimeError):
    """The submission cannot be validated again (never read, or not filed yet)."""


@dataclass
class Site:
    """One installation as the console serves it: its settings and its open ledger."""

    config: Config
    ledger: Ledger
    _registry: tuple[tuple[int, int, int], Registry] | None = None
    _owed: dict[tuple[tuple[int, ...], str | None], _OwedOnce] = field(default_factory=dict)
    _reports: dict[tuple[tuple[int, ...], str | None], _ReportOnce] = field(
        default_factory=dict)
    _answers: dict[tuple[str | None, date], _AnswersOnce] = field(default_factory=dict)
    # one report is made at a time: a request that comes while another (or the warm-up at
    # start) makes one waits for it and takes what it made instead of making it again
    _making: threading.RLock = field(default_factory=threading.RLock)
    _reading_registry: threading.Lock = field(default_factory=threading.Lock)

    @property
    def engine(self) -> sa.Engine:
        return self.ledger.engine

    @property
    def policy(self) -> SubmitterPolicy:
        return SubmitterPolicy(late=self.config.late, timezone=self.config.timezone)

    @property
    def max_upload_bytes(self) -> int:
        megabytes = self.config.web_max_upload_mb
        return megabytes * 1024 * 1024 if megabytes else Limits().max_file_bytes

    def today(self) -> date:
        return today(self.config.timezone)

    def upload_folder(self, submitter: str) -> Path:
        if not is_submitter_id(submitter):
            raise ValueError("not a submitter id")
        return self.config.inbox / submitter / "upload"

    def registry(self) -> Registry | None:
        """The registry as ``gateway serve`` would load it now (None: there is none);
        raises ``RegistryError`` for a file the gateway refuses. Read again only when the
        file changed. Checking 2,000 entries against the registry schema takes 0.4 s: when
        the site's daemon says (ledger meta) it put this very text in force, that check is
        not made again (``parse_registry``)."""
        try:
            facts = self.config.registry.stat()
        except FileNotFoundError:
            return None
        key = (facts.st_ino, facts.st_mtime_ns, facts.st_size)
        with self._reading_registry:  # the warm-up and a page may ask at once: read it once
            if self._registry is None or self._registry[0] != key:
                self._registry = (key, load_registry(self.config.registry,
                                                     self._registry_in_force()))
            return self._registry[1]

    def _registry_in_force(self) -> str | None:
        """The digest of the registry text a daemon of this site checked and put in force,
        as it recorded it in the ledger (None: none is, or it runs on a kept copy)."""
        meta = self.ledger.meta()
        if meta.get("registry_state") != "in force":
            return None
        return meta.get("registry_digest") or None

    def status(self) -> dict[str, Any]:
        """What ``gateway status`` shows, read from the ledger the daemons keep (so it is
        true on any host): the daemons whose lease is alive, intake health, files waiting and
        in progress, blocked submitters and why, the registry in force or refused."""
        now = clock.time()
        meta = self.ledger.meta()
        alive = [d for d in self.ledger.daemons() if d.alive(now)]
        return {
            "running": bool(alive),
            "daemons": [{"daemon": d.daemon_id, "host": d.host, "pid": d.pid,
                         "started_at": d.started_at,
                         "lease_left": max(0, round(d.lease_until - now))} for d in alive],
            "intake_healthy": meta.get("intake_healthy") == "yes" if alive else None,
            "watcher": meta.get("watcher"), "last_rescan_at": meta.get("last_rescan_at"),
            "disk_full": meta.get("disk_full") == "yes" if alive else None,
            "last_failure": meta.get("failure") or None,
            "blocked_submitters": json.loads(meta.get("blocked_submitters") or "{}"),
            "waiting_in_upload": self._waiting(),
            "in_progress": self.ledger.count_unfinished(),
            "missing_folders": [str(folder) for folder in (self.config.inbox,
                                                           self.config.state)
                                if not folder.is_dir()],
            "registry": {key: meta.get(f"registry_{key}")
                         for key in ("state", "submitters", "digest", "refused")},
        }

    def _waiting(self) -> int:
        """Finished uploads waiting in every ``upload/`` folder (not the ones in progress)."""
        total = 0
        for folders in iter_submitters(self.config):
            with contextlib.suppress(OSError):
                total += sum(1 for name in os.listdir(folders.upload)
                             if not is_temporary(name))
        return total

    def compliance(self, years: list[int], submitter: str | None,
                   as_of: date | None = None) -> list[Line]:
        """The lines of ``gateway compliance`` for ``years`` (one submitter's, or all). The
        list is kept and handed out again until the ledger, the registry, the reference data
        or the day changes: callers must not change it. Blocking (a cold report takes a few
        tenths of a second): the console calls it from a worker thread."""
        with self._making:
            return self._compliance(years, submitter, as_of)

    def warm_up(self) -> None:
        """What the first compliance request after start would otherwise pay, done when the
        console starts (``gateway.web.app`` runs it in a thread; requests are answered
        meanwhile, and one that needs the report waits for it): the engine and the plugins
        loaded, the registry read and checked, and the matrix of the current year, the page's
        default, with the ledger's latest answers that every year's report reads (so the
        first matrix of another year pays only its own obligations and matching). A refused
        or missing registry leaves nothing to warm (the pages say why)."""
        with self._making:
            from gateway.engine.pipeline import default_plugins

            default_plugins()
            with contextlib.suppress(RegistryError):
                if self.registry() is not None:
                    self._answers_by(None, self.today(), self._ledger_stamp())
                    self._compliance([self.today().year], None, None)

    def _compliance(self, years: list[int], submitter: str | None,
                    as_of: date | None) -> list[Line]:
        from gateway.engine.obligations import owed
        from gateway.engine.pipeline import default_plugins
        from gateway.site.reference.store import reference_view

        registry = self.registry()
        if registry is None:
            return []
        if submitter is not None and registry.active(submitter) is None:
            return []
        day = as_of or self.today()
        reference = _InfoOnce(reference_view(self.config.ledger_location))
        key = (tuple(years), submitter)
        known = self._owed.get(key)
        if known is None or not known.holds(registry, reference):
            with without_cycle_collection():
                lines = owed(default_plugins(), registry, years, submitter, reference)
            known = _OwedOnce(registry, dict(reference.known), lines)
            if len(self._owed) >= 8:  # a few years and calendars; never unbounded
                self._owed.clear()
            self._owed[key] = known
        if not known.lines:  # nothing owed (a year the families have no windows for)
            return []
        stamp = self._ledger_stamp()
        made = self._reports.get(key)
        if made is None or not made.holds(known, day, stamp):
            answers = self._answers_by(submitter, day, stamp)
            with without_cycle_collection():
                lines = report(known.lines, answers, day, self.config.timezone)
            made = _ReportOnce(known, day, stamp, lines)
            if len(self._reports) >= 8:
                self._reports.clear()
            self._reports[key] = made
        return made.lines

    def _answers_by(self, submitter: str | None, day: date,
                    stamp: tuple[Any, ...]) -> list[Answer]:
        """The latest answers (``_latest_answers``) of one submitter or all, as of ``day``,
        kept while the ledger's stamp holds: they are the same for every year asked about
        (reading and parsing them is half of a cold report), so a second year, the calendar
        or the CSV after a change does not read them again. After a change on SQLite only
        the rows written since are read (``_caught_up``)."""
        key = (submitter, day)
        known = self._answers.get(key)
        if known is not None and known.stamp == stamp:
            return known.answers
        with without_cycle_collection():
            groups = self._caught_up(known, submitter, day) if known is not None else None
            if groups is None:
                groups = {(sender, obligations, status): (received_at, submission_id)
                          for sender, submission_id, received_at, obligations, status
                          in self._latest_answers(submitter, day)}
            answers = answers_from((sender, submission_id, received_at, obligations, status)
                                   for (sender, obligations, status), (received_at, submission_id)
                                   in groups.items())
        if key not in self._answers and len(self._answers) >= 8:
            self._answers.clear()  # a few readers (all, some submitters); never unbounded
        self._answers[key] = _AnswersOnce(stamp, groups, answers)
        return answers

    def _caught_up(self, known: _AnswersOnce, submitter: str | None,
                   day: date) -> Groups | None:
        """The groups of ``known`` brought up to date from the submissions written since
        (SQLite: the transitions after its rowid; a receipt or two between requests), or None
        when they must be read whole: on PostgreSQL, after many writes, or when a row that
        was the latest of its group changed (it may have left the group, and the one before
        it is not kept). A row that joins a group, or a newer one, is taken as the grouped
        query would take it: the largest ``received_at`` then ``submission_id``."""
        if self.engine.dialect.name != "sqlite" or known.stamp[0] is None:
            return None
        end = _end_of(day, self.config.timezone)
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as db:
            changed = list(db.execute(sa.text(
                "SELECT DISTINCT submission_id FROM transitions WHERE rowid > :last LIMIT 501"),
                {"last": known.stamp[0]}).scalars())
            if len(changed) > 500:
                return None
            rows = [] if not changed else db.execute(
                sa.text(f"SELECT submitter, obligations, status, received_at, submission_id, "
                        f"({ANSWERS_WHERE}) AS answers FROM submissions "
                        "WHERE submission_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)), {"ids": changed}).all()
        latest = {submission_id for _, submission_id in known.groups.values()}
        if any(row.submission_id in latest for row in rows):
            return None
        groups = dict(known.groups)
        for sender, obligations, status, received_at, submission_id, answers in rows:
            if not answers or received_at >= end or submitter not in (None, sender):
                continue
            group = (sender, obligations, status)
            before = groups.get(group)
            if before is None or f"{received_at} {submission_id}" > " ".join(before):
                groups[group] = (received_at, submission_id)
        return groups

    def _ledger_stamp(self) -> tuple[Any, ...]:
        """What changes whenever a submission row does: every write the ledger makes to
        ``submissions`` (a new row, a state with its status and answered obligations, a
        forgotten claim) logs a row in ``transitions`` in the same transaction, and rows of
        that table are never deleted. On SQLite, whose writers take turns and whose rowids
        grow in commit order, its largest rowid says it all (read from the end of the table's
        b-tree: 0.1 ms, where a count of a million rows takes 130 ms). PostgreSQL commits
        several hosts' transactions in any order, so the newest ``at`` alone could miss a
        row committed just after with an older time: the stamp is the newest ``at`` and the
        count of transitions from an hour before it, both read from the index ``transitions_at``
        (migration 0007). A row stamped over an hour before the newest one when it commits (a
        transaction open for an hour, a host's clock an hour behind: the daemons' leases
        already need clocks in step) would show with the next change."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as db:
            if self.engine.dialect.name == "sqlite":
                return tuple(db.execute(sa.text("SELECT max(rowid) FROM transitions")).one())
            newest = db.execute(sa.text("SELECT max(at) FROM transitions")).scalar()
            if newest is None:
                return (None, 0)
            recent = db.execute(sa.text("SELECT count(*) FROM transitions WHERE at >= :floor"),
                                {"floor": _hour_before(newest)}).scalar()
            return (newest, recent)

    def _latest_answers(self, submitter: str | None, day: date
                        ) -> list[tuple[str, str, str, str | None, str]]:
        """The rows ``gateway compliance`` reads (``Ledger.answers``), reduced in the database
        to the latest of each (submitter, obligations answered, status) received by the end
        of ``day``: the compliance report only ever uses the latest accepted and the latest
        rejected answer of an obligation, and grouping by the exact obligations text keeps
        each obligation's latest. A ledger of 200,000 submissions gives some thousand rows."""
        end = _end_of(day, self.config.timezone)
        # The terms of ``ANSWERS_WHERE`` spelt exactly as the partial index
        # ``submissions_answers`` has them, so that the database reads the groups in order
        # from that index alone. SQLite is told to (it would otherwise walk every filed row
        # through ``submissions_state`` and sort them: 1.9 s instead of 0.4 s for 200,000).
        one = " AND submitter = :submitter" if submitter is not None else ""
        values = {"end": end}
        if submitter is not None:
            values["submitter"] = submitter
        where = f"WHERE {ANSWERS_WHERE} AND received_at < :end{one}"
        if self.engine.dialect.name != "sqlite":
            # PostgreSQL hashes a GROUP BY of 200,000 rows, spilling to disk (1.1-1.5 s); the
            # first row of each group walking the same index backwards takes 0.4 s
            query = sa.text(
                "SELECT DISTINCT ON (submitter, obligations, status) submitter, obligations, "
                f"status, received_at, submission_id FROM submissions {where} "
                "ORDER BY submitter DESC, obligations DESC, status DESC, received_at DESC, "
                "submission_id DESC")
            with self.engine.connect().execution_options(**{READ_ONLY: True}) as db:
                return [(sender, submission_id, received_at, obligations, status)
                        for sender, obligations, status, received_at, submission_id
                        in db.execute(query, values)]

        def query(hint: str) -> sa.TextClause:
            return sa.text(
                "SELECT submitter, obligations, status, "
                "max(received_at || ' ' || submission_id) "
                f"FROM submissions{hint} {where} GROUP BY submitter, obligations, status")

        with self.engine.connect().execution_options(**{READ_ONLY: True}) as db:
            try:
                rows = db.execute(query(" INDEXED BY submissions_answers"), values).all()
            except sa.exc.OperationalError:
                # a ledger migrated by an early build of 0005 lacks the index: slower, same rows
                db.rollback()
                rows = db.execute(query(""), values).all()
        out = []
        for sender, obligations, status, last in rows:
            received_at, _, submission_id = last.partition(" ")
            out.append((sender, submission_id, received_at, obligations, status))
        return out

    def request_replay(self, original: Submission) -> str:
        """Record a ``requested`` replay of ``original`` (as ``gateway replay`` does); a live
        daemon takes the request when it next renews its lease (a few seconds: the console
        may run on another host, so it signals no process)."""
        if original.problem in NOT_READ:
            raise ReplayRefused("the file was never read; there is nothing to validate")
        if original.state != State.FILED or not original.stored_path:
            raise ReplayRefused("the submission is not filed yet")
        replay_id = new_submission_id()
        self.ledger.add(Submission(
            submission_id=replay_id, submitter=original.submitter,
            upload_name=original.upload_name, name=original.name, state=State.REQUESTED,
            received_at=original.received_at,
            problem="name" if original.problem == "name" else None,
            replaces=original.submission_id))
        return replay_id


def _end_of(day: date, timezone: str) -> str:
    """The first instant after ``day`` in the program's time zone, as the ledger writes one."""
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(timezone))
    return end.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _hour_before(written: str) -> str:
    """The ledger's time text (``2026-12-06T05:58:41.123Z``) an hour earlier, written the same
    way so that the two compare as text; a time not written so gives "" (every row counts:
    slower, still right)."""
    try:
        moment = datetime.fromisoformat(written.replace("Z", "+00:00")) - timedelta(hours=1)
    except ValueError:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@contextlib.contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Build a large report without Python's cycle collector running in the middle. Reading
    30,000 answers and making 24,000 lines allocates some 100,000 small objects, none of them
    in a cycle (freed by their reference counts as ever); each allocation burst would start a
    collection that walks the whole heap (the registry, the obligations owed), which measured
    half of the work. The collector is turned on again at the end if it was on."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


class _InfoOnce(ReferenceView):
    """A reference view that asks the database for a dataset's facts once per report (a
    family may ask for every one of 2,000 submitters)."""

    def __init__(self, inner: ReferenceView) -> None:
        self.inner = inner
        self.known: dict[str, DatasetInfo | None] = {}

    def info(self, dataset: str) -> DatasetInfo | None:
        if dataset not in self.known:
            self.known[dataset] = self.inner.info(dataset)
        return self.known[dataset]

    def get_many(self, dataset: str, keys: Iterable[str]) -> dict[str, ReferenceEntry]:
        return self.inner.get_many(dataset, keys)

    def entries(self, dataset: str) -> Iterator[ReferenceEntry]:
        return self.inner.entries(dataset)


@dataclass(frozen=True)
class _OwedOnce:
    """What every submitter owed for some years, with what it was computed from: the
    families' answer is a function of the registry and the reference datasets they asked
    about (the opioid family's health systems owe forms for the prescribers of the feed last
    accepted), so it holds while the registry is the same object and every dataset asked
    about still has the same last writer. Expanding 2,000 submitters' obligations through
    every family takes most of a second; checking costs one query per dataset."""

    registry: Registry
    consulted: dict[str, DatasetInfo | None]
    lines: list[Owed]

    def holds(self, registry: Registry, reference: ReferenceView) -> bool:
        return (registry is self.registry
                and all(reference.info(dataset) == info
                        for dataset, info in self.consulted.items()))


@dataclass(frozen=True)
class _AnswersOnce:
    """The latest answer of each (submitter, obligations answered, status) as of a day, with
    the ledger stamp they were read at, and the answers made of them."""

    stamp: tuple[Any, ...]
    groups: Groups
    answers: list[Answer]


@dataclass(frozen=True)
class _ReportOnce:
    """The compliance lines of one report with what they were computed from: the obligations
    owed (the same ``_OwedOnce``, itself checked against the registry and reference data), the
    program day, and the ledger's change stamp. Matching 30,000 answers to 24,000 obligations
    costs about a second; a console reloading the matrix between receipts pays it once."""

    owed: _OwedOnce
    day: date
    stamp: tuple[Any, ...]
    lines: list[Line]

    def holds(self, owed: _OwedOnce, day: date, stamp: tuple[Any, ...]) -> bool:
        return owed is self.owed and day == self.day and stamp == self.stamp


def load_site(config_path: Path | None) -> Site:
    """The site the config names (found as ``gateway serve`` finds it), its ledger migrated
    when it is a local SQLite file (as ``serve`` does) and required current otherwise."""
    config = load_config(find_config(config_path))
    if not config.shared_ledger:
        config.state.mkdir(parents=True, exist_ok=True)
    return Site(config=config, ledger=Ledger(config.ledger_location, create=True))
