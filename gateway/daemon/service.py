"""``gateway serve``: the loop that turns uploads into receipts and never loses one.

One thread owns every durable step (ledger, spool, receipts, archive); watchdog's thread only
queues hints and worker processes only compute receipts. Each turn of the loop:

1. turn event hints and, when due, a full rescan into sightings for the settle tracker;
2. claim settled uploads (rename into the spool), no more than the workers can soon take;
3. inspect claimed files, answer those that need no validation (links, bad names, duplicates)
   and hand the rest to idle workers;
4. wait briefly for worker outcomes; for each, write the receipt and file the original;
5. keep the watcher alive and tell systemd how things stand.

Every submission passes claimed -> validated -> receipt_written -> filed in the ledger, and a
starting daemon resumes each unfinished one from the state it reached (``recovery.py``). Several
daemons may share one inbox and one PostgreSQL ledger: each row has an owner, each daemon keeps
a lease (``membership.py``), and the rows of a daemon that died are taken over by the others.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import structlog

from gateway.catalog import Catalog
from gateway.daemon import own_receipts
from gateway.daemon.claim import claim, inspect, spool_path
from gateway.daemon.config import Config, ConfigError
from gateway.daemon.handle_log import SessionLog, Writes
from gateway.daemon.health import (
    GUARD_INTERVAL,
    SPACE_RETRY,
    DiskSpace,
    FolderFault,
    FolderGuard,
    FolderLost,
    SubmitterTrouble,
    out_of_space,
    receipts_folder_problem,
    upload_folder_problem,
)
from gateway.daemon.layout import check_layout, iter_submitter_roots, submitter_folders
from gateway.daemon.leases import choose_writer_check, ignore_lease_breaks, path_open_for_writing
from gateway.daemon.ledger import Ledger, LostClaim, State, Submission, now_text
from gateway.daemon.lock import InstanceLock
from gateway.daemon.markers import (
    MARKER_RECHECK,
    age,
    data_file_of,
    is_marker,
    marker_of,
    marker_settled,
    read_marker,
    spool_marker,
)
from gateway.daemon.membership import Membership, new_daemon_id
from gateway.daemon.metrics import Metrics
from gateway.daemon.notify import Notifier
from gateway.daemon.recovery import (
    clean_leftovers,
    existing_receipt,
    file_original,
    prepare_replay,
)
from gateway.daemon.rescan import RESCAN, rescan
from gateway.daemon.settle import WRITER_RECHECK, Settled, SettleTracker, Signature
from gateway.daemon.watch import Hint, Watcher
from gateway.daemon.workers import Job, Outcome, WorkerPool, resolve_pipeline
from gateway.logging_setup import get_logger, log_submission
from gateway.plugin_manager import load_plugins
from gateway.receipts.model import Receipt, Status
from gateway.receipts.store import write_receipt
from gateway.reference.database import ReferenceStore
from gateway.submitters.keeper import RegistryKeeper, RegistryUnavailable
from gateway.submitters.windows import SubmitterPolicy

log = get_logger("gateway.daemon")

MAX_WAIT = 0.5  # seconds the loop may block when nothing is due
CLAIM = "claim"  # SubmitterTrouble's source for a claim that failed
HINTS_PER_TURN = 10_000
DUPLICATE_RECHECK = 1.0  # seconds between looks at a first copy another daemon holds
WORKER_REPLACED = ("crashed", "time", "memory")  # failures after which a worker is started
KEPT_REGISTRY = "registry.last-good.toml"  # in the state folder: what a refused file falls to


@dataclass
class Task:
    """A claimed submission on its way to a receipt, with the clocks for its summary line."""

    submission: Submission
    settled: Signature | None = None
    not_before: float = 0.0
    claimed_at: float = field(default_factory=time.monotonic)
    dispatched_at: float | None = None
    held: bool = False  # found still being written after the claim (logged once)
    receipt: Receipt | None = None  # known, not yet delivered (the disk was full)
    failure: str | None = None
    writes: Writes | None = None  # what the SFTP server said about its writers
    timings: dict[str, float] = field(default_factory=dict)


class Service:
    """The daemon. ``run`` serves until a signal; ``drain`` finishes what the ledger holds and
    returns (``gateway replay`` uses it when no daemon runs)."""

    def __init__(self, config: Config, *, intake: bool = True) -> None:
        check_layout(config)
        self.config = config
        self.intake = intake
        self.catalog: Catalog = load_plugins().catalog
        resolve_pipeline(config.pipeline)  # fail now, not on every file, when it cannot import
        self.metrics = Metrics()
        self.ledger = Ledger(config.ledger_location, create=not config.shared_ledger,
                             owner=new_daemon_id(), timer=self.metrics.ledger_operation)
        self.membership = Membership(self.ledger, config.lease,
                                     exclusive=not config.shared_ledger)
        self.daemon_id = self.membership.daemon_id
        self.reference = ReferenceStore(self.ledger.engine)
        self.registry = RegistryKeeper(config.registry, required=config.registry_configured,
                                       on_change=self._registry_changed,
                                       keep=config.state / KEPT_REGISTRY)
        try:
            self.registry.start()
        except RegistryUnavailable as err:
            self.ledger.close()
            raise ConfigError(str(err)) from None
        self.policy = SubmitterPolicy(late=config.late, timezone=config.timezone)
        self.hints: queue.SimpleQueue[Hint] = queue.SimpleQueue()
        self.watcher = Watcher(config, self.hints)
        self.writer_check = choose_writer_check(config.inbox, config.writer_check)
        self.tracker = SettleTracker(
            config.quiet_period,
            writer_open=path_open_for_writing if self.writer_check.by_kernel else None)
        self.notifier = Notifier()
        self.tasks: deque[Task] = deque()
        self.running: dict[str, Task] = {}
        self.waiting: dict[str, list[Task]] = {}  # first submission id -> its duplicates
        self.capacity = max(2, 2 * config.workers)
        self.pool: WorkerPool  # started by run() or drain()
        self._stop_signal: int | None = None
        self._nudged = False
        self._stopping = False
        self._rescan_due = 0.0
        self._healthy: bool | None = None
        self._cleaned_after: set[str] = set()  # dead daemons whose leftovers were removed
        self._last_rescan_at: str | None = None
        self.trouble = SubmitterTrouble(on_change=self.metrics.submitter_blocked)
        self._claim_retry: dict[str, float] = {}  # submitter -> when to try its claims again
        self.space = DiskSpace(lambda full: self._set_meta(disk_full=full))
        self._guard_due = 0.0
        self.sessions: SessionLog | None = None  # the SFTP servers' handle log (``run`` only)

    def _registry_changed(self, values: dict[str, str]) -> None:
        self.ledger.set_meta(**values)
        self.metrics.registry_refused(self.registry.refused)

    def _open_pool(self, size: int) -> WorkerPool:
        return WorkerPool(size, pipeline=self.config.pipeline,
                          time_limit=self.config.time_limit,
                          memory_limit_mb=self.config.memory_limit_mb,
                          log_format=self.config.log_format, log_level=self.config.log_level,
                          recycle_rss_mb=self.config.recycle_rss_mb,
                          max_jobs=self.config.max_jobs)

    # -- the two ways to run -------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT, then finish the files in hand and return. Raises
        ``AlreadyRunning`` when another daemon uses the same state folder. Every other way it
        ends is said in one log line, and a failure is kept for ``gateway status``."""
        lock = InstanceLock(self.config.lock_file)
        if not self.config.shared_ledger:
            lock.acquire()  # on SQLite this daemon is the only one; on PostgreSQL, one of many
        self._note_previous_run()
        guard = FolderGuard({"inbox": self.config.inbox, "state": self.config.state})
        pool_open = False
        try:
            self._install_signals()
            ignore_lease_breaks()
            self.pool = self._open_pool(self.config.workers)
            pool_open = True
            if self.config.metrics_port:
                self.metrics.serve(self.config.metrics_port, self.config.metrics_address)
            self._serve(guard)
            log.info("stopped", reason=signal.Signals(self._stop_signal or 0).name
                     if self._stop_signal else "asked to stop")
        except FolderLost as lost:
            # Nothing can be served without these folders; say so and let systemd restart
            # (and alert) rather than watch nothing.
            log.error("folder_lost", reason=str(lost))
            self.notifier.status(f"stopped: {lost}")
            self._set_meta(failure=str(lost))
            raise
        except Exception as err:
            # Environmental failures (a full disk, lost permissions, a worker pool that cannot
            # start) end the process; systemd restarts it and recovery resumes every submission
            # where it stopped.
            stage = "serving" if pool_open else "starting the worker pool"
            log.exception("daemon_failed", stage=stage, reason=f"{type(err).__name__}: {err}")
            self._set_meta(failure=f"daemon_failed while {stage}: {type(err).__name__}: {err}")
            raise
        finally:
            self.watcher.stop()
            if pool_open:
                self.pool.close()
            if self.sessions is not None:
                self.sessions.close()
            self._set_meta(stopped_at=now_text())
            self.membership.leave()
            self.notifier.close()
            self.ledger.close()
            lock.release()

    def _serve(self, guard: FolderGuard) -> None:
        self.sessions = SessionLog(self._chroots())
        self.sessions.start()
        self.membership.join(self.config.watcher)
        self._resume()
        self.watcher.supervise()
        log.info("serving", inbox=str(self.config.inbox), watcher=self.config.watcher,
                 workers=self.config.workers, quiet_period=self.config.quiet_period,
                 rescan_interval=self.config.rescan_interval, pid=os.getpid(),
                 writer_check=self.writer_check.name, why=self.writer_check.reason,
                 daemon=self.daemon_id, ledger=str(self.ledger),
                 metrics_port=self.config.metrics_port,
                 interruption_signal=self.sessions.listening)
        self.ledger.set_meta(pid=str(os.getpid()), started_at=now_text(),
                             watcher=self.config.watcher,
                             writer_check=self.writer_check.name,
                             writer_check_reason=self.writer_check.reason,
                             failure="", blocked_submitters="{}", disk_full="no",
                             **self._signal_meta())
        self.notifier.ready("serving")
        while not self._stopping or self._in_hand():
            self._turn()
            if time.monotonic() >= self._guard_due:
                self._guard_due = time.monotonic() + GUARD_INTERVAL
                guard.check()

    def _note_previous_run(self) -> None:
        """A previous daemon that ended without a word (SIGKILL, power loss) is said now."""
        if self.config.shared_ledger:
            return
        meta = self.ledger.meta()
        started, stopped = meta.get("started_at"), meta.get("stopped_at")
        if started and (not stopped or stopped < started):
            log.warning("previous_run_vanished", started_at=started, pid=meta.get("pid"),
                        detail="the previous daemon stopped without a word (killed, or the "
                               "machine lost power); its files are resumed")

    def drain(self) -> None:
        """Finish every unfinished submission in the ledger without taking new uploads, then
        return. The caller holds the instance lock."""
        signal.signal(signal.SIGUSR1, self._on_nudge)
        ignore_lease_breaks()
        self.pool = self._open_pool(1)
        try:
            self.membership.join(None)
            self._resume()
            while self._in_hand():
                self._turn()
        finally:
            self.pool.close()
            self.membership.leave()
            self.ledger.close()

    # -- signals -------------------------------------------------------------------------------

    def _install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_nudge)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        # Only a flag: the loop notices within MAX_WAIT and stops taking new files.
        if self._stop_signal is None:
            self._stop_signal = signum

    def _on_nudge(self, signum: int, frame: FrameType | None) -> None:
        self._nudged = True  # `gateway replay` asks for an immediate look at the ledger

    # -- one turn of the loop ------------------------------------------------------------------

    def _in_hand(self) -> int:
        return (len(self.tasks) + len(self.running)
                + sum(len(tasks) for tasks in self.waiting.values()))

    def _turn(self) -> None:
        if self._stop_signal is not None and not self._stopping:
            self._begin_stopping()
        if self._nudged:
            self._nudged = False
            self._adopt()
        if self.membership.renew_due():
            self._keep_lease()
        self.registry.refresh()  # an edit takes effect from the next file on
        serving = self.intake and not self._stopping
        if serving:
            self._take_hints()
            if time.monotonic() >= self._rescan_due:
                self._rescan()
            self._claim_settled()
        self._advance()
        for outcome in self.pool.collect(self._wait_time(serving)):
            self._on_outcome(outcome)
        if serving:
            if self.watcher.supervise():
                self._rescan_due = 0.0  # events may have been missed while it was down
            self._report_health()

    def _begin_stopping(self) -> None:
        """Stop taking files; what is in hand is finished before ``run`` returns."""
        self._stopping = True
        self.watcher.stop()
        self.notifier.stopping(f"finishing {self._in_hand()} files")
        log.info("stopping", signal=signal.Signals(self._stop_signal or 0).name,
                 in_hand=self._in_hand())

    def _wait_time(self, serving: bool) -> float:
        now = time.monotonic()
        # Tasks due now are waiting for a worker; only a later not_before is a deadline here.
        due = [MAX_WAIT, *(t.not_before - now for t in self.tasks if t.not_before > now)]
        if serving:
            due.append(self._rescan_due - now)
            next_settle = self.tracker.next_due()
            if next_settle is not None and self._in_hand() < self.capacity:
                due.append(next_settle)
        return max(0.0, min(due))

    # -- intake --------------------------------------------------------------------------------

    def _take_hints(self) -> None:
        for _ in range(HINTS_PER_TURN):
            try:
                path, submitter = self.hints.get_nowait()
            except queue.Empty:
                return
            self.tracker.see(path, submitter)

    def _rescan(self) -> None:
        started = time.monotonic()
        waiting = rescan(self.config, self.tracker, self.trouble)
        self.metrics.waiting(waiting)
        self._last_rescan_at = now_text()
        self._rescan_due = time.monotonic() + self.config.rescan_interval
        if self.sessions is not None:
            self.sessions.update(self._chroots())
            self.metrics.interruption_signal_missing(len(self.sessions.missing))
        self._set_meta(last_rescan_at=now_text(), waiting=str(waiting),
                       blocked_submitters=self.trouble.as_text(),
                       **self._signal_meta())
        log.debug("rescan", waiting=waiting, seconds=round(time.monotonic() - started, 4))

    def _claim_settled(self) -> None:
        room = self.capacity - self._in_hand()
        now = time.monotonic()
        if room <= 0 or not self.space.may_claim(now):
            return
        # A submitter whose folder the rescan found unusable waits for the rescan to clear it;
        # one whose claim failed is tried again at the rescan's pace.
        ready = self.tracker.settled(
            limit=room, eligible=lambda submitter: (
                self.trouble.source(submitter) in (None, CLAIM)
                and self._claim_retry.get(submitter, 0.0) <= now))
        for settled in ready:
            if self._waits_for_marker(settled):
                self.tracker.defer(settled.path, MARKER_RECHECK)
                continue
            self.tracker.forget(settled.path)
            self._claim(settled, now)

    def _marker_required(self, submitter: str) -> bool:
        registry = self.registry.registry
        entry = registry.active(submitter) if registry is not None else None
        return entry is not None and entry.complete_marker is not None

    def _waits_for_marker(self, settled: Settled) -> bool:
        """A completion-marker submitter's data file waits for its settled ``NAME.sha256`` (or
        for ``marker_wait`` to pass); the marker itself waits for its data file, and is taken
        as an upload of its own only when it has none after the same wait."""
        if not self._marker_required(settled.submitter):
            return False
        path = settled.path
        if is_marker(path.name):
            return (os.path.lexists(data_file_of(path))
                    or age(path) < self.config.marker_wait)
        marker = marker_of(path)
        writer = (path_open_for_writing(marker) if self.writer_check.by_kernel else None)
        if marker_settled(marker, self.config.quiet_period, writer):
            return False
        return age(path) < self.config.marker_wait

    def _claim(self, settled: Settled, now: float) -> None:
        problem = upload_folder_problem(settled.path.parent)
        if problem is not None:  # e.g. setgid lost since the rescan: files there would be
            self.trouble.report(settled.submitter, problem, RESCAN)  # unreadable to us
            self._set_meta(blocked_submitters=self.trouble.as_text())
            self.tracker.see(settled.path, settled.submitter)
            return
        try:
            submission = claim(settled, self.config, self.ledger, owner=self.daemon_id)
        except Exception as err:
            self.tracker.see(settled.path, settled.submitter)  # it waits in upload/
            if out_of_space(err):
                self.space.note(full=True)
                return
            if not isinstance(err, OSError):
                raise
            # One submitter's folder must not stop the others: its files wait, it is said
            # once, and the claim is tried again at the pace of the rescan.
            self.trouble.report(settled.submitter, "the gateway cannot move files out of its "
                                f"upload/ folder ({err.strerror})", CLAIM)
            self._claim_retry[settled.submitter] = now + self.config.rescan_interval
            self._set_meta(blocked_submitters=self.trouble.as_text())
            return
        self.space.note(full=False)
        if self.trouble.blocked(settled.submitter):
            self.trouble.clear(settled.submitter, CLAIM)
            self._set_meta(blocked_submitters=self.trouble.as_text())
        if submission is None:
            return
        self.metrics.taken()
        writes = (self.sessions.take(submission.submitter, settled.path.name)
                  if self.sessions is not None else None)
        if self._marker_required(submission.submitter):
            self._take_marker(settled.path, submission)
        with structlog.contextvars.bound_contextvars(submission_id=submission.submission_id):
            log.info("claimed", submitter=submission.submitter, name=submission.name,
                     signal="sftp_log" if writes is not None else None)
        self.tasks.append(Task(submission, settled.signature, writes=writes))

    def _take_marker(self, upload: Path, submission: Submission) -> None:
        """The marker goes into the spool beside its file (a restart still checks it)."""
        with contextlib.suppress(FileNotFoundError):  # never came: answered as such
            os.rename(marker_of(upload), spool_marker(self.config.spool,
                                                      submission.submission_id))

    def _adopt(self) -> None:
        """Take over what no live daemon carries on: replays that ``gateway replay`` recorded,
        and the unfinished submissions of daemons that died (this one's predecessor too)."""
        known = {task.submission.submission_id for task in self._all_tasks()}
        resumed = 0
        for submission in self.membership.orphans():
            if submission.submission_id in known or not self.ledger.take_over(submission):
                continue
            with structlog.contextvars.bound_contextvars(
                    submission_id=submission.submission_id):
                try:
                    task = self._resume_one(submission)
                except LostClaim:
                    continue
            if task is not None:
                self.tasks.append(task)
                resumed += 1
        if resumed:
            log.info("resuming", submissions=resumed)

    def _keep_lease(self) -> None:
        """Renew this daemon's lease, take over what dead daemons left, and refresh the numbers
        that describe the whole ledger."""
        self.membership.renew(intake_healthy=self._healthy, last_rescan_at=self._last_rescan_at)
        self.metrics.lease(self.membership.lease_until)
        dead = self.membership.dead()
        if dead - self._cleaned_after:
            clean_leftovers(self.config, self.membership, dead)
            self._cleaned_after |= dead
        self._adopt()
        oldest = self.ledger.oldest_unfinished()
        self.metrics.oldest_unanswered(0.0 if oldest is None else time.time() - _epoch(oldest))

    def _all_tasks(self) -> list[Task]:
        return [*self.tasks, *self.running.values(),
                *(task for tasks in self.waiting.values() for task in tasks)]

    # -- from claimed to a receipt -----------------------------------------------------------

    def _advance(self) -> None:
        """Move claimed tasks on: inspect, answer without the pipeline, or dispatch."""
        now = time.monotonic()
        for task in list(self.tasks):
            if task.not_before > now:
                continue
            with structlog.contextvars.bound_contextvars(
                    submission_id=task.submission.submission_id):
                try:
                    self._advance_one(task, now)
                except LostClaim:
                    self._let_go(task)
                except FileNotFoundError:
                    if self._still_mine(task):
                        raise
                    self._let_go(task)  # the new owner filed the spool file already
                except Exception as err:
                    if not out_of_space(err):
                        raise
                    task.not_before = now + SPACE_RETRY
                    self.space.note(full=True)
        self.metrics.queue(self._in_hand())

    def _set_meta(self, **values: str) -> None:
        """The heartbeat for ``gateway status``; losing one on a full disk is harmless."""
        try:
            self.ledger.set_meta(**values)
        except Exception as err:
            if not out_of_space(err):
                raise

    def _advance_one(self, task: Task, now: float) -> None:
        submission = task.submission
        if task.receipt is not None:  # known before the disk filled up
            self.tasks.remove(task)
            self._deliver(task, task.receipt, task.failure, **task.timings)
            return
        if (submission.state == State.REQUESTED
                and not prepare_replay(submission, self.config, self.ledger)):
            self.tasks.remove(task)
            return
        if (submission.sha256 is None and submission.problem is None
                and not self._inspect(task, now)):
            return
        registry = self.registry.registry
        if registry is not None and registry.active(submission.submitter) is None:
            self.tasks.remove(task)  # isolation: an unknown folder's file is not even read
            self._deliver(task, own_receipts.unknown_folder(submission))
            return
        if submission.problem is not None:
            self.tasks.remove(task)
            self._deliver(task, own_receipts.not_read(
                submission, _duration(self.config.marker_wait)))
            return
        if submission.replaces is None:
            answer = self._duplicate_answer(task)
            if answer == "wait":
                return
            if isinstance(answer, Receipt):
                self.tasks.remove(task)
                self._deliver(task, answer)
                return
        if self.pool.idle:
            self.tasks.remove(task)
            task.dispatched_at = now
            self.running[submission.submission_id] = task
            self.pool.submit(Job(submission.submission_id,
                                 str(spool_path(self.config, submission.submission_id)),
                                 submission.submitter, submission.name,
                                 submission.received_at, registry, self.policy,
                                 self.config.ledger_location))

    def _inspect(self, task: Task, now: float) -> bool:
        """Hash the spool copy; False while it is still being written (a writer that opened it
        before the claim still holds it, or, where the kernel cannot tell, it changed after it
        settled): it is looked at again later, and no verdict is given on a prefix."""
        submission = task.submission
        inspection = inspect(spool_path(self.config, submission.submission_id),
                             by_kernel=self.writer_check.by_kernel, expected=task.settled)
        if inspection.being_written:
            if not task.held:
                task.held = True
                log.warning("still_being_written", submitter=submission.submitter,
                            writer_check=self.writer_check.name)
            if task.settled is not None:
                task.settled = replace(task.settled, size=inspection.size,
                                       mtime_ns=inspection.mtime_ns)
            task.not_before = now + (WRITER_RECHECK if self.writer_check.by_kernel
                                     else self.config.quiet_period)
            return False
        problem = inspection.problem
        if problem == "unreadable" and _unreadable_by_group(
                spool_path(self.config, submission.submission_id)):
            # The file kept its group-read bit but got another group: upload/ lost its setgid
            # bit. The gateway's fault, not the submitter's `put -p`.
            problem = "folder_unreadable"
            self.trouble.report(submission.submitter, upload_folder_problem(
                submitter_folders(self.config, submission.submitter).upload)
                or "files in its upload/ arrive with a group the gateway is not in", RESCAN)
        if problem is None and task.writes is not None and self.sessions is not None:
            self.sessions.sync()
            if task.writes.writing and not self.writer_check.by_kernel:
                # the server still holds a handle on it: not finished, however quiet
                task.not_before = now + self.config.quiet_period
                return False
            if task.writes.interrupted:
                problem = "interrupted"
                log.warning("upload_interrupted", submitter=submission.submitter,
                            bytes=inspection.size)
        if problem is None and self._marker_required(submission.submitter):
            problem = self._marker_problem(submission, inspection.sha256)
        submission.problem = problem
        submission.bytes, submission.sha256 = inspection.size, inspection.sha256
        self.ledger.inspected(submission.submission_id, problem, inspection.size,
                              inspection.sha256)
        return True

    def _marker_problem(self, submission: Submission, sha256: str | None) -> str | None:
        marker = spool_marker(self.config.spool, submission.submission_id)
        if not os.path.lexists(marker):
            return "marker_missing"
        expected = read_marker(marker, submission.upload_name)
        if expected is None:
            return "marker_unreadable"
        return None if expected == sha256 else "marker_mismatch"

    def _duplicate_answer(self, task: Task) -> Receipt | str | None:
        """A duplicate receipt, "wait" (the first copy is still in hand), or None (validate):
        only the latest verdict on the same bytes under the same extension is repeated."""
        submission = task.submission
        assert submission.sha256 is not None
        if self.config.shared_ledger and self.ledger.unhashed_before(
                submission.submitter, submission.submission_id, self.daemon_id):
            task.not_before = time.monotonic() + DUPLICATE_RECHECK
            return "wait"
        first = self.ledger.first_with_content(submission.submitter, submission.sha256,
                                               before=submission.submission_id)
        if first is None:
            return None
        if first.state not in (State.RECEIPT_WRITTEN, State.FILED):
            if any(t.submission.submission_id == first.submission_id
                   for t in (*self.tasks, *self.running.values())):
                self.tasks.remove(task)
                self.waiting.setdefault(first.submission_id, []).append(task)
                return "wait"
            if first.owner is not None and first.owner != self.daemon_id:
                task.not_before = time.monotonic() + DUPLICATE_RECHECK  # another daemon's
                return "wait"
            return None
        latest = self.ledger.latest_outcome(submission.submitter, submission.sha256)
        if (latest is None or latest.receipt_path is None
                or _extension(latest.name) != _extension(submission.name)):
            # The verdict depends on the name through its extension (a workbook named .csv is
            # refused for that), so the same bytes under another extension are judged afresh.
            return None
        try:
            earlier = json.loads(Path(latest.receipt_path).read_text(encoding="utf-8"))
            # The submission whose verdict is repeated (a replay stands for what it replaced).
            return own_receipts.duplicate(submission, latest.replaces or latest.submission_id,
                                          earlier)
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("earlier_receipt_unreadable", first=first.submission_id)
            return None

    def _on_outcome(self, outcome: Outcome) -> None:
        task = self.running.pop(outcome.job.submission_id)
        with structlog.contextvars.bound_contextvars(
                submission_id=task.submission.submission_id):
            receipt = outcome.receipt
            self.metrics.validated(outcome.seconds)
            if outcome.failure in WORKER_REPLACED:
                self.metrics.worker_restarted()
            if receipt is None:
                log.error("worker_failed", failure=outcome.failure, detail=outcome.detail,
                          submitter=task.submission.submitter)
                receipt = own_receipts.failed(task.submission, outcome.failure or "crashed",
                                              time_limit=self.config.time_limit,
                                              memory_limit_mb=self.config.memory_limit_mb)
            receipt.replaces = task.submission.replaces
            try:
                self._deliver(task, receipt, outcome.failure, validate=outcome.seconds)
            except LostClaim:
                self._let_go(task)

    def _deliver(self, task: Task, receipt: Receipt, failure: str | None = None,
                 **timings: float) -> None:
        """``_finish``, or, when the disk is full, keep the outcome and try again later: every
        step is idempotent, so a half-done delivery is simply done again."""
        try:
            self._finish(task, receipt, failure, **timings)
        except Exception as err:
            if out_of_space(err):
                self._hold(task, receipt, failure, timings, SPACE_RETRY)
                self.space.note(full=True)
                return
            if isinstance(err, FolderFault) or self._submitter_fault(
                    task.submission.submitter, err):
                self._hold(task, receipt, failure, timings, self.config.rescan_interval)
                return
            raise
        self.space.note(full=False)

    def _hold(self, task: Task, receipt: Receipt, failure: str | None,
              timings: dict[str, float], delay: float) -> None:
        """Keep an outcome that could not be delivered yet and try again after ``delay``."""
        task.receipt, task.failure, task.timings = receipt, failure, timings
        task.not_before = time.monotonic() + delay
        self.tasks.append(task)

    def _submitter_fault(self, submitter: str, err: BaseException) -> bool:
        """Did delivering fail on this submitter's own folders (its receipts/ deleted,
        replaced or made unwritable)? Then only this submitter waits: the folder is repaired
        where the daemon safely can, otherwise reported with the operator's fix."""
        root = submitter_folders(self.config, submitter).upload.parent
        filename = getattr(err, "filename", None)
        if not isinstance(err, OSError) or filename is None or not Path(
                os.fsdecode(filename)).is_relative_to(root):
            return False
        folders = submitter_folders(self.config, submitter)
        problem = (receipts_folder_problem(folders.receipts, folders.upload)
                   or f"writing its receipt failed ({err.strerror}) in {root}")
        self.trouble.report(submitter, problem, RESCAN)
        self._set_meta(blocked_submitters=self.trouble.as_text())
        return True

    def _finish(self, task: Task, receipt: Receipt, failure: str | None = None,
                **timings: float) -> None:
        """Record the outcome, write the receipt, file the original, log the summary."""
        submission = task.submission
        folders = submitter_folders(self.config, submission.submitter)
        problem = receipts_folder_problem(folders.receipts, folders.upload)
        if problem is not None:  # never written through a link or into a stranger's folder
            self.trouble.report(submission.submitter, problem, RESCAN)
            self._set_meta(blocked_submitters=self.trouble.as_text())
            raise FolderFault(problem)
        self.ledger.validated(receipt, failure)
        # before the receipt: a crash in between validates again and the store skips the copy
        self.reference.remember(receipt)
        json_path, _ = write_receipt(receipt, folders.receipts, self.catalog,
                                     writer=self.daemon_id)
        self.ledger.receipt_written(submission.submission_id, json_path)
        self.metrics.receipt(receipt.route.family if receipt.route else None,
                             receipt.status.value)
        file_original(submission, receipt.status is not Status.REJECTED, self.config,
                      self.ledger)
        spool_marker(self.config.spool, submission.submission_id).unlink(missing_ok=True)
        if task.dispatched_at is not None:
            timings["queue"] = task.dispatched_at - task.claimed_at
        log_submission(log, receipt, **timings, total=time.monotonic() - task.claimed_at)
        for waiter in self.waiting.pop(submission.submission_id, []):
            self.tasks.appendleft(waiter)

    # -- start and health ----------------------------------------------------------------------

    def _resume(self) -> None:
        """Finish what previous processes left: see ``recovery.py`` for the state machine."""
        dead = self.membership.dead()
        clean_leftovers(self.config, self.membership, dead)
        self._cleaned_after = dead
        self._adopt()

    def _still_mine(self, task: Task) -> bool:
        row = self.ledger.get(task.submission.submission_id)
        return row is not None and row.owner == self.daemon_id

    def _let_go(self, task: Task) -> None:
        """Another daemon took this submission over (this one stalled past its lease)."""
        submission_id = task.submission.submission_id
        log.warning("claim_lost", submission_id=submission_id)
        if task in self.tasks:
            self.tasks.remove(task)
        self.running.pop(submission_id, None)
        for waiter in self.waiting.pop(submission_id, []):
            self.tasks.appendleft(waiter)

    def _resume_one(self, submission: Submission) -> Task | None:
        if submission.state == State.REQUESTED:
            return Task(submission)
        spool = spool_path(self.config, submission.submission_id)
        if submission.state in (State.CLAIMED, State.VALIDATED):
            if not os.path.lexists(spool):
                self.ledger.forget(submission.submission_id)
                log.info("claim_never_completed", submitter=submission.submitter)
                return None
            receipt_json = existing_receipt(submission, self.config)
            if receipt_json is None:
                return Task(submission)
            self.ledger.receipt_written(submission.submission_id, receipt_json)
            submission.status = submission.status or _status_of(receipt_json)
        file_original(submission, submission.status != Status.REJECTED.value, self.config,
                      self.ledger)
        log.info("filed_after_restart", submitter=submission.submitter)
        return None

    def _chroots(self) -> list[tuple[str, Path, Path]]:
        return [(f.submitter, f.upload.parent, f.upload) for f in iter_submitter_roots(self.config)]

    def _signal_meta(self) -> dict[str, str]:
        """For ``gateway status``: whose uploads the SFTP server's handle log covers."""
        if self.sessions is None:
            return {}
        return {"interruption_signal": json.dumps({"listening": self.sessions.listening,
                                                   "missing": self.sessions.missing})}

    def _report_health(self) -> None:
        healthy = self.watcher.healthy
        if healthy != self._healthy:
            self._healthy = healthy
            self.metrics.intake_healthy(healthy)
            self._set_meta(intake_healthy="yes" if healthy else "no")
            self.notifier.status("serving" if healthy else "watcher down; rescanning only")
            if not healthy:
                log.error("intake_unhealthy", watcher=self.config.watcher)
        if healthy:
            self.notifier.ping()


def record_failure(config: Config, reason: str) -> None:
    """Keep why ``serve`` could not start for ``gateway status`` (when the ledger opens)."""
    try:
        ledger = Ledger(config.ledger_location, create=False)
    except Exception:  # the ledger itself may be what failed
        return
    try:
        ledger.set_meta(failure=reason, stopped_at=now_text())
    except Exception:
        pass
    finally:
        ledger.close()


def _unreadable_by_group(path: Path) -> bool:
    """Readable by its group, but the group is not one of the daemon's."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return bool(st.st_mode & 0o040) and st.st_gid not in {os.getegid(), *os.getgroups()}


def _duration(seconds: float) -> str:
    """A wait in the words a receipt uses (24 hours, 90 minutes, 30 seconds)."""
    for unit, size in (("hours", 3600), ("minutes", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} seconds"


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _extension(name: str) -> str:
    return Path(name).suffix.lower()


def _status_of(receipt_json: Path) -> str | None:
    try:
        document: dict[str, Any] = json.loads(receipt_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document.get("status")
