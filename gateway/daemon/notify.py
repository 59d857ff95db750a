"""systemd's notify protocol, by hand: one datagram per message to ``$NOTIFY_SOCKET``.

``READY=1`` once intake runs, ``STOPPING=1`` when a signal arrives, ``STATUS=`` for
``systemctl status``, and ``WATCHDOG=1`` pings, which the daemon sends only while intake is
healthy, so that systemd restarts a gateway that has stopped taking files. Outside systemd (no
socket in the environment) every call does nothing.
"""

from __future__ import annotations

import os
import socket
import time

from gateway.site.logs import get_logger

log = get_logger("gateway.daemon.notify")


class Notifier:
    """Sends notify messages; knows the watchdog interval systemd asked for."""

    def __init__(self) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self._address = address
        self._socket: socket.socket | None = None
        if address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.watchdog_interval = _watchdog_interval()
        self._last_ping = float("-inf")

    def send(self, *lines: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendto("\n".join(lines).encode(), self._address)
        except OSError as err:
            log.warning("notify_failed", error=str(err))

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def stopping(self, status: str) -> None:
        self.send("STOPPING=1", f"STATUS={status}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def ping(self) -> None:
        """A watchdog ping, at half the interval systemd asked for (no more often)."""
        if self.watchdog_interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog_interval / 2:
            self._last_ping = now
            self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()


def _watchdog_interval() -> float | None:
    """``$WATCHDOG_USEC`` in seconds, when it is meant for this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 1_000_000
    except ValueError:
        return None
