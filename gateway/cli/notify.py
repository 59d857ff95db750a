"""``gateway notify ...``: the outbox of notifications (``gateway.notify``) as operators see
and steer it.

``status`` shows the messages by state and, per destination, what waits and the last error;
``show ID`` one message and its delivery log; ``retry ID`` puts a failed message back in the
queue; ``reminders --as-of DATE`` and ``digest --day DATE`` queue a day's reminders or digests
by hand (nothing already queued is queued again); the running daemons send them.

Exit codes: 0 done, 1 ``show`` or ``retry`` found no such (failed) message, 2 an operational
error.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.common import (
    EXIT_NO,
    ConfigOption,
    JsonOption,
    RegistryOption,
    load_settings,
    operational,
    parse_day,
    registry_for,
    setting,
)
from gateway.receipts.text import plural
from gateway.site.config import Config

if TYPE_CHECKING:
    from gateway.site.ledger.store import Ledger



def _ledger(settings: Config, *, create: bool = False) -> Ledger:
    """The installation's ledger; only the commands that queue make a missing SQLite one."""
    from gateway.site.ledger.store import Ledger

    return Ledger(settings.ledger_location, create=create and not settings.shared_ledger)


def notify_status(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Messages queued, sent, retrying and failed, and the last error per destination."""
    from gateway.notify import overview

    with operational():
        settings = load_settings(config)
        ledger = _ledger(settings)
        try:
            counts = overview.counts(ledger.engine)
            places = overview.destinations(ledger.engine)
            failed = overview.messages(ledger.engine, state="failed", limit=20)
        finally:
            ledger.close()
    report = {"email": "on" if settings.smtp_url else "off (no [notify] smtp_url)",
              "counts": counts,
              "destinations": [vars(d) for d in places],
              "failed": [vars(m) for m in failed]}
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"e-mail: {report['email']}")
    typer.echo("messages: " + ", ".join(f"{state} {n:,}" for state, n in counts.items()))
    for place in places:
        error = f"; last error: {place.last_error}" if place.last_error else ""
        typer.echo(f"  {place.channel} {place.destination}: {place.unsent:,} unsent, "
                   f"{place.failed:,} failed{error}")
    if failed:
        typer.echo("failed (gateway notify retry ID sends one again):")
        for message in failed:
            typer.echo(f"  {message.message_id}  {message.kind}  {message.destination}  "
                       f"{message.subject}  ({message.last_error})")


def notify_show(
    message_id: Annotated[int, typer.Argument(metavar="ID", help="The message's id.")],
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """One message (kind, destination, subject, state) and its delivery log: every attempt,
    when, by which daemon, and the answer it got."""
    from gateway.notify import overview

    with operational():
        ledger = _ledger(load_settings(config))
        try:
            found = overview.message(ledger.engine, message_id)
        finally:
            ledger.close()
    if found is None:
        typer.echo(f"gateway: no message {message_id}", err=True)
        raise typer.Exit(EXIT_NO)
    shown, tries = found
    if as_json:
        typer.echo(json.dumps({**vars(shown), "attempts_log": [vars(t) for t in tries]},
                              indent=2))
        return
    for key, value in vars(shown).items():
        typer.echo(f"{key:<12} {'-' if value is None else value}")
    typer.echo("attempts:")
    for attempt in tries:
        typer.echo(f"  {attempt.attempt}  {attempt.at}  {attempt.outcome:<8}  "
                   f"{attempt.detail or ''}  ({attempt.daemon})")


def notify_retry(
    message_id: Annotated[int, typer.Argument(metavar="ID", help="The failed message's id "
                                                                 "(see notify status).")],
    config: ConfigOption = None,
) -> None:
    """Send a failed message again: it goes back in the queue, due now."""
    from gateway.notify.outbox import retry

    with operational():
        ledger = _ledger(load_settings(config))
        try:
            done = retry(ledger.engine, message_id)
        finally:
            ledger.close()
    if not done:
        typer.echo(f"gateway: no failed message {message_id}", err=True)
        raise typer.Exit(EXIT_NO)
    typer.echo(f"message {message_id} queued again")


def notify_reminders(
    as_of: Annotated[str, typer.Option(help="The day whose reminders to queue (YYYY-MM-DD).")],
    days: Annotated[int, typer.Option(min=1, max=3660,
                                      help="Also the days after it, this many in all.")] = 1,
    registry: RegistryOption = None,
    config: ConfigOption = None,
) -> None:
    """Queue the deadline reminders of a day (14 and 3 days before a due date, and the day
    after it), as the daemons do at 06:00; nothing already queued is queued again."""
    from gateway.notify.schedule import queue_reminders, reminders_for_day

    first = parse_day(as_of)
    with operational():
        chosen = setting(registry, config)
        entries = registry_for(chosen)
        if entries is None:
            raise FileNotFoundError(f"there is no registry at {chosen.path}; name one with "
                                    "--registry")
        ledger = _ledger(chosen.config, create=True)
        try:
            for offset in range(days):
                day = first + timedelta(days=offset)
                reminders = reminders_for_day(ledger, entries, day, chosen.policy.timezone)
                added = queue_reminders(ledger.engine, day, reminders) or 0
                typer.echo(f"{day.isoformat()}: {plural(added, 'reminder')} queued"
                           + (f" ({len(reminders) - added:,} queued before)"
                              if len(reminders) > added else ""))
        finally:
            ledger.close()


def notify_digest(
    day: Annotated[str, typer.Option(help="The day whose receipts to gather (YYYY-MM-DD).")],
    config: ConfigOption = None,
) -> None:
    """Queue the daily digests of a day, as the daemons do at 07:00 the next morning."""
    from gateway.notify.schedule import queue_digests

    chosen = parse_day(day)
    with operational():
        settings = load_settings(config)
        ledger = _ledger(settings, create=True)
        try:
            added = queue_digests(ledger.engine, chosen, settings.web_public_url or None) or 0
        finally:
            ledger.close()
    typer.echo(f"{chosen.isoformat()}: {plural(added, 'digest')} queued")
