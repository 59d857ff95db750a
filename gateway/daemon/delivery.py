"""From verdicts to receipts in the submitters' folders and filed originals: the last leg.

Delivery records the outcomes, writes the receipts, files the originals and logs the summary
lines, for every verdict a turn of the loop has at once, step by step: one ledger transaction
for all ``validated``; the receipts, each file fsynced, with one fsync of each receipts folder
before the JSON receipts (which mark completion) and one after; one ``receipt_written``
transaction; the originals renamed, with one fsync of each folder they left or entered; one
``filed`` transaction. So each file still goes validated -> receipt durable -> receipt_written
-> original durable in the archive -> filed, and a daemon killed at any instant resumes each
from the state it reached (``recovery.py``). Every step is idempotent, so a delivery cut short
is simply done again. When a verdict cannot be delivered now (a full disk; its submitter's
``receipts/`` deleted, replaced or unwritable) it is kept with its task and tried again later,
and only that submitter waits.

Delivery runs in a thread of its own (``courier.py``) and never touches the board of files in
hand: what the loop must do next (files answered, files to try again, files another daemon
took over) comes back in a ``Delivered``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from gateway.contract.catalog import Catalog
from gateway.daemon.health import (
    SPACE_RETRY,
    DiskSpace,
    FolderFault,
    SubmitterTrouble,
    out_of_space,
    receipts_folder_problem,
)
from gateway.daemon.markers import spool_marker
from gateway.daemon.metrics import Metrics
from gateway.daemon.recovery import move_original
from gateway.daemon.rescan import RESCAN
from gateway.daemon.tasks import Task
from gateway.receipts.atomic import fsync_dir
from gateway.receipts.model import Receipt, Status
from gateway.receipts.store import (
    Rendered,
    receipt_paths,
    write_receipt_body,
    write_receipt_mark,
)
from gateway.site.config import Config
from gateway.site.layout import SubmitterFolders, submitter_folders
from gateway.site.ledger import Ledger
from gateway.site.logs import get_logger, log_submission
from gateway.site.reference.database import ReferenceStore

log = get_logger("gateway.daemon")


@dataclass
class Verdict:
    """A task's receipt, ready to be delivered, with what its summary line says."""

    task: Task
    receipt: Receipt
    failure: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    rendered: Rendered | None = None  # the receipt's files, rendered by the worker


@dataclass
class Delivered:
    """What became of a batch of verdicts, for the loop's board: the submissions answered
    (whatever was parked behind them may go on), the tasks that wait to be tried again (their
    verdict kept with them), and those another daemon took over meanwhile."""

    count: int
    answered: list[str] = field(default_factory=list)
    held: list[Task] = field(default_factory=list)
    lost: list[Task] = field(default_factory=list)


class _Held(Exception):
    """This verdict waits: it goes back to the board, to be tried again."""


