"""Replaying a filed submission: the protocol between ``gateway replay`` and the daemons.

The command records a ``requested`` row that names the submission it replaces; whoever holds
the work carries it out: a running daemon that is nudged (SIGUSR1) or, with a shared ledger, any
live daemon at its next lease renewal; when none runs, the caller takes the instance lock and
drains the request itself. The new receipt names the one it replaces.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

from gateway.daemon.lock import AlreadyRunning, InstanceLock, running_pid
from gateway.receipts.model import new_submission_id
from gateway.site.config import Config
from gateway.site.ledger.model import State, Submission

NOT_READ = ("symlink", "hardlink", "special", "unreadable")


class ReplayRefused(RuntimeError):
    """A replay that cannot be asked for (an unknown id, a file never read or not yet filed);
    the message says which."""


def request_replay(settings: Config, submission_id: str, submitter: str | None = None) -> str:
    """Record a ``requested`` row for the replay; the daemon (or ``drain``) carries it out."""
    from gateway.site.ledger import Ledger

    ledger = Ledger(settings.ledger_location, create=False)
    try:
        original = ledger.get(submission_id)
        if original is None or submitter not in (None, original.submitter):
            raise ReplayRefused(f"no submission {submission_id}"
                               f"{f' from {submitter}' if submitter else ''}")
        if original.problem in NOT_READ:
            raise ReplayRefused(f"{submission_id} was a {original.problem}, never read; there is "
                               "nothing to validate")
        if original.state != State.FILED or not original.stored_path:
            raise ReplayRefused(f"{submission_id} is not filed yet (state {original.state})")
        replay_id = new_submission_id()
        ledger.add(Submission(
            submission_id=replay_id, submitter=original.submitter,
            upload_name=original.upload_name, name=original.name, state=State.REQUESTED,
            # received when the daemon took the original: a replay judges the same file against
            # the same deadline
            received_at=original.received_at,
            problem="name" if original.problem == "name" else None,
            replaces=submission_id))
    finally:
        ledger.close()
    return replay_id


def carry_out(settings: Config, replay_id: str, wait: float) -> Submission | None:
    """Wait for the replay to be filed: nudge a running daemon (SIGUSR1), or, whenever none
    holds the lock, take it and do the work here. With a shared ledger any live daemon takes
    the request at its next lease renewal; when none is alive, this command does the work.
    Returns the row as it last stood (None when the request was dropped because the original
    is gone)."""
    from gateway.daemon.membership import live_daemons
    from gateway.daemon.service import Service  # imports the pipeline; only needed here
    from gateway.site.ledger import Ledger

    ledger = Ledger(settings.ledger_location, create=False)
    nudged: set[int] = set()
    deadline = time.monotonic() + wait
    try:
        while True:
            row = ledger.get(replay_id)
            if row is None or row.state == State.FILED or time.monotonic() >= deadline:
                return row
            if settings.shared_ledger:
                if not live_daemons(ledger):
                    Service(settings, intake=False).drain()
                    continue
                time.sleep(0.2)
                continue
            pid = running_pid(settings.lock_file)
            if pid is None:
                lock = InstanceLock(settings.lock_file)
                with contextlib.suppress(AlreadyRunning):  # a daemon started meanwhile
                    lock.acquire()
                    try:
                        Service(settings, intake=False).drain()
                    finally:
                        lock.release()
                continue
            if pid > 0 and pid not in nudged:
                nudged.add(pid)
                # Not ours to signal? The daemon's next rescan picks the request up anyway.
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGUSR1)
            time.sleep(0.2)
    finally:
        ledger.close()
