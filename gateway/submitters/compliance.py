"""Compliance: every required submission with its status, from the registry and the ledger.

Each submission with a receipt recorded which obligations it answered (``obligations`` in the
ledger). For one obligation the latest accepted file decides (``accepted``, or
``accepted_late`` when it came after the deadline); without one, files that came and were
rejected make it ``rejected``; with nothing, it is ``missing`` once its due day has passed and
``not_due`` before. Obligations met elsewhere are ``not_required`` and listed so nobody asks.
An obligation the program waived (an exemption granted) is ``exempt`` unless a file already
answered it; one whose waiver was asked for is ``exemption_requested`` while nothing answers
it, and still owed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from gateway.contract.registry import WAIVER_GRANTED, WAIVER_REQUESTED
from gateway.receipts.plain_table import plain_table
from gateway.receipts.text import plural
from gateway.submitters.obligations import Owed
from gateway.submitters.windows import DEFAULT_TIMEZONE, program_day

COLUMNS = ("submitter", "family", "measure", "level", "period", "due", "status",
           "submission_id", "received_at")
ACCEPTED, ACCEPTED_LATE, REJECTED = "accepted", "accepted_late", "rejected"
MISSING, NOT_DUE, NOT_REQUIRED = "missing", "not_due", "not_required"
EXEMPT, EXEMPTION_REQUESTED = "exempt", "exemption_requested"
STATUSES = (ACCEPTED, ACCEPTED_LATE, REJECTED, MISSING, NOT_DUE, NOT_REQUIRED, EXEMPT,
            EXEMPTION_REQUESTED)
DONE = (ACCEPTED, ACCEPTED_LATE, NOT_REQUIRED, EXEMPT)

Key = tuple[str, str, str, str, str]  # submitter, family, measure, period, subject


@dataclass(frozen=True)
class Answer:
    """One submission's answer to one obligation, as the ledger recorded it."""

    submitter: str
    key: tuple[str, str, str, str]
    submission_id: str
    received_at: str
    accepted: bool
    late: bool
    level: str

    @property
    def order(self) -> tuple[str, str]:
        return (self.received_at, self.submission_id)


@dataclass(frozen=True)
class Line:
    """One line of the compliance report."""

    owed: Owed
    status: str
    decided_by: Answer | None = None

    def cells(self) -> dict[str, str]:
        obligation, answer = self.owed.obligation, self.decided_by
        measure = f"{obligation.measure} {obligation.subject}" if obligation.subject \
            else obligation.measure
        chooses = len(obligation.levels) > 1
        return {"submitter": self.owed.submitter.id, "family": obligation.family,
                "measure": measure, "level": answer.level if answer and chooses else "",
                "period": obligation.period, "due": obligation.due.isoformat(),
                "status": self.status,
                "submission_id": answer.submission_id if answer else "",
                "received_at": answer.received_at if answer else ""}


def answers_from(rows: Iterable[tuple[str, str, str, str | None, str]]) -> list[Answer]:
    """Answers from ledger rows (submitter, submission_id, received_at, obligations JSON,
    status). A row whose JSON cannot be read answers nothing."""
    out = []
    parsed: dict[str, list] = {}  # many rows answer the same obligations: parse each once
    for submitter, submission_id, received_at, text, status in rows:
        try:
            answered = parsed[text or "[]"] if (text or "[]") in parsed else \
                parsed.setdefault(text or "[]", json.loads(text or "[]"))
        except ValueError:
            continue
        for item in answered:
            out.append(Answer(
                submitter=submitter, submission_id=submission_id, received_at=received_at,
                key=(item["family"], item["measure"], item["period"], item.get("subject", "")),
                accepted=status != REJECTED, late=item.get("timing") == "late",
                level=item.get("level", "")))
    return out


def report(owed: Iterable[Owed], answers: Iterable[Answer], today: date,
           timezone: str = DEFAULT_TIMEZONE) -> list[Line]:
    """The status of every obligation as it stood on ``today`` (the program's calendar day):
    files received after that day do not count yet."""
    by_key: dict[Key, list[Answer]] = {}
    # An instant written (YYYY-MM-DD...) on a day two or more days before ``today`` fell on or
    # before ``today`` in every time zone (offsets are under a day): only the last days'
    # answers are converted, not a ledger's whole history.
    surely_before = date.fromordinal(today.toordinal() - 1).isoformat()
    for answer in answers:
        written = answer.received_at
        if not (written[4:5] == "-" and written[:10] < surely_before) and \
                program_day(written, timezone) > today:
            continue
        by_key.setdefault((answer.submitter, *answer.key), []).append(answer)
    lines = []
    for item in owed:
        came = sorted(by_key.get((item.submitter.id, *item.obligation.key), []),
                      key=lambda a: a.order)
        lines.append(_line(item, came, today))
    return lines


def _line(item: Owed, came: list[Answer], today: date) -> Line:
    accepted = [a for a in came if a.accepted]
    latest = accepted[-1] if accepted else None
    if not item.obligation.required:
        return Line(item, NOT_REQUIRED, latest)
    if latest is not None:
        return Line(item, ACCEPTED_LATE if latest.late else ACCEPTED, latest)
    if item.obligation.waiver == WAIVER_GRANTED:
        return Line(item, EXEMPT)
    if item.obligation.waiver == WAIVER_REQUESTED:
        return Line(item, EXEMPTION_REQUESTED, came[-1] if came else None)
    if came:
        return Line(item, REJECTED, came[-1])
    return Line(item, MISSING if today > item.obligation.due else NOT_DUE)


def render_csv(lines: Iterable[Line]) -> str:
    """The CSV the spec fixes: a header row with ``COLUMNS``, then one row per line."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(line.cells() for line in lines)
    return buffer.getvalue()


def render_terminal(lines: list[Line]) -> str:
    """The same lines as a table for people, with a count per status at the end."""
    table = plain_table(COLUMNS, [[line.cells()[c] or "-" for c in COLUMNS] for line in lines])
    counts: dict[str, int] = {}
    for line in lines:
        counts[line.status] = counts.get(line.status, 0) + 1
    summary = ", ".join(f"{status} {counts[status]}" for status in STATUSES if status in counts)
    return table + f"{plural(len(lines), 'obligation')}: {summary or 'none'}\n"
