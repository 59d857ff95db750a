"""Loopback ports for the servers the tests start (daemons' metrics, SMTP and webhook receivers,
PostgreSQL, sshd, ``gateway web``).

A server binds its port seconds after the test picked it, so the pick must stay free meanwhile:
it is taken below the kernel's ephemeral range (``net.ipv4.ip_local_port_range``), where
``connect()`` finds the local ports of the suite's own outgoing connections and ``bind(0)`` the
ports of other picks, and it is never handed out twice in one session.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST = 10_000
_GIVEN: set[int] = set()
_CHANCE = random.SystemRandom()  # apart from any seed a test or plugin sets


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now, outside the
    ephemeral range where it can, and never one this session handed out before."""
    highest = _ephemeral_start() - 1
    for _ in range(1000):
        if highest - LOWEST >= 1000:
            port = _CHANCE.randint(LOWEST, highest)
        else:  # a machine whose ephemeral range starts low: the kernel's pick
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
        if port not in _GIVEN and _bindable(port):
            _GIVEN.add(port)
            return port
    raise AssertionError("no free loopback port found in 1,000 tries")
