"""The calendar: deadlines in a span of days and who still owes a file for each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from gateway.receipts.plain_table import plain_table
from gateway.receipts.text import plural
from gateway.submitters.compliance import DONE, Line

COLUMNS = ("due", "opens", "family", "measure", "period", "submitter", "status")


def upcoming(lines: Iterable[Line], start: date, end: date) -> list[Line]:
    """Lines of required obligations due from ``start`` to ``end`` (inclusive), by due date."""
    chosen = [line for line in lines
              if line.owed.obligation.required and start <= line.owed.obligation.due <= end]
    return sorted(chosen, key=lambda line: (line.owed.obligation.due, line.owed.sort_key[1:],
                                            line.owed.submitter.id))


def render_calendar(lines: list[Line], start: date, end: date) -> str:
    """Still-owed submissions as a table, then one summary line."""
    owing = [line for line in lines if line.status not in DONE]
    rows = []
    for line in owing:
        cells, obligation = line.cells(), line.owed.obligation
        rows.append([cells["due"], obligation.opens.isoformat() if obligation.opens else "-",
                     cells["family"], cells["measure"], cells["period"], cells["submitter"],
                     cells["status"]])
    deadlines = {(line.owed.obligation.due, line.owed.obligation.key) for line in lines}
    span = f"{start.isoformat()}..{end.isoformat()}"
    if not deadlines:
        return f"No deadlines {span}.\n"
    summary = (f"{plural(len(deadlines), 'deadline')} {span}: "
               f"{plural(len(owing), 'submission')} still owed, "
               f"{len(lines) - len(owing):,} received\n")
    return (plain_table(COLUMNS, rows) if rows else "") + summary
