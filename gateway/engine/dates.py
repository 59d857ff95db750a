"""Why a date is not a date, in the words of the mistake people make.

A date column refused with "not a real date" sends the abstractor hunting. The common causes
have names: a day the month does not have (``4/31/2015``: April has 30 days), a workbook's
date serial number (``41809``, a cell formatted as a number), a two-digit year (``3/31/15``)
and day-month order (``31/03/2015``). Each is still an error (the file is judged as sent); the
message names the cause and, where only one date can be meant, the finding suggests it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2}))?")
_SLASHED = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?: (\d{1,2}):(\d{2}))?")
_SERIAL = re.compile(r"(\d{1,6})(?:\.(\d+))?")
_EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 after Excel's 1900 leap-day bug
_SERIAL_RANGE = (1, 2_958_465)  # 1900-01-01 .. 9999-12-31
_MONTHS = list(calendar.month_name)


@dataclass(frozen=True)
class DateTrouble:
    """What is wrong with a date text, and the date meant when only one can be."""

    reason: str
    suggestion: str | None = None


def _written(day: date, time: tuple[int, int] | None) -> str:
    return day.isoformat() + (f"T{time[0]:02d}:{time[1]:02d}" if time else "")


def _no_such_day(year: int, month: int, day: int) -> str | None:
    """Why (year, month, day) is not a date, or None when it is one."""
    if not 1 <= month <= 12:
        return f"there is no month {month}"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        name = _MONTHS[month]
        if month == 2:
            return f"February {year} has {days} days"
        return f"{name} has {days} days"
    return None


def explain_date(text: str, with_time: bool = False) -> DateTrouble | None:
    """The cause of a date (``with_time``: date-time) that could not be read, or None when the
    text is not one of the recognised mistakes."""
    text = text.strip()
    serial = _SERIAL.fullmatch(text)
    if serial and _SERIAL_RANGE[0] <= int(serial.group(1)) <= _SERIAL_RANGE[1] \
            and len(serial.group(1)) >= 4:
        whole = int(serial.group(1))
        day = _EXCEL_EPOCH + timedelta(days=whole)
        time = None
        if with_time and serial.group(2):
            minutes = round(float("0." + serial.group(2)) * 24 * 60)
            time = divmod(minutes, 60) if minutes < 24 * 60 else None
        return DateTrouble(
            f"{text} looks like an Excel date serial number (it is {_written(day, time)} as a "
            "date): the cell is formatted as a number", _written(day, time if with_time else None)
            if not with_time or time else None)
    iso = _ISO.fullmatch(text)
    if iso:
        year, month, day_ = int(iso.group(1)), int(iso.group(2)), int(iso.group(3))
        why = _no_such_day(year, month, day_)
        if why:
            return DateTrouble(f"{text} cannot exist: {why}")
        if with_time and iso.group(4) is None:
            return DateTrouble(f"{text} is a date without a time; the column holds a date and "
                               "a 24-hour time")
        return None
    slashed = _SLASHED.fullmatch(text)
    if not slashed:
        return None
    first, second, year_text = int(slashed.group(1)), int(slashed.group(2)), slashed.group(3)
    time = (int(slashed.group(4)), int(slashed.group(5))) if slashed.group(4) else None
    if time and not (time[0] < 24 and time[1] < 60):
        return DateTrouble(f"{text} has a time that cannot exist (24-hour clock, minutes "
                           "under 60)")
    year = int(year_text)
    short_year = len(year_text) == 2
    if short_year:
        year += 2000 if year <= date.today().year % 100 else 1900
    month_first = _no_such_day(year, first, second)
    day_first = _no_such_day(year, second, first)
    parts: list[str] = []
    suggestion = None
    if month_first is None:
        meant = date(year, first, second)
        if short_year:
            parts.append(f"{text} has a two-digit year; write all four digits "
                         f"({meant.month}/{meant.day}/{year})")
            suggestion = _written(meant, time)
    elif day_first is None:
        meant = date(year, second, first)
        parts.append(f"{text} looks like day-month order ({first} is not a month); the "
                     f"specification writes the month first ({second:02d}/{first:02d}/{year})")
        if short_year:
            parts.append("and the year has two digits")
        suggestion = _written(meant, time)
    else:
        parts.append(f"{text} cannot exist: {month_first}")
        if short_year:
            parts.append("and the year has two digits")
    if not parts:
        return None
    return DateTrouble(", ".join(parts), suggestion)


def date_hint(trouble: DateTrouble) -> str:
    """How to fix the mistake ``explain_date`` named."""
    if "Excel date serial" in trouble.reason:
        return ("The number is how a spreadsheet stores the date the message shows: format "
                "the data as dates (Format Cells > Date, e.g. YYYY-MM-DD) before saving, or "
                "type the date.")
    if "day-month order" in trouble.reason:
        return "Write the month first (MM/DD/YYYY) or write the date as YYYY-MM-DD."
    if "date without a time" in trouble.reason:
        return ("Enter the time as well (2015-03-01T14:05 or 03/01/2015 14:05). In a workbook the "
                "cell holds a date only: format the column as date and time (Format Cells > "
                "Custom, yyyy-mm-dd hh:mm) and type each time; 00:00 is a time too.")
    if "two-digit year" in trouble.reason:
        return "Write the year with all four digits (MM/DD/YYYY or YYYY-MM-DD)."
    return "Check the date against the source record and enter the real one."
