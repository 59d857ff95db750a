"""The outbox: messages waiting in the ledger's database until a daemon sends them.

A message is queued in the same transaction as what it announces (a receipt's ledger row, a
day's calendar run), so a crash either loses both or keeps both. ``dedup_key`` is unique:
queueing a message again (a receipt recorded twice after a crash, a reminder run by two
daemons) does nothing. Senders claim messages with a short lease (``sending``); a sender that
dies leaves its claims to run out and another sends them. Per destination, only the oldest
unsent message may be claimed, with the ones queued right after it: messages to one recipient
go out in the order they were queued, even across outages and daemons.

States: ``queued`` -> ``sending`` -> ``sent``; a failed attempt -> ``retrying`` (back-off) ->
``sending`` ...; past ``give_up_at`` (or refused for good) -> ``failed``, which ``retry``
puts back in the queue.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway.site.ledger.backends import READ_ONLY
from gateway.site.ledger.model import now_text
from gateway.site.ledger.schema import daemons, outbox, outbox_attachments, outbox_attempts

QUEUED, SENDING, SENT, RETRYING, FAILED = "queued", "sending", "sent", "retrying", "failed"
STATES = (QUEUED, SENDING, SENT, RETRYING, FAILED)
UNSENT = (QUEUED, SENDING, RETRYING)
EMAIL, WEBHOOK = "email", "webhook"
ERROR_LENGTH = 500  # the last error kept per message: the server's words, shortened


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail: its name as the recipient sees it, its media type
    (``application/pdf``) and its bytes."""

    filename: str
    media_type: str
    data: bytes

    def __post_init__(self) -> None:
        if "/" not in self.media_type or not self.filename or "/" in self.filename:
            raise ValueError("an attachment needs a plain file name and a type/subtype")


@dataclass(frozen=True)
class Message:
    """One outbox row as a sender sees it. ``content`` is the channel's JSON: for e-mail
    ``{"text", "html"}``, for a webhook ``{"body", "secret_file", "event"}``."""

    message_id: int
    dedup_key: str
    kind: str
    channel: str
    destination: str
    submitter: str | None
    subject: str
    content: dict[str, Any]
    message_key: str
    state: str
    attempts: int
    give_up_at: float | None
    attachments: tuple[Attachment, ...] = ()


def stable_key(dedup_key: str) -> str:
    """The identity of a message, derived from what it announces and its recipient: the
    local part of its ``Message-ID`` and its webhook delivery id, equal on every attempt."""
    return hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:32]


_QUEUE: dict[str, Any] = {}  # the INSERT of ``queue``, compiled once per dialect


def _queue_statement(db: sa.Connection) -> Any:
    """INSERT ... ON CONFLICT (dedup_key) DO NOTHING RETURNING message_id, built once: the
    daemon queues a receipt's messages inside its ledger transaction, where every
    microsecond counts."""
    name = db.dialect.name
    if name not in _QUEUE:
        dialect: Any = postgresql if name == "postgresql" else sqlite
        _QUEUE[name] = (dialect.insert(outbox)
                        .on_conflict_do_nothing(index_elements=[outbox.c.dedup_key])
                        .returning(outbox.c.message_id))
    return _QUEUE[name]


def queue(db: sa.Connection, *, dedup_key: str, kind: str, channel: str, destination: str,
          subject: str, content: dict[str, Any], submitter: str | None = None,
          not_before: float | None = None,
          attachments: Iterable[Attachment] = ()) -> int | None:
    """Queue one message inside the caller's transaction. Returns its id, or None when a
    message with this ``dedup_key`` was queued before (then nothing changes, its
    attachments included)."""
    attachments = tuple(attachments)
    if attachments and channel != EMAIL:
        raise ValueError("only an e-mail carries attachments")
    if channel not in (EMAIL, WEBHOOK):
        raise ValueError(f"unknown channel {channel!r}")
    row = db.execute(_queue_statement(db), {
        "dedup_key": dedup_key, "kind": kind, "channel": channel, "destination": destination,
        "submitter": submitter, "subject": subject,
        "content": json.dumps(content, sort_keys=True), "message_key": stable_key(dedup_key),
        "state": QUEUED, "attempts": 0, "queued_at": now_text(),
        "next_attempt_at": time.time() if not_before is None else not_before}).first()
    if row is None:
        return None
    message_id = int(row[0])
    if attachments:
        db.execute(outbox_attachments.insert(), [
            {"message_id": message_id, "position": position, "filename": a.filename,
             "media_type": a.media_type, "data": a.data}
            for position, a in enumerate(attachments)])
    return message_id


