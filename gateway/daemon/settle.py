"""Deciding when an upload is finished: nobody holds it open for writing, and its size and
times stayed unchanged over a quiet period.

SFTP has no "upload complete" signal, and OpenSSH's sftp-server renames by link + unlink, which
arrives as a create with no close. So every sighting of a path (an event or a rescan) only
records what ``lstat`` says; a path is settled when a later ``lstat``, at least the quiet period
after the signature last changed, still says the same. The signature includes the inode change
time, which no client can set back, so a write, truncate, link or unlink in between is seen.

Where the kernel can tell (``leases.py``), a path whose file some process still holds open for
writing is not settled however long it has been quiet: it is asked again after
``WRITER_RECHECK`` seconds, or at once when an event (inotify's close-after-write) names it.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.site.logs import get_logger
from gateway.site.names import is_temporary

log = get_logger("gateway.daemon.settle")

WRITER_RECHECK = 1.0  # seconds between asking again whether a held-open upload was closed
WriterProbe = Callable[[Path], bool | None]


@dataclass(frozen=True)
class Signature:
    """What ``lstat`` says about a directory entry, as far as "has it changed" goes."""

    mode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    links: int

    @classmethod
    def of(cls, st: os.stat_result) -> Signature:
        return cls(stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                   st.st_ino, st.st_nlink)


@dataclass(frozen=True)
class Settled:
    """An upload that is ready to be claimed, with the signature it settled at."""

    path: Path
    submitter: str
    signature: Signature


@dataclass
class _Watch:
    submitter: str
    signature: Signature
    since: float
    recheck_at: float = 0.0  # set while a writer holds the file open


class SettleTracker:
    """Candidates in the upload folders and the time each was last seen to change."""

    def __init__(self, quiet_period: float, clock: Callable[[], float] = time.monotonic,
                 writer_open: WriterProbe | None = None) -> None:
        self.quiet_period = quiet_period
        self._clock = clock
        self._writer_open = writer_open
        self._watches: dict[Path, _Watch] = {}
        self._held_open: set[Path] = set()  # said so in the log once

    def see(self, path: Path, submitter: str) -> None:
        """Record a sighting. Temporary names are never candidates. Anything else is, folders
        included: once it has settled, the claim answers it (a folder is not an upload)."""
        if is_temporary(path.name):
            return
        try:
            st = path.lstat()
        except OSError:
            self.forget(path)
            return
        signature = Signature.of(st)
        known = self._watches.get(path)
        if known is None or known.signature != signature:
            self._watches[path] = _Watch(submitter, signature, self._clock())
        else:
            known.recheck_at = 0.0  # an event (say, the writer's close): ask again now

    def settled(self, limit: int | None = None,
                eligible: Callable[[str], bool] | None = None) -> list[Settled]:
        """Candidates unchanged for the quiet period, checked again now, oldest sighting
        first. Those that changed start a new quiet period; those that vanished are dropped.

        At most ``limit`` are checked through to the end, and only those of ``eligible``
        submitters: each check costs a ``stat`` and a lease probe, and a burst of thousands of
        uploads must not cost thousands of them on every turn when only a few can be claimed."""
        now = self._clock()
        ready: list[Settled] = []
        for path, watch in list(self._watches.items()):
            if limit is not None and len(ready) >= limit:
                break
            if now - watch.since < self.quiet_period or now < watch.recheck_at:
                continue
            if eligible is not None and not eligible(watch.submitter):
                continue
            try:
                signature = Signature.of(path.lstat())
            except OSError:
                self.forget(path)
                continue
            if signature != watch.signature:
                self._watches[path] = _Watch(watch.submitter, signature, now)
                continue
            if self._writer_open is not None and self._writer_open(path):
                if path not in self._held_open:
                    self._held_open.add(path)
                    log.info("held_open_by_writer", submitter=watch.submitter)
                watch.recheck_at = now + WRITER_RECHECK
                continue
            ready.append(Settled(path, watch.submitter, signature))
        return ready

    def defer(self, path: Path, seconds: float) -> None:
        """Leave ``path`` settled but do not offer it again for ``seconds`` (it waits for
        something else, such as its completion marker)."""
        watch = self._watches.get(path)
        if watch is not None:
            watch.recheck_at = self._clock() + seconds

    def forget(self, path: Path) -> None:
        """Stop tracking ``path`` (claimed, or to be seen afresh)."""
        self._watches.pop(path, None)
        self._held_open.discard(path)

    def next_due(self) -> float | None:
        """Seconds until the earliest candidate may be settled, or None when there is none."""
        if not self._watches:
            return None
        now = self._clock()
        earliest = None
        for watch in self._watches.values():  # oldest sighting first: in a burst, due at once
            due = max(watch.since + self.quiet_period, watch.recheck_at)
            if due <= now:
                return 0.0  # asked every turn: not a walk over thousands of waiting uploads
            earliest = due if earliest is None else min(earliest, due)
        return max(0.0, (earliest or now) - now)
