"""The daemon's part in notifications (``gateway.notify``), kept out of the service loop.

``attach`` makes the ledger queue a receipt's messages in the transaction that records the
receipt's outcome; ``start``/``stop`` run the sender thread that sends the outbox and runs the
calendar's reminders and digests. ``drain`` (``gateway replay`` without a daemon) attaches
but does not send: the next daemon does.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.contract.catalog import Catalog
from gateway.contract.registry import Registry
from gateway.daemon.metrics import Metrics
from gateway.notify.announce import ReceiptAnnouncer
from gateway.notify.channels import SmtpSettings
from gateway.notify.sender import Sender, SenderSettings
from gateway.site.config import Config
from gateway.site.ledger.store import Ledger


def sender_settings(config: Config) -> SenderSettings:
    """``[notify]`` and ``[web] public_url`` as the sender needs them."""
    smtp = None
    if config.smtp_url:
        smtp = SmtpSettings(url=config.smtp_url, starttls=config.smtp_starttls,
                            username=config.smtp_username,
                            password_file=config.smtp_password_file, sender=config.mail_from,
                            reply_to=config.mail_reply_to)
    return SenderSettings(smtp=smtp, retry_first=config.notify_retry_first,
                          retry_max=config.notify_retry_max,
                          retry_for=config.notify_retry_for,
                          webhook_timeout=config.webhook_timeout,
                          public_url=config.web_public_url or None,
                          timezone=config.timezone)


class Messages:
    """The announcer on the ledger and the sender thread of one daemon."""

    def __init__(self, config: Config, ledger: Ledger, registry: Callable[[], Registry | None],
                 catalog: Catalog, metrics: Metrics, daemon_id: str) -> None:
        settings = sender_settings(config)
        ledger.with_validated.append(ReceiptAnnouncer(
            registry=registry, catalog=catalog, public_url=config.web_public_url or None,
            timezone=config.timezone, email=settings.smtp is not None))
        self.sender = Sender(ledger, settings, daemon_id, registry, count=metrics.notified,
                             exclusive=not config.shared_ledger)

    def start(self) -> None:
        self.sender.start()

    def stop(self) -> None:
        self.sender.stop()
