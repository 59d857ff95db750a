"""Which daemons are alive: each registers in the ledger and keeps a lease there.

A daemon renews its lease every third of ``[ledger] lease`` seconds. A daemon whose lease ran
out is dead as far as the others are concerned: any of them may take over its unfinished
submissions (``Ledger.orphans`` and ``Ledger.take_over``) and remove its temporary files. On
its own host a daemon whose process is gone is known dead at once, so a daemon restarted by
systemd resumes its predecessor's files without waiting for the lease. Leases compare wall
clocks of different hosts: keep them synchronised (NTP); a skew well under the lease is enough.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time

from gateway.site.ledger import Daemon, Ledger, Submission, now_text

_UNSAFE = re.compile(r"[^A-Za-z0-9-]")
FORGET_DAEMONS_AFTER = 7 * 86400.0  # seconds a dead daemon owning nothing stays listed
UNNAMED_STALE_AFTER = 3600.0  # seconds: a temporary file without a writer id left by old code


def new_daemon_id(host: str | None = None, pid: int | None = None) -> str:
    """``<host>.<pid>.<random>``: readable in logs, unique across restarts, and safe inside the
    names of temporary files (no ``.`` in the host part, so the id can be read back)."""
    host = _UNSAFE.sub("-", host if host is not None else socket.gethostname())[:40] or "host"
    return f"{host}.{pid if pid is not None else os.getpid()}.{secrets.token_hex(3)}"


def writer_of(temporary_name: str, prefix: str) -> str | None:
    """The daemon id in a temporary file name ``<prefix><daemon id>.<random>``, or None for a
    name without one (written before ids existed)."""
    parts = temporary_name[len(prefix):].split(".")
    return ".".join(parts[:3]) if len(parts) >= 4 and parts[1].isdigit() else None


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def live_daemons(ledger: Ledger) -> list[Daemon]:
    now = time.time()
    return [daemon for daemon in ledger.daemons() if daemon.alive(now)]


class Membership:
    """This daemon's registration and lease, and its view of the others."""

    def __init__(self, ledger: Ledger, lease: float, *, exclusive: bool) -> None:
        assert ledger.owner is not None, "the ledger must fence writes by this daemon's id"
        self.ledger = ledger
        self.lease = lease
        self.exclusive = exclusive  # the only daemon on this ledger (SQLite, instance lock)
        self.host = socket.gethostname()
        self.daemon_id = ledger.owner
        self.lease_until = 0.0
        self._renew_due = 0.0

    def join(self, watcher: str | None) -> None:
        self.ledger.forget_daemons(before=time.time() - FORGET_DAEMONS_AFTER)
        self.lease_until = time.time() + self.lease
        self.ledger.register(Daemon(self.daemon_id, self.host, os.getpid(), now_text(),
                                    self.lease_until, watcher=watcher))
        self._renew_due = time.monotonic() + self.lease / 3

    def renew_due(self) -> bool:
        return time.monotonic() >= self._renew_due

    def renew(self, **info: object) -> None:
        """Extend the lease (and record what ``gateway status`` shows about this daemon)."""
        self.lease_until = time.time() + self.lease
        self.ledger.heartbeat(self.daemon_id, self.lease_until, **info)
        self._renew_due = time.monotonic() + self.lease / 3

    def leave(self) -> None:
        self.ledger.stopped(self.daemon_id)

    def dead(self) -> set[str]:
        """Ids of daemons known dead: lease run out, stopped, or (on this host) process gone.
        When this daemon is the only one, every other id is dead."""
        now = time.time()
        dead = set()
        for daemon in self.ledger.daemons():
            if daemon.daemon_id == self.daemon_id:
                continue
            if (self.exclusive or not daemon.alive(now)
                    or (daemon.host == self.host and process_gone(daemon.pid))):
                dead.add(daemon.daemon_id)
        return dead

    def stale_temporary(self, name: str, prefix: str, age: float, dead: set[str]) -> bool:
        """May this temporary file (``age`` seconds since its last change) be removed? Yes when
        its writer is dead; a name without a writer id only when this daemon is the only one or
        the file is an hour old (no live writer takes that long over one receipt)."""
        writer = writer_of(name, prefix)
        if writer == self.daemon_id:
            return False
        if writer is not None and writer in dead:
            return True
        return self.exclusive or age > UNNAMED_STALE_AFTER

    def orphans(self) -> list[Submission]:
        """Unfinished submissions whose owner is dead (or that have none): to take over."""
        return self.ledger.orphans(time.time(), dead=sorted(self.dead()),
                                   everyone=self.exclusive)