def claim(engine: sa.Engine, sender: str, *, lease: float, limit: int = 50,
          run: int = 100, channels: tuple[str, ...] = (EMAIL, WEBHOOK),
          exclusive: bool = False, now: float | None = None) -> list[Message]:
    """Claim messages to send now, in queue order: for each destination whose oldest unsent
    message is due, that message and up to ``run`` - 1 due ones right behind it. A claim
    lasts ``lease`` seconds; one whose sender died may be claimed again: at once when its
    daemon's lease ran out (or, ``exclusive``: this daemon is the only one, any other
    sender's), else when the claim runs out."""
    now = time.time() if now is None else now
    abandoned = _abandoned(sender, now, exclusive)
    c = outbox.c
    older = outbox.alias("older")
    head = sa.select(outbox).where(
        c.state.in_(UNSENT),
        ~sa.exists().where(older.c.destination == c.destination,
                           older.c.state.in_(UNSENT), older.c.message_id < c.message_id),
        _claimable(abandoned, now), c.channel.in_(channels)).order_by(c.message_id).limit(limit)
    claimed: list[Message] = []
    with engine.connect() as reader, \
            reader.execution_options(**{READ_ONLY: True}).begin():
        heads = list(reader.execute(head))
    for first in heads:
        try:
            with engine.begin() as db:
                claimed += _claim_run(db, first, sender, abandoned, lease, run, now)
        except _Raced:
            continue  # another sender got there first: leave the run to it
    return claimed


class _Raced(Exception):
    """Another sender claimed part of a run first (the transaction is rolled back)."""


def _claim_run(db: sa.Connection, first: sa.Row[Any], sender: str,
               abandoned: sa.ColumnElement[bool], lease: float, run: int,
               now: float) -> list[Message]:
    """Claim ``first`` and the due messages right behind it to the same destination."""
    c = outbox.c
    rows = list(db.execute(sa.select(outbox).where(
        c.destination == first.destination, c.state.in_(UNSENT),
        c.message_id >= first.message_id).order_by(c.message_id).limit(run)))
    if not rows or rows[0].message_id != first.message_id:
        raise _Raced
    due = set(db.scalars(sa.select(c.message_id).where(
        c.message_id.in_([row.message_id for row in rows]), _claimable(abandoned, now))))
    batch = []
    for row in rows:
        if row.message_id not in due:
            break
        batch.append(row)
    for row in batch:  # each guarded by the state it was read in
        guard = sa.and_(c.message_id == row.message_id, c.state == row.state)
        if row.state == SENDING:
            guard = sa.and_(guard, c.claimed_by == row.claimed_by,
                            c.claim_until == row.claim_until)
        if db.execute(outbox.update().where(guard).values(
                state=SENDING, claimed_by=sender, claim_until=now + lease)).rowcount != 1:
            raise _Raced
    files = _attachments(db, [row.message_id for row in batch if row.channel == EMAIL])
    return [_message(row, files.get(row.message_id, ())) for row in batch]


def _attachments(db: sa.Connection, ids: list[int]) -> dict[int, tuple[Attachment, ...]]:
    """The attachments of the claimed e-mails, by message, in their order."""
    found: dict[int, list[Attachment]] = {}
    if ids:
        a = outbox_attachments.c
        for row in db.execute(sa.select(outbox_attachments).where(a.message_id.in_(ids))
                              .order_by(a.message_id, a.position)):
            found.setdefault(row.message_id, []).append(
                Attachment(row.filename, row.media_type, bytes(row.data)))
    return {message_id: tuple(files) for message_id, files in found.items()}


def _abandoned(sender: str, now: float, exclusive: bool) -> sa.ColumnElement[bool]:
    """Claims whose sender is gone."""
    c = outbox.c
    if exclusive:
        return c.claimed_by != sender
    alive = sa.select(daemons.c.daemon_id).where(daemons.c.lease_until > now,
                                                 daemons.c.stopped_at.is_(None))
    return sa.or_(c.claim_until < now, c.claimed_by.not_in(alive))


def _claimable(abandoned: sa.ColumnElement[bool], now: float) -> sa.ColumnElement[bool]:
    c = outbox.c
    return sa.or_(sa.and_(c.state.in_((QUEUED, RETRYING)), c.next_attempt_at <= now),
                  sa.and_(c.state == SENDING, abandoned))


