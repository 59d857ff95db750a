"""Notifications: the outbox, its attachments, its attempts, the digest's waiting receipts and
the calendar's runs (gateway.notify), beside the ledger so that each is written in the
transaction of what it announces.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("message_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("submitter", sa.Text),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("message_key", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("queued_at", sa.Text, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("give_up_at", sa.Float),
        sa.Column("claimed_by", sa.Text),
        sa.Column("claim_until", sa.Float),
        sa.Column("sent_at", sa.Text),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("outbox_dedup_key", "outbox", ["dedup_key"], unique=True)
    op.create_index("outbox_pending", "outbox", ["state", "destination", "message_id"])
    op.create_index("outbox_destination", "outbox", ["destination", "message_id"])
    op.create_table(
        "outbox_attempts",
        sa.Column("message_id", sa.Integer, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("detail", sa.Text),
        sa.Column("daemon", sa.Text),
    )
    op.create_index("outbox_attempts_message", "outbox_attempts", ["message_id"])
    op.create_table(
        "outbox_attachments",
        sa.Column("message_id", sa.Integer, primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("media_type", sa.Text, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "digest_items",
        sa.Column("destination", sa.Text, primary_key=True),
        sa.Column("submission_id", sa.Text, primary_key=True),
        sa.Column("day", sa.Text, nullable=False),
        sa.Column("submitter", sa.Text, nullable=False),
        sa.Column("facts", sa.Text, nullable=False),
    )
    op.create_index("digest_items_day", "digest_items", ["day"])
    op.create_table(
        "calendar_runs",
        sa.Column("job", sa.Text, primary_key=True),
        sa.Column("day", sa.Text, primary_key=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("daemon", sa.Text),
    )
