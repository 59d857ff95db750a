"""Taking an upload: rename it into the spool, then find out what it is without trusting it.

The ledger rows of a turn's claims are written (one transaction) before the renames, so that a
crash at any point leaves, per upload, either a row and a spool file (finish it), or a row and
no spool file (the rename never happened: forget the row; the upload is still in its folder and
will be taken again). The row's unique upload key
decides which of several daemons watching one inbox takes the upload (the database has one
winner, also where ``rename`` on a network file system cannot be trusted to have one).

What was renamed is inspected in the spool, where the submitter cannot reach it any more: a
symlink, a special file or a file with other hard links is rejected without opening it; a regular
file is opened with ``O_NOFOLLOW`` and, once nobody writes it any more, hashed. What is hashed is
what the worker validates and what is filed: one stable copy.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gateway.daemon.leases import open_for_writing
from gateway.daemon.settle import Settled, Signature
from gateway.receipts.atomic import fsync_dir
from gateway.receipts.model import new_submission_id, utc_now_text
from gateway.site.config import Config
from gateway.site.ledger import Ledger, State, Submission
from gateway.site.names import is_valid_upload_name, printable_name, safe_name

CHUNK = 1024 * 1024
COPY_SUFFIX = ".copy"


def spool_path(config: Config, submission_id: str) -> Path:
    return config.spool / submission_id


def upload_key(settled: Settled) -> str:
    """The identity of one upload: its path, inode and times. Every daemon that sees the same
    upload computes the same key, and the ledger accepts it once: that is the claim."""
    sig = settled.signature
    identity = b"\0".join([os.fsencode(settled.path), *(str(n).encode() for n in (
        sig.inode, sig.ctime_ns, sig.mtime_ns, sig.size))])
    return hashlib.sha256(identity).hexdigest()


@dataclass(frozen=True)
class Claim:
    """What became of one settled upload in ``claim_many``: its ``submission`` (None when
    another daemon claimed it or it went away first: nothing is owed here), or the ``error``
    that stopped its rename (nothing was claimed; the upload stays where it is)."""

    settled: Settled
    submission: Submission | None
    error: OSError | None = None


def claim_many(batch: Sequence[Settled], config: Config, ledger: Ledger,
               owner: str | None = None) -> list[Claim]:
    """Claim settled uploads in one ledger transaction, rename each into the spool under a new
    submission id, and make the renames durable with one fsync of the spool and one of each
    upload folder. A failure of the transaction (a full disk) raises with nothing claimed."""
    submissions = [Submission(
        submission_id=new_submission_id(), submitter=settled.submitter,
        upload_name=printable_name(settled.path.name), name=safe_name(settled.path.name),
        state=State.CLAIMED, received_at=utc_now_text(),
        problem=None if is_valid_upload_name(settled.path.name) else "name", owner=owner,
        upload_key=upload_key(settled)) for settled in batch]
    added = ledger.add_many(submissions)
    claims = []
    folders: set[Path] = set()
    for settled, submission in zip(batch, submissions, strict=True):
        if submission.submission_id not in added:
            claims.append(Claim(settled, None))
            continue
        try:
            os.rename(settled.path, spool_path(config, submission.submission_id))
        except OSError as err:
            ledger.forget(submission.submission_id)  # nothing was taken; the caller says why
            claims.append(Claim(settled, None,
                                None if isinstance(err, FileNotFoundError) else err))
            continue
        folders.add(settled.path.parent)
        claims.append(Claim(settled, submission))
    if folders:
        fsync_dir(config.spool)
        for folder in sorted(folders):
            fsync_dir(folder)
    return claims


@dataclass(frozen=True)
class Inspection:
    """What the spool copy is. ``problem`` (symlink, hardlink, special, unreadable) means it was
    not read and ``sha256`` is None; ``being_written`` that a writer still had it open (or, where
    the kernel cannot tell, that it changed) and it must be looked at again later; otherwise
    ``sha256`` is the hash of bytes that will not change any more."""

    problem: str | None
    size: int
    sha256: str | None
    mtime_ns: int
    being_written: bool = False


def copy_name(path: Path) -> Path:
    """The temporary name of a copy that will replace ``path`` in the spool (removed at start
    when a crash interrupted it)."""
    return path.with_name(f".{path.name}{COPY_SUFFIX}")


def inspect(path: Path, *, by_kernel: bool, expected: Signature | None = None) -> Inspection:
    """Classify the spool file by ``lstat``; hash it only if it is a lone regular file that
    nobody writes any more.

    With ``by_kernel`` a read lease tells whether a writer (one that opened the upload before
    the claim) still holds it; once none does, no one can open it again (the spool is the
    daemon's), so the file itself is the stable copy. Otherwise (the kernel cannot tell) the file
    is copied while hashed and the copy replaces it in the spool, unless it changed meanwhile or
    since ``expected`` (its signature when it settled): bytes a late writer adds afterwards go to
    the replaced inode, and the receipt, the validation and the filed original all see the same
    bytes.
    """
    st = path.lstat()
    problem = _problem(st)
    if problem is not None:
        return Inspection(problem, st.st_size if stat.S_ISREG(st.st_mode) else 0, None,
                          st.st_mtime_ns)
    if not st.st_mode & 0o444:
        # Readable by no one: the submitter said so, and the daemon (root or not) respects it.
        return Inspection("unreadable", st.st_size, None, st.st_mtime_ns)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        # The submitter owns the file and may have made it unreadable (sftp put -p of a 0600
        # file): that is a rejection, not a daemon that dies on it at every restart.
        return Inspection("unreadable", st.st_size, None, st.st_mtime_ns)
    try:
        st = os.fstat(fd)
        problem = _problem(st)
        if problem is not None:  # swapped between lstat and open
            return Inspection(problem, 0, None, st.st_mtime_ns)
        writing = open_for_writing(fd) if by_kernel else None
        if writing:
            return Inspection(None, st.st_size, None, st.st_mtime_ns, being_written=True)
        if writing is False:
            digest, size = _read_all(fd, None)
            if digest is None:
                return Inspection("unreadable", st.st_size, None, st.st_mtime_ns)
            return Inspection(None, size, digest, st.st_mtime_ns)
        if expected is not None and (st.st_size, st.st_mtime_ns) != (expected.size,
                                                                     expected.mtime_ns):
            return Inspection(None, st.st_size, None, st.st_mtime_ns, being_written=True)
        return _replace_by_copy(fd, st, path)
    finally:
        os.close(fd)


def _replace_by_copy(fd: int, before: os.stat_result, path: Path) -> Inspection:
    temporary = copy_name(path)
    try:
        with temporary.open("wb") as copy:
            digest, size = _read_all(fd, copy)
            copy.flush()
            os.fsync(copy.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)  # a full disk, say: tried again later
        raise
    after = os.fstat(fd)
    if digest is None or _changed(before, after):
        temporary.unlink()
        if digest is None:
            return Inspection("unreadable", before.st_size, None, before.st_mtime_ns)
        return Inspection(None, after.st_size, None, after.st_mtime_ns, being_written=True)
    os.replace(temporary, path)
    fsync_dir(path.parent)
    return Inspection(None, size, digest, before.st_mtime_ns)


def _read_all(fd: int, copy: BinaryIO | None) -> tuple[str | None, int]:
    """SHA-256 and length of the file from its start (writing each chunk to ``copy``); the hash
    is None when reading fails (an I/O error on the submitter's file is not the daemon's)."""
    digest = hashlib.sha256()
    size = 0
    offset = 0
    while True:
        try:
            chunk = os.pread(fd, CHUNK, offset)
        except OSError:
            return None, size
        if not chunk:
            return digest.hexdigest(), size
        digest.update(chunk)
        if copy is not None:
            copy.write(chunk)
        size += len(chunk)
        offset += len(chunk)


def _changed(before: os.stat_result, after: os.stat_result) -> bool:
    return ((before.st_size, before.st_mtime_ns, before.st_ctime_ns)
            != (after.st_size, after.st_mtime_ns, after.st_ctime_ns))


def _problem(st: os.stat_result) -> str | None:
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if not stat.S_ISREG(st.st_mode):
        return "special"
    if st.st_nlink != 1:
        return "hardlink"
    return None
