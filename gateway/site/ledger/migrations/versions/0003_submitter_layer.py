"""The submitter layer: the registry entry that judged each file and the obligations it
answers (JSON text).

A SQLite ledger written by the one version that added these columns by hand (before the
migrations) has them already; only missing ones are added.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns("submissions")}
    missing = [name for name in ("registry_entry", "obligations") if name not in present]
    if missing:
        with op.batch_alter_table("submissions") as table:
            for name in missing:
                table.add_column(sa.Column(name, sa.Text))
