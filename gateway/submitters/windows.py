"""Submission windows: when a file counts as early, on time or late.

Deadlines are calendar dates of the program, which is in Minnesota: a file is on time until the
end of its due day in the program's time zone (``[submitter] timezone``, America/Chicago by
default), whatever the clock of the machine says. ``received_at`` is an instant (ISO 8601 with
an offset or ``Z``; without one, the program's local time), turned into the program's calendar
day before comparing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from gateway.contract.registry import Obligation

DEFAULT_TIMEZONE = "America/Chicago"
LATE_WARN, LATE_REJECT = "warn", "reject"


class Timing(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


@dataclass(frozen=True)
class SubmitterPolicy:
    """The operator's switches for layer 4 (``[submitter]`` in gateway.toml): whether a late
    file is accepted with a warning or rejected, and the time zone deadlines are dates in."""

    late: str = LATE_WARN
    timezone: str = DEFAULT_TIMEZONE


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_instant(text: str, timezone: str = DEFAULT_TIMEZONE) -> datetime:
    """An ISO 8601 instant. One without an offset (``2015-02-16`` or ``2015-02-16T08:00``) is
    the program's local time, as every date-time in the specs is: read as UTC, a preview with
    ``--received-at 2015-02-16`` would land on the evening of the 15th in Minnesota and pass
    as on time. Raises ValueError."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_zone(timezone))


def program_day(received_at: str, timezone: str = DEFAULT_TIMEZONE) -> date:
    """The program's calendar day at the instant ``received_at``."""
    return parse_instant(received_at, timezone).astimezone(_zone(timezone)).date()


def today(timezone: str = DEFAULT_TIMEZONE) -> date:
    """The program's calendar day now."""
    return datetime.now(_zone(timezone)).date()


def timing(obligation: Obligation, day: date) -> Timing:
    """Where ``day`` falls against the obligation's window."""
    if day > obligation.due:
        return Timing.LATE
    if obligation.opens is not None and day < obligation.opens:
        return Timing.EARLY
    return Timing.ON_TIME
