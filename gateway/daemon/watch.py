"""Filesystem events as hints, and a supervisor that keeps the observer alive.

On Linux the ``events`` watcher is inotify on the upload folders alone (``upload_events.py``);
elsewhere it is watchdog's observer of the whole inbox, and ``polling`` is watchdog's polling
observer everywhere. watchdog's handler runs on its thread: it only puts paths on a queue and
never raises (an exception there would kill the observer silently). The daemon's loop checks the
observer on every turn and starts a new one when it has died; the periodic rescan covers
whatever was missed.
"""

from __future__ import annotations

import os
import queue
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from gateway.site.config import Config
from gateway.site.logs import get_logger

if TYPE_CHECKING:
    from gateway.daemon.upload_events import UploadEvents

log = get_logger("gateway.daemon.watch")

Hint = tuple[Path, str]  # (path in an upload folder, submitter)

RESTART_BACKOFF = 5.0

# What watchdog's observers hand on: the events that can name a new or finished upload, a file
# created or moved in and a file closed after writing (the settle tracker then asks again at
# once). Writes, opens and plain closes are left out: the tracker checks the file's signature
# itself after the quiet period, and those events, mostly about the gateway's own receipts and
# filing in the same tree, were most of what the observer's threads decoded in a burst.
WANTED_EVENTS = [FileCreatedEvent, DirCreatedEvent, FileMovedEvent, DirMovedEvent,
                 FileClosedEvent]


class UploadEventHandler(FileSystemEventHandler):
    """Puts ``(path, submitter)`` on ``hints`` for every event about an entry directly inside an
    ``inbox/<submitter>/upload/`` folder; ignores the rest (receipts, deeper entries)."""

    def __init__(self, inbox: Path, hints: queue.SimpleQueue[Hint]) -> None:
        self._inbox = inbox
        self._hints = hints

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            if event.event_type in ("deleted", "opened", "closed_no_write"):
                return
            for raw in (event.src_path, event.dest_path):
                if not raw:
                    continue
                path = Path(os.fsdecode(raw))
                folder = path.parent
                if folder.name == "upload" and folder.parent.parent == self._inbox:
                    self._hints.put((path, folder.parent.name))
        except Exception:
            return  # a raising handler would stop the observer; the rescan covers the miss


class Watcher:
    """The observer chosen in the config (inotify events, polling, or none), kept running."""

    def __init__(self, config: Config, hints: queue.SimpleQueue[Hint]) -> None:
        self._config = config
        self._hints = hints
        self._handler = UploadEventHandler(config.inbox, hints)
        self._observer: BaseObserver | UploadEvents | None = None
        self._last_attempt = float("-inf")

    @property
    def enabled(self) -> bool:
        return self._config.watcher != "off"

    @property
    def healthy(self) -> bool:
        """True while events flow (or are not wanted)."""
        return not self.enabled or (self._observer is not None and self._observer.is_alive())

    def supervise(self) -> bool:
        """Start the observer if it is not running (at most every few seconds); returns True
        when a new one started, so the caller can rescan for what the gap may have missed."""
        if self.healthy or time.monotonic() - self._last_attempt < RESTART_BACKOFF:
            return False
        self._last_attempt = time.monotonic()
        restarting = self._observer is not None
        self._stop_observer()
        try:
            observer = self._new_observer()
            observer.start()
        except OSError as err:
            log.error("watcher_start_failed", watcher=self._config.watcher, error=str(err))
            return False
        self._observer = observer
        if restarting:
            log.warning("watcher_restarted", watcher=self._config.watcher)
        else:
            log.info("watcher_started", watcher=self._config.watcher)
        return True

    def _new_observer(self) -> BaseObserver | UploadEvents:
        """inotify on the upload folders alone where the kernel has it (``upload_events``);
        watchdog's observer of the whole inbox elsewhere, and its polling observer when asked
        for."""
        if self._config.watcher == "events" and sys.platform.startswith("linux"):
            from gateway.daemon.upload_events import UploadEvents  # inotify: Linux only

            return UploadEvents(self._config.inbox, self._hints)
        observer: BaseObserver = (PollingObserver(timeout=self._config.poll_interval)
                                  if self._config.watcher == "polling" else Observer())
        observer.schedule(self._handler, str(self._config.inbox), recursive=True,
                          event_filter=WANTED_EVENTS)
        return observer

    def stop(self) -> None:
        self._stop_observer()

    def _stop_observer(self) -> None:
        if self._observer is None:
            return
        try:
            self._observer.stop()
            self._observer.join(timeout=5.0)
        except RuntimeError:
            pass  # never started
        self._observer = None
