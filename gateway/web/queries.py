"""The submissions list: one page, newest first, with filters, read straight from the ledger.

Pages are cut by a cursor (the last submission id shown), not an offset, so a page deep in a
long history costs what the first one does. A submitter's view always carries its own id as a
filter: nothing it cannot see is ever read.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gateway.web.site import READ_ONLY, Submission, is_submitter_id, submissions_table

PAGE_SIZE = 50
STATUSES = ("accepted", "accepted_with_warnings", "rejected", "waiting")
_c = submissions_table.c


class BadFilter(ValueError):
    """A filter value the list cannot use; the message names the parameter."""


@dataclass(frozen=True)
class Filters:
    submitter: str | None = None
    status: str | None = None
    family: str | None = None
    measure: str | None = None
    since: date | None = None
    until: date | None = None

    def query_items(self) -> dict[str, str]:
        """The filters as URL query parameters (for the next page's link)."""
        items = {"submitter": self.submitter, "status": self.status, "family": self.family,
                 "measure": self.measure,
                 "since": self.since.isoformat() if self.since else None,
                 "until": self.until.isoformat() if self.until else None}
        return {key: value for key, value in items.items() if value}


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BadFilter(f"{name} must be a date, YYYY-MM-DD") from None


def _word(text: str | None, name: str) -> str | None:
    if not text:
        return None
    if not is_submitter_id(text):  # families and measures are spelt like ids
        raise BadFilter(f"{name} must be letters, digits, '-' or '_'")
    return text


def parse_filters(params: dict[str, str], own_submitter: str | None) -> Filters:
    """Filters from query parameters. ``own_submitter`` (a submitter's account) replaces any
    ``submitter`` parameter: a submitter sees its own files only."""
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise BadFilter(f"status must be one of {', '.join(STATUSES)}")
    submitter = own_submitter or _word(params.get("submitter"), "submitter")
    return Filters(submitter=submitter, status=status,
                   family=_word(params.get("family"), "family"),
                   measure=_word(params.get("measure"), "measure"),
                   since=_day(params.get("since"), "since"),
                   until=_day(params.get("until"), "until"))


def encode_cursor(row: Submission) -> str:
    text = json.dumps([row.received_at, row.submission_id])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, str] | None:
    """(received_at, submission_id) of the last row of the previous page."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, TypeError):
        raise BadFilter("cursor is not one this list gave") from None
    if not (isinstance(value, list) and len(value) == 2
            and all(isinstance(part, str) for part in value)):
        raise BadFilter("cursor is not one this list gave")
    return value[0], value[1]


def utc_start(day: date, timezone: str) -> str:
    moment = datetime.combine(day, time(), tzinfo=ZoneInfo(timezone))
    return moment.astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def page(engine: sa.Engine, filters: Filters, cursor: str | None, timezone: str,
         size: int = PAGE_SIZE) -> tuple[list[Submission], str | None]:
    """One page of submissions, newest first (by when the gateway received them; a replay
    stands beside its original), and the cursor of the next (None: last page). Dates are the
    program's calendar days (``timezone``)."""
    query = (sa.select(submissions_table)
             .order_by(_c.received_at.desc(), _c.submission_id.desc()).limit(size + 1))
    if filters.submitter:
        query = query.where(_c.submitter == filters.submitter)
    if filters.status == "waiting":
        query = query.where(_c.status.is_(None))
    elif filters.status:
        query = query.where(_c.status == filters.status)
    # The indexes (received_at, submission_id), (submitter, received_at, submission_id) and
    # (status, received_at, submission_id) give the newest-first order and the date range
    # directly: the database walks one of them and stops after a page. Family and measure are
    # filters on the way.
    if filters.family:
        prefix = f"{filters.family}/"
        query = query.where(sa.func.substr(_c.route, 1, len(prefix)) == prefix)
    if filters.measure:
        query = query.where(_c.route.like(f"%/{filters.measure}/%"))
    if filters.since:
        query = query.where(_c.received_at >= utc_start(filters.since, timezone))
    if filters.until:
        day_after = date.fromordinal(filters.until.toordinal() + 1)
        query = query.where(_c.received_at < utc_start(day_after, timezone))
    after = decode_cursor(cursor)
    if after is not None:
        query = query.where(sa.tuple_(_c.received_at, _c.submission_id) < after)
    with engine.connect().execution_options(**{READ_ONLY: True}) as db:
        rows = [Submission(**{k: v for k, v in row._mapping.items()}) for row in db.execute(query)]
    more = len(rows) > size
    rows = rows[:size]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def route_parts(row: Submission) -> dict[str, Any]:
    """family, measure, level and reporting year from the ledger's route text."""
    parts = (row.route or "").split("/")
    if len(parts) != 4:
        return {"family": None, "measure": None, "level": None, "reporting_year": None}
    family, measure, level, year = parts
    return {"family": family, "measure": measure, "level": level,
            "reporting_year": int(year) if year.isdigit() else None}


def api_item(row: Submission) -> dict[str, Any]:
    """A submission as the API lists it."""
    return {"submission_id": row.submission_id, "submitter": row.submitter,
            "file_name": row.upload_name, "received_at": row.received_at,
            "status": row.status or "waiting", **route_parts(row),
            "counts": {"records": row.records, "errors": row.errors,
                       "warnings": row.warnings}}


def answer_to_upload(engine: sa.Engine, submitter: str, name: str, since: str
                     ) -> Submission | None:
    """The submission that took an upload put into ``upload/`` at ``since`` under ``name``,
    once its receipt is written (the first such submission, not a replay)."""
    query = (sa.select(submissions_table)
             .where(_c.submitter == submitter, _c.upload_name == name, _c.received_at >= since,
                    _c.replaces.is_(None))
             .order_by(_c.submission_id).limit(1))
    with engine.connect().execution_options(**{READ_ONLY: True}) as db:
        row = db.execute(query).first()
    if row is None or row.state not in ("receipt_written", "filed"):
        return None
    return Submission(**dict(row._mapping))
