"""The ledger's tables as the code reads and writes them (the head of the migrations).

One definition serves SQLite and PostgreSQL: SQLAlchemy Core renders it for each. The tables
themselves are created and changed only by the versioned migrations in ``migrations/versions``;
``tests/site/test_ledger.py`` checks that the migrated database matches this file. The
migrations spell their tables out again on purpose: a migration is history and must not change
when this file does.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Submissions that answered an obligation with a receipt, duplicates left out (as
# ``Ledger.answers`` reads them); a query naming these terms may use ``submissions_answers``.
ANSWERS_WHERE = ("obligations IS NOT NULL AND obligations != '[]' AND duplicate_of IS NULL "
                 "AND status IS NOT NULL AND state IN ('receipt_written', 'filed')")

submissions = sa.Table(
    "submissions", metadata,
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
    sa.Column("owner", sa.Text),
    sa.Column("upload_key", sa.Text),
    sa.Column("registry_entry", sa.Text),
    sa.Column("obligations", sa.Text),
    sa.Index("submissions_content", "submitter", "sha256"),
    sa.Index("submissions_state", "state"),
    sa.Index("submissions_received", "received_at"),
    sa.Index("submissions_upload_key", "upload_key", unique=True),
    # a page of the web console's list, newest first, with any one filter (migration 0005)
    sa.Index("submissions_submitter_newest", "submitter", "received_at", "submission_id"),
    sa.Index("submissions_status_newest", "status", "received_at", "submission_id"),
    sa.Index("submissions_submitter_status_newest", "submitter", "status", "received_at",
             "submission_id"),
    sa.Index("submissions_newest", "received_at", "submission_id"),
    # the latest answer of each submitter to each obligation, read by the compliance matrix
    # from this index alone (migration 0005)
    sa.Index("submissions_answers", "submitter", "obligations", "status", "received_at",
             "submission_id", "state", "duplicate_of",
             sqlite_where=sa.text(ANSWERS_WHERE), postgresql_where=sa.text(ANSWERS_WHERE)),
)

transitions = sa.Table(
    "transitions", metadata,
    sa.Column("submission_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("daemon", sa.Text),
    sa.Index("transitions_submission", "submission_id"),
    # the console's change stamp on PostgreSQL: the newest time and the last hour's count
    # (migration 0007)
    sa.Index("transitions_at", "at"),
)

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

daemons = sa.Table(
    "daemons", metadata,
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

# Reference data (``gateway.contract.reference``): what the program knows from accepted files,
# kept in the ledger's database so that every daemon, on every host, judges later files
# against the same
# facts, and so that a backup or ``gateway ledger copy`` carries them with the record of the
# files they came from.
reference_entries = sa.Table(
    "reference_entries", metadata,
    sa.Column("dataset", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),  # JSON
    sa.Column("submission_id", sa.Text, nullable=False),
    sa.Column("submitter", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False),
)

reference_datasets = sa.Table(
    "reference_datasets", metadata,
    sa.Column("dataset", sa.Text, primary_key=True),
    sa.Column("submission_id", sa.Text, nullable=False),
    sa.Column("submitter", sa.Text, nullable=False),
    sa.Column("received_at", sa.Text, nullable=False),
)

# One row per accepted submission whose writes were applied: a daemon that restarts between
# applying them and writing the receipt validates the file again and must not apply twice.
reference_applied = sa.Table(
    "reference_applied", metadata,
    sa.Column("submission_id", sa.Text, primary_key=True),
    sa.Column("applied_at", sa.Text, nullable=False),
)

# Notifications (``gateway.notify``): what is to be told to whom, written in the transaction
# that records what it announces, and sent from here by the daemons. ``message_id`` is the
# order of queueing (per destination, messages go out in this order) and the id operators
# name in ``gateway notify retry``; ``dedup_key`` makes queueing the same message twice a
# no-op, whatever the number of daemons or restarts.
outbox = sa.Table(
    "outbox", metadata,
    sa.Column("message_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedup_key", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("destination", sa.Text, nullable=False),
    sa.Column("submitter", sa.Text),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("content", sa.Text, nullable=False),  # JSON, by channel
    sa.Column("message_key", sa.Text, nullable=False),  # Message-ID, or X-Gateway-Delivery
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("queued_at", sa.Text, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("give_up_at", sa.Float),  # set at the first failure: + [notify] retry_for
    sa.Column("claimed_by", sa.Text),
    sa.Column("claim_until", sa.Float),
    sa.Column("sent_at", sa.Text),
    sa.Column("last_error", sa.Text),
    sa.Index("outbox_dedup_key", "dedup_key", unique=True),
    sa.Index("outbox_pending", "state", "destination", "message_id"),
    sa.Index("outbox_destination", "destination", "message_id"),
)

# Every attempt to send an outbox message and how it ended (the webhook delivery log).
outbox_attempts = sa.Table(
    "outbox_attempts", metadata,
    sa.Column("message_id", sa.Integer, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("outcome", sa.Text, nullable=False),  # sent | retrying | failed
    sa.Column("detail", sa.Text),
    sa.Column("daemon", sa.Text),
    sa.Index("outbox_attempts_message", "message_id"),
)

# Files sent with an outbox e-mail (a prescriber's report PDF), in the order they are attached;
# queued in the transaction of their message and read by the sender that claims it.
outbox_attachments = sa.Table(
    "outbox_attachments", metadata,
    sa.Column("message_id", sa.Integer, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("media_type", sa.Text, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

# Receipts waiting for a contact's daily digest: one row per contact and receipt, gathered
# into one message for the day.
digest_items = sa.Table(
    "digest_items", metadata,
    sa.Column("destination", sa.Text, primary_key=True),
    sa.Column("submission_id", sa.Text, primary_key=True),
    sa.Column("day", sa.Text, nullable=False),
    sa.Column("submitter", sa.Text, nullable=False),
    sa.Column("facts", sa.Text, nullable=False),  # JSON: what a receipt message says
    sa.Index("digest_items_day", "day"),
)

# Calendar jobs done (the day's reminders, the day's digests): one row per job and day, so
# that of several daemons, or of restarts, exactly one runs each.
calendar_runs = sa.Table(
    "calendar_runs", metadata,
    sa.Column("job", sa.Text, primary_key=True),
    sa.Column("day", sa.Text, primary_key=True),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("daemon", sa.Text),
)

# The web console (``gateway.web``): its people, their sessions and API tokens, the sign-in
# failures that lock an account, the uploads it put into upload folders and the audit trail.
# In the ledger's database so that every host running ``gateway web`` shares them. Secrets are
# stored only as hashes (argon2id for passwords, sha256 for random session ids and tokens).
web_accounts = sa.Table(
    "web_accounts", metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("role", sa.Text, nullable=False),  # operator or submitter
    sa.Column("submitter", sa.Text),  # the one submitter id a submitter account acts for
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("locked_until", sa.Float, nullable=False),  # seconds since the epoch; 0: not
)

web_sessions = sa.Table(
    "web_sessions", metadata,
    sa.Column("session_hash", sa.Text, primary_key=True),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("csrf", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
    sa.Index("web_sessions_account", "account"),
)

web_tokens = sa.Table(
    "web_tokens", metadata,
    sa.Column("token_id", sa.Text, primary_key=True),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
    sa.Column("revoked_at", sa.Text),
    sa.Column("last_used_at", sa.Text),
    sa.Index("web_tokens_account", "account"),
)

web_failures = sa.Table(
    "web_failures", metadata,
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("web_failures_name", "name", "at"),
)

web_uploads = sa.Table(
    "web_uploads", metadata,
    sa.Column("upload_id", sa.Text, primary_key=True),
    sa.Column("submitter", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("created_at", sa.Text, nullable=False),
)

web_audit = sa.Table(
    "web_audit", metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Text, nullable=False),
    sa.Column("account", sa.Text),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("submitter", sa.Text),
    sa.Column("submission_id", sa.Text),
    sa.Column("detail", sa.Text),  # ids and names the console made, never a cell value
    sa.Column("address", sa.Text),
    sa.Index("web_audit_at", "at"),
)
