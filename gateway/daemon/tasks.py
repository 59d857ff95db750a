"""The files a daemon holds, from their claim to their receipt, in one place.

A claimed submission is a ``Task``. It waits in the queue (to be inspected, answered or handed
to a worker), runs in a worker, or is parked behind the first copy of the same bytes until that
copy's verdict is known. ``TaskBoard`` keeps the three and moves tasks between them, so the
daemon's loop never has to know which container a task is in.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from gateway.daemon.handle_log import Writes
from gateway.daemon.settle import Signature
from gateway.receipts.model import Receipt
from gateway.site.ledger import Submission


@dataclass(eq=False)
class Task:
    """A claimed submission on its way to a receipt, with the clocks for its summary line.
    Two tasks are the same only if they are one object (the board finds a task in its queue
    by identity, not by comparing every field of every task ahead of it)."""

    submission: Submission
    settled: Signature | None = None
    not_before: float = 0.0
    claimed_at: float = field(default_factory=time.monotonic)
    dispatched_at: float | None = None
    held: bool = False  # found still being written after the claim (logged once)
    receipt: Receipt | None = None  # known, not yet delivered (disk full, folder broken)
    first_copy: bool = False  # the duplicate check said "validate"; not asked again each turn
    failure: str | None = None
    writes: Writes | None = None  # what the SFTP server said about its writers
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def submission_id(self) -> str:
        return self.submission.submission_id


class TaskBoard:
    """Queued, running and parked tasks."""

    def __init__(self) -> None:
        self._queued: deque[Task] = deque()
        self._running: dict[str, Task] = {}
        self._parked: dict[str, list[Task]] = {}  # first submission id -> its duplicates

    def __len__(self) -> int:
        return (len(self._queued) + len(self._running)
                + sum(len(tasks) for tasks in self._parked.values()))

    def __iter__(self) -> Iterator[Task]:
        yield from self._queued
        yield from self._running.values()
        for tasks in self._parked.values():
            yield from tasks

    def queue(self, task: Task) -> None:
        self._queued.append(task)

    def due(self, now: float) -> list[Task]:
        """Queued tasks whose time has come, oldest first."""
        return [task for task in self._queued if task.not_before <= now]

    @property
    def waiting(self) -> int:
        """Queued tasks (to be inspected, answered or handed to a worker)."""
        return len(self._queued)

    def is_queued(self, task: Task) -> bool:
        return task in self._queued

    def next_deadline(self, now: float) -> float | None:
        """Seconds until the earliest queued task waiting for a later time (None: none)."""
        later = [task.not_before - now for task in self._queued if task.not_before > now]
        return min(later) if later else None

    def take(self, task: Task) -> None:
        """Out of the queue: it is answered now (or let go)."""
        self._queued.remove(task)

    def run(self, task: Task, now: float) -> None:
        self._queued.remove(task)
        task.dispatched_at = now
        self._running[task.submission_id] = task

    def ran(self, submission_id: str) -> Task:
        return self._running.pop(submission_id)

    def in_hand(self, submission_id: str) -> bool:
        """Queued or running (a first copy whose verdict is coming)."""
        return submission_id in self._running or any(
            task.submission_id == submission_id for task in self._queued)

    def park(self, task: Task, first_id: str) -> None:
        """Wait behind the first copy of the same bytes."""
        self._queued.remove(task)
        self._parked.setdefault(first_id, []).append(task)

    def answered(self, submission_id: str) -> None:
        """Its verdict is known: whatever was parked behind it goes first in the queue."""
        for waiter in self._parked.pop(submission_id, []):
            self._queued.appendleft(waiter)

    def drop(self, task: Task) -> None:
        """Another daemon took it over: forget it wherever it is."""
        if task in self._queued:
            self._queued.remove(task)
        self._running.pop(task.submission_id, None)
        self.answered(task.submission_id)
