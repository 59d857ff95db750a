"""The calendar's messages: deadline reminders (06:00) and daily digests (07:00).

Reminders for a day go to each contact whose ``notify`` has ``deadlines``: 14 and 3 days
before the due date of every obligation not met by the start of that day (no file accepted
for it; a rejected file does not meet it), and once the day after the due date. The due dates
and the "met" test are those of ``gateway compliance``. A day's digest gathers the receipts
made that day for each contact with ``digest = "daily"`` into one message, sent the next
morning.

Each job of a day is recorded in ``calendar_runs`` in the transaction that queues its messages,
so of several daemons one runs it, and a daemon that was down catches up on the days it missed
(at most ``CATCH_UP_DAYS`` back). ``gateway notify reminders --as-of`` queues a day by hand;
every message has a ``dedup_key``, so nothing is queued twice either way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway.contract.registry import DEADLINES, Registry
from gateway.notify.letters import (
    ReceiptFacts,
    digest_letter,
    digest_subject,
    reminder_letter,
    reminder_subject,
)
from gateway.notify.outbox import EMAIL, queue
from gateway.site.ledger.model import now_text
from gateway.site.ledger.schema import calendar_runs, digest_items
from gateway.site.ledger.store import Ledger
from gateway.submitters.compliance import DONE, Line

REMINDERS, DIGESTS = "reminders", "digests"
REMINDERS_AT, DIGESTS_AT = clock(6, 0), clock(7, 0)
CATCH_UP_DAYS = 7
# before the due date (days) -> which reminder; the overdue one is the day after
BEFORE = {14: "14", 3: "3"}

Lines = Callable[[date], list[Line]]  # compliance lines as they stood at the end of a day


@dataclass(frozen=True)
class Reminder:
    """One reminder owed on a day: to one contact, about one obligation."""

    email: str
    line: Line
    which: str  # "14", "3" or "overdue"

    @property
    def dedup_key(self) -> str:
        obligation = self.line.owed.obligation
        return ":".join(("reminder", self.line.owed.submitter.id, obligation.family,
                         obligation.measure, obligation.period, obligation.subject,
                         obligation.due.isoformat(), self.which, self.email))


def which_reminder(due: date, day: date) -> str | None:
    """Which reminder, if any, falls on ``day`` for an obligation due on ``due``."""
    if day == due + timedelta(days=1):
        return "overdue"
    return BEFORE.get((due - day).days)


def reminders_on(day: date, lines: Iterable[Line], registry: Registry) -> list[Reminder]:
    """The reminders of ``day`` from the compliance lines as they stood when it began (the
    end of the day before)."""
    out = []
    for line in lines:
        obligation = line.owed.obligation
        which = which_reminder(obligation.due, day)
        if which is None or not obligation.required or line.status in DONE:
            continue
        entry = registry.get(line.owed.submitter.id)
        for contact in entry.contacts if entry is not None else ():
            if contact.wants(DEADLINES):
                out.append(Reminder(contact.email.lower(), line, which))
    return out


def _insert(db: sa.Connection, table: sa.Table) -> Any:
    return (postgresql if db.dialect.name == "postgresql" else sqlite).insert(table)


def _record_run(db: sa.Connection, job: str, day: date, daemon: str | None) -> bool:
    """Record that ``job`` ran for ``day``; False when it had run already."""
    row = db.execute(_insert(db, calendar_runs).values(
        job=job, day=day.isoformat(), at=now_text(), daemon=daemon)
        .on_conflict_do_nothing().returning(calendar_runs.c.job)).first()
    return row is not None


def queue_reminders(engine: sa.Engine, day: date, reminders: Iterable[Reminder], *,
                    daemon: str | None = None, once: bool = False) -> int | None:
    """Queue a day's reminders, in one transaction. ``once`` (the daemons' calendar) records
    the run with them, and queues nothing when the day had run already (returns None); by
    hand (``gateway notify reminders``) the day is not recorded, so previewing a future day
    never keeps the daemons from running it. Returns how many messages were new."""
    with engine.begin() as db:
        if once and not _record_run(db, REMINDERS, day, daemon):
            return None
        added = 0
        for reminder in reminders:
            obligation = reminder.line.owed.obligation
            submitter = reminder.line.owed.submitter.id
            measure = f"{obligation.measure} {obligation.subject}".strip()
            letter = reminder_letter(submitter, obligation.family, measure, obligation.period,
                                     obligation.due, reminder.which, reminder.line.status)
            added += queue(db, dedup_key=reminder.dedup_key, kind="reminder", channel=EMAIL,
                           destination=reminder.email, submitter=submitter,
                           subject=reminder_subject(submitter, obligation.family, measure,
                                                    obligation.period, obligation.due,
                                                    reminder.which),
                           content=letter.content()) is not None
    return added


def queue_digests(engine: sa.Engine, day: date, public_url: str | None, *,
                  daemon: str | None = None, once: bool = False) -> int | None:
    """Queue one digest per contact and submitter of the receipts made on ``day``, with the
    record of the run, in one transaction (``once``: as for reminders)."""
    with engine.begin() as db:
        if once and not _record_run(db, DIGESTS, day, daemon):
            return None
        groups: dict[tuple[str, str], list[ReceiptFacts]] = {}
        for row in db.execute(sa.select(digest_items).where(
                digest_items.c.day == day.isoformat())):
            groups.setdefault((row.destination, row.submitter), []).append(
                ReceiptFacts.from_dict(json.loads(row.facts)))
        added = 0
        for (email, submitter), items in sorted(groups.items()):
            letter = digest_letter(submitter, day, items, public_url)
            added += queue(db, dedup_key=f"digest:{submitter}:{day.isoformat()}:{email}",
                           kind="digest", channel=EMAIL, destination=email,
                           submitter=submitter,
                           subject=digest_subject(submitter, day, len(items)),
                           content=letter.content()) is not None
    return added


def runs_done(engine: sa.Engine, job: str, since: date) -> set[date]:
    with engine.connect() as db:
        return {date.fromisoformat(day) for day in db.scalars(
            sa.select(calendar_runs.c.day).where(calendar_runs.c.job == job,
                                                 calendar_runs.c.day >= since.isoformat()))}


def last_run(engine: sa.Engine, job: str, until: date) -> date | None:
    """The latest day up to ``until`` on which the daemons ran ``job``."""
    with engine.connect() as db:
        day = db.scalar(sa.select(sa.func.max(calendar_runs.c.day))
                        .where(calendar_runs.c.job == job,
                               calendar_runs.c.day <= until.isoformat()))
    return date.fromisoformat(day) if day else None


def digest_days_waiting(engine: sa.Engine, since: date, until: date) -> list[date]:
    """Days from ``since`` to ``until`` with receipts gathered for a digest."""
    with engine.connect() as db:
        days = db.scalars(sa.select(digest_items.c.day).distinct().where(
            digest_items.c.day >= since.isoformat(), digest_items.c.day <= until.isoformat()))
        return sorted(date.fromisoformat(day) for day in days)


def days_to_run(now: datetime, timezone: str, job: str, engine: sa.Engine) -> list[date]:
    """The days whose ``job`` is due and not yet done at ``now``: reminders for today from
    06:00 and the days missed since the last run (at most a week back); digests for
    yesterday from 07:00, and earlier days of the week with receipts waiting."""
    local = now.astimezone(ZoneInfo(timezone))
    today = local.date()
    oldest = today - timedelta(days=CATCH_UP_DAYS)
    if job == REMINDERS:
        newest = today if local.time() >= REMINDERS_AT else today - timedelta(days=1)
        last = last_run(engine, REMINDERS, today)
        first = today if last is None else max(last + timedelta(days=1), oldest)
        return [first + timedelta(days=n) for n in range((newest - first).days + 1)]
    newest = today - timedelta(days=1 if local.time() >= DIGESTS_AT else 2)
    done = runs_done(engine, DIGESTS, oldest)
    return [day for day in digest_days_waiting(engine, oldest, newest) if day not in done]


def compliance_lines(ledger: Ledger, registry: Registry, day: date, timezone: str) -> list[Line]:
    """Every obligation due around ``day`` with its status as it stood at the end of ``day``
    (the reporting years before, of and after the day: a year's windows may run into the
    next)."""
    from gateway.engine.obligations import owed
    from gateway.engine.pipeline import default_plugins
    from gateway.site.reference.database import ReferenceStore
    from gateway.submitters.compliance import answers_from, report

    rows = [(r.submitter, r.submission_id, r.received_at, r.obligations, r.status)
            for r in ledger.answers()]
    years = [day.year - 1, day.year, day.year + 1]
    reference = ReferenceStore(ledger.engine)
    return report(owed(default_plugins(), registry, years, reference=reference),
                  answers_from(rows), day, timezone)


def reminders_for_day(ledger: Ledger, registry: Registry, day: date, timezone: str,
                      still_owed_on: date | None = None) -> list[Reminder]:
    """The reminders of ``day``: obligations not met when it began. ``still_owed_on`` (a
    daemon catching up on a missed day) also leaves out those met since, up to that day."""
    reminders = reminders_on(day, compliance_lines(ledger, registry, day - timedelta(days=1),
                                                   timezone), registry)
    if still_owed_on is None or not reminders:
        return reminders
    met = {line.owed.sort_key for line in compliance_lines(ledger, registry, still_owed_on,
                                                           timezone) if line.status in DONE}
    return [r for r in reminders if r.line.owed.sort_key not in met]