def _message(row: sa.Row[Any], attachments: tuple[Attachment, ...] = ()) -> Message:
    return Message(message_id=row.message_id, dedup_key=row.dedup_key, kind=row.kind,
                   channel=row.channel, destination=row.destination, submitter=row.submitter,
                   subject=row.subject, content=json.loads(row.content),
                   message_key=row.message_key, state=SENDING, attempts=row.attempts,
                   give_up_at=row.give_up_at, attachments=attachments)


def _log_attempt(db: sa.Connection, message: Message, outcome: str, detail: str | None,
                 sender: str) -> None:
    db.execute(outbox_attempts.insert().values(
        message_id=message.message_id, attempt=message.attempts + 1, at=now_text(),
        outcome=outcome, detail=detail, daemon=sender))


def mark_sent(engine: sa.Engine, sent: Iterable[tuple[Message, str | None]],
              sender: str) -> list[Message]:
    """Record deliveries (message, the server's answer), in one transaction. Returns those
    recorded: a claim taken over meanwhile (this sender stalled past its lease) is left to
    the sender that holds it now, which records its own attempt. A sent message's
    attachments are deleted in the same transaction: a prescriber's report is the program's
    to make again, and a copy kept in the ledger would outlive its purpose."""
    recorded = []
    with engine.begin() as db:
        for message, detail in sent:
            done = db.execute(outbox.update().where(
                outbox.c.message_id == message.message_id, outbox.c.claimed_by == sender,
                outbox.c.state == SENDING).values(
                state=SENT, sent_at=now_text(), attempts=message.attempts + 1,
                claimed_by=None, claim_until=None, last_error=None)).rowcount
            if done:
                _log_attempt(db, message, SENT, detail, sender)
                recorded.append(message)
        sent_ids = [m.message_id for m in recorded if m.attachments]
        if sent_ids:
            db.execute(outbox_attachments.delete().where(
                outbox_attachments.c.message_id.in_(sent_ids)))
    return recorded


def mark_failed_attempt(engine: sa.Engine, message: Message, sender: str, error: str, *,
                        retry_first: float, retry_max: float, retry_for: float,
                        permanent: bool = False, now: float | None = None) -> str:
    """Record a failed attempt: ``retrying`` after an exponential back-off, or ``failed``
    once ``retry_for`` seconds have passed since the first failure (or at once when the
    destination refused the message for good). Returns the new state."""
    now = time.time() if now is None else now
    give_up_at = message.give_up_at if message.give_up_at is not None else now + retry_for
    attempts = message.attempts + 1
    state = FAILED if permanent or now >= give_up_at else RETRYING
    # the last try falls on give_up_at itself; failing then is final
    next_at = min(now + min(retry_max, retry_first * 2 ** (attempts - 1)), give_up_at)
    error = error[:ERROR_LENGTH]
    with engine.begin() as db:
        done = db.execute(outbox.update().where(
            outbox.c.message_id == message.message_id, outbox.c.claimed_by == sender,
            outbox.c.state == SENDING).values(
            state=state, attempts=attempts, give_up_at=give_up_at, next_attempt_at=next_at,
            claimed_by=None, claim_until=None, last_error=error)).rowcount
        if done:
            _log_attempt(db, message, state, error, sender)
    return state


def release(engine: sa.Engine, messages: Iterable[Message], sender: str) -> None:
    """Give back claims not tried (an earlier message of the run failed, or the daemon is
    stopping): they keep their place in the queue, no attempt is counted."""
    ids = [m.message_id for m in messages]
    if not ids:
        return
    with engine.begin() as db:
        for message in messages:
            db.execute(outbox.update().where(
                outbox.c.message_id == message.message_id, outbox.c.claimed_by == sender,
                outbox.c.state == SENDING).values(
                state=RETRYING if message.attempts else QUEUED, claimed_by=None,
                claim_until=None))


def retry(engine: sa.Engine, message_id: int) -> bool:
    """Put a failed message back in the queue, due now, with a fresh back-off. False when
    there is no failed message with this id."""
    with engine.begin() as db:
        return bool(db.execute(outbox.update().where(
            outbox.c.message_id == message_id, outbox.c.state == FAILED).values(
            state=QUEUED, next_attempt_at=time.time(), give_up_at=None,
            last_error=None)).rowcount)
