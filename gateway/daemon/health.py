"""What keeps the daemon from serving, kept apart by cause.

One submitter's broken folder (its ``upload/`` made unreadable, a symbolic link, or a folder the
daemon cannot rename out of) makes that submitter's files wait and is said once in the log and
in ``gateway status``; every other submitter is served. A full disk makes the files in hand
wait until space returns. Losing the inbox or the state folder (removed, or unmounted under the
running daemon) cannot be served around: the daemon says so and stops with a non-zero exit, so
systemd restarts it and alerts, instead of watching nothing.
"""

from __future__ import annotations

import errno
import json
import os
import pwd
import sqlite3
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import sqlalchemy as sa

from gateway.site.logs import get_logger

log = get_logger("gateway.daemon.health")

RECEIPTS_MODE = 0o750  # as layout.py creates it: the daemon writes, the submitter's group reads
SPACE_RETRY = 5.0  # seconds between attempts to finish a file while the disk is full
GUARD_INTERVAL = 1.0  # seconds between checks that the inbox and state are still there


class FolderLost(RuntimeError):
    """The inbox or the state folder is gone or is no longer the one the daemon started on."""


class FolderFault(RuntimeError):
    """One submitter's folder cannot be used now; only that submitter waits."""


def out_of_space(err: BaseException) -> bool:
    """A full disk or exhausted quota, from the file system or from the ledger's database."""
    if isinstance(err, sa.exc.DBAPIError) and err.orig is not None:
        err = err.orig  # the ledger's driver error, as SQLAlchemy wrapped it
    if isinstance(err, OSError):
        return err.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(err, psycopg.errors.DiskFull):
        return True
    return (isinstance(err, sqlite3.Error)
            and getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL)


class DiskSpace:
    """Whether the disk was found full, said once when it fills and once when space returns.
    While it is full, new files are claimed only on a try every ``SPACE_RETRY`` seconds."""

    def __init__(self, record: Callable[[str], None]) -> None:
        self._record = record  # for `gateway status`: "yes" or "no"
        self.full = False
        self._retry_at = 0.0

    def may_claim(self, now: float) -> bool:
        return not self.full or now >= self._retry_at

    def note(self, *, full: bool) -> None:
        if full:
            self._retry_at = time.monotonic() + SPACE_RETRY
        if full == self.full:
            return
        self.full = full
        if full:
            log.error("disk_full", retry_s=SPACE_RETRY,
                      detail="files in hand wait for space; nothing new is taken")
        else:
            log.warning("disk_space_back")
        self._record("yes" if full else "no")


class SubmitterTrouble:
    """Submitters whose files wait, with the reason in words an operator can act on. Each
    change is logged once (``submitter_blocked`` / ``submitter_unblocked``). ``source`` tells
    what found the trouble (the rescan looking at the folder, or a claim that failed), and only
    the same source clears it, so the two never take turns logging. The loop's thread and the
    delivery thread both report, hence the lock."""

    def __init__(self, on_change: Callable[[str, bool], None] | None = None) -> None:
        self._reasons: dict[str, tuple[str, str]] = {}
        self._on_change = on_change  # (submitter, blocked), e.g. for a metric
        self._lock = threading.RLock()

    def report(self, submitter: str, reason: str, source: str) -> None:
        with self._lock:
            if self._reasons.get(submitter, ("", ""))[0] != reason:
                log.error("submitter_blocked", submitter=submitter, reason=reason)
            if submitter not in self._reasons and self._on_change is not None:
                self._on_change(submitter, True)
            self._reasons[submitter] = (reason, source)

    def clear(self, submitter: str, source: str) -> None:
        with self._lock:
            if self._reasons.get(submitter, ("", ""))[1] == source:
                del self._reasons[submitter]
                log.info("submitter_unblocked", submitter=submitter)
                if self._on_change is not None:
                    self._on_change(submitter, False)

    def blocked(self, submitter: str) -> bool:
        return submitter in self._reasons

    def source(self, submitter: str) -> str | None:
        return self._reasons[submitter][1] if submitter in self._reasons else None

    def as_text(self) -> str:
        """For the ledger's meta table, which ``gateway status`` reads."""
        with self._lock:
            reasons = sorted(self._reasons.items())
        return json.dumps({s: reason for s, (reason, _) in reasons})


def _fix(submitter: str) -> str:
    return (f"fix as root: `gateway submitter add {submitter} --user ACCOUNT` (sets the "
            "folders' owners and modes again)")


