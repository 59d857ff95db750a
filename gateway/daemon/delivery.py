"""From a verdict to a receipt in the submitter's folder and a filed original: the last leg.

Delivery records the outcome, writes the receipt, files the original and logs the summary
line; every step is idempotent, so a delivery cut short is simply done again. When it cannot be
done now (a full disk; this submitter's ``receipts/`` deleted, replaced or unwritable) the
verdict is kept with the task and tried again later, and only that submitter waits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
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
from gateway.daemon.recovery import file_original
from gateway.daemon.rescan import RESCAN
from gateway.daemon.tasks import Task, TaskBoard
from gateway.receipts.model import Receipt, Status
from gateway.receipts.store import write_receipt
from gateway.site.config import Config
from gateway.site.layout import submitter_folders
from gateway.site.ledger import Ledger
from gateway.site.logs import get_logger, log_submission
from gateway.site.reference.database import ReferenceStore

log = get_logger("gateway.daemon")


class Delivery:
    """Writes receipts and files originals for one daemon."""

    def __init__(self, config: Config, ledger: Ledger, owner: str, catalog: Catalog,
                 reference: ReferenceStore, metrics: Metrics, trouble: SubmitterTrouble,
                 space: DiskSpace, board: TaskBoard, set_meta: Callable[..., None]) -> None:
        self.config = config
        self.ledger = ledger
        self.owner = owner
        self.catalog = catalog
        self.reference = reference
        self.metrics = metrics
        self.trouble = trouble
        self.space = space
        self.board = board
        self.set_meta = set_meta

    def deliver(self, task: Task, receipt: Receipt, failure: str | None = None,
                **timings: float) -> None:
        """Finish the task, or keep its verdict and try again later when the disk is full or
        its submitter's folder is broken."""
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
        task.receipt, task.failure, task.timings = receipt, failure, timings
        task.not_before = time.monotonic() + delay
        self.board.queue(task)

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

    def _finish(self, task: Task, receipt: Receipt, failure: str | None = None,
                **timings: float) -> None:
        """Record the outcome, write the receipt, file the original, log the summary."""
        submission = task.submission
        folders = submitter_folders(self.config, submission.submitter)
        problem = receipts_folder_problem(folders.receipts, folders.upload)
        if problem is not None:  # never written through a link or into a stranger's folder
            self._blocked(submission.submitter, problem)
            raise FolderFault(problem)
        self.ledger.validated(receipt, failure)
        # before the receipt: a crash in between validates again and the store skips the copy
        self.reference.remember(receipt)
        json_path, _ = write_receipt(receipt, folders.receipts, self.catalog, writer=self.owner)
        self.ledger.receipt_written(submission.submission_id, json_path)
        self.metrics.receipt(receipt.route.family if receipt.route else None,
                             receipt.status.value)
        file_original(submission, receipt.status is not Status.REJECTED, self.config,
                      self.ledger)
        spool_marker(self.config.spool, submission.submission_id).unlink(missing_ok=True)
        if task.dispatched_at is not None:
            timings["queue"] = task.dispatched_at - task.claimed_at
        log_submission(log, receipt, **timings, total=time.monotonic() - task.claimed_at)
        self.board.answered(submission.submission_id)
