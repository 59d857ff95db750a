"""Moving a ledger into another database (from one host's SQLite into the PostgreSQL that
several hosts share), with its whole history.

The source is only read, whatever its schema revision (a ledger from before the migrations
included); the target is brought to the newest revision first and must hold no submissions,
so a copy is never merged into another deployment's record by mistake. Rows are copied in
batches inside one transaction: the target has all of them or none. Ownership is not copied:
the unfinished rows, if any, are taken over by the first daemon that starts on the target.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from gateway.site.ledger.migrate import upgrade
from gateway.site.ledger.schema import (
    meta,
    reference_applied,
    reference_datasets,
    reference_entries,
    submissions,
    transitions,
)

BATCH = 5000
# daemons are not copied: they belong to a host; the reference data go with the files
_TABLES = (submissions, transitions, meta, reference_entries, reference_datasets,
           reference_applied)


class CopyRefused(RuntimeError):
    """The target already holds submissions."""


def copy_ledger(source: sa.Engine, target: sa.Engine) -> dict[str, int]:
    """Copy every row of the source's tables into the target; returns rows copied per table."""
    upgrade(target)
    copied: dict[str, int] = {}
    with source.connect() as reader, target.begin() as writer:
        if writer.scalar(sa.select(sa.func.count()).select_from(submissions)):
            raise CopyRefused("the target ledger already holds submissions; copy only into a "
                              "new, empty database")
        present = sa.inspect(reader)
        for table in _TABLES:
            if not present.has_table(table.name):
                copied[table.name] = 0
                continue
            names = {column["name"] for column in present.get_columns(table.name)}
            columns = [column for column in table.columns if column.name in names]
            copied[table.name] = 0
            for rows in _batches(reader, table.name, [c.name for c in columns]):
                if table is submissions:
                    rows = [row | {"owner": None} for row in rows]
                writer.execute(table.insert(), rows)
                copied[table.name] += len(rows)
    return copied


def _batches(reader: sa.Connection, table: str, columns: list[str]
             ) -> Iterator[list[dict[str, Any]]]:
    source = sa.table(table, *(sa.column(name) for name in columns))
    result = reader.execution_options(yield_per=BATCH).execute(sa.select(source))
    for partition in result.mappings().partitions(BATCH):
        yield [dict(row) for row in partition]
