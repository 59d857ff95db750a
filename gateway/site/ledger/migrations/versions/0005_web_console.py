"""The web console's accounts, sessions, API tokens, sign-in failures, uploads and audit trail,
kept in the ledger's database so every host that runs ``gateway web`` shares them; and the
indexes that keep a page of the submissions list fast with any filter, and the one the
compliance matrix reads each submitter's latest answers from.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "web_accounts",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("submitter", sa.Text),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("locked_until", sa.Float, nullable=False),
    )
    op.create_table(
        "web_sessions",
        sa.Column("session_hash", sa.Text, primary_key=True),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("csrf", sa.Text, nullable=False),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
    )
    op.create_index("web_sessions_account", "web_sessions", ["account"])
    op.create_table(
        "web_tokens",
        sa.Column("token_id", sa.Text, primary_key=True),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("token_hash", sa.Text, nullable=False, unique=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("revoked_at", sa.Text),
        sa.Column("last_used_at", sa.Text),
    )
    op.create_index("web_tokens_account", "web_tokens", ["account"])
    op.create_table(
        "web_failures",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("web_failures_name", "web_failures", ["name", "at"])
    op.create_table(
        "web_uploads",
        sa.Column("upload_id", sa.Text, primary_key=True),
        sa.Column("submitter", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "web_audit",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("account", sa.Text),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("submitter", sa.Text),
        sa.Column("submission_id", sa.Text),
        sa.Column("detail", sa.Text),
        sa.Column("address", sa.Text),
    )
    op.create_index("web_audit_at", "web_audit", ["at"])
    op.create_index("submissions_submitter_newest", "submissions",
                    ["submitter", "received_at", "submission_id"])
    op.create_index("submissions_status_newest", "submissions",
                    ["status", "received_at", "submission_id"])
    op.create_index("submissions_submitter_status_newest", "submissions",
                    ["submitter", "status", "received_at", "submission_id"])
    op.create_index("submissions_newest", "submissions", ["received_at", "submission_id"])
    answered = ("obligations IS NOT NULL AND obligations != '[]' AND duplicate_of IS NULL "
                "AND status IS NOT NULL AND state IN ('receipt_written', 'filed')")
    op.create_index("submissions_answers", "submissions",
                    ["submitter", "obligations", "status", "received_at", "submission_id",
                     "state", "duplicate_of"],
                    sqlite_where=sa.text(answered), postgresql_where=sa.text(answered))


def downgrade() -> None:
    for index in ("submissions_answers", "submissions_newest",
                  "submissions_submitter_status_newest", "submissions_status_newest",
                  "submissions_submitter_newest"):
        op.drop_index(index, table_name="submissions")
    for table in ("web_audit", "web_uploads", "web_failures", "web_tokens", "web_sessions",
                  "web_accounts"):
        op.drop_table(table)
