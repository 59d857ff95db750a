"""Worker processes that run the pipeline, one file at a time each, under time and memory limits.

A pool of our own rather than ``concurrent.futures``: a dead worker breaks a
``ProcessPoolExecutor`` for every file in it, and a running task cannot be stopped. Here each
worker has its own pipe, so the file that killed a worker or ran over its time is known exactly;
that file gets a receipt saying so, the worker is replaced, and the others carry on.

Workers only read the spool file and send back a ``Receipt``, with its text and JSON files
already rendered (so the daemon's single thread only writes bytes); the daemon alone writes
receipts, the ledger and the archive, so a worker that dies leaves nothing half done. Workers
come from a forkserver that has already imported the pipeline and what judging a file loads at
first use (pandas, jsonschema: ``JUDGING_IMPORTS``), so replacing one costs a fork, not an
import.

A worker running a small file may hold the next small files too (``DEPTH`` jobs in all, the
next ones already in its pipe), so it starts the next the moment it has sent a verdict, while
the daemon is still recording the last ones or claiming the next batch (the daemon writes its
bookkeeping for several files at once). A large file only goes to an idle worker and nothing
waits behind it, so a big upload never delays another submitter's small one. Only the job a
worker runs can be blamed for its death or its time: those queued behind it go to the
replacement.
The registry travels to a worker only when it changed, not with every job.

A worker is also retired, between files, when a file has grown it (its resident memory after the
job is over ``recycle_rss_mb``: Python keeps the heap a big file needed) or after ``max_jobs``
files, so the memory one large upload needed is given back at once instead of at the next
restart.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import multiprocessing
import pickle
import resource
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import structlog

from gateway.contract.catalog import Catalog
from gateway.contract.registry import Registry
from gateway.engine.pipeline import JUDGING_IMPORTS, default_plugins
from gateway.receipts.annotated import annotate
from gateway.receipts.model import Receipt
from gateway.receipts.store import Rendered, render_receipt
from gateway.site.config import ConfigError
from gateway.site.logs import configure_logging, get_logger
from gateway.site.plugin_choice import PluginChoice
from gateway.submitters.windows import SubmitterPolicy

log = get_logger("gateway.daemon.workers")

# Jobs a worker holds: the one it runs and three more (small files only). A ten-row file takes
# a worker a few milliseconds; a turn of the daemon's loop that claims and inspects a batch
# takes longer, and with only one job queued the workers waited for it (2,000-file burst, two
# workers: about 180 files/s with 2, about 200 with 4).
DEPTH = 4
SMALL_FILE = 256 * 1024  # bytes: a file validated in well under a second
START_ALLOWANCE = 60.0  # seconds a new worker may take to start before its job's time runs
_KEEP = "keep"  # sent instead of the registry when the worker has it already


@dataclass(frozen=True)
class Job:
    """One file for the pipeline: the spool copy and what the receipt must say about it."""

    submission_id: str
    path: str
    submitter: str
    display_name: str
    received_at: str
    registry: Registry | None = None  # the registry in force when the job was handed out
    policy: SubmitterPolicy | None = None
    ledger: str | Path | None = None  # the ledger whose reference data the rules read
    size: int | None = None  # bytes of the file (None: unknown, taken as large)
    replaces: str | None = None  # the submission a replay replaces (its receipt says so)

    @property
    def small(self) -> bool:
        """Validated in a fraction of a second: it may wait behind another small one."""
        return self.size is not None and self.size <= SMALL_FILE


@dataclass(frozen=True)
class Outcome:
    """What became of a job. ``receipt`` is None when the worker failed; ``failure`` is then
    ``crashed``, ``error``, ``time`` or ``memory`` and ``detail`` says how, in log-safe words
    (exit status, exception type and code location; never an exception's message)."""

    job: Job
    receipt: Receipt | None
    failure: str | None
    detail: str
    seconds: float
    rendered: Rendered | None = None  # the receipt's files (None: the daemon renders them)


def resolve_pipeline(reference: str) -> Callable[..., Receipt]:
    """``module:function`` -> the function. Imported once at start so a broken deployment fails
    at once instead of on every file."""
    module_name, _, function_name = reference.partition(":")
    try:
        return getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"cannot load the pipeline {reference!r}: {err}") from err


def _where(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    if not frames:
        return type(err).__name__
    last = frames[-1]
    return f"{type(err).__name__} at {Path(last.filename).name}:{last.lineno} in {last.name}"


def resident_mb() -> float:
    """This process's resident memory now, in MiB (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * resource.getpagesize() / (1024 * 1024)


def _worker_main(conn: Connection, pipeline: str, memory_limit_mb: int, log_format: str,
                 log_level: str, choice: PluginChoice | None = None) -> None:
    """Loop: receive a job, run the pipeline, send the pickled receipt or a failure."""
    # The daemon decides when workers stop: a Ctrl-C or a SIGTERM sent to the whole process
    # group must not turn the files in hand into failures.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(log_format, log_level)
    if memory_limit_mb:
        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if choice is not None:  # the installation's [plugins] table, for the pipeline's plugins
        from gateway.engine.pipeline import choose_plugins

        choose_plugins(choice)
    validate = resolve_pipeline(pipeline)
    catalog = default_plugins().catalog  # the daemon's: same plugins, same choice
    reads_reference = "ledger" in inspect.signature(validate).parameters
    registry: Registry | None = None
    # the time limit of a job counts from here: a worker's own start (slow on a busy machine)
    # is not the file's
    conn.send_bytes(pickle.dumps(("ready", None, 0.0, time.monotonic())))
    while True:
        try:
            message: tuple[Job, Any] | None = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        job, sent = message
        if sent != _KEEP:  # a registry object is never equal to the marker
            registry = sent
        try:
            # the submitter layer's arguments only when a registry is in force, so a pipeline
            # written before the registry existed keeps working
            layer4 = {} if registry is None else {"registry": registry, "policy": job.policy}
            if job.ledger is not None and reads_reference:  # likewise, for older pipelines
                layer4["ledger"] = job.ledger
            with structlog.contextvars.bound_contextvars(submission_id=job.submission_id):
                receipt = validate(Path(job.path), submitter=job.submitter,
                                   display_name=job.display_name, received_at=job.received_at,
                                   submission_id=job.submission_id, **layer4)
                annotate(receipt, Path(job.path))  # here, under the worker's limits
                receipt.replaces = job.replaces
                rendered = _rendered(receipt, catalog)
            reply = pickle.dumps(("ok", (receipt, rendered), resident_mb(), time.monotonic()),
                                 protocol=pickle.HIGHEST_PROTOCOL)
        except MemoryError:
            conn.send(("memory", "MemoryError", 0.0, time.monotonic()))
            return  # the heap may be in pieces; the daemon starts a fresh worker
        except Exception as err:
            reply = pickle.dumps(("error", _where(err), resident_mb(), time.monotonic()))
        conn.send_bytes(reply)


def _rendered(receipt: Receipt, catalog: Catalog) -> Rendered | None:
    """The receipt's files, rendered here where the cores run in parallel; None when that
    fails (the daemon renders them then, and says what went wrong as it always did)."""
    try:
        return render_receipt(receipt, catalog)
    except Exception:
        return None


@dataclass
class _Worker:
    process: Any
    conn: Connection
    jobs: deque[Job] = field(default_factory=deque)  # the one it runs first, then queued
    started: float = 0.0  # when it started the job it runs
    done: int = 0
    registry: Any = _KEEP  # the registry it was last sent (_KEEP: none yet)
    ready: bool = False  # it said it started; until then its job's time does not run
    retiring: str | None = None  # why it is recycled once its queued jobs are done

    @property
    def job(self) -> Job | None:
        """The job it runs now."""
        return self.jobs[0] if self.jobs else None


class WorkerPool:
    """A fixed number of worker processes; ``submit`` while there is a ``free`` place,
    ``collect`` outcomes."""

    def __init__(self, size: int, *, pipeline: str, time_limit: float, memory_limit_mb: int,
                 log_format: str, log_level: str, recycle_rss_mb: int = 0,
                 max_jobs: int = 0, choice: PluginChoice | None = None) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload([__name__, pipeline.partition(":")[0],
                                              *JUDGING_IMPORTS])
        self._args = (pipeline, memory_limit_mb, log_format, log_level, choice)
        self.time_limit = time_limit
        self.recycle_rss_mb = recycle_rss_mb  # 0: never for memory
        self.max_jobs = max_jobs  # 0: never for age
        self.recycled = 0
        self._workers = [self._start() for _ in range(size)]

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_worker_main, args=(child, *self._args),
                                        name="gateway-worker", daemon=True)
        with _stop_signals_ignored_by_children():
            process.start()  # starts the fork server first when it is not running
        child.close()
        return _Worker(process, parent)

    def _taker(self, small: bool) -> _Worker | None:
        """An idle worker; for a small job, else one running a small job with room behind."""
        open_ = [w for w in self._workers if w.retiring is None]
        idle = next((w for w in open_ if not w.jobs), None)
        if idle is not None or not small:
            return idle
        return next((w for w in open_ if len(w.jobs) < DEPTH and all(j.small for j in w.jobs)),
                    None)

    def can_take(self, job: Job) -> bool:
        """Is there a worker for ``job`` now?"""
        return self._taker(job.small) is not None

    @property
    def full(self) -> bool:
        """No worker can take a job now, not even a small one."""
        return self._taker(small=True) is None

    @property
    def held(self) -> int:
        """Jobs the workers hold (running or queued)."""
        return sum(len(w.jobs) for w in self._workers)

    def submit(self, job: Job) -> None:
        """Hand ``job`` to an idle worker, or queue a small one behind a small one (the caller
        checks ``can_take``)."""
        worker = self._taker(job.small)
        assert worker is not None, "submit() without can_take()"
        self._send(worker, job)

    def _send(self, worker: _Worker, job: Job) -> None:
        if not worker.jobs:
            worker.started = time.monotonic()
        worker.jobs.append(job)
        sent = _KEEP if job.registry is worker.registry else job.registry
        worker.registry = job.registry
        with contextlib.suppress(OSError):  # a dead worker: collect() reports the job crashed
            worker.conn.send((dataclasses.replace(job, registry=None), sent))

    def collect(self, timeout: float, also: Sequence[int] = ()) -> list[Outcome]:
        """Wait up to ``timeout`` seconds for results, deaths and time limits, and return the
        outcomes of finished jobs. Dead or stopped workers are replaced. The wait also ends
        when a descriptor of ``also`` becomes readable (the caller looks at it itself)."""
        busy = [w for w in self._workers if w.jobs]
        if busy:
            nearest = min(self._deadline(w) for w in busy)
            timeout = max(0.0, min(timeout, nearest - time.monotonic()))
        owners: dict[Any, _Worker] = {w.conn: w for w in self._workers}
        owners.update({w.process.sentinel: w for w in self._workers})
        outcomes: list[Outcome] = []
        handled: list[_Worker] = []
        for item in wait([*owners, *also], timeout):
            worker = owners.get(item)
            if worker is None:
                continue
            if any(worker is seen for seen in handled):
                continue
            handled.append(worker)
            outcomes.extend(self._read(worker))
        now = time.monotonic()
        for worker in list(self._workers):
            if worker.jobs and now >= self._deadline(worker):
                outcome = self._replace(worker, "time", f"over the {self.time_limit:g} s limit")
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def _deadline(self, worker: _Worker) -> float:
        """When the job the worker runs is over its time; a worker that has not said it
        started has ``START_ALLOWANCE`` more."""
        return worker.started + self.time_limit + (0.0 if worker.ready else START_ALLOWANCE)

    def _read(self, worker: _Worker) -> list[Outcome]:
        """Every verdict the worker has sent (it may have finished its queued job too)."""
        outcomes: list[Outcome] = []
        heard = False
        while True:
            try:
                if not worker.conn.poll():
                    if heard:
                        return outcomes  # its pipe is drained; a death is seen next time
                    # Only the sentinel fired: the worker is gone without a word.
                    outcome = self._replace(worker, "crashed", "")
                    return [outcome] if outcome is not None else []
                kind, value, rss_mb, finished = pickle.loads(worker.conn.recv_bytes())
            except (EOFError, OSError):
                outcome = self._replace(worker, "crashed", "")
                return outcomes + ([outcome] if outcome is not None else [])
            heard = True
            if kind == "ready":
                worker.ready = True
                worker.started = finished  # its first job, if it has one, starts now
                continue
            job = worker.jobs.popleft() if worker.jobs else None
            seconds = finished - worker.started
            worker.started = finished  # it took its next job, if it has one, right then
            worker.done += 1
            if job is not None:
                outcomes.append(Outcome(job, value[0], None, "", seconds, value[1])
                                if kind == "ok"
                                else Outcome(job, None, kind, value, seconds))
            if kind == "memory":
                self._replace(worker, None, "")  # it exits by itself; start a fresh one
                return outcomes
            if worker.retiring is None:
                if self.recycle_rss_mb and rss_mb > self.recycle_rss_mb:
                    worker.retiring = (f"{rss_mb:,.0f} MiB resident after a file, over "
                                       f"{self.recycle_rss_mb:,} MiB")
                elif self.max_jobs and worker.done >= self.max_jobs:
                    worker.retiring = f"{worker.done:,} files validated"
            if worker.retiring is not None and not worker.jobs:
                self._recycle(worker, worker.retiring)
                return outcomes
            if not worker.jobs:
                return outcomes

    def _recycle(self, worker: _Worker, reason: str) -> None:
        """Retire an idle worker and start a fresh one in its place: it exits at once when asked
        (it holds no job), and is killed if it does not within a few seconds."""
        with contextlib.suppress(OSError):
            worker.conn.send(None)
        worker.process.join(5.0)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()
        self._workers[self._workers.index(worker)] = self._start()
        self.recycled += 1
        log.info("worker_recycled", reason=reason)

    def _replace(self, worker: _Worker, failure: str | None, detail: str) -> Outcome | None:
        """Stop ``worker`` (if it still runs), start a new one in its place, and report the job
        it ran as ``failure`` (None: it ran none); the jobs queued behind it go to the new
        worker. A crash's detail is its exit status."""
        if worker.process.is_alive():
            if failure == "crashed":
                worker.process.join(1.0)  # closed its pipe while exiting: let it finish
            if worker.process.is_alive():
                worker.process.kill()
        worker.process.join()
        worker.conn.close()
        if failure == "crashed":
            detail = _exit_text(worker.process.exitcode)
        seconds = time.monotonic() - worker.started
        job = worker.jobs.popleft() if worker.jobs and failure is not None else None
        fresh = self._start()
        self._workers[self._workers.index(worker)] = fresh
        for queued in worker.jobs:  # never started: the new worker takes them
            self._send(fresh, queued)
        if job is None:
            if failure is not None:
                log.warning("worker_replaced", failure=failure, detail=detail)
            return None
        return Outcome(job, None, failure, detail, seconds)

    def close(self, timeout: float = 5.0) -> None:
        """Ask idle workers to exit; kill any that do not within ``timeout`` seconds."""
        for worker in self._workers:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def _stop_signals_ignored_by_children() -> Iterator[None]:
    """Start processes that ignore SIGTERM and SIGINT, without the daemon missing either.

    The fork server is exec'd from the daemon, and an exec keeps an ignored signal ignored.
    Without this, a stop signal sent to the whole process group (``kill -TERM -PGID``,
    ``timeout``, a supervisor that signals the group) killed the fork server, the daemon could
    no longer read its workers' exit status, and a file being validated got a "the gateway
    failed" receipt. The daemon decides when workers stop; the fork server ends when the
    daemon does (it watches a pipe). Signals that arrive meanwhile are held, not lost: they
    are blocked first and delivered once the daemon's own handlers are back."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change handlers; the daemon starts workers there
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _exit_text(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"

