"""Completion markers: a submitter that says when a file is whole.

Where the gateway cannot hear the SFTP server (another server, an NFS-mounted inbox), a
submitter can be set up as managed file transfer products do: ``complete_marker = "sha256"`` in
its registry entry makes the daemon wait, for each data file ``NAME``, until ``NAME.sha256``
(``sha256sum``'s line, or the 64 hexadecimal digits alone) has arrived and settled, and then check
the file against it. The marker travels with its file into the spool (``<submission id>.sha256``)
so that a restart in between still checks it. A file whose marker never comes is answered after
``[intake] marker_wait`` seconds (default 24 hours).
"""

from __future__ import annotations

import os
import re
import stat
import time
from pathlib import Path

from gateway.daemon.own_receipts import MARKER_SUFFIX

MAX_MARKER_BYTES = 4096
MARKER_RECHECK = 2.0  # seconds between looks for a data file's marker
_LINE = re.compile(rb"^\s*([0-9A-Fa-f]{64})(?:\s+\*?(?P<name>[^\r\n]+?))?\s*$")


def is_marker(name: str) -> bool:
    return name.lower().endswith(MARKER_SUFFIX)


def marker_of(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


def data_file_of(marker: Path) -> Path:
    return marker.with_name(marker.name[:-len(MARKER_SUFFIX)])


def spool_marker(spool: Path, submission_id: str) -> Path:
    return spool / f"{submission_id}{MARKER_SUFFIX}"


def marker_settled(marker: Path, quiet_period: float, writer_open: bool | None) -> bool:
    """The marker is a regular file, unchanged for the quiet period and (where the kernel can
    tell, ``writer_open``) no longer open for writing."""
    try:
        st = marker.lstat()
    except OSError:
        return False
    return (stat.S_ISREG(st.st_mode) and time.time() - st.st_mtime >= quiet_period
            and not writer_open)


def age(path: Path) -> float:
    """Seconds since ``path`` last changed (0 when it is gone)."""
    try:
        return max(0.0, time.time() - path.lstat().st_mtime)
    except OSError:
        return 0.0


def read_marker(marker: Path, data_name: str) -> str | None:
    """The SHA-256 the marker names for ``data_name`` (lower-case hex), or None when it is not
    a marker: not one line of ``sha256sum`` (whose file name, when given, must be the data
    file's), nor the bare digest."""
    try:
        fd = os.open(marker, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, MAX_MARKER_BYTES + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > MAX_MARKER_BYTES:
        return None
    lines = [line for line in data.splitlines() if line.strip()]
    if len(lines) != 1:
        return None
    found = _LINE.match(lines[0])
    if found is None:
        return None
    named = found.group("name")
    if named is not None and os.path.basename(os.fsdecode(named)) != data_name:
        return None
    return found.group(1).decode("ascii").lower()
