"""Is anyone still writing this file? On a local Linux file system the kernel knows.

SFTP has no "upload finished" message, and OpenSSH's ``sftp`` on a slow link may pause longer
than any quiet period between two writes while it keeps the file open. The kernel counts the
descriptors open for writing on every inode, and a read lease (``fcntl(F_SETLEASE, F_RDLCK)``)
is granted only while that count is zero: the answer is exact, costs two system calls (about
2 microseconds), needs no watch to have been in place when the file was opened (so it also holds
for files found at start or by a rescan), and does not depend on how long the writer pauses.

A read lease on a file one does not own needs ``CAP_LEASE`` (root has it; the systemd unit grants
it to the service account as an ambient capability). NFS refuses leases, and a FUSE or other
network file system only sees the opens of this machine, so there the kernel cannot tell and the
quiet period stays the rule (``writer_check`` says which applies, and ``gateway status`` shows
it). inotify's ``IN_CLOSE_WRITE`` is only a hint that wakes the check early: it is missed for
files opened before the daemon started and says nothing about other writers still holding the
file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import stat
from dataclasses import dataclass
from pathlib import Path

CAP_LEASE = 28  # linux/capability.h
_SETLEASE = getattr(fcntl, "F_SETLEASE", 1024)
# File systems where this machine's kernel does not see every writer: network and FUSE mounts.
_REMOTE_TYPES = ("nfs", "cifs", "smb", "9p", "ceph", "afs", "gfs", "ocfs", "lustre",
                 "glusterfs", "fuse", "sshfs", "davfs", "beegfs", "gpfs")


@dataclass(frozen=True)
class WriterCheck:
    """How the daemon decides that nobody writes a file any more: ``by_kernel`` (read leases)
    or the quiet period alone, and why, for the log and ``gateway status``."""

    by_kernel: bool
    reason: str

    @property
    def name(self) -> str:
        return "lease" if self.by_kernel else "quiet_period"


def choose_writer_check(folder: Path, setting: str) -> WriterCheck:
    """Leases when the setting allows them, the process may take them on other accounts'
    files, and ``folder`` is on a file system whose writers this kernel sees."""
    if setting == "quiet_period":
        return WriterCheck(False, "writer_check = quiet_period in the config")
    if not _has_capability(CAP_LEASE):
        return WriterCheck(False, "the daemon lacks CAP_LEASE (see deploy/gateway.service)")
    fs_type = mount_type(folder)
    if fs_type is None or fs_type.startswith(_REMOTE_TYPES):
        return WriterCheck(False, f"{folder} is on a {fs_type or 'unknown'} file system, whose "
                                  "writers this machine cannot all see")
    return WriterCheck(True, f"read leases on {fs_type}")


def ignore_lease_breaks() -> None:
    """A writer that opens a file in the instant the daemon holds its probe lease makes the
    kernel send SIGIO, whose default action would end the daemon. Call from the main thread."""
    signal.signal(signal.SIGIO, signal.SIG_IGN)


def open_for_writing(fd: int) -> bool | None:
    """True while any descriptor (of any process) has the file of ``fd`` open for writing,
    False when none has, None when the kernel will not say (no ``CAP_LEASE``, no lease support
    on this file system). ``fd`` must be open read-only on a regular file."""
    try:
        fcntl.fcntl(fd, _SETLEASE, fcntl.F_RDLCK)
    except OSError as err:
        if err.errno in (errno.EAGAIN, errno.EBUSY):
            return True
        return None
    fcntl.fcntl(fd, _SETLEASE, fcntl.F_UNLCK)
    return False


def path_open_for_writing(path: Path) -> bool | None:
    """``open_for_writing`` for the regular file at ``path`` (never following a link, never
    blocking on a pipe). None when it cannot be opened or is not a regular file: the claim then
    finds out what it is."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
                     | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return open_for_writing(fd)
    finally:
        os.close(fd)


def _has_capability(bit: int) -> bool:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError):
        pass
    return False


def mount_type(path: Path) -> str | None:
    """The file system type of the mount holding ``path`` (from ``/proc/self/mountinfo``)."""
    try:
        target = os.path.realpath(path)
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mounts:
            lines = mounts.readlines()
    except OSError:
        return None
    best, best_type = "", None
    for line in lines:
        fields = line.split()
        if "-" not in fields:
            continue
        point = _unescape(fields[4])
        fs_type = fields[fields.index("-") + 1]
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, fs_type
    return best_type


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field
