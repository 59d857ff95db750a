"""Did the writer of an upload finish it? OpenSSH's own account of every file handle says so.

SFTP has no "upload complete" message, and a client that dies (or whose link drops) mid-file
leaves a file that looks finished to everything else: the writer closed it, the lease is free
and the size stays still. The SFTP server knows the difference. OpenSSH's ``sftp-server`` (and
``internal-sftp``, the same code inside sshd) run with ``-l INFO`` logs every handle it opens and
closes, with the bytes written; when a session ends with handles still open (the client vanished
or was killed) it closes them itself and logs each as ``forced close``, *before* the process
exits and the kernel releases the file. So by the time the daemon can see that nobody writes a
file any more, the line that says how its last writer left has already been sent.

``internal-sftp`` in a chroot logs only to a ``/dev/log`` inside the chroot. ``gateway submitter
add`` gives each submitter's chroot a ``dev/`` folder owned by the service account, and the
daemon binds a datagram socket at ``inbox/<id>/dev/log`` for each submitter: no syslog set-up
is needed, and the lines never leave the daemon (file names are the submitter's; they are not
logged). The kernel attaches the sender's uid to every datagram (``SO_PASSCRED``): only lines
from the account that owns the submitter's ``upload/`` folder are believed, so another local
account cannot forge a clean close.

This module is the parser (pure), the book of handles per upload path, and the listener.
"""

from __future__ import annotations

import array
import contextlib
import os
import re
import socket
import stat
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from gateway.site.layout import DEV_FOLDER
from gateway.site.logs import get_logger

log = get_logger("gateway.daemon.handle_log")

SOCKET_NAME = "log"
RECEIVE_BUFFER = 4 * 1024 * 1024
MAX_DATAGRAM = 8192
_PROCESSES_VISIBLE = os.path.exists("/proc/1")  # other accounts' processes (no hidepid)

_SYSLOG = re.compile(r"^<\d{1,3}>(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )?"
                     r"[^\[\]:]*(?:\[\d+\])?: (?P<message>.*)$", re.S)
_OPEN = re.compile(r'^open "(?P<path>.*)" flags (?P<flags>[A-Z,]*) mode 0?[0-7]+$', re.S)
_CLOSE = re.compile(r'^(?P<forced>forced )?close "(?P<path>.*)" bytes read \d+ '
                    r'written (?P<written>\d+)$', re.S)
_RENAME = re.compile(r'^(?:posix-)?rename old "(?P<old>.*)" new "(?P<new>.*)"$', re.S)
_SESSION_END = re.compile(r"^session closed for local user ")
_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "a": b"\a", "b": b"\b", "f": b"\f",
            "v": b"\v", "s": b" ", "\\": b"\\", "0": b"\0"}


@dataclass(frozen=True)
class Event:
    """One line of the SFTP server about a handle: ``open`` (for writing), ``close``,
    ``forced`` (closed by the server because the session ended), ``rename`` or ``end``."""

    kind: str
    path: str = ""
    new_path: str = ""
    written: int = 0


def parse(datagram: bytes) -> Event | None:
    """The handle event a syslog datagram from ``sftp-server -l INFO`` carries, or None for any
    other line. Paths are made absolute inside the chroot (the session starts in ``/``)."""
    text = datagram.decode("latin-1").rstrip("\n\0")
    found = _SYSLOG.match(text)
    message = found.group("message") if found else text
    if (opened := _OPEN.match(message)) is not None:
        if "WRITE" not in opened.group("flags").split(","):
            return None
        return Event("open", _path(opened.group("path")))
    if (closed := _CLOSE.match(message)) is not None:
        return Event("forced" if closed.group("forced") else "close", _path(closed.group("path")),
                     written=int(closed.group("written")))
    if (renamed := _RENAME.match(message)) is not None:
        return Event("rename", _path(renamed.group("old")), _path(renamed.group("new")))
    if _SESSION_END.match(message):
        return Event("end")
    return None


