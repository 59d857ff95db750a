"""Connections to the two databases a ledger can live in.

SQLite (the default, one host): a file beside the state folder, write-ahead logging so readers
never wait for the daemon, ``synchronous=FULL`` so each transition is on disk before the file
operation it announces, and ``BEGIN IMMEDIATE`` so a write transaction takes the write lock at
its start instead of failing half-way. PostgreSQL (several hosts): psycopg 3 through SQLAlchemy,
with connections checked before use so a restarted server costs one retry, not a dead daemon.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

POSTGRES_SCHEMES = ("postgresql", "postgres")
READ_ONLY = "ledger_read_only"  # execution option of a reading connection
# Every ledger transaction is a few statements long. One left open longer means its daemon
# stalled inside it (stopped, swapped out, cut off): the server ends that session, so the row
# locks it holds do not stop the other daemons from taking its files over.
IDLE_IN_TRANSACTION_MS = 10_000
_SESSION_OPTIONS = f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"


class LedgerUrlError(ValueError):
    """The ``[ledger] url`` names no database this gateway can use."""


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def parse_url(text: str) -> URL:
    """A ledger URL as SQLAlchemy wants it: ``postgresql://`` selects the psycopg 3 driver."""
    try:
        url = make_url(text)
    except sa.exc.ArgumentError as err:
        raise LedgerUrlError(f"{text!r} is not a database URL") from err
    backend = url.get_backend_name()
    if backend in POSTGRES_SCHEMES:
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and url.database:
        return url
    raise LedgerUrlError(f"the ledger must be sqlite:///PATH or postgresql://...; got a "
                         f"{backend!r} URL")


def parse_location(location: str | Path) -> URL:
    """The URL of a ledger given as a URL or as the path of a SQLite file."""
    return parse_url(sqlite_url(location) if isinstance(location, Path) else location)


def is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def safe_text(url: URL) -> str:
    """The URL for messages and logs: never the password."""
    return url.render_as_string(hide_password=True)


def create_engine(url: URL) -> sa.Engine:
    if is_postgres(url):
        return sa.create_engine(url, pool_size=2, max_overflow=2, pool_pre_ping=True,
                                connect_args={"options": _SESSION_OPTIONS})
    engine = sa.create_engine(url, connect_args={"timeout": 30.0, "check_same_thread": False})
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: sqlite3.Connection, record: Any) -> None:
    # The driver's own transaction handling is switched off so that "begin" below decides.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=FULL")


def _sqlite_begin(connection: sa.Connection) -> None:
    # Readers (``gateway status`` beside the daemon) must not take the write lock.
    read = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")
