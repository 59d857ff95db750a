"""An index on the time of each transition: the web console's compliance report asks "has the
ledger changed?" on every request, and on PostgreSQL (which has no rowid) that is the newest
``at`` and the number of transitions of the last hour, two index reads instead of counting the
whole table.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_index("transitions_at", "transitions", ["at"])


def downgrade() -> None:
    op.drop_index("transitions_at", table_name="transitions")
