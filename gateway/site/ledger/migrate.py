"""Versioned changes to the ledger's tables, run by Alembic for SQLite and PostgreSQL alike.

The scripts live in ``migrations/versions`` and are shipped with the package. A SQLite ledger
made before the migrations existed (tables, no ``alembic_version``) is recognised and marked as
the baseline revision first, so an upgrade keeps its history. On PostgreSQL the migration runs
under an advisory lock, so two hosts running ``gateway ledger migrate`` at once do not collide.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from gateway.site.ledger.backends import create_engine, is_postgres, parse_location, safe_text

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"
_LOCK_KEY = 4654_0001  # the advisory lock that serialises migrations on PostgreSQL


class LedgerOutdated(RuntimeError):
    """The database's schema is older (or newer) than this gateway's; the message says what
    to run."""


def _alembic(connection: sa.Connection) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert revision is not None
    return revision


def current(engine: sa.Engine) -> str | None:
    """The revision the database is at (None: no ledger tables yet)."""
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
        if revision is None and sa.inspect(connection).has_table("submissions"):
            return BASELINE
        return revision


def upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    """Bring the database to the newest revision; returns (before, after)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        context = MigrationContext.configure(connection)
        before = context.get_current_revision()
        config = _alembic(connection)
        if before is None and sa.inspect(connection).has_table("submissions"):
            command.stamp(config, BASELINE)  # a ledger from before the migrations
            before = BASELINE
        command.upgrade(config, "head")
    return before, head()


def check_current(engine: sa.Engine, where: str) -> None:
    """Refuse a ledger whose schema is not this gateway's."""
    found, wanted = current(engine), head()
    if found != wanted:
        raise LedgerOutdated(f"the ledger {where} is at schema revision {found or 'none'}, this "
                             f"gateway needs {wanted}: run `gateway ledger migrate`")


def open_database(location: str | Path, *, create: bool) -> tuple[URL, sa.Engine]:
    """The engine of a ledger database, ready for this gateway's code.

    ``location`` is a database URL or the path of a SQLite file. With ``create`` a SQLite
    ledger is made when missing and brought to the newest schema (one host migrates its own
    file); otherwise, and always for PostgreSQL (whose schema only ``gateway ledger migrate``
    changes), the schema must already be current. Raises ``FileNotFoundError`` for a missing
    SQLite file when not creating, ``LedgerOutdated`` for a schema of another version."""
    url = parse_location(location)
    if not is_postgres(url):
        path = Path(url.database or "")
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise FileNotFoundError(f"no ledger at {path}; has the gateway run here?")
    engine = create_engine(url)
    try:
        if create and not is_postgres(url):
            upgrade(engine)
        else:
            check_current(engine, safe_text(url))
    except BaseException:
        engine.dispose()
        raise
    return url, engine
