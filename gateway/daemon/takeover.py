"""What no live daemon carries on: this daemon's predecessor's unfinished files, those of
daemons that died (several daemons share a PostgreSQL ledger), and the replays ``gateway
replay`` recorded. Each is resumed from the state it reached (``recovery.py``); a file another
daemon took over from this one (it stalled past its lease) is let go.
"""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from gateway.daemon.claim import spool_path
from gateway.daemon.membership import Membership
from gateway.daemon.metrics import Metrics
from gateway.daemon.recovery import clean_leftovers, existing_receipt, file_original
from gateway.daemon.tasks import Task, TaskBoard
from gateway.receipts.model import Status
from gateway.site.config import Config
from gateway.site.ledger import Ledger, LostClaim, State, Submission
from gateway.site.logs import get_logger

log = get_logger("gateway.daemon")


class Takeover:
    """Keeps this daemon's lease and adopts the files nobody else carries on."""

    def __init__(self, config: Config, ledger: Ledger, membership: Membership, metrics: Metrics,
                 board: TaskBoard) -> None:
        self.config = config
        self.ledger = ledger
        self.membership = membership
        self.metrics = metrics
        self.board = board
        self._cleaned_after: set[str] = set()  # dead daemons whose leftovers were removed

    def resume(self) -> None:
        """At start: finish what previous processes left."""
        dead = self.membership.dead()
        clean_leftovers(self.config, self.membership, dead)
        self._cleaned_after = dead
        self.adopt()

    def keep_lease(self, intake_healthy: bool | None, last_rescan_at: str | None) -> None:
        """Renew this daemon's lease, take over what dead daemons left, and refresh the numbers
        that describe the whole ledger."""
        self.membership.renew(intake_healthy=intake_healthy, last_rescan_at=last_rescan_at)
        self.metrics.lease(self.membership.lease_until)
        dead = self.membership.dead()
        if dead - self._cleaned_after:
            clean_leftovers(self.config, self.membership, dead)
            self._cleaned_after |= dead
        self.adopt()
        oldest = self.ledger.oldest_unfinished()
        self.metrics.oldest_unanswered(0.0 if oldest is None else time.time() - _epoch(oldest))

    def adopt(self) -> None:
        """Take over replays and the unfinished submissions of daemons that died."""
        known = {task.submission_id for task in self.board}
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
                self.board.queue(task)
                resumed += 1
        if resumed:
            log.info("resuming", submissions=resumed)

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

    def still_mine(self, task: Task) -> bool:
        row = self.ledger.get(task.submission_id)
        return row is not None and row.owner == self.membership.daemon_id

    def let_go(self, task: Task) -> None:
        """Another daemon took this submission over (this one stalled past its lease)."""
        log.warning("claim_lost", submission_id=task.submission_id)
        self.board.drop(task)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _status_of(receipt_json: Path) -> str | None:
    try:
        document: dict[str, Any] = json.loads(receipt_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document.get("status")
