"""Several daemons on one ledger: who owns each unfinished row, the unique claim key of each
upload, and the daemons with their leases.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("submissions") as table:
        table.add_column(sa.Column("owner", sa.Text))
        table.add_column(sa.Column("upload_key", sa.Text))
    op.create_index("submissions_upload_key", "submissions", ["upload_key"], unique=True)
    with op.batch_alter_table("transitions") as table:
        table.add_column(sa.Column("daemon", sa.Text))
    op.create_table(
        "daemons",
        sa.Column("daemon_id", sa.Text, primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Text, nullable=False),
        sa.Column("lease_until", sa.Float, nullable=False),
        sa.Column("stopped_at", sa.Text),
        sa.Column("watcher", sa.Text),
        sa.Column("intake_healthy", sa.Boolean),
        sa.Column("last_rescan_at", sa.Text),
        sa.Column("waiting", sa.Integer),
    )
