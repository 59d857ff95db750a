"""``gateway serve``: the loop that turns uploads into receipts and never loses one.

The loop's thread owns the board of files in hand and every durable step up to a file's
verdict (claim, spool, inspection); the delivery thread (``courier.py``) owns every step from
the verdict on (ledger, receipts, archive), for each file in order, while the loop goes on
claiming and dispatching. Watchdog's thread only queues hints, the handle log's thread only
listens, and worker processes only compute (and render) receipts.
A file's way through the daemon, one module per leg, in the order of each turn of the loop:

1. ``intake.py``: event hints and, when due, a full rescan become sightings; settled uploads are
   claimed (renamed into the spool), no more than the workers can soon take;
2. ``triage.py``: each claimed file is inspected (what it is, whether it arrived whole) and
   answered at once when it needs no validation (an unknown folder, a link, a cut-off upload, a
   duplicate); the rest go to idle workers (``workers.py``);
3. ``delivery.py``: each verdict becomes a receipt and the original is filed, in the delivery
   thread (``courier.py``);
4. ``takeover.py``: the lease is kept, and what dead daemons left is adopted.

``tasks.py`` holds the files in hand between the legs. Every submission passes claimed ->
validated -> receipt_written -> filed in the ledger, and a starting daemon resumes each
unfinished one from the state it reached (``recovery.py``). Several daemons may share one inbox
and one PostgreSQL ledger: each row has an owner, each daemon keeps a lease (``membership.py``).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import structlog

from gateway.daemon import own_receipts
from gateway.daemon.claim import spool_path
from gateway.daemon.courier import Courier
from gateway.daemon.delivery import Delivered, Delivery, Verdict
from gateway.daemon.health import (
    GUARD_INTERVAL,
    SPACE_RETRY,
    DiskSpace,
    FolderGuard,
    FolderLost,
    SubmitterTrouble,
    out_of_space,
)
from gateway.daemon.intake import Intake
from gateway.daemon.leases import choose_writer_check, ignore_lease_breaks
from gateway.daemon.lock import InstanceLock
from gateway.daemon.membership import Membership, new_daemon_id
from gateway.daemon.messages import Messages
from gateway.daemon.metrics import Metrics
from gateway.daemon.notify import Notifier
from gateway.daemon.recovery import prepare_replay
from gateway.daemon.takeover import Takeover
from gateway.daemon.tasks import Task, TaskBoard
from gateway.daemon.triage import WAIT, Inspected, Triage
from gateway.daemon.validate_service import ValidateService, error_words
from gateway.daemon.watch import Watcher
from gateway.daemon.workers import Job, Outcome, WorkerPool, resolve_pipeline
from gateway.engine.plugins import PluginConflict, load_plugins
from gateway.receipts.model import Receipt
from gateway.site.config import Config, ConfigError
from gateway.site.layout import check_layout
from gateway.site.ledger import Ledger, LostClaim, State, now_text
from gateway.site.logs import get_logger
from gateway.site.reference.database import ReferenceStore
from gateway.submitters.keeper import RegistryKeeper, RegistryUnavailable
from gateway.submitters.windows import SubmitterPolicy

log = get_logger("gateway.daemon")

MAX_WAIT = 0.5  # seconds the loop may block when nothing is due
FILES_IN_HAND = 8  # a worker's share of the files claimed and not yet delivered
DELIVERY_BATCH = 8  # workers' verdicts delivered together, at most DELIVERY_WAIT seconds late
DELIVERY_WAIT = 0.2
WORKER_REPLACED = ("crashed", "time", "memory")  # failures after which a worker is started
KEPT_REGISTRY = "registry.last-good.toml"  # in the state folder: what a refused file falls to


def _unprepared(task: Task) -> bool:
    """Does ``task`` still need its replay copy or its inspection (``Service._prepare``)?"""
    submission = task.submission
    return task.receipt is None and (submission.state == State.REQUESTED
                                     or (submission.sha256 is None
                                         and submission.problem is None))


class Service:
    """The daemon. ``run`` serves until a signal; ``drain`` finishes what the ledger holds and
    returns (``gateway replay`` uses it when no daemon runs)."""

    def __init__(self, config: Config, *, intake: bool = True) -> None:
        check_layout(config)
        self.config = config
        self.taking = intake  # False: drain what the ledger holds, take nothing new
        # the plugins gateway.toml chooses: a local plugin that cannot load stops the start
        try:
            catalog = load_plugins(choice=config.plugin_choice).catalog
        except PluginConflict as err:
            raise ConfigError(str(err)) from None
        resolve_pipeline(config.pipeline)  # fail now, not on every file, when it cannot import
        self.metrics = Metrics()
        self.ledger = Ledger(config.ledger_location, create=not config.shared_ledger,
                             owner=new_daemon_id(), timer=self.metrics.ledger_operation)
        self.membership = Membership(self.ledger, config.lease,
                                     exclusive=not config.shared_ledger)
        self.daemon_id = self.membership.daemon_id
        self.registry = RegistryKeeper(config.registry, required=config.registry_configured,
                                       on_change=self._registry_changed,
                                       keep=config.state / KEPT_REGISTRY,
                                       settle=config.quiet_period)
        try:
            self.registry.start()
        except RegistryUnavailable as err:
            self.ledger.close()
            raise ConfigError(str(err)) from None
        self.policy = SubmitterPolicy(late=config.late, timezone=config.timezone)
        self.messages = Messages(config, self.ledger, lambda: self.registry.registry,
                                 catalog, self.metrics, self.daemon_id)
        self.notifier = Notifier()
        self.trouble = SubmitterTrouble(on_change=self.metrics.submitter_blocked)
        self.space = DiskSpace(lambda full: self._set_meta(disk_full=full))
        self.writer_check = choose_writer_check(config.inbox, config.writer_check)
        self.board = TaskBoard()
        # files in hand: eight a worker (its jobs, running and queued, and the claimed ones
        # behind them), so that claims, inspections and deliveries come in batches; as many
        # again may wait in the delivery thread. Not more: what is not claimed yet stays
        # visible and replaceable in upload/, and a stop finishes quickly.
        self.capacity = max(8, FILES_IN_HAND * config.workers)
        self._verdicts: list[Outcome] = []  # the workers' verdicts, not yet delivered
        self._verdicts_since = 0.0
        # the legs of a file's way, in order
        self.intake = Intake(config, self.ledger, self.daemon_id, self.registry,
                             self.writer_check, self.metrics, self.trouble, self.space,
                             self._set_meta)
        self.triage = Triage(config, self.ledger, self.daemon_id, self.registry,
                             self.writer_check, self.intake, self.trouble, self.board)
        self.delivery = Delivery(config, self.ledger, self.daemon_id, catalog,
                                 ReferenceStore(self.ledger.engine), self.metrics, self.trouble,
                                 self.space, self._set_meta)
        self.takeover = Takeover(config, self.ledger, self.membership, self.metrics, self.board)
        self.watcher = Watcher(config, self.intake.hints)
        self.pool: WorkerPool  # started by run() or drain()
        self.courier: Courier  # likewise: the delivery thread
        self._stop_signal: int | None = None
        self._nudged = False
        self._stopping = False
        self._healthy: bool | None = None
        self._guard_due = 0.0

    def _registry_changed(self, values: dict[str, str]) -> None:
        self.ledger.set_meta(**values)
        self.metrics.registry_refused(self.registry.refused)

    def _open_pool(self, size: int) -> WorkerPool:
        return WorkerPool(size, pipeline=self.config.pipeline,
                          time_limit=self.config.time_limit,
                          memory_limit_mb=self.config.memory_limit_mb,
                          log_format=self.config.log_format, log_level=self.config.log_level,
                          recycle_rss_mb=self.config.recycle_rss_mb,
                          max_jobs=self.config.max_jobs, choice=self.config.plugin_choice)

    def _set_meta(self, **values: str) -> None:
        """The heartbeat for ``gateway status``; losing one on a full disk is harmless."""
        try:
            self.ledger.set_meta(**values)
        except Exception as err:
            if not out_of_space(err):
                raise

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
        answering = ValidateService(self.config) if self.config.validate_slots else None
        courier: Courier | None = None
        try:
            courier = self.courier = Courier(self.delivery.deliver)
            self._install_signals()
            ignore_lease_breaks()
            self.pool = self._open_pool(self.config.workers)
            pool_open = True
            if answering is not None:  # forked from the pool's fork server
                try:
                    answering.start()
                except OSError as err:  # `gateway validate` judges files itself then
                    log.error("validate_service_unavailable", reason=error_words(err))
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
            if courier is not None:
                courier.close()  # what was handed over is delivered first
            self.messages.stop()
            self.watcher.stop()
            if answering is not None:
                answering.stop()
            if pool_open:
                self.pool.close()
            self.intake.stop_listening()
            self._set_meta(stopped_at=now_text())
            self.membership.leave()
            self.notifier.close()
            self.ledger.close()
            lock.release()

    def _serve(self, guard: FolderGuard) -> None:
        self.intake.listen()
        self.membership.join(self.config.watcher)
        self.takeover.resume()
        self.messages.start()
        self.watcher.supervise()
        # before "serving": a daemon killed once it said so has its start on record
        self.ledger.set_meta(pid=str(os.getpid()), started_at=now_text(),
                             watcher=self.config.watcher,
                             writer_check=self.writer_check.name,
                             writer_check_reason=self.writer_check.reason,
                             failure="", blocked_submitters="{}", disk_full="no",
                             **self.intake.signal_meta())
        log.info("serving", inbox=str(self.config.inbox), watcher=self.config.watcher,
                 workers=self.config.workers, quiet_period=self.config.quiet_period,
                 rescan_interval=self.config.rescan_interval, pid=os.getpid(),
                 writer_check=self.writer_check.name, why=self.writer_check.reason,
                 daemon=self.daemon_id, ledger=str(self.ledger),
                 metrics_port=self.config.metrics_port,
                 interruption_signal=self.intake.sessions.listening
                 if self.intake.sessions else [])
        self.notifier.ready("serving")
        while not self._stopping or len(self.board) or self.courier.in_hand:
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
        self.courier = Courier(self.delivery.deliver)
        try:
            self.membership.join(None)
            self.takeover.resume()
            while len(self.board) or self.courier.in_hand:
                self._turn()
        finally:
            self.courier.close()
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

    def _begin_stopping(self) -> None:
        """Stop taking files; what is in hand is finished before ``run`` returns."""
        self._stopping = True
        self.watcher.stop()
        self.notifier.stopping(f"finishing {len(self.board)} files")
        log.info("stopping", signal=signal.Signals(self._stop_signal or 0).name,
                 in_hand=len(self.board))

    # -- one turn of the loop: a file's way, in order ------------------------------------------

    def _turn(self) -> None:
        if self._stop_signal is not None and not self._stopping:
            self._begin_stopping()
        if self._nudged:
            self._nudged = False
            self.takeover.adopt()
        if self.membership.renew_due():
            self.takeover.keep_lease(self._healthy, self.intake.last_rescan_at)
        self.registry.refresh()  # an edit takes effect from the next file on
        self._take_deliveries()
        serving = self.taking and not self._stopping
        if serving:  # 1. uploads to claimed tasks
            self.intake.take_hints()
            self.intake.rescan_if_due()
            for task in self.intake.claim_settled(self._claim_room()):
                self.board.queue(task)
        self._advance()  # 2. claimed tasks to answers or workers
        self._collect(self.pool.collect(self._wait_time(serving),  # 3. to receipts
                                        also=[self.courier.wake]))
        if serving:
            if self.watcher.supervise():
                self.intake.rescan_due = 0.0  # events may have been missed while it was down
            self._report_health()

    def _wait_time(self, serving: bool) -> float:
        now = time.monotonic()
        # Tasks due now are waiting for a worker; only a later not_before is a deadline here.
        due = [MAX_WAIT]
        if (deadline := self.board.next_deadline(now)) is not None:
            due.append(deadline)
        if serving:
            due.append(self.intake.rescan_due - now)
            next_settle = self.intake.next_due() if self._claim_room() else None
            if next_settle is not None:
                due.append(next_settle)
        if self._verdicts:
            due.append(self._verdicts_since + DELIVERY_WAIT - now)
        return max(0.0, min(due))

    def _claim_room(self) -> int:
        """How many uploads to claim now: none until half the room is free, unless nothing
        claimed waits for a worker (then the workers would wait for the claims); none while
        the delivery thread is a capacity behind (more claims would only wait longer)."""
        if self.courier.in_hand >= self.capacity:
            return 0
        room = self.capacity - len(self.board)
        return room if room >= self.capacity // 2 or not self.board.waiting else 0

    def _collect(self, outcomes: list[Outcome]) -> None:
        """Deliver the workers' verdicts together: once ``DELIVERY_BATCH`` are in, the oldest
        has waited ``DELIVERY_WAIT``, no worker has a job left, or the daemon is stopping.
        A verdict waits only in memory; killed meanwhile, its file is validated again."""
        if outcomes and not self._verdicts:
            self._verdicts_since = time.monotonic()
        self._verdicts.extend(outcomes)
        if self._verdicts and (len(self._verdicts) >= DELIVERY_BATCH or not self.pool.held
                               or self._stopping or time.monotonic()
                               >= self._verdicts_since + DELIVERY_WAIT):
            verdicts, self._verdicts = self._verdicts, []
            self._on_outcomes(verdicts)

    def _advance(self) -> None:
        """Move claimed tasks on: inspect (one ledger transaction for all), then answer
        without the pipeline (delivered together) or dispatch."""
        now = time.monotonic()
        due = self.board.due(now)
        found: list[Inspected] = []
        for task in due:
            if not _unprepared(task):
                continue  # most turns: nothing to do for it before it reaches a worker
            with self._guarded(task, now):
                inspected = self._prepare(task, now)
                if inspected is not None:
                    found.append(inspected)
        if found:
            with self._guarded_all([i.task for i in found], now):
                for task in self.triage.record(found):
                    self.takeover.let_go(task)
        answers: list[Verdict] = []
        full = self.pool.full  # no worker has room, not even for a small file
        with self.ledger.reading():  # the duplicate checks' questions, in one transaction
            for task in due:
                if full and task.first_copy and task.receipt is None:
                    continue  # it only waits for a worker: in a burst, most tasks most turns
                if self.board.is_queued(task) and task.not_before <= now:
                    with self._guarded(task, now):
                        self._advance_one(task, now, answers)
                    full = self.pool.full
        self._deliver(answers)
        self.metrics.queue(len(self.board))

    @contextmanager
    def _guarded(self, task: Task, now: float) -> Iterator[None]:
        """A task another daemon took over is let go; on a full disk it waits."""
        with (structlog.contextvars.bound_contextvars(submission_id=task.submission_id),
              self._guarded_all([task], now)):
            yield

    @contextmanager
    def _guarded_all(self, tasks: list[Task], now: float) -> Iterator[None]:
        try:
            yield
        except LostClaim:
            for task in tasks:
                self.takeover.let_go(task)
        except FileNotFoundError:
            if any(self.takeover.still_mine(task) for task in tasks):
                raise
            for task in tasks:
                self.takeover.let_go(task)  # the new owner filed the spool file already
        except Exception as err:
            if not out_of_space(err):
                raise
            for task in tasks:
                task.not_before = now + SPACE_RETRY
            self.space.note(full=True)

    def _prepare(self, task: Task, now: float) -> Inspected | None:
        """A replay's copy into the spool, then the inspection, when the task needs them
        (``_unprepared``)."""
        submission = task.submission
        if (submission.state == State.REQUESTED
                and not prepare_replay(submission, self.config, self.ledger)):
            self.board.take(task)
            return None
        if submission.sha256 is None and submission.problem is None:
            return self.triage.inspect(task, now)
        return None

    def _advance_one(self, task: Task, now: float, answers: list[Verdict]) -> None:
        submission = task.submission
        if task.receipt is not None:  # known before the disk filled up or the folder broke
            self.board.take(task)
            answers.append(Verdict(task, task.receipt, task.failure, task.timings))
            return
        if submission.sha256 is None and submission.problem is None:
            return  # still being written, or not yet recorded
        answer = self.triage.own_answer(task)
        if answer is None and not task.first_copy:
            answer = self.triage.duplicate_answer(task)
            task.first_copy = answer is None  # "validate": not asked again each turn
        if answer == WAIT:
            return
        if isinstance(answer, Receipt):
            self.board.take(task)
            answers.append(Verdict(task, answer))
            return
        job = Job(submission.submission_id,
                  str(spool_path(self.config, submission.submission_id)),
                  submission.submitter, submission.name, submission.received_at,
                  self.registry.registry, self.policy, self.config.ledger_location,
                  submission.bytes, submission.replaces)
        if self.pool.can_take(job):
            self.board.run(task, now)
            self.pool.submit(job)

    def _on_outcomes(self, outcomes: list[Outcome]) -> None:
        """The workers' verdicts, delivered together."""
        verdicts = []
        for outcome in outcomes:
            task = self.board.ran(outcome.job.submission_id)
            receipt = outcome.receipt
            self.metrics.validated(outcome.seconds)
            if outcome.failure in WORKER_REPLACED:
                self.metrics.worker_restarted()
            if receipt is None:
                with structlog.contextvars.bound_contextvars(
                        submission_id=task.submission_id):
                    log.error("worker_failed", failure=outcome.failure, detail=outcome.detail,
                              submitter=task.submission.submitter)
                receipt = own_receipts.failed(task.submission, outcome.failure or "crashed",
                                              time_limit=self.config.time_limit,
                                              memory_limit_mb=self.config.memory_limit_mb)
            # the worker rendered the receipt's files with what the job said it replaces
            rendered = outcome.rendered if receipt.replaces == task.submission.replaces else None
            receipt.replaces = task.submission.replaces
            verdicts.append(Verdict(task, receipt, outcome.failure,
                                    {"validate": outcome.seconds}, rendered))
        self._deliver(verdicts)

    def _deliver(self, verdicts: list[Verdict]) -> None:
        self.courier.hand(verdicts)

    def _take_deliveries(self) -> None:
        """What the delivery thread finished: a verdict that must wait goes back to the queue
        with its task, what was parked behind an answered file goes on, and a file another
        daemon took over meanwhile is let go."""
        for delivered in self.courier.results():
            self._delivered(delivered)

    def _delivered(self, delivered: Delivered) -> None:
        for task in delivered.held:
            self.board.queue(task)
        for submission_id in delivered.answered:
            self.board.answered(submission_id)
        for task in delivered.lost:
            self.takeover.let_go(task)

    # -- health ------------------------------------------------------------------------------

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
