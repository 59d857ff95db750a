"""From the upload folders to claimed tasks: the first leg of a file's way through the daemon.

Event hints and, when due, a full rescan become sightings for the settle tracker; settled
uploads are claimed (renamed into the spool), no more than the workers can soon take. On the
way a file may wait: its submitter's folders are broken (that submitter only waits), its
completion marker has not come yet, or the disk is full. The SFTP servers' handle log is opened
here too, and each claimed upload takes its record along.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from gateway.daemon.claim import Claim, claim_many
from gateway.daemon.handle_log import SessionLog
from gateway.daemon.health import DiskSpace, SubmitterTrouble, out_of_space, upload_folder_problem
from gateway.daemon.leases import WriterCheck, path_open_for_writing
from gateway.daemon.markers import (
    MARKER_RECHECK,
    age,
    data_file_of,
    is_marker,
    marker_of,
    marker_settled,
    spool_marker,
)
from gateway.daemon.metrics import Metrics
from gateway.daemon.rescan import RESCAN, rescan
from gateway.daemon.settle import Settled, SettleTracker
from gateway.daemon.tasks import Task
from gateway.daemon.watch import Hint
from gateway.site.config import Config
from gateway.site.layout import iter_submitter_roots
from gateway.site.ledger import Ledger, now_text
from gateway.site.logs import get_logger
from gateway.submitters.keeper import RegistryKeeper

log = get_logger("gateway.daemon")

CLAIM = "claim"  # SubmitterTrouble's source for a claim that failed
HINTS_PER_TURN = 10_000


class Intake:
    """Finds settled uploads and claims them for this daemon."""

    def __init__(self, config: Config, ledger: Ledger, owner: str, registry: RegistryKeeper,
                 writer_check: WriterCheck, metrics: Metrics, trouble: SubmitterTrouble,
                 space: DiskSpace, set_meta: Callable[..., None]) -> None:
        self.config = config
        self.ledger = ledger
        self.owner = owner
        self.registry = registry
        self.writer_check = writer_check
        self.metrics = metrics
        self.trouble = trouble
        self.space = space
        self.set_meta = set_meta  # the heartbeat for `gateway status`
        self.hints: queue.SimpleQueue[Hint] = queue.SimpleQueue()
        self.tracker = SettleTracker(
            config.quiet_period,
            writer_open=path_open_for_writing if writer_check.by_kernel else None)
        self.sessions: SessionLog | None = None  # the SFTP servers' handle log (serving only)
        self.rescan_due = 0.0
        self.last_rescan_at: str | None = None
        self._claim_retry: dict[str, float] = {}  # submitter -> when to try its claims again

    # -- the SFTP servers' handle log -------------------------------------------------------

    def listen(self) -> None:
        """Hear every submitter's SFTP server (see ``handle_log.py``)."""
        self.sessions = SessionLog(self._chroots())
        self.sessions.start()

    def stop_listening(self) -> None:
        if self.sessions is not None:
            self.sessions.close()

    def signal_meta(self) -> dict[str, str]:
        """For ``gateway status``: whose uploads the SFTP server's handle log covers."""
        if self.sessions is None:
            return {}
        return {"interruption_signal": json.dumps({"listening": self.sessions.listening,
                                                   "missing": self.sessions.missing})}

    def _chroots(self) -> list[tuple[str, Path, Path]]:
        return [(f.submitter, f.upload.parent, f.upload) for f in iter_submitter_roots(self.config)]

    # -- sightings ----------------------------------------------------------------------------

    def take_hints(self) -> None:
        for _ in range(HINTS_PER_TURN):
            try:
                path, submitter = self.hints.get_nowait()
            except queue.Empty:
                return
            self.tracker.see(path, submitter)

    def rescan_if_due(self) -> None:
        if time.monotonic() < self.rescan_due:
            return
        started = time.monotonic()
        waiting = rescan(self.config, self.tracker, self.trouble)
        self.metrics.waiting(waiting)
        self.last_rescan_at = now_text()
        self.rescan_due = time.monotonic() + self.config.rescan_interval
        if self.sessions is not None:
            self.sessions.update(self._chroots())
            self.metrics.interruption_signal_missing(len(self.sessions.missing))
        self.set_meta(last_rescan_at=now_text(), waiting=str(waiting),
                      blocked_submitters=self.trouble.as_text(), **self.signal_meta())
        log.debug("rescan", waiting=waiting, seconds=round(time.monotonic() - started, 4))

    def next_due(self) -> float | None:
        return self.tracker.next_due()

    # -- claims -------------------------------------------------------------------------------

    def claim_settled(self, room: int) -> list[Task]:
        """Claim up to ``room`` settled uploads; returns their tasks."""
        now = time.monotonic()
        if room <= 0 or not self.space.may_claim(now):
            return []
        # A submitter whose folder the rescan found unusable waits for the rescan to clear it;
        # one whose claim failed is tried again at the rescan's pace.
        ready = self.tracker.settled(
            limit=room, eligible=lambda submitter: (
                self.trouble.source(submitter) in (None, CLAIM)
                and self._claim_retry.get(submitter, 0.0) <= now))
        batch = []
        for settled in ready:
            if self._waits_for_marker(settled):
                self.tracker.defer(settled.path, MARKER_RECHECK)
                continue
            self.tracker.forget(settled.path)
            if self._may_claim(settled, now):
                batch.append(settled)
        return self._claim(batch, now)

    def marker_required(self, submitter: str) -> bool:
        registry = self.registry.registry
        entry = registry.active(submitter) if registry is not None else None
        return entry is not None and entry.complete_marker is not None

    def _waits_for_marker(self, settled: Settled) -> bool:
        """A completion-marker submitter's data file waits for its settled ``NAME.sha256`` (or
        for ``marker_wait`` to pass); the marker itself waits for its data file, and is taken
        as an upload of its own only when it has none after the same wait."""
        if not self.marker_required(settled.submitter):
            return False
        path = settled.path
        if is_marker(path.name):
            return (os.path.lexists(data_file_of(path))
                    or age(path) < self.config.marker_wait)
        marker = marker_of(path)
        writer = path_open_for_writing(marker) if self.writer_check.by_kernel else None
        if marker_settled(marker, self.config.quiet_period, writer):
            return False
        return age(path) < self.config.marker_wait

    def _may_claim(self, settled: Settled, now: float) -> bool:
        problem = upload_folder_problem(settled.path.parent)
        if problem is not None:  # e.g. setgid lost since the rescan: files there would be
            self._blocked(settled, problem, RESCAN)  # unreadable to the gateway
            return False
        problem = _foreign_group(settled.path, settled.submitter)
        if problem is not None:  # tried again at the rescan's pace, cleared by a good claim
            self._blocked(settled, problem, CLAIM)
            self._claim_retry[settled.submitter] = now + self.config.rescan_interval
            return False
        return True

    def _claim(self, batch: list[Settled], now: float) -> list[Task]:
        """Claim the turn's settled uploads together (one ledger transaction, one fsync per
        folder); each then goes on, or waits, on its own."""
        if not batch:
            return []
        try:
            claims = claim_many(batch, self.config, self.ledger, owner=self.owner)
        except Exception as err:
            if not out_of_space(err):
                raise
            for settled in batch:
                self.tracker.see(settled.path, settled.submitter)  # it waits in upload/
            self.space.note(full=True)
            return []
        self.space.note(full=False)
        tasks = []
        for claimed in claims:
            task = self._claimed(claimed, now)
            if task is not None:
                tasks.append(task)
        return tasks

    def _claimed(self, claimed: Claim, now: float) -> Task | None:
        settled, submission = claimed.settled, claimed.submission
        if claimed.error is not None:
            # One submitter's folder must not stop the others: its files wait, it is said
            # once, and the claim is tried again at the pace of the rescan.
            self._blocked(settled, "the gateway cannot move files out of its upload/ folder "
                          f"({claimed.error.strerror})", CLAIM)
            self._claim_retry[settled.submitter] = now + self.config.rescan_interval
            return None
        if self.trouble.blocked(settled.submitter):
            self.trouble.clear(settled.submitter, CLAIM)
            self.set_meta(blocked_submitters=self.trouble.as_text())
        if submission is None:
            return None
        self.metrics.taken()
        writes = (self.sessions.take(submission.submitter, settled.path.name)
                  if self.sessions is not None else None)
        if self.marker_required(submission.submitter):
            # the marker goes into the spool beside its file (a restart still checks it)
            with contextlib.suppress(FileNotFoundError):  # never came: answered as such
                os.rename(marker_of(settled.path),
                          spool_marker(self.config.spool, submission.submission_id))
        with structlog.contextvars.bound_contextvars(submission_id=submission.submission_id):
            log.info("claimed", submitter=submission.submitter, name=submission.name,
                     signal="sftp_log" if writes is not None else None)
        return Task(submission, settled.signature, writes=writes)

    def _blocked(self, settled: Settled, problem: str, source: str) -> None:
        self.tracker.see(settled.path, settled.submitter)  # it waits in upload/
        self.trouble.report(settled.submitter, problem, source)
        self.set_meta(blocked_submitters=self.trouble.as_text())


def _foreign_group(path: Path, submitter: str) -> str | None:
    """A file that only its group may read, of a group the daemon is not in: it came while
    ``upload/`` had lost its setgid bit, and waits for the operator's ``chgrp``."""
    try:
        st = path.lstat()
    except OSError:
        return None
    if (not st.st_mode & 0o040 or st.st_mode & 0o004 or st.st_uid == os.geteuid()
            or os.geteuid() == 0 or st.st_gid in {os.getegid(), *os.getgroups()}):
        return None
    return ("files in its upload/ folder belong to a group the gateway is not in (they came "
            "while the folder had lost its setgid bit); fix as root: `chgrp GATEWAY-GROUP` "
            f"them, and `gateway submitter add {submitter} --user ACCOUNT` if the folder still "
            "lacks it")
