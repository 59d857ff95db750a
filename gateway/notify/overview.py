"""What operators and submitters see of the outbox: counts by state, the last error per
destination, the failed messages, a submitter's recent messages. Read-only; the web console,
``gateway notify status`` and ``gateway status`` all read it here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gateway.notify.outbox import FAILED, RETRYING, STATES, UNSENT
from gateway.site.ledger.schema import outbox, outbox_attempts


@dataclass(frozen=True)
class Destination:
    """One address or webhook URL with messages not yet sent, or with a last error."""

    destination: str
    channel: str
    unsent: int
    failed: int
    last_error: str | None
    last_error_message: int | None


@dataclass(frozen=True)
class OutboxMessage:
    """One message as shown to people (no content: its subject says what it is)."""

    message_id: int
    kind: str
    channel: str
    destination: str
    submitter: str | None
    subject: str
    state: str
    attempts: int
    queued_at: str
    sent_at: str | None
    last_error: str | None


def counts(engine: sa.Engine) -> dict[str, int]:
    """Messages by state: queued, sending, sent, retrying, failed (every state, 0 too)."""
    with engine.connect() as db:
        found = dict(db.execute(sa.select(outbox.c.state, sa.func.count())
                                .group_by(outbox.c.state)).all())
    return {state: int(found.get(state, 0)) for state in STATES}


def destinations(engine: sa.Engine) -> list[Destination]:
    """Destinations with unsent or failed messages, or whose latest attempt failed, with
    the last error each got."""
    c = outbox.c
    with engine.connect() as db:
        rows = db.execute(sa.select(
            c.destination, c.channel,
            sa.func.sum(sa.case((c.state.in_(UNSENT), 1), else_=0)),
            sa.func.sum(sa.case((c.state == FAILED, 1), else_=0)))
            .where(sa.or_(c.state.in_(UNSENT), c.state == FAILED))
            .group_by(c.destination, c.channel).order_by(c.destination)).all()
        out = []
        for destination, channel, unsent, failed in rows:
            last = db.execute(sa.select(c.message_id, c.last_error).where(
                c.destination == destination, c.last_error.is_not(None),
                c.state.in_((RETRYING, FAILED))).order_by(c.message_id.desc()).limit(1)).first()
            out.append(Destination(destination, channel, int(unsent or 0), int(failed or 0),
                                   last.last_error if last else None,
                                   last.message_id if last else None))
    return out


def messages(engine: sa.Engine, *, state: str | None = None, submitter: str | None = None,
             limit: int = 50) -> list[OutboxMessage]:
    """Messages newest first, of one state and/or one submitter."""
    query = sa.select(outbox).order_by(outbox.c.message_id.desc()).limit(limit)
    if state is not None:
        query = query.where(outbox.c.state == state)
    if submitter is not None:
        query = query.where(outbox.c.submitter == submitter)
    with engine.connect() as db:
        return [_shown(row._mapping) for row in db.execute(query)]


def _shown(row: Any) -> OutboxMessage:
    return OutboxMessage(**{name: row[name] for name in OutboxMessage.__dataclass_fields__})


@dataclass(frozen=True)
class Attempt:
    """One try to send a message: the delivery log."""

    attempt: int
    at: str
    outcome: str
    detail: str | None
    daemon: str | None


def message(engine: sa.Engine, message_id: int) -> tuple[OutboxMessage, list[Attempt]] | None:
    """One message and every attempt to send it, oldest first (None: no such message)."""
    with engine.connect() as db:
        row = db.execute(sa.select(outbox).where(outbox.c.message_id == message_id)).first()
        if row is None:
            return None
        tries = db.execute(sa.select(outbox_attempts).where(
            outbox_attempts.c.message_id == message_id).order_by(outbox_attempts.c.attempt))
        return _shown(row._mapping), [
            Attempt(t.attempt, t.at, t.outcome, t.detail, t.daemon) for t in tries]
