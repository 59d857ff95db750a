"""The wire between ``gateway validate`` and the running daemon's validation service.

One Unix stream socket in the installation's state folder (``validate.sock``). A connection
carries one exchange of length-prefixed JSON messages:

1. the service says ``hello`` (with the protocol version) once a warm process has taken the
   connection; a caller that hears nothing soon judges its files itself;
2. the caller sends its ``request``: the options of ``gateway validate`` and, for each file,
   the submitter and the name it is sent as; the files themselves travel as open file
   descriptors (SCM_RIGHTS) beside the message, never as paths, so the daemon, which may run as
   another account, reads only what the caller could open;
3. the service sends one ``answer`` (the receipts and their texts, ``receipts.shown.Shown``)
   or ``declined`` (with a log-safe reason), and closes.

Only the standard library is imported: the command's side must start without pandas.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

VERSION = 1
SOCKET_NAME = "validate.sock"
MAX_FILES = 32  # file descriptors one request may carry
MAX_MESSAGE = 1 << 20  # bytes of a request (names and options); answers may be larger
MAX_ANSWER = 256 << 20
_LENGTH = struct.Struct(">I")


class WireError(Exception):
    """The other side broke the protocol or went away (no values of any file in the text)."""


def socket_path(state: Path) -> Path:
    """Where the installation's validation service listens."""
    return state / SOCKET_NAME


def connect_address(folder_fd: int) -> str:
    """The address of the socket in the folder open as ``folder_fd``: short whatever the
    folder's path (a Unix socket's path may not exceed 107 bytes)."""
    return f"/proc/self/fd/{folder_fd}/{SOCKET_NAME}"


def send_message(sock: socket.socket, message: dict[str, Any],
                 fds: Sequence[int] = ()) -> None:
    """One message, with ``fds`` beside its first byte."""
    data = json.dumps(message, ensure_ascii=False).encode()
    framed = _LENGTH.pack(len(data)) + data
    sent = socket.send_fds(sock, [framed], list(fds)) if fds else sock.send(framed)
    if sent < len(framed):
        sock.sendall(framed[sent:])


def read_message(sock: socket.socket, limit: int,
                 max_fds: int = 0) -> tuple[dict[str, Any], list[int]]:
    """One message and the descriptors that came with it (the caller closes them). Raises
    ``WireError`` on a closed connection, a message over ``limit`` bytes, more than
    ``max_fds`` descriptors or anything that is not a JSON object."""
    fds: list[int] = []
    try:
        if max_fds:
            head, fds, flags, _ = socket.recv_fds(sock, _LENGTH.size, max_fds)
            if flags & socket.MSG_CTRUNC:
                raise WireError(f"more than {max_fds} files in one request")
        else:
            head = sock.recv(_LENGTH.size)
        head += _exactly(sock, _LENGTH.size - len(head))
        (length,) = _LENGTH.unpack(head)
        if length > limit:
            raise WireError(f"a message of {length:,} bytes, over {limit:,}")
        message = json.loads(_exactly(sock, length))
        if not isinstance(message, dict):
            raise WireError("a message that is not a JSON object")
    except (WireError, OSError, ValueError) as err:
        for fd in fds:
            os.close(fd)
        raise err if isinstance(err, WireError) else WireError(type(err).__name__) from err
    return message, fds


def _exactly(sock: socket.socket, count: int) -> bytes:
    chunks = []
    while count > 0:
        chunk = sock.recv(min(count, 1 << 20))
        if not chunk:
            raise WireError("the connection closed mid-message")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)