def _path(logged: str) -> str:
    """The path as the server logged it (made printable with C-style and octal escapes, as
    OpenSSH's log does for syslog), decoded and normalised."""
    raw = bytearray()
    text = logged.encode("latin-1")
    i = 0
    while i < len(text):
        char = text[i:i + 1]
        if char == b"\\" and i + 1 < len(text):
            nxt = text[i + 1:i + 2].decode("latin-1")
            octal = text[i + 1:i + 4]
            if len(octal) == 3 and all(48 <= b <= 55 for b in octal):
                raw.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            if nxt in _ESCAPES:
                raw += _ESCAPES[nxt]
                i += 2
                continue
        raw += char
        i += 1
    parts: list[str] = []
    for part in PurePosixPath("/", os.fsdecode(bytes(raw))).parts[1:]:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/" + "/".join(parts)


@dataclass
class Writes:
    """What the server said about the writers of one upload: handles still open (by session)
    and how the last one was closed."""

    open_by: dict[int, int] = field(default_factory=dict)  # session pid -> open write handles
    last_close: str | None = None  # "close" or "forced"

    @property
    def writing(self) -> bool:
        return any(self.open_by.values())

    @property
    def interrupted(self) -> bool:
        """The last writer went away without closing: the file is a prefix of what was sent."""
        return self.last_close == "forced"


class HandleBook:
    """Per submitter and path (as the chroot sees it), the writers the server reported. An
    upload's record is handed over when the daemon claims it: later opens of the same name are
    a new upload, while closes of handles opened before still reach the claimed record."""

    def __init__(self) -> None:
        self._paths: dict[tuple[str, str], Writes] = {}
        self._handles: dict[tuple[str, int, str], list[Writes]] = {}

    def record(self, submitter: str, pid: int, event: Event) -> None:
        if event.kind == "open":
            writes = self._paths.setdefault((submitter, event.path), Writes())
            writes.open_by[pid] = writes.open_by.get(pid, 0) + 1
            self._handles.setdefault((submitter, pid, event.path), []).append(writes)
        elif event.kind in ("close", "forced"):
            handles = self._handles.get((submitter, pid, event.path))
            if handles:
                writes = handles.pop(0)
                if not handles:
                    del self._handles[(submitter, pid, event.path)]
                writes.open_by[pid] -= 1
                writes.last_close = event.kind
            elif event.written:  # opened before the daemon listened: still a writer's close
                writes = self._paths.setdefault((submitter, event.path), Writes())
                writes.last_close = event.kind
        elif event.kind == "rename":
            moved = self._paths.pop((submitter, event.path), None)
            if moved is not None:
                self._paths[(submitter, event.new_path)] = moved
        elif event.kind == "end":
            self.session_gone(submitter, pid)

    def session_gone(self, submitter: str, pid: int) -> None:
        """A session ended (or its process vanished): any handle it still held was left
        unfinished, as the server's own ``forced close`` would have said."""
        for key in [key for key in self._handles if key[:2] == (submitter, pid)]:
            for writes in self._handles.pop(key):
                writes.open_by[pid] = 0
                writes.last_close = "forced"

    def sessions(self) -> set[tuple[str, int]]:
        return {key[:2] for key in self._handles}

    def take(self, submitter: str, path: str) -> Writes | None:
        """Hand over the record of the upload at ``path`` (the daemon claimed it)."""
        return self._paths.pop((submitter, path), None)


@dataclass
class _Endpoint:
    submitter: str
    sock: socket.socket
    path: Path