def upload_folder_problem(upload: Path) -> str | None:
    """Why the daemon cannot take files from ``upload`` (None when it can), with the
    operator's fix: the submitter cannot repair its own folders."""
    submitter = upload.parent.name
    try:
        st = upload.lstat()
    except FileNotFoundError:
        return f"its upload/ folder is missing; {_fix(submitter)}"
    except OSError as err:
        return f"its upload/ folder cannot be examined ({err.strerror}); {_fix(submitter)}"
    if stat.S_ISLNK(st.st_mode):
        return ("its upload/ is a symbolic link, which the gateway does not follow; move it "
                f"aside, then {_fix(submitter)}")
    if not stat.S_ISDIR(st.st_mode):
        return f"its upload/ is not a folder; move it aside, then {_fix(submitter)}"
    if not os.access(upload, os.R_OK | os.X_OK):
        return ("the gateway may not list its upload/ folder (permissions changed); "
                f"{_fix(submitter)}")
    if not os.access(upload, os.W_OK | os.X_OK):
        return ("the gateway may not move files out of its upload/ folder (permissions "
                f"changed); {_fix(submitter)}")
    if st.st_uid != os.geteuid() and not st.st_mode & stat.S_ISGID:
        # Files would get the submitter's group instead of the gateway's: unreadable to it.
        return ("its upload/ folder lost its setgid bit (a chmod), so new files there are "
                f"unreadable to the gateway; {_fix(submitter)}, then `chgrp GATEWAY-GROUP` "
                "the files waiting in it")
    return None


def receipts_folder_problem(receipts: Path, upload: Path, *, repair: bool = True
                            ) -> str | None:
    """Why the daemon cannot write receipts into ``receipts`` (None when it can). With
    ``repair``, a missing folder is made again and a wrong mode set right when the daemon may
    do so: its own folder, readable by the group of the owner of ``upload/`` (the submitter's
    account)."""
    submitter = receipts.parent.name
    try:
        st = receipts.lstat()
    except FileNotFoundError:
        if not repair:
            return f"its receipts/ folder is missing; {_fix(submitter)}"
        return _recreate_receipts(receipts, upload)
    except OSError as err:
        return f"its receipts/ folder cannot be examined ({err.strerror}); {_fix(submitter)}"
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a folder"
        return (f"its receipts/ is {kind}, which the gateway does not write through; move it "
                f"aside, then {_fix(submitter)}")
    if repair and st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != RECEIPTS_MODE:
        try:
            os.chmod(receipts, RECEIPTS_MODE)
            log.warning("receipts_folder_repaired", submitter=submitter,
                        detail=f"mode {stat.S_IMODE(st.st_mode):04o} set back to 0750")
        except OSError:
            pass
    if not os.access(receipts, os.W_OK | os.X_OK):
        return ("the gateway may not write into its receipts/ folder (owner or permissions "
                f"changed); {_fix(submitter)}")
    return None


def _recreate_receipts(receipts: Path, upload: Path) -> str | None:
    submitter = receipts.parent.name
    try:
        group = _primary_group(upload)
        receipts.mkdir(mode=RECEIPTS_MODE)
    except OSError as err:
        return (f"its receipts/ folder is missing and the gateway may not create it "
                f"({err.strerror}); {_fix(submitter)}")
    try:
        os.chmod(receipts, RECEIPTS_MODE)
        if group is not None:
            os.chown(receipts, -1, group)
    except OSError:
        receipts.rmdir()  # a folder the submitter cannot read is no repair
        return (f"its receipts/ folder is missing and the gateway cannot give it the "
                f"submitter's group; {_fix(submitter)}")
    log.warning("receipts_folder_repaired", submitter=submitter, detail="created again")
    return None


def _primary_group(upload: Path) -> int | None:
    """The primary group of the account that owns ``upload/`` (which reads the receipts)."""
    try:
        return pwd.getpwuid(upload.lstat().st_uid).pw_gid
    except (KeyError, OSError):
        return None


class FolderGuard:
    """The folders the daemon cannot serve without, as they were at start (device and inode):
    a removed folder, or another file system mounted or unmounted on it, is noticed within
    ``GUARD_INTERVAL`` seconds."""

    def __init__(self, folders: dict[str, Path]) -> None:
        self._identity = {role: (path, _identity(path)) for role, path in folders.items()}

    def check(self) -> None:
        """Raise ``FolderLost`` naming the folder when one is gone or replaced."""
        for role, (path, identity) in self._identity.items():
            now = _identity(path)
            if now is None:
                raise FolderLost(f"the {role} folder {path} was removed (or its file system "
                                 "unmounted)")
            if now != identity:
                raise FolderLost(f"the {role} folder {path} is no longer the one the daemon "
                                 "started on (a file system was mounted or unmounted there, or "
                                 "it was replaced)")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino
