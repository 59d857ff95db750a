"""One warm process of the validation service: it takes one ``gateway validate`` request,
answers it as the command would in its own process (``engine.preview``), and exits.

It runs forked from the daemon's fork server (pandas, pyarrow and jsonschema loaded), loads the
plugins the installation chose, and waits in ``accept`` until a caller comes. The files arrive
as descriptors the caller opened; each is copied into this process's scratch folder (the
pipeline opens a file by path, refuses links, and ``/proc/self/fd`` would check the daemon's
permissions again, not the caller's), so nothing is ever opened by a path from the request.
The log says how many files and bytes, how long and how it ended; never a name or a value.
"""

from __future__ import annotations

import base64
import contextlib
import os
import resource
import select
import signal
import socket
import stat
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from gateway.contract.catalog import Catalog
from gateway.daemon.validate_wire import (
    MAX_FILES,
    MAX_MESSAGE,
    VERSION,
    WireError,
    read_message,
    send_message,
)
from gateway.engine.pipeline import choose_plugins, default_plugins
from gateway.engine.plugins import Plugins
from gateway.engine.preview import Sent, preview, shown
from gateway.readers.limits import Limits
from gateway.receipts.model import Receipt
from gateway.receipts.store import write_receipt
from gateway.site.config import Config
from gateway.site.logs import configure_logging, get_logger
from gateway.site.reference.store import reference_view
from gateway.submitters.windows import SubmitterPolicy

log = get_logger("gateway.daemon.validate_answer")

REQUEST_WAIT = 10.0  # seconds a caller has to send its request once taken
_DAEMON_LOOK_SECONDS = 1.0  # how often a waiting process looks whether its daemon lives
WARM_MAX_BYTES = 64 << 20  # a larger file is judged by the caller: start-up is not its cost


class Declined(Exception):
    """The request is not answered here; the caller judges the files itself. The message is
    log-safe: fixed words, never a name or a value from the request."""


