"""The sender: a thread in each daemon that sends what the outbox holds and runs the calendar.

Each turn it runs the calendar jobs that are due (reminders at 06:00, digests at 07:00, and
the days missed while no daemon ran), claims the messages due now and sends them, one SMTP
session for the e-mails of a turn. Per destination the claimed messages form a run in queue
order; when one fails, the rest of its run is given back untried, so a recipient's messages
never overtake each other. Outcomes are recorded in the outbox and counted in the metrics.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from gateway.contract.registry import Registry
from gateway.notify.channels import SendFailed, SmtpConnection, SmtpSettings, post_webhook
from gateway.notify.outbox import (
    EMAIL,
    FAILED,
    WEBHOOK,
    Message,
    claim,
    mark_failed_attempt,
    mark_sent,
    release,
)
from gateway.notify.schedule import (
    DIGESTS,
    REMINDERS,
    days_to_run,
    queue_digests,
    queue_reminders,
    reminders_for_day,
)
from gateway.site.ledger.store import Ledger
from gateway.site.logs import get_logger

log = get_logger("gateway.notify")

IDLE_WAIT = 0.5  # seconds between looks at an empty outbox
CALENDAR_EVERY = 60.0  # seconds between looks at the calendar
CLAIM_LEASE = 120.0  # seconds a claim lasts; a sender that died loses its claims after this

Count = Callable[[str, str], None]  # (kind, outcome): sent, retried, failed -> metrics


@dataclass(frozen=True)
class SenderSettings:
    smtp: SmtpSettings | None  # None: no e-mail is sent
    retry_first: float = 30.0
    retry_max: float = 3600.0
    retry_for: float = 86400.0
    webhook_timeout: float = 10.0
    public_url: str | None = None
    timezone: str = "America/Chicago"


class Sender:
    """Sends the outbox of ``ledger``'s database as daemon ``daemon_id``."""

    def __init__(self, ledger: Ledger, settings: SenderSettings, daemon_id: str,
                 registry: Callable[[], Registry | None], count: Count | None = None,
                 exclusive: bool = False) -> None:
        self.ledger = ledger
        self.engine = ledger.engine
        self.settings = settings
        self.daemon_id = daemon_id
        self.registry = registry
        self.exclusive = exclusive  # the only daemon of its ledger (SQLite)
        self.count = count or (lambda kind, outcome: None)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._calendar_due = 0.0
        channels = [WEBHOOK] + ([EMAIL] if settings.smtp is not None else [])
        self.channels = tuple(channels)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="notify-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the message in hand; claims not tried are given back."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.turn()
            except Exception:
                # the database or a folder went away for a moment: the next turn tries again,
                # and every claim held runs out by itself
                log.exception("notify_turn_failed")
                busy = False
            if not busy:
                self._wake.wait(IDLE_WAIT)
                self._wake.clear()

    def turn(self) -> bool:
        """One look at the calendar and the outbox; True when messages were handled."""
        if time.monotonic() >= self._calendar_due:
            self._calendar_due = time.monotonic() + CALENDAR_EVERY
            self.run_calendar(datetime.now(UTC))
        # without [notify] smtp_url, e-mail (queued through the public API) stays queued
        messages = claim(self.engine, self.daemon_id, lease=CLAIM_LEASE,
                         channels=self.channels, exclusive=self.exclusive)
        if not messages:
            return False
        self.send(messages)
        return True

    def send(self, messages: list[Message]) -> None:
        """Send each destination's run in order; the deliveries of the turn are recorded
        together at its end (a crash before that sends them again, under the same
        ``Message-ID``)."""
        runs: dict[str, list[Message]] = {}
        for message in messages:
            runs.setdefault(message.destination, []).append(message)
        smtp = SmtpConnection(self.settings.smtp) if self.settings.smtp is not None else None
        sent: list[tuple[Message, str | None]] = []
        try:
            for run in runs.values():
                for index, message in enumerate(run):
                    if self._stop.is_set():
                        release(self.engine, run[index:], self.daemon_id)
                        break
                    try:
                        sent.append((message, self._attempt(message, smtp)))
                    except SendFailed as err:
                        self._failed(message, err)
                        release(self.engine, run[index + 1:], self.daemon_id)
                        break
        finally:
            if smtp is not None:
                smtp.close()
            recorded = mark_sent(self.engine, sent, self.daemon_id) if sent else []
        for message in recorded:
            self.count(message.kind, "sent")
        if recorded:
            log.info("notify_sent", messages=len(recorded),
                     kinds=dict(Counter(m.kind for m in recorded)))

    def _attempt(self, message: Message, smtp: SmtpConnection | None) -> str:
        if message.channel == EMAIL:
            assert smtp is not None
            return smtp.send(message)
        return post_webhook(message, self.settings.webhook_timeout)

    def _failed(self, message: Message, err: SendFailed) -> None:
        state = mark_failed_attempt(
            self.engine, message, self.daemon_id, str(err),
            retry_first=self.settings.retry_first, retry_max=self.settings.retry_max,
            retry_for=self.settings.retry_for, permanent=err.permanent)
        self.count(message.kind, "failed" if state == FAILED else "retried")
        log.warning("notify_attempt_failed", message=message.message_id, kind=message.kind,
                    channel=message.channel, state=state, attempts=message.attempts + 1,
                    error=str(err))

    def run_calendar(self, now: datetime) -> None:
        """Queue the reminders and digests that are due and not yet done by any daemon."""
        registry = self.registry()
        today = now.astimezone(ZoneInfo(self.settings.timezone)).date()
        if registry is not None and self.settings.smtp is not None:
            for day in days_to_run(now, self.settings.timezone, REMINDERS, self.engine):
                reminders = reminders_for_day(
                    self.ledger, registry, day, self.settings.timezone,
                    still_owed_on=today if day < today else None)
                added = queue_reminders(self.engine, day, reminders, daemon=self.daemon_id,
                                        once=True)
                if added is not None:
                    log.info("reminders_queued", day=day.isoformat(), messages=added)
        if self.settings.smtp is not None:
            for day in days_to_run(now, self.settings.timezone, DIGESTS, self.engine):
                added = queue_digests(self.engine, day, self.settings.public_url,
                                      daemon=self.daemon_id, once=True)
                if added is not None:
                    log.info("digests_queued", day=day.isoformat(), messages=added)
