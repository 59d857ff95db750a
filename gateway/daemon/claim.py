"""Taking an upload: rename it into the spool, then find out what it is without trusting it.

The ledger row is written before the rename, so that a crash at any point leaves either a row
and a spool file (finish it), or a row and no spool file (the rename never happened: forget the
row; the upload is still in its folder and will be taken again). The row's unique upload key
decides which of several daemons watching one inbox takes the upload (the database has one
winner, also where ``rename`` on a network file system cannot be trusted to have one).

What was renamed is inspected in the spool, where the submitter cannot reach it any more: a
symlink, a special file or a file with other hard links is rejected without opening it; a regular
file is opened with ``O_NOFOLLOW`` and hashed.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from gateway.daemon.config import Config
from gateway.daemon.ledger import Ledger, State, Submission
from gateway.daemon.names import is_valid_upload_name, printable_name, safe_name
from gateway.daemon.settle import Settled
from gateway.receipts.model import new_submission_id, utc_now_text
from gateway.receipts.store import fsync_dir

CHUNK = 1024 * 1024


def spool_path(config: Config, submission_id: str) -> Path:
    return config.spool / submission_id


def upload_key(settled: Settled) -> str:
    """The identity of one upload: its path, inode and times. Every daemon that sees the same
    upload computes the same key, and the ledger accepts it once: that is the claim."""
    sig = settled.signature
    identity = b"\0".join([os.fsencode(settled.path), *(str(n).encode() for n in (
        sig.inode, sig.ctime_ns, sig.mtime_ns, sig.size))])
    return hashlib.sha256(identity).hexdigest()


def claim(settled: Settled, config: Config, ledger: Ledger, owner: str | None = None
          ) -> Submission | None:
    """Claim a settled upload in the ledger and rename it into the spool under a new
    submission id. Returns None when another daemon claimed it or it went away first (then
    nothing was claimed here and nothing is owed)."""
    name = settled.path.name
    submission = Submission(
        submission_id=new_submission_id(), submitter=settled.submitter,
        upload_name=printable_name(name), name=safe_name(name), state=State.CLAIMED,
        received_at=utc_now_text(), problem=None if is_valid_upload_name(name) else "name",
        owner=owner, upload_key=upload_key(settled))
    if not ledger.add(submission):
        return None
    try:
        os.rename(settled.path, spool_path(config, submission.submission_id))
    except FileNotFoundError:
        ledger.forget(submission.submission_id)
        return None
    fsync_dir(config.spool)
    fsync_dir(settled.path.parent)
    return submission


@dataclass(frozen=True)
class Inspection:
    """What the spool copy is. ``problem`` (symlink, hardlink, special, unreadable) means it was
    not read and ``sha256`` is None; otherwise ``sha256`` is the content hash."""

    problem: str | None
    size: int
    sha256: str | None
    mtime_ns: int


def inspect(path: Path) -> Inspection:
    """Classify the spool file by ``lstat`` and hash it only if it is a lone regular file."""
    st = path.lstat()
    problem = _problem(st)
    if problem is not None:
        return Inspection(problem, st.st_size if stat.S_ISREG(st.st_mode) else 0, None,
                          st.st_mtime_ns)
    try:
        return _hash(path)
    except OSError:
        # The submitter owns the file and may have made it unreadable (sftp put -p of a 0600
        # file): that is a rejection, not a daemon that dies on it at every restart.
        return Inspection("unreadable", st.st_size, None, st.st_mtime_ns)


def _hash(path: Path) -> Inspection:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        problem = _problem(st)
        if problem is not None:  # swapped between lstat and open
            return Inspection(problem, 0, None, st.st_mtime_ns)
        digest = hashlib.sha256()
        size = 0
        while chunk := os.read(fd, CHUNK):
            digest.update(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return Inspection(None, size, digest.hexdigest(), st.st_mtime_ns)


def _problem(st: os.stat_result) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if not stat.S_ISREG(st.st_mode):
        return "special"
    if st.st_nlink != 1:
        return "hardlink"
    return None

