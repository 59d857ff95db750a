"""Where a small file's time goes in the daemon: every step of the main loop, timed in place.

Runs the real ``Service`` of ``gateway serve`` in this process (same layout and config as
``bench.daemon``: ``gateway init``, one submitter, quiet period 0.5 s), drops ``--files``
distinct valid ten-patient files at once, and times each step of the main thread by wrapping
the functions the loop calls (settle tracker, claim, hash/copy, duplicate look-ups, receipt,
filing, every ledger transaction, every ``fsync``). Nothing in the product is changed: the
wrappers are installed by this script only. Workers run in their own processes; their part is
read off the receipts (``timings.total``) and the time the pool measures from a job's start to
its outcome. The process's own CPU seconds (main thread and its other threads, not the workers)
are printed too: on a shared machine they are the figure to compare.

Prints a Markdown table: per step, calls per file, inclusive and self milliseconds per file
(self: minus the steps timed inside it). Nested steps are indented.

Usage: ``python -m bench.daemon_profile [--files 500] [--postgres]``.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.daemon import QUIET, _config, _descendants_cpu, _files


class Recorder:
    """Nested spans of the main thread and of the delivery thread (where the daemon has one):
    inclusive and self seconds and calls per name."""

    def __init__(self) -> None:
        self.inclusive: dict[str, float] = defaultdict(float)
        self.self_time: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.parent: dict[str, str] = {}
        self.worker: list[tuple[float, float]] = []  # (validate_file seconds, round trip)
        self._stacks: dict[int, list[list[Any]]] = {}  # thread -> [name, started, child s]
        self._thread = threading.get_ident()

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        """Time one call; its key is the path of names from the outermost span, so the same
        step called from two places (an fsync) is two rows of the tree."""
        thread = threading.current_thread()
        if thread.ident != self._thread and thread.name != "delivery":
            yield  # watchdog's thread, the notifier's: not a file's way
            return
        stack = self._stacks.setdefault(thread.ident or 0, [])
        if thread.ident != self._thread and not stack:
            name = f"delivery thread: {name}"
        key = f"{stack[-1][0]}/{name}" if stack else name
        if stack:
            self.parent.setdefault(key, stack[-1][0])
        frame = [key, time.perf_counter(), 0.0]
        stack.append(frame)
        try:
            yield
        finally:
            stack.pop()
            spent = time.perf_counter() - frame[1]
            self.inclusive[key] += spent
            self.self_time[key] += spent - frame[2]
            self.calls[key] += 1
            if stack:
                stack[-1][2] += spent

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.span(name):
                return original(*args, **kwargs)

        setattr(owner, attribute, timed)


# (module, attribute path, label): what the main loop calls, wrapped where the caller looks it
# up (a module that imported a function by name is wrapped in that module). Steps a version of
# the daemon does not have are left out, so the same script profiles the code before and after
# a change.
STEPS = [
    ("gateway.daemon.service", "Service._turn", "loop turn"),
    ("gateway.daemon.intake", "Intake.take_hints", "settle: take watcher hints"),
    ("gateway.daemon.intake", "Intake.rescan_if_due", "settle: rescan"),
    ("gateway.daemon.intake", "Intake.claim_settled", "claim settled uploads"),
    ("gateway.daemon.settle", "SettleTracker.settled",
     "settle: which are settled (lstat, writer probe)"),
    ("gateway.daemon.settle", "SettleTracker.see", "settle: see"),
    ("gateway.daemon.intake", "claim", "claim (ledger add, rename, fsync dirs)"),
    ("gateway.daemon.intake", "claim_many", "claim (ledger add, renames, fsync dirs)"),
    ("gateway.daemon.service", "Service._advance", "advance claimed tasks"),
    ("gateway.daemon.triage", "inspect", "hash (and copy if the kernel cannot tell)"),
    ("gateway.daemon.claim", "_read_all", "read + sha256"),
    ("gateway.daemon.claim", "_replace_by_copy", "copy into the spool"),
    ("gateway.daemon.triage", "Triage.duplicate_answer", "duplicate check"),
    ("gateway.daemon.workers", "WorkerPool.submit", "hand to a worker"),
    ("gateway.daemon.workers", "WorkerPool.collect", "wait for or read worker outcomes"),
    ("gateway.daemon.service", "Service._on_outcome", "outcome -> receipt -> filing"),
    ("gateway.daemon.service", "Service._on_outcomes", "outcomes -> receipts -> filing"),
    ("gateway.daemon.delivery", "Delivery.deliver", "deliver"),
    ("gateway.site.reference.database", "ReferenceStore.remember", "reference data remember"),
    ("gateway.daemon.delivery", "write_receipt", "write receipt (render, tmp, fsync, rename)"),
    ("gateway.daemon.delivery", "write_receipt_body",
     "write text receipt (render, tmp, fsync, rename)"),
    ("gateway.daemon.delivery", "write_receipt_mark",
     "write JSON receipt (render, tmp, fsync, rename)"),
    ("gateway.daemon.delivery", "file_original", "file the original (rename, fsync dirs)"),
    ("gateway.daemon.delivery", "move_original", "file the original (rename)"),
    ("gateway.daemon.delivery", "log_submission", "log the summary line"),
    ("gateway.daemon.service", "Service._report_health", "health report"),
    ("gateway.daemon.takeover", "Takeover.keep_lease", "lease renewal + adopt"),
    ("os", "fsync", "fsync"),
    *[(module, "fsync_dir", "fsync dir") for module in (
        "gateway.daemon.recovery", "gateway.daemon.claim", "gateway.daemon.delivery",
        "gateway.receipts.store")],
    *[("gateway.site.ledger.store", f"Ledger.{name}", f"ledger.{name} (transaction)")
      for name in ("add", "add_many", "forget", "inspected", "inspected_many", "validated",
                   "validated_many", "receipt_written", "receipt_written_many", "filed",
                   "filed_many", "set_meta", "heartbeat")],
    # questions: each its own read transaction, unless asked inside ``Ledger.reading``
    *[("gateway.site.ledger.store", f"Ledger.{name}", f"ledger.{name} (question)")
      for name in ("first_with_content", "latest_outcome", "unhashed_before", "orphans",
                   "oldest_unfinished", "get")],
]
# single-row ledger methods that the batched ones replaced call them: not counted twice
_BATCHED = {"add": "add_many", "inspected": "inspected_many", "validated": "validated_many",
            "receipt_written": "receipt_written_many", "filed": "filed_many"}


def _instrument(recorder: Recorder) -> None:
    """Wrap every step of ``STEPS`` this version of the daemon has, and note what the workers
    report with each outcome."""
    import importlib

    from gateway.site.ledger.store import Ledger

    for module_name, attribute, label in STEPS:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        if not hasattr(owner, name) or (name in _BATCHED and hasattr(Ledger, _BATCHED[name])):
            continue
        recorder.wrap(owner, name, label)
    import gateway.daemon.workers as workers

    original = workers.WorkerPool.collect

    def collect(self: Any, timeout: float, *args: Any, **kwargs: Any) -> Any:
        outcomes = original(self, timeout, *args, **kwargs)
        for outcome in outcomes:
            if outcome.receipt is not None:
                recorder.worker.append((outcome.receipt.timings.get("total", 0.0),
                                        outcome.seconds))
        return outcomes

    workers.WorkerPool.collect = collect


def run(count: int, ledger_url: str | None) -> dict[str, Any]:
    from gateway.daemon.service import Service
    from gateway.site.config import load_config
    from gateway.site.logs import configure_logging

    recorder = Recorder()
    with tempfile.TemporaryDirectory(prefix="gateway-profile-") as tmp:
        root = Path(tmp)
        config_path = _config(root, ledger_url)
        settings = load_config(config_path)
        inbox = root / "inbox" / "bench"
        stage = root / "stage"
        stage.mkdir()
        files = _files(stage, count)
        # the daemon's log lines go to a file, as under systemd's journal
        log_fd = os.open(root / "serve.log", os.O_WRONLY | os.O_CREAT, 0o600)
        saved = os.dup(1), os.dup(2)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        try:
            configure_logging(settings.log_format, settings.log_level)
            service = Service(settings)
            _instrument(recorder)
            receipts = inbox / "receipts"
            times: dict[str, float] = {}
            cpu: dict[str, float] = {}

            def drop_and_stop() -> None:
                while not (root / "serve.log").read_bytes().count(b'"serving"'):
                    time.sleep(0.05)
                times["dropped"] = time.time()
                cpu["daemon"], cpu["workers"] = -time.process_time(), -_descendants_cpu()
                for path in files:
                    os.rename(path, inbox / "upload" / path.name)
                deadline = time.time() + 600
                while (len(list(receipts.glob("*.receipt.json"))) < count
                       and time.time() < deadline):
                    time.sleep(0.1)
                times["answered"] = time.time()
                cpu["daemon"] += time.process_time()
                cpu["workers"] += _descendants_cpu()
                os.kill(os.getpid(), signal.SIGTERM)

            dropper = threading.Thread(target=drop_and_stop, daemon=True)
            dropper.start()
            service.run()
            dropper.join()
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
        answered = sorted(receipts.glob("*.receipt.json"))
        worker = recorder.worker
    return {"recorder": recorder, "files": count, "answered": len(answered),
            "seconds": times["answered"] - times["dropped"] - QUIET,
            "worker_ms": 1000 * sum(v for v, _ in worker) / max(1, len(worker)),
            "round_trip_ms": 1000 * sum(r for _, r in worker) / max(1, len(worker)),
            "daemon_cpu_ms": 1000 * cpu["daemon"] / count,
            "workers_cpu_ms": 1000 * cpu["workers"] / count}


def _depth(recorder: Recorder, name: str) -> int:
    depth = 0
    while name in recorder.parent and depth < 10:
        name = recorder.parent[name]
        depth += 1
    return depth


def _ordered(recorder: Recorder) -> list[str]:
    """Names as a tree: children after their parent, larger first."""
    children: dict[str | None, list[str]] = defaultdict(list)
    for name in recorder.calls:
        children[recorder.parent.get(name)].append(name)
    out: list[str] = []

    def visit(parent: str | None) -> None:
        for name in sorted(children[parent], key=lambda n: -recorder.inclusive[n]):
            out.append(name)
            visit(name)

    visit(None)
    return out


def table(result: dict[str, Any]) -> str:
    recorder: Recorder = result["recorder"]
    files = result["files"]
    lines = ["| step (main thread; the delivery thread's under its name) | calls/file | ms/file "
             "| self ms/file |",
             "|---|---:|---:|---:|"]
    for name in _ordered(recorder):
        indent = "&nbsp;&nbsp;" * _depth(recorder, name)
        lines.append(f"| {indent}{name.rsplit('/', 1)[-1]} | {recorder.calls[name] / files:.2f} | "
                     f"{1000 * recorder.inclusive[name] / files:.2f} | "
                     f"{1000 * recorder.self_time[name] / files:.2f} |")
    def leaf(key: str) -> str:
        return key.rsplit("/", 1)[-1]

    fsyncs = sum(v for k, v in recorder.calls.items() if leaf(k) == "fsync") / files
    fsync_ms = sum(v for k, v in recorder.inclusive.items() if leaf(k) == "fsync")
    ledger_ms = sum(v for k, v in recorder.inclusive.items() if leaf(k).startswith("ledger."))
    writes = sum(v for k, v in recorder.calls.items()
                 if leaf(k).startswith("ledger.") and leaf(k).endswith("(transaction)"))
    questions = sum(v for k, v in recorder.calls.items()
                    if leaf(k).startswith("ledger.") and leaf(k).endswith("(question)"))
    lines.append("")
    lines.append(f"{result['answered']}/{files} answered in {result['seconds']:.1f} s "
                 f"({result['answered'] / result['seconds']:.1f} files/s, wall "
                 f"{1000 * result['seconds'] / files:.1f} ms/file); load "
                 f"{os.getloadavg()[0]:.1f}. Ledger: {writes / files:.2f} write transactions and "
                 f"{questions / files:.2f} questions, {1000 * ledger_ms / files:.2f} ms per "
                 f"file; os.fsync from Python: "
                 f"{fsyncs:.1f} per file, {1000 * fsync_ms / files:.2f} ms. Workers (other "
                 f"processes): validate_file "
                 f"{result['worker_ms']:.2f} ms per file, job handed out -> outcome read "
                 f"{result['round_trip_ms']:.2f} ms. CPU per file: daemon process "
                 f"{result['daemon_cpu_ms']:.2f} ms, workers and fork server "
                 f"{result['workers_cpu_ms']:.2f} ms.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--postgres", action="store_true",
                        help="a PostgreSQL ledger (a throw-away local cluster, fsync on)")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        url = None
        if args.postgres:
            from tests.support.postgres import temporary_cluster

            url = stack.enter_context(temporary_cluster(durable=True)).create_database()
        result = run(args.files, url)
    print(table(result))


if __name__ == "__main__":
    main(sys.argv[1:])
