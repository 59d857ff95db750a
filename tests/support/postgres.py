"""A throw-away PostgreSQL server for the tests: Debian's package, a cluster in a temporary
folder, a loopback port picked at run time, stopped at the end of the session.

PostgreSQL refuses to run as root, so under root (CI) the cluster belongs to the ``postgres``
account that Debian's package creates. Each test gets a database of its own.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.support.ports import free_port
from tests.support.system import require_command

SERVER_ACCOUNT = "postgres"
SERVER_BINS = "/usr/lib/postgresql/*/bin"


@dataclass
class PostgresServer:
    """A running cluster; ``url(name)`` is a ledger URL for one of its databases."""

    port: int
    user: str
    root: Path

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_server_account(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_ACCOUNT, "--", *argv]


def _run(argv: list[str]) -> None:
    done = subprocess.run(_as_server_account(argv), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n"
                    f"{done.stderr[-2000:]}", pytrace=False)


@contextmanager
def temporary_cluster(durable: bool = False) -> Iterator[PostgresServer]:
    """Install PostgreSQL if needed, start a fresh cluster, yield it, stop and delete it (the
    benchmark uses this too, ``durable``: with fsync as in production; the tests skip it)."""
    # Debian keeps the server programs out of PATH, under the version's folder.
    initdb = require_command("initdb", "postgresql", extra_paths=(SERVER_BINS,))
    pg_ctl = require_command("pg_ctl", "postgresql",
                             extra_paths=(str(Path(initdb).parent), SERVER_BINS))
    root = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_ACCOUNT)
        os.chown(root, account.pw_uid, account.pw_gid)
    data, port, user = root / "data", free_port(), "gateway"
    try:
        _run([initdb, "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"])
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} "
                   f"-c max_connections=200 -c shared_buffers=32MB"
                   f"{'' if durable else ' -c fsync=off'}")
        _run([pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w",
              "start"])
        try:
            yield PostgresServer(port, user, root)
        finally:
            _run([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    with temporary_cluster() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres_server.create_database()
