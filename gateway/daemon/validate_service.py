"""The running daemon answers ``gateway validate``: warm processes on a Unix socket.

A fresh ``gateway validate`` spends most of its second importing pandas, pyarrow and jsonschema
(docs/performance.md, "Start-up of `gateway validate`"); the daemon's fork server has them
loaded already. So ``gateway serve`` listens on ``<state>/validate.sock`` (mode 0660: the
daemon's account and its group, who can reach the state folder anyway) and keeps ``[workers]
validate_slots`` processes forked from that fork server, each with the plugins loaded and
waiting in ``accept``. A process answers exactly one request (``validate_answer``) and exits;
this module's thread starts another in its place. So:

- the daemon's loop never sees a request: intake is never blocked, and at most
  ``validate_slots`` requests run at once; a caller that no process takes within a second
  judges its files itself;
- a hostile file can crash or exhaust only the process that took it, under the limits a worker
  has (address space ``memory_limit_mb``; ``time_limit`` seconds a file, after which this thread
  kills it), and the next caller gets a fresh process;
- nothing a caller sends outlives its request: one process, one caller.

A stale socket (a daemon that crashed) is replaced at start; a clean stop removes it, unless
another daemon has replaced it meanwhile.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import socket
import stat
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from gateway.daemon.validate_answer import serve_one
from gateway.daemon.validate_wire import socket_path
from gateway.site.config import Config
from gateway.site.logs import get_logger

log = get_logger("gateway.daemon.validate_service")

SOCKET_MODE = 0o660
SCRATCH = "validate-scratch"  # in the state folder: each process's copies, by its pid
STOP_GRACE = 5.0  # seconds a request in hand may finish when the daemon stops
TICK = 0.5  # seconds between looks at the processes when none has a deadline sooner


@dataclass
class _Slot:
    process: Any
    conn: Connection
    deadline: float | None = None  # when the request it took is over its time
    failure: str | None = None  # why this thread killed it
    said: bool = False  # its end is logged


class ValidateService:
    """``start`` listens and keeps the processes; ``stop`` ends them and removes the socket."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.path = socket_path(config.state)
        self.scratch = config.state / SCRATCH
        self._context = multiprocessing.get_context("forkserver")
        self._listener: socket.socket | None = None
        self._inode: tuple[int, int] | None = None
        self._slots: list[_Slot] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the socket (replacing a stale one) and start the processes and their keeper.
        Call it after the worker pool has started the fork server."""
        shutil.rmtree(self.scratch, ignore_errors=True)  # a crashed daemon's copies
        self.scratch.mkdir(mode=0o700)
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(self.path.lstat().st_mode):
                self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        folder = os.open(self.config.state, os.O_RDONLY | os.O_DIRECTORY)
        try:  # through the folder's descriptor: a long state path still fits sun_path
            listener.bind(f"/proc/self/fd/{folder}/{self.path.name}")
        finally:
            os.close(folder)
        os.chmod(self.path, SOCKET_MODE)
        listener.listen(16)
        found = self.path.stat()
        self._inode = (found.st_dev, found.st_ino)
        self._listener = listener
        self._slots = [self._start_one() for _ in range(self.config.validate_slots)]
        self._thread = threading.Thread(target=self._keep, name="validate-service",
                                        daemon=True)
        self._thread.start()
        log.info("validate_service_listening", socket=str(self.path),
                 slots=self.config.validate_slots)

    def _start_one(self) -> _Slot:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=serve_one, args=(self._listener, writer, self.config, self.scratch),
            name="gateway-validate", daemon=True)
        process.start()
        writer.close()
        return _Slot(process, reader)

    def _keep(self) -> None:
        """Enforce each request's time and replace every process that has ended. A failure
        here (a process that cannot be started) is logged and tried again: the daemon serves
        uploads regardless, and callers judge their files themselves meanwhile."""
        while not self._stopping.is_set():
            try:
                self._look()
            except Exception as err:
                log.error("validate_service_failed", reason=type(err).__name__)
                self._stopping.wait(TICK * 10)

    def _look(self) -> None:
        now = time.monotonic()
        due = [s.deadline - now for s in self._slots if s.deadline is not None]
        ready = wait([s.conn for s in self._slots] + [s.process.sentinel for s in self._slots],
                     max(0.0, min([TICK, *due])))
        for slot in list(self._slots):
            if slot.conn in ready or slot.process.sentinel in ready:
                self._hear(slot)
            if slot.deadline is not None and time.monotonic() >= slot.deadline:
                slot.process.kill()
                slot.failure = f"over the {self.config.time_limit:g} s limit a file"
                slot.deadline = None
            if not slot.process.is_alive() and not self._stopping.is_set():
                self._replace(slot)

    def _hear(self, slot: _Slot) -> None:
        """The process's word: it took a request (``took``) or knows how many files it
        judges (``judging``); each sets the request's deadline."""
        with contextlib.suppress(EOFError, OSError):
            while slot.conn.poll():
                _, files, at = slot.conn.recv()
                slot.deadline = at + self.config.time_limit * max(1, files)

    def _replace(self, slot: _Slot) -> None:
        slot.process.join()
        code = slot.process.exitcode
        if not slot.said:
            if slot.failure is not None:
                log.warning("validate_request_failed", failure="time", detail=slot.failure)
            elif code:
                log.warning("validate_request_failed", failure="crashed",
                            detail=_exit_text(code))
            slot.said = True
        fresh = self._start_one()  # if this raises, the next look tries again
        slot.conn.close()
        shutil.rmtree(self.scratch / str(slot.process.pid), ignore_errors=True)
        self._slots[self._slots.index(slot)] = fresh

    def stop(self) -> None:
        """Stop listening, let a request in hand finish for a few seconds, end the processes
        and remove the socket (if it is still this daemon's)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(FileNotFoundError):
            found = self.path.lstat()
            if (found.st_dev, found.st_ino) == self._inode:
                self.path.unlink()
        if self._listener is not None:
            self._listener.close()
        deadline = time.monotonic() + STOP_GRACE
        for slot in self._slots:
            if slot.deadline is None:
                slot.process.kill()  # waiting in accept: nothing in hand
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.conn.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def _exit_text(exitcode: int) -> str:
    return (f"killed by signal {-exitcode}" if exitcode < 0
            else f"exited with status {exitcode}")


def error_words(err: OSError) -> str:
    """Why the service could not start, for the log: the system's reason and the path."""
    return f"{err.strerror or type(err).__name__}: {err.filename}" if err.filename else str(err)