class SessionLog:
    """The daemon's ear on every submitter's SFTP sessions: one datagram socket per chroot,
    read by a thread into a ``HandleBook``. ``sync`` reads whatever has been sent so far, so a
    decision taken after it sees every line sent before it."""

    def __init__(self, submitter_roots: Iterable[tuple[str, Path, Path]]) -> None:
        """``submitter_roots``: (submitter, chroot folder, upload folder) for each submitter."""
        self.book = HandleBook()
        self.missing: dict[str, str] = {}  # submitter -> why it has no signal
        self._endpoints: dict[int, _Endpoint] = {}
        self._owners: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop_r, self._stop_w = os.pipe()
        self._thread: threading.Thread | None = None
        self.update(submitter_roots)

    def update(self, submitter_roots: Iterable[tuple[str, Path, Path]]) -> None:
        """Listen for submitters added since (their folders appear while the daemon runs)."""
        listening = {endpoint.submitter for endpoint in self._endpoints.values()}
        for submitter, chroot, upload in submitter_roots:
            if submitter in listening:
                continue
            problem = self._listen(submitter, chroot, upload)
            if problem is None:
                self.missing.pop(submitter, None)
            elif self.missing.get(submitter) != problem:
                self.missing[submitter] = problem
                log.warning("no_interruption_signal", submitter=submitter, reason=problem)

    def _listen(self, submitter: str, chroot: Path, upload: Path) -> str | None:
        dev = chroot / DEV_FOLDER
        try:
            dev_st = dev.lstat()
            owner = upload.lstat().st_uid
        except OSError:
            return (f"{dev} is missing: run `gateway submitter add {submitter}` again as root "
                    "(it creates it)")
        if not stat.S_ISDIR(dev_st.st_mode) or dev_st.st_uid != os.geteuid():
            return (f"{dev} is not a folder of the service account: run `gateway submitter add "
                    f"{submitter}` again as root")
        target = dev / SOCKET_NAME
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            if os.path.lexists(target):
                os.unlink(target)
            sock.bind(os.fsencode(target))
            os.chmod(target, 0o666)  # sftp-server runs as the submitter; the uid is checked
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.setblocking(False)
        except OSError as err:
            sock.close()
            return f"the daemon cannot listen at {target} ({err.strerror})"
        with self._lock:
            self._endpoints[sock.fileno()] = _Endpoint(submitter, sock, target)
            self._owners[submitter] = owner
        return None

    @property
    def listening(self) -> list[str]:
        return sorted(endpoint.submitter for endpoint in self._endpoints.values())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="session-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import select

        while True:
            fds = [self._stop_r, *self._endpoints]
            try:
                ready, _, _ = select.select(fds, [], [], 1.0)
            except (OSError, ValueError):
                continue  # an endpoint was added or closed meanwhile
            if self._stop_r in ready:
                return
            if ready:
                self.sync()

    def sync(self) -> None:
        """Read every datagram waiting on every socket into the book; then treat sessions
        whose process is gone without a word (the server was killed) as ended."""
        with self._lock:
            for endpoint in self._endpoints.values():
                self._drain(endpoint)
            if not _PROCESSES_VISIBLE:
                return  # /proc mounted with hidepid: a session's absence proves nothing
            for submitter, pid in self.book.sessions():
                if not os.path.exists(f"/proc/{pid}"):
                    self.book.session_gone(submitter, pid)

    def _drain(self, endpoint: _Endpoint) -> None:
        size = struct.calcsize("3i")
        while True:
            try:
                data, ancillary, _, _ = endpoint.sock.recvmsg(
                    MAX_DATAGRAM, socket.CMSG_SPACE(size))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            credentials = None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    credentials = array.array("i", payload[:size]).tolist()
            if credentials is None:
                continue
            pid, uid, _ = credentials
            if uid != self._owners.get(endpoint.submitter):
                continue  # only the submitter's own sessions speak for its uploads
            event = parse(data)
            if event is not None:
                self.book.record(endpoint.submitter, pid, event)

    def take(self, submitter: str, name: str) -> Writes | None:
        """The record of ``upload/<name>`` of ``submitter``, handed over at its claim."""
        self.sync()
        with self._lock:
            return self.book.take(submitter, f"/upload/{name}")

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            for endpoint in self._endpoints.values():
                endpoint.sock.close()
                with contextlib.suppress(OSError):
                    os.unlink(endpoint.path)
            self._endpoints.clear()
        os.close(self._stop_r)
        os.close(self._stop_w)
