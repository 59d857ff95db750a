"""``gateway validate`` asks the running daemon first (``gateway.daemon.validate_service``).

The daemon's warm processes have pandas, pyarrow and jsonschema loaded and the plugins ready, so
a small file is answered in a fraction of the second a fresh process spends importing them. Any
doubt means the command judges the files itself, exactly as without a daemon: no socket, a
socket nobody listens on (a crashed daemon), no warm process free within ``[workers]
validate_wait`` seconds, an
older or newer protocol, a request the daemon declines, or an answer that does not come.

Only the standard library and the wire module are imported here: the point is not to load
pandas. Files are opened here, with the caller's permissions, and sent as descriptors.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.daemon.validate_wire import (
    MAX_ANSWER,
    MAX_FILES,
    VERSION,
    WireError,
    connect_address,
    read_message,
    send_message,
    socket_path,
)
from gateway.receipts.shown import Shown

CONNECT_WAIT = 0.5  # seconds to connect: a live daemon's socket accepts at once
ANSWER_MARGIN = 30.0  # seconds beyond the daemon's own time limit before giving up


@dataclass(frozen=True)
class Asked:
    """What became of asking the daemon: its answer, or None with ``taken`` saying whether a
    warm process had taken the request (then it failed on it, which the command says); with
    ``write``, the files ``--out`` writes (name, bytes), in the order to write them."""

    shown: Shown | None
    taken: bool = False
    files: list[tuple[str, bytes]] = field(default_factory=list)


def ask_daemon(state: Path, files: Sequence[tuple[str, Path]], *,
               options: Mapping[str, str], received_at: str | None, write: bool,
               wait: float, time_limit: float) -> Asked:
    """The receipts of ``files`` ((submitter, path), in order) from the daemon whose state
    folder is ``state``, or ``Asked(None)`` when no warm process takes them within ``wait``
    seconds or it cannot give them."""
    if not files or len(files) > MAX_FILES:
        return Asked(None)
    opened: list[int] = []
    try:
        if not socket_path(state).exists():  # a state folder this account may not see: raises
            return Asked(None)
        for _, path in files:  # non-blocking: a FIFO put in a file's place must not hang here
            opened.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK))
        with _connected(state, wait) as daemon:
            if daemon is None:
                return Asked(None)
            hello, _ = read_message(daemon, 4096)
            if hello.get("kind") != "hello" or hello.get("version") != VERSION:
                return Asked(None)
            send_message(daemon, {
                "kind": "request", "version": VERSION, "options": dict(options),
                "received_at": received_at, "write": write,
                "files": [{"submitter": who, "name": path.name} for who, path in files]},
                opened)
            daemon.settimeout(time_limit * len(files) + ANSWER_MARGIN)
            try:
                answer, _ = read_message(daemon, MAX_ANSWER)
            except (WireError, OSError):
                return Asked(None, taken=True)  # the warm process died or ran out of time
        if answer.get("kind") != "answer":
            return Asked(None)  # declined: judged here
        return Asked(Shown.from_dict(answer), files=_files(answer) if write else [])
    except (WireError, OSError, ValueError):  # a bad base64 is a ValueError too
        return Asked(None)
    finally:
        for fd in opened:
            os.close(fd)


def _files(answer: dict[str, object]) -> list[tuple[str, bytes]]:
    """The answer's files for ``--out``: plain names only (a name that could leave the folder
    is refused, and with it the answer)."""
    files = answer.get("files")
    if not isinstance(files, list) or not files:
        raise ValueError("no files in the answer")
    out = []
    for item in files:
        name, data = (item.get("name"), item.get("data")) if isinstance(item, dict) else (0, 0)
        if (not isinstance(name, str) or not isinstance(data, str) or Path(name).name != name
                or name.startswith(".") or "\\" in name):
            raise ValueError("a file name that is not plain")
        out.append((name, base64.b64decode(data, validate=True)))
    return out


@contextlib.contextmanager
def _connected(state: Path, wait: float) -> Iterator[socket.socket | None]:
    """A connection to the service (None: nobody listens), waiting ``wait`` seconds for a
    warm process to take it."""
    folder = os.open(state, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        daemon.settimeout(CONNECT_WAIT)
        try:
            daemon.connect(connect_address(folder))
        except OSError:  # refused: a stale socket; or too many callers waiting already
            yield None
            return
        daemon.settimeout(wait)
        yield daemon
    finally:
        daemon.close()
        os.close(folder)
