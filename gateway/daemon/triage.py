"""From a claimed file to "validate it" or an answer without validation: the second leg.

Each claimed file is first inspected in the spool (what it is; once nobody writes it any more,
its hash), and judged whole or not (the SFTP server said its writer was cut off; its completion
marker is missing or does not match). Then, in this order, a file is answered without the
pipeline when its folder is not a registered submitter's (the file is not even read), when it
may not be read or was not whole, or when it repeats bytes already judged; anything else is
validated by a worker.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from gateway.daemon import own_receipts
from gateway.daemon.claim import inspect, spool_path
from gateway.daemon.health import SubmitterTrouble, upload_folder_problem
from gateway.daemon.intake import Intake
from gateway.daemon.leases import WriterCheck
from gateway.daemon.markers import read_marker, spool_marker
from gateway.daemon.rescan import RESCAN
from gateway.daemon.settle import WRITER_RECHECK
from gateway.daemon.tasks import Task, TaskBoard
from gateway.receipts.model import Receipt
from gateway.site.config import Config
from gateway.site.layout import submitter_folders
from gateway.site.ledger import Ledger, State
from gateway.site.logs import get_logger
from gateway.submitters.keeper import RegistryKeeper
from gateway.submitters.layer import admitted

log = get_logger("gateway.daemon")

DUPLICATE_RECHECK = 1.0  # seconds between looks at a first copy another daemon holds
WAIT = "wait"  # the answer of a duplicate whose first copy has no verdict yet


@dataclass(frozen=True)
class Inspected:
    """What the inspection of a task's spool copy found, to be recorded in the ledger."""

    task: Task
    problem: str | None
    size: int
    sha256: str | None


class Triage:
    """Inspects claimed files and answers those that need no validation."""

    def __init__(self, config: Config, ledger: Ledger, owner: str, registry: RegistryKeeper,
                 writer_check: WriterCheck, intake: Intake, trouble: SubmitterTrouble,
                 board: TaskBoard) -> None:
        self.config = config
        self.ledger = ledger
        self.owner = owner
        self.registry = registry
        self.writer_check = writer_check
        self.intake = intake  # its handle log and its completion-marker rule
        self.trouble = trouble
        self.board = board

    # -- what the file is -------------------------------------------------------------------

    def inspect(self, task: Task, now: float) -> Inspected | None:
        """Hash the spool copy and judge whether it arrived whole; None while it is still
        being written (a writer that opened it before the claim still holds it, or, where the
        kernel cannot tell, it changed after it settled): it is looked at again later, and no
        verdict is given on a prefix. What is found is recorded by ``record``."""
        submission = task.submission
        spool = spool_path(self.config, submission.submission_id)
        inspection = inspect(spool, by_kernel=self.writer_check.by_kernel, expected=task.settled)
        if inspection.being_written:
            self._still_written(task, now, inspection.size, inspection.mtime_ns)
            return None
        problem = inspection.problem
        if problem == "unreadable" and _unreadable_by_group(spool):
            # The file kept its group-read bit but got another group: upload/ lost its setgid
            # bit. The gateway's fault, not the submitter's `put -p`.
            problem = "folder_unreadable"
            self.trouble.report(submission.submitter, upload_folder_problem(
                submitter_folders(self.config, submission.submitter).upload)
                or "files in its upload/ arrive with a group the gateway is not in", RESCAN)
        sessions = self.intake.sessions
        if problem is None and task.writes is not None and sessions is not None:
            sessions.sync()
            if task.writes.writing and not self.writer_check.by_kernel:
                # the server still holds a handle on it: not finished, however quiet
                task.not_before = now + self.config.quiet_period
                return None
            if task.writes.interrupted:
                problem = "interrupted"
                log.warning("upload_interrupted", submitter=submission.submitter,
                            bytes=inspection.size)
        if problem is None and self.intake.marker_required(submission.submitter):
            problem = self._marker_problem(task, inspection.sha256)
        return Inspected(task, problem, inspection.size, inspection.sha256)

    def record(self, found: list[Inspected]) -> list[Task]:
        """Record what the inspections found, in one ledger transaction; returns the tasks
        another daemon took over meanwhile."""
        lost = self.ledger.inspected_many([(i.task.submission_id, i.problem, i.size, i.sha256)
                                           for i in found])
        for inspected in found:
            submission = inspected.task.submission
            submission.problem = inspected.problem
            submission.bytes, submission.sha256 = inspected.size, inspected.sha256
        return [i.task for i in found if i.task.submission_id in lost]

    def _still_written(self, task: Task, now: float, size: int, mtime_ns: int) -> None:
        if not task.held:
            task.held = True
            log.warning("still_being_written", submitter=task.submission.submitter,
                        writer_check=self.writer_check.name)
        if task.settled is not None:
            task.settled = replace(task.settled, size=size, mtime_ns=mtime_ns)
        task.not_before = now + (WRITER_RECHECK if self.writer_check.by_kernel
                                 else self.config.quiet_period)

    def _marker_problem(self, task: Task, sha256: str | None) -> str | None:
        marker = spool_marker(self.config.spool, task.submission_id)
        if not os.path.lexists(marker):
            return "marker_missing"
        expected = read_marker(marker, task.submission.upload_name)
        if expected is None:
            return "marker_unreadable"
        return None if expected == sha256 else "marker_mismatch"

    # -- answers without validation ----------------------------------------------------------

    def own_answer(self, task: Task) -> Receipt | None:
        """The receipt of a file that is not validated because of where it came from or what
        it is; None when there is no such reason."""
        submission = task.submission
        if not admitted(self.registry.registry, submission.submitter):
            return own_receipts.unknown_folder(submission)  # isolation: not even read
        if submission.problem is not None:
            return own_receipts.not_read(submission, _duration(self.config.marker_wait))
        return None

    def duplicate_answer(self, task: Task) -> Receipt | str | None:
        """A duplicate receipt, ``WAIT`` (the first copy is still in hand), or None (validate):
        only the latest verdict on the same bytes under the same extension is repeated."""
        submission = task.submission
        if submission.replaces is not None:
            return None  # a replay is judged again by definition
        assert submission.sha256 is not None
        if self.config.shared_ledger and self.ledger.unhashed_before(
                submission.submitter, submission.submission_id, self.owner):
            task.not_before = time.monotonic() + DUPLICATE_RECHECK
            return WAIT
        first = self.ledger.first_with_content(submission.submitter, submission.sha256,
                                               before=submission.submission_id)
        if first is None:
            return None
        if first.state not in (State.RECEIPT_WRITTEN, State.FILED):
            if self.board.in_hand(first.submission_id):
                self.board.park(task, first.submission_id)
                return WAIT
            if first.owner is not None and first.owner != self.owner:
                task.not_before = time.monotonic() + DUPLICATE_RECHECK  # another daemon's
                return WAIT
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


def _extension(name: str) -> str:
    return Path(name).suffix.lower()
