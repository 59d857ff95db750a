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

from gateway.contract.catalog import Catalog
from gateway.daemon import own_receipts
from gateway.daemon.claim import claim, inspect, spool_path
from gateway.daemon.health import (
    GUARD_INTERVAL,
    SPACE_RETRY,
    DiskSpace,
    FolderGuard,
    FolderLost,
    SubmitterTrouble,
    out_of_space,
)
from gateway.daemon.leases import choose_writer_check, ignore_lease_breaks, path_open_for_writing
from gateway.daemon.lock import InstanceLock
from gateway.daemon.membership import Membership, new_daemon_id
from gateway.daemon.messages import Messages
from gateway.daemon.metrics import Metrics
from gateway.daemon.notify import Notifier
from gateway.daemon.recovery import (
    clean_leftovers,
    existing_receipt,
    file_original,
    prepare_replay,
)
from gateway.daemon.rescan import rescan
from gateway.daemon.settle import WRITER_RECHECK, Settled, SettleTracker, Signature
from gateway.daemon.watch import Hint, Watcher
from gateway.daemon.workers import Job, Outcome, WorkerPool, resolve_pipeline
from gateway.engine.plugins import PluginConflict, load_plugins
from gateway.receipts.model import Receipt, Status
from gateway.receipts.store import write_receipt
from gateway.site.config import Config, ConfigError
from gateway.site.layout import check_layout, submitter_folders
from gateway.site.ledger import Ledger, LostClaim, State, Submission, now_text
from gateway.site.logs import get_logger, log_submission
from gateway.site.reference.database import ReferenceStore
from gateway.submitters.keeper import RegistryKeeper, RegistryUnavailable
from gateway.submitters.windows import SubmitterPolicy

log = get_logger("gateway.daemon")

MAX_WAIT = 0.5  # seconds the loop may block when nothing is due
CLAIM = "claim"  # SubmitterTrouble's source for a claim that failed
HINTS_PER_TURN = 10_000
DUPLICATE_RECHECK = 1.0  # seconds between looks at a first copy another daemon holds
WORKER_REPLACED = ("crashed", "time", "memory")  # failures after which the pool starts a worker


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
    first_copy: bool = False  # the duplicate check said "validate"; not asked again each turn
    failure: str | None = None
    timings: dict[str, float] = field(default_factory=dict)


