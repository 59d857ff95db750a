"""Telling people: receipts and deadlines by e-mail, receipts by webhook (notifications.md).

What is to be sent is written to an outbox in the ledger's database, in the transaction that
records what it announces, and the daemons send it (``sender``), each message once however
many daemons run. Modules: ``outbox`` (the queue and its states), ``announce`` (a receipt's
messages), ``schedule`` (reminders and digests), ``letters`` (what messages say, text and
HTML from one letter), ``channels`` (SMTP and webhooks), ``overview`` (what people see),
and ``gateway.cli.notify`` holds the ``gateway notify ...`` commands.

Public API for other parts of the gateway (loaded on first use; SQLAlchemy comes with it):

``enqueue_email(target, *, to, subject, text, dedup_key, kind, html=None, submitter=None,
attachments=())``
    Queue one e-mail; ``target`` is an open ``sqlalchemy.Connection`` (the message is then
    part of the caller's transaction: queue it beside the record of what it announces) or
    an ``Engine`` / ``Ledger`` (a transaction of its own). ``dedup_key`` must be stable and
    name what the message announces and its recipient (``"opip-report:2024Q1:<npi>:<email>"``):
    a second call with the same key queues nothing and returns None, else the message id.
    ``kind`` is the label ``notify status`` and the metrics count it under. The daemons send
    it like every other message (in order per recipient, retried, ``Message-ID`` derived from
    ``dedup_key``). ``text`` must never hold a value from a submitted file. ``attachments``
    (``Attachment(filename, media_type, data)``) are stored with the message and sent with it.

``queue_emails(site, emails)``
    The same through a plugin command's ``Site`` (``gateway.contract``), for many
    ``OutgoingEmail``s: they go into the outbox of the installation's ledger, which its running
    daemons send.

Read API (for the web console's overview and contacts pages; all read-only):

``outbox_counts(engine)``      messages by state: queued, sending, sent, retrying, failed
``outbox_destinations(engine)``  each address/URL with unsent or failed messages and its
                               last error
``outbox_messages(engine, state=None, submitter=None, limit=50)``  newest first, without
                               content (a submitter's page passes its own ``submitter``)
``contacts_of(registry, submitter_id)``  the contacts the registry lists for a submitter
``webhooks_of(registry, submitter_id)``  its webhooks (URL and events; the secret's path is
                               for operators only)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.contract.registry import Contact, Registry, Webhook

if TYPE_CHECKING:
    import sqlalchemy as sa

    from gateway.notify.outbox import Attachment
    from gateway.site.access import Site
    from gateway.site.ledger.store import Ledger

__all__ = ["Attachment", "OutgoingEmail", "contacts_of", "enqueue_email", "outbox_counts",
           "outbox_destinations", "outbox_messages", "queue_emails", "webhooks_of"]


def enqueue_email(target: sa.Connection | sa.Engine | Ledger, *, to: str, subject: str,
                  text: str, dedup_key: str, kind: str, html: str | None = None,
                  submitter: str | None = None,
                  attachments: Iterable[Attachment] = ()) -> int | None:
    """Queue one e-mail (see the module's docstring); the message id, or None when
    ``dedup_key`` was queued before."""
    import sqlalchemy as sa

    from gateway.notify.outbox import EMAIL, queue

    content = {"text": text, **({"html": html} if html else {})}

    def put(db: sa.Connection) -> int | None:
        return queue(db, dedup_key=dedup_key, kind=kind, channel=EMAIL,
                     destination=to.strip().lower(), submitter=submitter, subject=subject,
                     content=content, attachments=attachments)

    if isinstance(target, sa.Connection):
        return put(target)
    engine = target if isinstance(target, sa.Engine) else target.engine
    with engine.begin() as db:
        return put(db)


@dataclass(frozen=True)
class OutgoingEmail:
    """One e-mail for ``queue_emails``: the arguments of ``enqueue_email``."""

    to: str
    subject: str
    text: str
    dedup_key: str
    kind: str
    attachments: tuple[Attachment, ...] = ()
    submitter: str | None = None


QUEUE_CHUNK = 100  # messages per transaction: a report run's PDFs never sit in memory at once


def queue_emails(site: Site, emails: Iterable[OutgoingEmail]) -> list[int | None]:
    """Queue e-mails into the outbox of ``site``'s ledger, for its running daemons to send
    (a plugin command's way to mail people: it sees the site, not the ledger). The ledger is
    opened once and the messages are written a hundred per transaction, so ``emails`` may be
    a generator over thousands of reports. For each message, its id, or None when its
    ``dedup_key`` was queued before. Raises ``SiteError`` when the installation keeps no
    ledger or the ledger cannot be opened."""
    from gateway.site.access import SiteError
    from gateway.site.ledger.store import Ledger

    if site.ledger is None:
        raise SiteError("this installation keeps no ledger, so it has no outbox")
    try:
        ledger = Ledger(site.ledger, create=False)
    except Exception as err:  # the database may refuse: one line for the operator
        raise SiteError(f"the ledger cannot be opened: {type(err).__name__}") from None
    ids: list[int | None] = []
    try:
        pending = iter(emails)
        while chunk := list(itertools.islice(pending, QUEUE_CHUNK)):
            with ledger.engine.begin() as db:
                ids += [enqueue_email(db, to=e.to, subject=e.subject, text=e.text,
                                      dedup_key=e.dedup_key, kind=e.kind,
                                      submitter=e.submitter, attachments=e.attachments)
                        for e in chunk]
    finally:
        ledger.close()
    return ids


def contacts_of(registry: Registry | None, submitter_id: str) -> tuple[Contact, ...]:
    entry = registry.get(submitter_id) if registry is not None else None
    return entry.contacts if entry is not None else ()


def webhooks_of(registry: Registry | None, submitter_id: str) -> tuple[Webhook, ...]:
    entry = registry.get(submitter_id) if registry is not None else None
    return entry.webhooks if entry is not None else ()


def __getattr__(name: str) -> Any:
    if name == "Attachment":
        from gateway.notify.outbox import Attachment

        return Attachment
    aliases = {"outbox_counts": "counts", "outbox_destinations": "destinations",
               "outbox_messages": "messages"}
    if name in aliases:
        from gateway.notify import overview

        return getattr(overview, aliases[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
