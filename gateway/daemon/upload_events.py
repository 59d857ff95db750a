"""Upload events from the kernel (inotify) for the upload folders alone, on Linux.

watchdog's observer watches a whole tree. Under the inbox that tree is mostly the gateway's own
work: receipt files created, closed and renamed into place, originals filed. In a burst of
small files its threads decoded about eleven events a file, ten of them about the gateway's
own writes, and spent more CPU on them (about a millisecond a file) than the daemon's loop
spent on the file itself. Here the kernel reports only what can name an upload: an entry
created, moved in or closed after writing directly inside an ``inbox/<submitter>/upload/``
folder, and the folders that may become one (a new submitter's folder, a new ``upload/``).

One inotify descriptor holds every watch (one per submitter folder and one per upload folder;
the recursive watch had one per folder of the whole tree, archive days included). A folder
that appears is watched, then listed, so an upload that arrived in between is not missed. What
the kernel cannot report (its queue overflowed, a watch could not be added) ends the thread or
is logged once; the watcher's supervisor then starts a new one and the daemon rescans, and the
periodic rescan covers the rest, as with any watcher. No value from a file and no file name is
logged.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from pathlib import Path

from inotify_simple import INotify, flags

from gateway.site.logs import get_logger

log = get_logger("gateway.daemon.upload_events")

_FOLDER = flags.ONLYDIR | flags.DONT_FOLLOW  # never through a link, never a file
# a folder that may gain a submitter folder or an upload folder: what can create one there
_PARENT_EVENTS = flags.CREATE | flags.MOVED_TO | _FOLDER
# an upload folder: what can bring an upload in or finish one (the settle tracker then asks
# again at once); writes, opens and moves out are left out
_UPLOAD_EVENTS = flags.CREATE | flags.MOVED_TO | flags.CLOSE_WRITE | _FOLDER
_READ_TIMEOUT_MS = 500  # how soon a stop is noticed


class UploadEvents(threading.Thread):
    """Puts ``(path, submitter)`` on ``hints`` for every entry created, moved in or closed
    after writing in an upload folder of ``inbox``. Started by ``watch.Watcher``; it ends
    (``is_alive`` false) when the kernel's queue overflowed or its descriptor failed, and the
    watcher starts another."""

    def __init__(self, inbox: Path, hints: queue.SimpleQueue[tuple[Path, str]]) -> None:
        super().__init__(name="upload-events", daemon=True)
        self._inbox = inbox
        self._hints = hints
        self._inotify = INotify()
        self._stopping = threading.Event()
        self._folders: dict[int, tuple[str, str | None]] = {}  # wd -> (kind, submitter)
        self._refused: set[str] = set()  # submitters whose folder could not be watched (said)

    def start(self) -> None:
        """Watch the inbox and every submitter's folders, then read events in the thread. A
        missing inbox raises (as watchdog's observer did); a broken submitter folder is left
        to the rescan."""
        try:
            # the inbox itself may be a link the operator made (only what is inside never is)
            root = self._inotify.add_watch(self._inbox, _PARENT_EVENTS & ~flags.DONT_FOLLOW)
            self._folders[root] = ("inbox", None)
            with os.scandir(self._inbox) as entries:
                names = [entry.name for entry in entries if entry.is_dir(follow_symlinks=False)]
        except OSError:
            self._inotify.close()
            raise
        for name in names:
            self._watch_submitter(name, list_upload=False)  # the daemon's rescan lists them
        super().start()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                for event in self._inotify.read(timeout=_READ_TIMEOUT_MS):
                    if event.mask & flags.Q_OVERFLOW:
                        log.warning("watcher_overflow")  # ends: the supervisor rescans
                        return
                    self._on_event(event.wd, event.mask, event.name)
        except OSError as err:
            log.error("watcher_failed", error=err.strerror)
        finally:
            self._inotify.close()

    # -- events ----------------------------------------------------------------------------

    def _on_event(self, wd: int, mask: int, name: str) -> None:
        if mask & flags.IGNORED:  # the folder is gone (or unmounted): so is its watch
            self._folders.pop(wd, None)
            return
        kind, submitter = self._folders.get(wd, (None, None))
        if not name or kind is None:
            return
        if kind == "upload" and submitter is not None:
            self._hints.put((self._inbox / submitter / "upload" / name, submitter))
        elif kind == "inbox" and mask & flags.ISDIR:
            self._watch_submitter(name, list_upload=True)
        elif kind == "submitter" and submitter is not None and name == "upload" \
                and mask & flags.ISDIR:
            self._watch_upload(submitter, list_it=True)

    # -- watches ---------------------------------------------------------------------------

    def _watch_submitter(self, submitter: str, list_upload: bool) -> None:
        folder = self._inbox / submitter
        wd = self._add(folder, _PARENT_EVENTS, submitter)
        if wd is None:
            return
        self._folders[wd] = ("submitter", submitter)
        if os.path.isdir(folder / "upload") and not os.path.islink(folder / "upload"):
            self._watch_upload(submitter, list_it=list_upload)

    def _watch_upload(self, submitter: str, list_it: bool) -> None:
        """Watch a submitter's upload folder; ``list_it``: a folder that appeared while the
        daemon runs, whose first uploads may have come before its watch."""
        upload = self._inbox / submitter / "upload"
        wd = self._add(upload, _UPLOAD_EVENTS, submitter)
        if wd is None:
            return
        self._folders[wd] = ("upload", submitter)
        if list_it:
            try:
                with os.scandir(upload) as entries:
                    for entry in entries:
                        self._hints.put((Path(entry.path), submitter))
            except OSError:
                return  # the rescan reports a folder it cannot list

    def _add(self, folder: Path, mask: int, submitter: str) -> int | None:
        """The watch on ``folder``; None when the kernel refused it (said once a submitter:
        the rescan still finds its uploads)."""
        try:
            return self._inotify.add_watch(folder, mask)
        except OSError as err:
            if err.errno in (errno.ENOENT, errno.ENOTDIR):
                return None  # gone again, or not a folder: nothing to watch
            if submitter not in self._refused:
                self._refused.add(submitter)
                log.warning("watch_refused", submitter=submitter, error=err.strerror)
            return None
