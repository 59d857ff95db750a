"""What the console shows of notifications (notifications.md): a submitter's own contacts and
webhooks with what each receives, and the operator's view of the outbox. Everything is read
through the notify read API; no message content, no webhook secret (nor its path) is shown."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa

from gateway.contract.registry import Contact, Registry, Webhook
from gateway.notify import (
    contacts_of,
    outbox_counts,
    outbox_destinations,
    outbox_messages,
    webhooks_of,
)

ROLES = {"data": "data contact (Appendix E 1.b)", "general": "general contact (Appendix E 1.c)"}
FAILED_SHOWN = 20


@dataclass(frozen=True)
class ContactShown:
    """One contact as its submitter reads it: who, and what reaches them."""

    name: str
    email: str
    role: str
    receives: tuple[str, ...]


@dataclass(frozen=True)
class WebhookShown:
    """One webhook: where it posts and on what (never its secret or the secret's path)."""

    url: str
    receives: tuple[str, ...]


def shown_url(url: str) -> str:
    """A URL without user name, password, query or fragment: a receiver may take a token
    there, and a token is as secret as the signing secret."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return url
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    if ":" in parts.hostname:  # an IPv6 address keeps its brackets
        host = f"[{parts.hostname}]" + ("" if parts.port is None else f":{parts.port}")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def contact_receives(contact: Contact) -> tuple[str, ...]:
    """What the contact is sent, in the words of notifications.md."""
    said = []
    if contact.wants("receipts"):
        said.append("one daily digest at 07:00 of the previous day's receipts"
                    if contact.digest == "daily" else "a message for each receipt")
    if contact.wants("deadlines"):
        said.append("deadline reminders 14 and 3 days before each due date, "
                    "and one the day after while it is still not met")
    return tuple(said) or ("nothing (no e-mail is sent to this contact)",)


def contacts_shown(registry: Registry | None, submitter: str) -> list[ContactShown]:
    return [ContactShown(c.name, c.email, ROLES.get(c.role, c.role), contact_receives(c))
            for c in contacts_of(registry, submitter)]


def webhooks_shown(registry: Registry | None, submitter: str) -> list[WebhookShown]:
    def receives(hook: Webhook) -> tuple[str, ...]:
        return tuple("a signed POST for each receipt" if event == "receipt" else event
                     for event in hook.events) or ("nothing",)

    return [WebhookShown(shown_url(hook.url), receives(hook))
            for hook in webhooks_of(registry, submitter)]


@dataclass(frozen=True)
class OutboxShown:
    """The outbox on the operator's overview: counts by state, destinations with unsent or
    failed messages and their last error, and the latest failed messages (to retry)."""

    counts: dict[str, int]
    destinations: list
    failed: list


def outbox_shown(engine: sa.Engine) -> OutboxShown:
    def hidden(item: Any) -> Any:
        return replace(item, destination=shown_url(item.destination)) \
            if item.channel == "webhook" else item

    return OutboxShown(outbox_counts(engine), [hidden(d) for d in outbox_destinations(engine)],
                       [hidden(m) for m in outbox_messages(engine, state="failed",
                                                           limit=FAILED_SHOWN)])