class Delivery:
    """Writes receipts and files originals for one daemon."""

    def __init__(self, config: Config, ledger: Ledger, owner: str, catalog: Catalog,
                 reference: ReferenceStore, metrics: Metrics, trouble: SubmitterTrouble,
                 space: DiskSpace, set_meta: Callable[..., None]) -> None:
        self.config = config
        self.ledger = ledger
        self.owner = owner
        self.catalog = catalog
        self.reference = reference
        self.metrics = metrics
        self.trouble = trouble
        self.space = space
        self._out = Delivered(0)  # what the delivery under way found
        self._known: dict[str, SubmitterFolders] = {}  # submitter -> its folders' paths
        self.set_meta = set_meta

    def deliver(self, verdicts: list[Verdict]) -> Delivered:
        """Finish the tasks of ``verdicts``; a verdict that cannot be delivered now (a full
        disk, its submitter's folder broken) is kept with its task, to be tried again later.
        Says which were answered, which wait and which another daemon took over meanwhile
        (the caller lets them go)."""
        self._out = out = Delivered(len(verdicts))
        lost = out.lost
        ready = self._each(verdicts, self._check_folder)
        ready = self._together(ready, lost, lambda batch: self.ledger.validated_many(
            [(v.receipt, v.failure) for v in batch]))
        # before the receipt: a crash in between validates again and the store skips the copy
        ready = self._each(ready, lambda v: self.reference.remember(v.receipt))
        ready = self._write_receipts(ready)
        ready = self._together(ready, lost, lambda batch: self.ledger.receipt_written_many(
            [(v.task.submission_id, receipt_paths(v.receipt, self._folder(v))[0])
             for v in batch]))
        for verdict in ready:
            receipt = verdict.receipt
            self.metrics.receipt(receipt.route.family if receipt.route else None,
                                 receipt.status.value)
        stored: dict[str, Path | None] = {}  # where each original is filed
        ready = self._each(ready, lambda v: self._move_original(v, stored))
        ready = self._synced(ready, {v.task.submission_id: [
            self.config.spool, *_parent(stored[v.task.submission_id])] for v in ready})
        ready = self._together(ready, lost, lambda batch: self.ledger.filed_many(
            [(v.task.submission_id, stored[v.task.submission_id]) for v in batch]))
        for verdict in ready:
            self._finished(verdict)
        if ready:
            self.space.note(full=False)
        return out

    # -- the steps, each for every verdict still on its way ------------------------------------

    def _folders(self, submitter: str) -> SubmitterFolders:
        folders = self._known.get(submitter)
        if folders is None:  # asked a few times for each file: the paths are made once
            folders = self._known[submitter] = submitter_folders(self.config, submitter)
        return folders

    def _folder(self, verdict: Verdict) -> Path:
        return self._folders(verdict.task.submission.submitter).receipts

    def _check_folder(self, verdict: Verdict) -> None:
        submitter = verdict.task.submission.submitter
        folders = self._folders(submitter)
        problem = receipts_folder_problem(folders.receipts, folders.upload)
        if problem is not None:  # never written through a link or into a stranger's folder
            self._blocked(submitter, problem)
            raise FolderFault(problem)

    def _move_original(self, verdict: Verdict, stored: dict[str, Path | None]) -> None:
        accepted = verdict.receipt.status is not Status.REJECTED
        stored[verdict.task.submission_id] = move_original(verdict.task.submission, accepted,
                                                           self.config)

    def _write_receipts(self, verdicts: list[Verdict]) -> list[Verdict]:
        """Annotated copies and text receipts first, their folders fsynced, then the JSON
        receipts (their presence marks a receipt complete), their folders fsynced again."""
        folders = {v.task.submission_id: [self._folder(v)] for v in verdicts}
        verdicts = self._each(verdicts, lambda v: write_receipt_body(
            v.receipt, self._folder(v), self.catalog, writer=self.owner, sync_folder=False,
            rendered=v.rendered))
        verdicts = self._synced(verdicts, folders)
        verdicts = self._each(verdicts, lambda v: write_receipt_mark(
            v.receipt, self._folder(v), writer=self.owner, sync_folder=False,
            rendered=v.rendered))
        return self._synced(verdicts, folders)

    def _synced(self, verdicts: list[Verdict], folders: dict[str, list[Path]]
                ) -> list[Verdict]:
        """fsync each folder once; the verdicts whose folder could not be synced wait."""
        failed: dict[Path, BaseException] = {}
        for folder in sorted({f for v in verdicts for f in folders[v.task.submission_id]}):
            try:
                fsync_dir(folder)
            except Exception as err:
                failed[folder] = err

        def check(verdict: Verdict) -> None:
            for folder in folders[verdict.task.submission_id]:
                if folder in failed:
                    raise failed[folder]

        return self._each(verdicts, check) if failed else verdicts

    def _each(self, verdicts: list[Verdict], step: Callable[[Verdict], object]
              ) -> list[Verdict]:
        """Run ``step`` for each verdict; those it fails for wait (or the failure is raised,
        when it is not one a verdict can wait out)."""
        going = []
        for verdict in verdicts:
            try:
                with self._holding([verdict]):
                    step(verdict)
            except _Held:
                continue
            going.append(verdict)
        return going

    def _together(self, verdicts: list[Verdict], lost: list[Task],
                  step: Callable[[list[Verdict]], set[str]]) -> list[Verdict]:
        """Run one ledger transaction for every verdict; when it fails they all wait. The
        verdicts whose rows another daemon took over are moved to ``lost``."""
        if not verdicts:
            return verdicts
        try:
            with self._holding(verdicts):
                gone = step(verdicts)
        except _Held:
            return []
        lost.extend(v.task for v in verdicts if v.task.submission_id in gone)
        return [v for v in verdicts if v.task.submission_id not in gone]

    @contextmanager
    def _holding(self, verdicts: list[Verdict]) -> Iterator[None]:
        """A full disk or a broken submitter folder puts the verdicts back to wait."""
        try:
            yield
        except Exception as err:
            if out_of_space(err):
                self._hold(verdicts, SPACE_RETRY)
                self.space.note(full=True)
                raise _Held from err
            if isinstance(err, FolderFault) or (len(verdicts) == 1 and self._submitter_fault(
                    verdicts[0].task.submission.submitter, err)):
                self._hold(verdicts, self.config.rescan_interval)
                raise _Held from err
            raise

    def _finished(self, verdict: Verdict) -> None:
        task, timings = verdict.task, verdict.timings
        spool_marker(self.config.spool, task.submission_id).unlink(missing_ok=True)
        if task.dispatched_at is not None:
            timings["queue"] = task.dispatched_at - task.claimed_at
        log_submission(log, verdict.receipt, **timings,
                       total=time.monotonic() - task.claimed_at)
        self._out.answered.append(task.submission_id)

    # -- waiting -------------------------------------------------------------------------------

    def _hold(self, verdicts: list[Verdict], delay: float) -> None:
        for verdict in verdicts:
            task = verdict.task
            task.receipt, task.failure, task.timings = (verdict.receipt, verdict.failure,
                                                        verdict.timings)
            task.not_before = time.monotonic() + delay
            self._out.held.append(task)

    def _blocked(self, submitter: str, problem: str) -> None:
        self.trouble.report(submitter, problem, RESCAN)  # the rescan clears it once mended
        self.set_meta(blocked_submitters=self.trouble.as_text())

    def _submitter_fault(self, submitter: str, err: BaseException) -> bool:
        """Did delivering fail on this submitter's own folders? Then only this submitter
        waits: the folder is repaired where the daemon safely can, otherwise reported with
        the operator's fix."""
        folders = submitter_folders(self.config, submitter)
        root = folders.upload.parent
        filename = getattr(err, "filename", None)
        if not isinstance(err, OSError) or filename is None or not Path(
                os.fsdecode(filename)).is_relative_to(root):
            return False
        self._blocked(submitter, receipts_folder_problem(folders.receipts, folders.upload)
                      or f"writing its receipt failed ({err.strerror}) in {root}")
        return True


def _parent(path: Path | None) -> list[Path]:
    return [] if path is None else [path.parent]
