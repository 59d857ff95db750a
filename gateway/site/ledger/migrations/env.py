"""Alembic's entry point: migrations always run on the connection the gateway hands over
(``gateway.site.ledger.migrate``), never on a URL from an ini file."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
