"""Discharge quarters, their deadlines and the reporting year they belong to.

The reporting year is the calendar year the data are due (spec README section 2), so it follows
from the deadline: 2014Q3 inpatient discharges are due Feb 15 2015, so they belong to reporting
year 2015. Each family names its deadline rule in its manifest; the rule is code because it is
arithmetic on the quarter ("4.5 months after the quarter ends"), the seeded tables are data.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date

_QUARTER = re.compile(r"(\d{4})Q([1-4])")


def parse_quarter(text: str) -> tuple[int, int] | None:
    """(year, quarter) of ``2015Q1``; None when the text is not a quarter."""
    match = _QUARTER.fullmatch(text.strip().upper())
    return (int(match.group(1)), int(match.group(2))) if match else None


def _month_after(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


def due_date(quarter: str, rule: str) -> date | None:
    """The deadline of a quarter's data under a family's deadline rule.

    ``inpatient``: the 15th of the fifth month after the quarter ends (3Q14 -> Feb 15 2015);
    ``outpatient``: two weeks earlier, the 1st of that month; ``edtc``: the last day of the month
    after the quarter, except 3Q14 and 4Q14 which were both due Jan 31 2015 when the measure
    started.
    """
    parsed = parse_quarter(quarter)
    if parsed is None:
        return None
    year, q = parsed
    end_month = 3 * q
    if rule in ("inpatient", "outpatient"):
        due_year, due_month = _month_after(year, end_month, 5)
        return date(due_year, due_month, 15 if rule == "inpatient" else 1)
    if rule == "edtc":
        if (year, q) in ((2014, 3), (2014, 4)):
            return date(2015, 1, 31)
        due_year, due_month = _month_after(year, end_month, 1)
        return date(due_year, due_month, monthrange(due_year, due_month)[1])
    raise ValueError(f"unknown deadline rule {rule}")


def reporting_year_of(quarter: str, rule: str) -> int | None:
    """The reporting year a quarter's data belong to: the year of its deadline."""
    due = due_date(quarter, rule)
    return due.year if due else None


def quarters_of(reporting_year: int, rule: str) -> list[str]:
    """Every quarter whose data are due in ``reporting_year``, oldest first (for messages)."""
    out = []
    for year in (reporting_year - 2, reporting_year - 1, reporting_year):
        for q in range(1, 5):
            text = f"{year}Q{q}"
            if reporting_year_of(text, rule) == reporting_year:
                out.append(text)
    return out


def quarter_days(quarter: str) -> int:
    """Days in a quarter (for "beds' worth of patient days" checks)."""
    parsed = parse_quarter(quarter)
    if parsed is None:
        return 92
    year, q = parsed
    return sum(monthrange(year, m)[1] for m in range(3 * q - 2, 3 * q + 1))


def quarter_order(quarter: str) -> int:
    """A sortable number for a quarter (``2015Q1`` -> 8061)."""
    parsed = parse_quarter(quarter)
    return parsed[0] * 4 + parsed[1] - 1 if parsed else -1
