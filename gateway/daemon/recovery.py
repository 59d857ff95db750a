"""The durable steps after validation, written so that doing any of them twice is harmless.

A daemon killed at any instant restarts into one of these situations, per ledger state:

``requested``        copy the original into the spool unless the copy is already there;
``claimed``          no spool file: the rename never happened, forget the row; otherwise, if a
/ ``validated``      JSON receipt for the submission id exists, it was written (go on to filing),
                     else validate again under the same id (the receipt names are the same, so
                     a half-finished text receipt is simply replaced);
``receipt_written``  move the original from the spool unless it is already filed;
``filed``            nothing.

Temporary files of interrupted atomic writes are removed, so a submitter never sees one; on a
shared inbox only those of dead daemons (see ``membership.py``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path

from gateway.daemon.claim import COPY_SUFFIX, copy_name, spool_path
from gateway.daemon.membership import Membership
from gateway.receipts.atomic import TEMP_PREFIX, fsync_dir
from gateway.site.config import Config
from gateway.site.layout import STATE_MODE, iter_submitters, submitter_folders
from gateway.site.ledger import Ledger, State, Submission
from gateway.site.logs import get_logger

log = get_logger("gateway.daemon.recovery")


def clean_leftovers(config: Config, membership: Membership, dead: set[str]) -> None:
    """Remove temporary files that interrupted writes of dead daemons (``dead``, ids) left in
    receipts folders and the spool; a live daemon's files, and this one's, stay."""
    removed = 0
    now = time.time()
    for folder in [f.receipts for f in iter_submitters(config)]:
        try:
            entries = [e for e in os.scandir(folder) if e.name.startswith(TEMP_PREFIX)]
        except OSError:
            continue
        for entry in entries:
            with contextlib.suppress(OSError):
                age = now - entry.stat(follow_symlinks=False).st_mtime
                if membership.stale_temporary(entry.name, TEMP_PREFIX, age, dead):
                    os.unlink(entry.path)
                    removed += 1
    for name in os.listdir(config.spool):
        if name.startswith(".") and name.endswith(COPY_SUFFIX):
            submission = membership.ledger.get(name[1:-len(COPY_SUFFIX)])
            # A copy is being made only by the live owner of an unfinished replay.
            if (submission is None or submission.state == State.FILED
                    or submission.owner is None or submission.owner in dead):
                Path(config.spool, name).unlink(missing_ok=True)
                removed += 1
    if removed:
        log.info("removed_temporary_files", count=removed)


def existing_receipt(submission: Submission, config: Config) -> Path | None:
    """The JSON receipt already written for this submission id, if any."""
    folder = submitter_folders(config, submission.submitter).receipts
    expected = folder / f"{submission.submission_id}.{submission.name}.receipt.json"
    if expected.is_file():
        return expected
    return next(iter(sorted(folder.glob(f"{submission.submission_id}.*.receipt.json"))), None)


def filed_path(submission: Submission, accepted: bool, config: Config) -> Path:
    """``archive/<submitter>/<id>.<name>`` for accepted originals, ``quarantine/...`` else."""
    root = config.archive if accepted else config.quarantine
    return root / submission.submitter / f"{submission.submission_id}.{submission.name}"


def file_original(submission: Submission, accepted: bool, config: Config,
                  ledger: Ledger) -> None:
    """Move the original out of the spool, make that durable and record it ``filed``."""
    target = move_original(submission, accepted, config)
    if target is not None:
        fsync_dir(target.parent)
        fsync_dir(config.spool)
    ledger.filed(submission.submission_id, target)


def move_original(submission: Submission, accepted: bool, config: Config) -> Path | None:
    """Rename the original from the spool into ``archive/`` or ``quarantine/`` unless it is
    there already; returns where it is (None: in neither place). The rename is durable only
    once the caller has fsynced the target's folder and the spool (once for several files)."""
    source = spool_path(config, submission.submission_id)
    target = filed_path(submission, accepted, config)
    if os.path.lexists(source):
        if not target.parent.is_dir():
            target.parent.mkdir(mode=STATE_MODE, parents=True, exist_ok=True)
            fsync_dir(target.parent.parent)
        os.rename(source, target)
    elif not os.path.lexists(target):
        log.error("original_missing", submitter=submission.submitter)
        return None
    return target


def prepare_replay(submission: Submission, config: Config, ledger: Ledger) -> bool:
    """Copy a replay's original into the spool and record it ``claimed``. False (and the
    request dropped) when the original is no longer where the ledger says it is."""
    target = spool_path(config, submission.submission_id)
    if not os.path.lexists(target):
        original = ledger.get(submission.replaces or "")
        source = Path(original.stored_path) if original and original.stored_path else None
        if source is None or source.is_symlink() or not source.is_file():
            log.error("replay_original_missing", replaces=submission.replaces)
            ledger.forget(submission.submission_id)
            return False
        temporary = copy_name(target)
        with source.open("rb") as reader, temporary.open("wb") as writer:
            shutil.copyfileobj(reader, writer, 1024 * 1024)
            writer.flush()
            os.fsync(writer.fileno())
        os.rename(temporary, target)
        fsync_dir(config.spool)
    ledger.claimed(submission.submission_id)
    submission.state = State.CLAIMED
    return True
