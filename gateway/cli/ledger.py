"""``gateway ledger migrate`` and ``gateway ledger copy``: the commands an operator runs when
the gateway is upgraded or moved from one host (SQLite) to several (PostgreSQL).

The database modules are imported when a command runs, not when the command line is built:
every ``gateway`` invocation builds it, and SQLAlchemy with Alembic is a fifth of a second."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import ConfigOption, load_settings, operational
from gateway.daemon.lock import running_pid


def migrate(config: ConfigOption = None) -> None:
    """Create the ledger's tables or bring them to this gateway's schema revision.

    Run it once per upgrade, from any host, before the daemons start (several at once
    are serialised)."""
    from gateway.site.ledger.backends import create_engine, parse_location, safe_text
    from gateway.site.ledger.migrate import upgrade

    with operational():
        settings = load_settings(config)
        url = parse_location(settings.ledger_location)
        engine = create_engine(url)
        try:
            before, after = upgrade(engine)
        finally:
            engine.dispose()
    typer.echo(f"ledger {safe_text(url)}: revision {before or 'none'} -> {after}")

def copy(
    to: Annotated[str | None, typer.Option(
        "--to", help="Target database URL (default: the config's [ledger] url).")] = None,
    source: Annotated[Path | None, typer.Option(
        "--from", dir_okay=False,
        help="SQLite ledger to copy (default: the config's [folders] ledger).")] = None,
    config: ConfigOption = None,
) -> None:
    """Copy the SQLite ledger, with its whole history, into a new, empty database.

    Stop the daemon first; afterwards set [ledger] url and start the daemons."""
    from gateway.site.ledger.backends import (
        create_engine,
        parse_location,
        parse_url,
        safe_text,
    )
    from gateway.site.ledger.copy import CopyRefused, copy_ledger

    with operational():
        settings = load_settings(config)
        if source is None and running_pid(settings.lock_file) is not None:
            raise CopyRefused("a daemon is running on this ledger; stop it first")
        origin = source or settings.ledger
        if not origin.is_file():
            raise FileNotFoundError(f"no ledger at {origin}")
        if to is None and settings.ledger_url is None:
            raise CopyRefused("name the target with --to or [ledger] url")
        target_url = parse_url(to or settings.ledger_url or "")
        reader = create_engine(parse_location(origin))
        writer = create_engine(target_url)
        try:
            copied = copy_ledger(reader, writer)
        finally:
            reader.dispose()
            writer.dispose()
    counts = ", ".join(f"{n} {table}" for table, n in copied.items())
    typer.echo(f"copied {origin} -> {safe_text(target_url)}: {counts}")
