"""What a receipt announces, queued in the transaction that records it.

The daemon's ledger calls ``ReceiptAnnouncer`` inside the transaction that records a
receipt's outcome (``Ledger.validated``): the receipt message to each contact who wants
receipts one by one, a line of the daily digest for each who wants them once a day, and a
signed POST to each webhook that listens for receipts. A receipt recorded again (the daemon
died before writing it and validated the file again) queues nothing new: every message has a
``dedup_key``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway.contract.catalog import Catalog
from gateway.contract.registry import DAILY, RECEIPTS, Registry
from gateway.notify.letters import (
    TOP_CODES,
    ReceiptFacts,
    receipt_letter,
    receipt_subject,
    submission_link,
)
from gateway.notify.outbox import EMAIL, WEBHOOK, queue
from gateway.receipts.model import Receipt
from gateway.site.ledger.schema import digest_items
from gateway.submitters.windows import today

RECEIPT_EVENT = "receipt"


def receipt_facts(receipt: Receipt, catalog: Catalog | None) -> ReceiptFacts:
    """The facts of a receipt a message may carry: no finding's value, row or column."""
    route = receipt.route
    top = []
    for code, count in receipt.findings.by_code.most_common(TOP_CODES):
        known = catalog.get(code) if catalog is not None else None
        top.append({"code": code, "count": count, "meaning": known.meaning if known else ""})
    counts = {"records": receipt.records, "records_rejected": receipt.records_rejected,
              "errors": receipt.findings.errors, "warnings": receipt.findings.warnings}
    return ReceiptFacts(
        submission_id=receipt.submission_id, submitter=receipt.submitter,
        file_name=receipt.file.name, status=receipt.status.value,
        received_at=receipt.file.received_at,
        family=route.family if route else None, measure=route.measure if route else None,
        level=route.level if route else None,
        reporting_year=route.reporting_year if route else None,
        counts=counts, top_codes=top, duplicate_of=receipt.duplicate_of)


def webhook_body(facts: ReceiptFacts, public_url: str | None) -> str:
    """The JSON a receipt webhook POSTs (notifications.md), as the exact bytes signed."""
    link = submission_link(public_url, facts.submission_id)
    document = {"event": RECEIPT_EVENT, "submission_id": facts.submission_id,
                "submitter": facts.submitter, "file_name": facts.file_name,
                "status": facts.status, "counts": dict(facts.counts),
                "received_at": facts.received_at, "family": facts.family,
                "measure": facts.measure, "level": facts.level,
                "reporting_year": facts.reporting_year,
                "links": {"submission": link} if link else {}}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def receipt_key(submission_id: str, email: str) -> str:
    return f"receipt:{submission_id}:{email.lower()}"


def webhook_key(submission_id: str, url: str) -> str:
    return f"webhook:{RECEIPT_EVENT}:{submission_id}:{url}"


@dataclass
class ReceiptAnnouncer:
    """Queues a receipt's messages; called with the ledger's open transaction.

    ``registry`` returns the registry in force (the daemon's keeper reloads it); ``email``
    False (no ``[notify] smtp_url``) queues no e-mail at all, since none would be sent."""

    registry: Callable[[], Registry | None]
    catalog: Catalog | None
    public_url: str | None
    timezone: str
    email: bool = True

    def __call__(self, db: sa.Connection, receipt: Receipt) -> None:
        registry = self.registry()
        entry = registry.get(receipt.submitter) if registry is not None else None
        if entry is None or not (entry.contacts or entry.webhooks):
            return
        facts = receipt_facts(receipt, self.catalog)
        if self.email:
            for contact in entry.contacts:
                if not contact.wants(RECEIPTS):
                    continue
                if contact.digest == DAILY:
                    self._digest_item(db, contact.email.lower(), facts)
                    continue
                queue(db, dedup_key=receipt_key(facts.submission_id, contact.email),
                      kind="receipt", channel=EMAIL, destination=contact.email.lower(),
                      submitter=facts.submitter, subject=receipt_subject(facts),
                      content=receipt_letter(facts, self.public_url).content())
        for hook in entry.webhooks:
            if RECEIPT_EVENT not in hook.events:
                continue
            queue(db, dedup_key=webhook_key(facts.submission_id, hook.url), kind="webhook",
                  channel=WEBHOOK, destination=hook.url, submitter=facts.submitter,
                  subject=RECEIPT_EVENT,
                  content={"body": webhook_body(facts, self.public_url),
                           "secret_file": hook.secret_file, "event": RECEIPT_EVENT})

    def _digest_item(self, db: sa.Connection, email: str, facts: ReceiptFacts) -> None:
        day: date = today(self.timezone)  # the day the receipt was made, in the program's zone
        dialect: Any = postgresql if db.dialect.name == "postgresql" else sqlite
        db.execute(dialect.insert(digest_items).values(
            destination=email, submission_id=facts.submission_id, day=day.isoformat(),
            submitter=facts.submitter, facts=json.dumps(facts.as_dict(), sort_keys=True))
            .on_conflict_do_nothing())