def serve_one(listener: socket.socket, daemon: Connection, config: Config,
              scratch: Path) -> None:
    """Wait for a caller, answer it, exit. The daemon hears ``took`` and ``judging`` (for the
    request's deadline) and decides when this process is killed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the daemon stops this process itself
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    configure_logging(config.log_format, config.log_level)
    if config.memory_limit_mb:
        limit = config.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    choose_plugins(config.plugin_choice)
    plugins = default_plugins()  # warm before a caller waits for it: the plugins, and the
    with contextlib.suppress(Exception):  # ledger's reference view (SQLAlchemy, Alembic)
        reference_view(config.ledger_location)  # a ledger that refuses: said per request
    caller = _caller(listener, daemon)
    listener.close()
    if caller is None:
        return  # the daemon has gone: nobody will read an answer or stop this process
    started, cpu = time.monotonic(), time.process_time()
    daemon.send(("took", 0, started))
    with caller:
        outcome, files, size = _answer(caller, daemon, config, scratch, plugins)
    log.info("validate_request", files=files, bytes=size, outcome=outcome,
             seconds=round(time.monotonic() - started, 3),
             cpu_seconds=round(time.process_time() - cpu, 3))


def _caller(listener: socket.socket, daemon: Connection) -> socket.socket | None:
    """The next caller, or None once the daemon has gone. A daemon killed with -9 never stops
    this process; without this look every second it would wait in ``accept`` for ever, and,
    holding the fork server's liveness pipe, keep that alive too. The daemon's end of ``daemon``
    closing is the sign: the write end of a pipe polls as an error once no reader is left."""
    listener.settimeout(_DAEMON_LOOK_SECONDS)
    gone = select.poll()
    gone.register(daemon.fileno(), 0)  # errors and hang-ups are always reported
    while True:
        try:
            caller, _ = listener.accept()
        except TimeoutError:
            if gone.poll(0):
                return None
            continue
        caller.settimeout(None)
        return caller


def _answer(caller: socket.socket, daemon: Connection, config: Config, scratch: Path,
            plugins: Plugins) -> tuple[str, int, int]:
    """Hear the caller's request and answer it: (the outcome in log-safe words, how many
    files, their bytes)."""
    caller.settimeout(REQUEST_WAIT)
    try:
        send_message(caller, {"kind": "hello", "version": VERSION})
        request, fds = read_message(caller, MAX_MESSAGE, MAX_FILES)
    except (WireError, OSError) as err:  # it gave up waiting, or does not speak the protocol
        return f"caller gone: {err if isinstance(err, WireError) else type(err).__name__}", 0, 0
    count, size = len(fds), 0
    try:
        try:
            daemon.send(("judging", count, time.monotonic()))
            caller.settimeout(None)  # the daemon enforces the time from here
            own = scratch / str(os.getpid())
            own.mkdir(mode=0o700)
            sent, size = _copies(request, fds, own)
        finally:
            for fd in fds:
                os.close(fd)
        receipts = preview(sent, plugins=plugins, registry=_registry(config),
                           policy=SubmitterPolicy(late=config.late, timezone=config.timezone),
                           ledger=config.ledger_location, options=_options(request),
                           received_at=_text(request.get("received_at")))
        files = (_written(receipts, sent, plugins.catalog, own)
                 if request.get("write") is True else [])  # before shown(), as the command
        answer = {"kind": "answer", **shown(receipts, plugins.catalog).as_dict(),
                  "files": files}
    except Declined as why:
        _decline(caller, str(why))
        return f"declined: {why}", count, size
    except Exception as err:  # a gateway bug, or out of memory: the caller judges the files
        _decline(caller, "failed")
        return f"failed: {type(err).__name__}", count, size
    try:
        send_message(caller, answer)
    except OSError as err:
        return f"caller gone: {type(err).__name__}", count, size
    return "answered", count, size


def _written(receipts: Sequence[Receipt], sent: Sequence[Sent], catalog: Catalog,
             folder: Path) -> list[dict[str, str]]:
    """``gateway validate --out``'s files, made here as the command makes them (the annotated
    copy, the text receipt, the JSON receipt last: its presence marks completion), for the
    caller to write: name and base64 bytes, in the order to write them."""
    files = []
    for number, (receipt, one) in enumerate(zip(receipts, sent, strict=True)):
        out = folder / f"out-{number}"
        write_receipt(receipt, out, catalog, document=one.path)
        for name in sorted(os.listdir(out), key=lambda n: n.endswith(".receipt.json")):
            files.append({"name": name,
                          "data": base64.b64encode((out / name).read_bytes()).decode("ascii")})
    return files


def _decline(caller: socket.socket, reason: str) -> None:
    with contextlib.suppress(OSError):  # the caller gave up; it judges the files itself
        send_message(caller, {"kind": "declined", "reason": reason})


def _copies(request: dict[str, Any], fds: Sequence[int], folder: Path) -> tuple[list[Sent], int]:
    """Each file the caller sent, copied from its descriptor into ``folder``: (the files to
    judge, their bytes in all)."""
    if request.get("kind") != "request" or request.get("version") != VERSION:
        raise Declined("another protocol version")
    described = request.get("files")
    if not isinstance(described, list) or not described or len(described) != len(fds):
        raise Declined("the files and the descriptors do not match")
    sent, size = [], 0
    for number, (about, fd) in enumerate(zip(described, fds, strict=True)):
        if not isinstance(about, dict):
            raise Declined("a malformed request")
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise Declined("not a regular file")
        if found.st_size > min(WARM_MAX_BYTES, Limits().max_file_bytes):
            raise Declined("a file too large for the warm path")
        copy = folder / str(number)
        _copy(fd, copy, found.st_size)
        size += found.st_size
        sent.append(Sent(_text(about.get("submitter"), required=True), copy,
                         _text(about.get("name"), required=True)))
    return sent, size


def _copy(fd: int, target: Path, size: int) -> None:
    """The descriptor's bytes from its start, without moving its offset (the caller shares
    it). A file that grows meanwhile is copied as far as it was when looked at."""
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        offset = 0
        while offset < size:
            copied = os.sendfile(out, fd, offset, size - offset)
            if copied == 0:
                break  # it shrank: judged as it is now
            offset += copied
    finally:
        os.close(out)


def _registry(config: Config) -> Any:
    """The registry as ``gateway validate`` finds it with this config: none when there is no
    file where one is only looked for; a broken one declines (the command says why)."""
    from gateway.submitters.registry_file import RegistryError, load_registry

    if not config.registry.exists() and not config.registry_configured:
        return None
    try:
        return load_registry(config.registry)
    except (RegistryError, OSError):
        raise Declined("the registry cannot be read") from None


def _options(request: dict[str, Any]) -> dict[str, str]:
    options = request.get("options", {})
    if not isinstance(options, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in options.items()):
        raise Declined("a malformed request")
    return options


def _text(value: object, required: bool = False) -> Any:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise Declined("a malformed request")
    return value
