"""The ledger as one host's daemon kept it before migrations existed.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("submitter", sa.Text, nullable=False),
        sa.Column("upload_name", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("problem", sa.Text),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("received_at", sa.Text, nullable=False),
        sa.Column("bytes", sa.BigInteger),
        sa.Column("sha256", sa.Text),
        sa.Column("status", sa.Text),
        sa.Column("layer", sa.Text),
        sa.Column("route", sa.Text),
        sa.Column("records", sa.BigInteger),
        sa.Column("errors", sa.BigInteger),
        sa.Column("warnings", sa.BigInteger),
        sa.Column("failure", sa.Text),
        sa.Column("duplicate_of", sa.Text),
        sa.Column("replaces", sa.Text),
        sa.Column("receipt_path", sa.Text),
        sa.Column("stored_path", sa.Text),
        sa.Column("updated_at", sa.Text, nullable=False),
    )
    op.create_index("submissions_content", "submissions", ["submitter", "sha256"])
    op.create_index("submissions_state", "submissions", ["state"])
    op.create_index("submissions_received", "submissions", ["received_at"])
    op.create_table(
        "transitions",
        sa.Column("submission_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
    )
    op.create_index("transitions_submission", "transitions", ["submission_id"])
    op.create_table(
        "meta",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