class Service:
    """The daemon. ``run`` serves until a signal; ``drain`` finishes what the ledger holds and
    returns (``gateway replay`` uses it when no daemon runs)."""

    def __init__(self, config: Config, *, intake: bool = True) -> None:
        check_layout(config)
        self.config = config
        self.intake = intake
        # the plugins gateway.toml chooses: a local plugin that cannot load stops the start
        try:
            self.catalog: Catalog = load_plugins(choice=config.plugin_choice).catalog
        except PluginConflict as err:
            raise ConfigError(str(err)) from None
        resolve_pipeline(config.pipeline)  # fail now, not on every file, when it cannot import
        self.metrics = Metrics()
        self.ledger = Ledger(config.ledger_location, create=not config.shared_ledger,
                             owner=new_daemon_id(), timer=self.metrics.ledger_operation)
        self.membership = Membership(self.ledger, config.lease,
                                     exclusive=not config.shared_ledger)
        self.daemon_id = self.membership.daemon_id
        self.reference = ReferenceStore(self.ledger.engine)
        self.registry = RegistryKeeper(config.registry, required=config.registry_configured,
                                       on_change=lambda values: self.ledger.set_meta(**values))
        try:
            self.registry.start()
        except RegistryUnavailable as err:
            self.ledger.close()
            raise ConfigError(str(err)) from None
        self.policy = SubmitterPolicy(late=config.late, timezone=config.timezone)
        self.messages = Messages(config, self.ledger, lambda: self.registry.registry,
                                 self.catalog, self.metrics, self.daemon_id)
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
        self.trouble = SubmitterTrouble()
        self._claim_retry: dict[str, float] = {}  # submitter -> when to try its claims again
        self.space = DiskSpace(lambda full: self._set_meta(disk_full=full))
        self._guard_due = 0.0

    def _open_pool(self, size: int) -> WorkerPool:
        return WorkerPool(size, pipeline=self.config.pipeline,
                          time_limit=self.config.time_limit,
                          memory_limit_mb=self.config.memory_limit_mb,
                          log_format=self.config.log_format, log_level=self.config.log_level,
                          recycle_rss_mb=self.config.recycle_rss_mb,
                          max_jobs=self.config.max_jobs, choice=self.config.plugin_choice)

    # -- the two ways to run -------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT, then finish the files in hand and return. Raises
        ``AlreadyRunning`` when another daemon uses the same state folder."""
        lock = InstanceLock(self.config.lock_file)
        if not self.config.shared_ledger:
            lock.acquire()  # on SQLite this daemon is the only one; on PostgreSQL, one of many
        self._install_signals()
        ignore_lease_breaks()
        self.pool = self._open_pool(self.config.workers)
        if self.config.metrics_port:
            self.metrics.serve(self.config.metrics_port, self.config.metrics_address)
        guard = FolderGuard({"inbox": self.config.inbox, "state": self.config.state})
        try:
            self.membership.join(self.config.watcher)
            self._resume()
            self.messages.start()
            self.watcher.supervise()
            log.info("serving", inbox=str(self.config.inbox), watcher=self.config.watcher,
                     workers=self.config.workers, quiet_period=self.config.quiet_period,
                     rescan_interval=self.config.rescan_interval, pid=os.getpid(),
                     writer_check=self.writer_check.name, why=self.writer_check.reason,
                     daemon=self.daemon_id, ledger=str(self.ledger),
                     metrics_port=self.config.metrics_port)
            self.ledger.set_meta(pid=str(os.getpid()), started_at=now_text(),
                                 watcher=self.config.watcher,
                                 writer_check=self.writer_check.name,
                                 writer_check_reason=self.writer_check.reason,
                                 failure="", blocked_submitters="{}", disk_full="no")
            self.notifier.ready("serving")
            while not self._stopping or self._in_hand():
                self._turn()
                if time.monotonic() >= self._guard_due:
                    self._guard_due = time.monotonic() + GUARD_INTERVAL
                    guard.check()
            log.info("stopped")
        except FolderLost as lost:
            # Nothing can be served without these folders; say so and let systemd restart
            # (and alert) rather than watch nothing.
            log.error("folder_lost", reason=str(lost))
            self.notifier.status(f"stopped: {lost}")
            self._set_meta(failure=str(lost))
            raise
        except Exception:
            # Environmental failures (a full disk, lost permissions) end the process; systemd
            # restarts it and recovery resumes every submission where it stopped.
            log.exception("daemon_failed")
            raise
        finally:
            self.messages.stop()
            self.watcher.stop()
            self.pool.close()
            self._set_meta(stopped_at=now_text())
            self.membership.leave()
            self.notifier.close()
            self.ledger.close()
            lock.release()

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
        self._set_meta(last_rescan_at=now_text(), waiting=str(waiting),
                       blocked_submitters=self.trouble.as_text())
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
            self.tracker.forget(settled.path)
            self._claim(settled, now)

    def _claim(self, settled: Settled, now: float) -> None:
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
        with structlog.contextvars.bound_contextvars(submission_id=submission.submission_id):
            log.info("claimed", submitter=submission.submitter, name=submission.name)
        self.tasks.append(Task(submission, settled.signature))

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
            self._deliver(task, own_receipts.not_read(submission))
            return
        if submission.replaces is None and not task.first_copy:
            answer = self._duplicate_answer(task)
            if answer == "wait":
                return
            if isinstance(answer, Receipt):
                self.tasks.remove(task)
                self._deliver(task, answer)
                return
            task.first_copy = True
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
        submission.problem = inspection.problem
        submission.bytes, submission.sha256 = inspection.size, inspection.sha256
        self.ledger.inspected(submission.submission_id, inspection.problem, inspection.size,
                              inspection.sha256)
        return True

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
            if not out_of_space(err):
                raise
            task.receipt, task.failure, task.timings = receipt, failure, timings
            task.not_before = time.monotonic() + SPACE_RETRY
            self.tasks.append(task)
            self.space.note(full=True)
            return
        self.space.note(full=False)

    def _finish(self, task: Task, receipt: Receipt, failure: str | None = None,
                **timings: float) -> None:
        """Record the outcome, write the receipt, file the original, log the summary."""
        submission = task.submission
        folders = submitter_folders(self.config, submission.submitter)
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
