"""Filesystem events as hints, and a supervisor that keeps the observer alive.

The handler runs on watchdog's thread: it only puts paths on a queue and never raises (an
exception there would kill the observer silently). The daemon's loop checks the observer on every
turn and starts a new one when it has died; the periodic rescan covers whatever was missed.
"""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path

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

log = get_logger("gateway.daemon.watch")

Hint = tuple[Path, str]  # (path in an upload folder, submitter)

RESTART_BACKOFF = 5.0

# The events that can name a new or finished upload: a file created or moved in, and a file
# closed after writing (the settle tracker then asks again at once). Writes, opens and plain
# closes are left out: the tracker checks the file's signature itself after the quiet period,
# and those events, mostly about the gateway's own receipts and filing in the same tree, made
# up most of what the observer's threads decoded in a burst. With the inotify observer the
# filter narrows what the kernel reports, not only what is handed on.
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
        self._handler = UploadEventHandler(config.inbox, hints)
        self._observer: BaseObserver | None = None
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
        observer: BaseObserver = (PollingObserver(timeout=self._config.poll_interval)
                                  if self._config.watcher == "polling" else Observer())
        try:
            observer.schedule(self._handler, str(self._config.inbox), recursive=True,
                              event_filter=WANTED_EVENTS)
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
