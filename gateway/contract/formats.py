"""Value forms the specification fixes: NPI check digit, dates, date-times, ZIP codes, quarters.

Each form has a normaliser (accepted submitter spellings -> one canonical text) used when records
are typed, and a strict check that the JSON Schema validators apply to the ``format`` keyword,
so a value that could not be normalised is reported with the right code. The checks are plain
functions here; ``format_checker`` registers them with jsonschema when a validator is built, so
importing the contract does not import jsonschema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jsonschema import FormatChecker

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::00)?")
_US_DATETIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::00)?")
_ZIP = re.compile(r"(\d{5})(?:-\d{4})?")
_QUARTER = re.compile(r"(\d{4})Q([1-4])")
_NPI = re.compile(r"\d{10}")


def npi_is_valid(value: str) -> bool:
    """10 digits whose last is the Luhn check digit over ``80840`` + the first nine digits."""
    if not _NPI.fullmatch(value):
        return False
    digits = "80840" + value[:9]
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:  # doubled: rightmost digit of the payload, then every other one
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(value[9])


def parse_date(text: str) -> date | None:
    """A date written ``YYYY-MM-DD``, ``MM/DD/YYYY`` or ``M/D/YYYY``; None if not a real date."""
    match = _ISO_DATE.fullmatch(text)
    if match:
        year, month, day = match.groups()
    else:
        match = _US_DATE.fullmatch(text)
        if not match:
            return None
        month, day, year = match.groups()
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse_datetime(text: str) -> datetime | None:
    """A 24-hour local date-time ``YYYY-MM-DDTHH:MM`` or ``MM/DD/YYYY HH:MM``; None if invalid.
    Either may end in ``:00`` seconds, as a spreadsheet writes a time cell to CSV; other seconds
    are refused, since the specification records minutes."""
    match = _ISO_DATETIME.fullmatch(text)
    if match:
        year, month, day, hour, minute = match.groups()
    else:
        match = _US_DATETIME.fullmatch(text)
        if not match:
            return None
        month, day, year, hour, minute = match.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute))
    except ValueError:
        return None


def normalise_date(text: str) -> str:
    parsed = parse_date(text)
    return parsed.isoformat() if parsed else text


def normalise_datetime(text: str) -> str:
    parsed = parse_datetime(text)
    return parsed.strftime("%Y-%m-%dT%H:%M") if parsed else text


def normalise_zip(text: str) -> str:
    """ZIP+4 is accepted and cut to the five-digit ZIP."""
    match = _ZIP.fullmatch(text)
    return match.group(1) if match else text


def normalise_zip_or_all(text: str) -> str:
    """A stratum's ZIP code, or ALL in any case (as every coded stratum accepts it)."""
    return "ALL" if text.upper() == "ALL" else normalise_zip(text)


def quarter_bounds(text: str) -> tuple[date, date] | None:
    """First and last day of a quarter written ``2015Q1``."""
    match = _QUARTER.fullmatch(text.upper())
    if not match:
        return None
    year, quarter = int(match.group(1)), int(match.group(2))
    first = date(year, 3 * quarter - 2, 1)
    last = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    return first, date.fromordinal(last.toordinal() - 1)


# Normalisers by the schema's ``format`` keyword, applied when records are typed.
NORMALISERS = {
    "date": normalise_date,
    "local-date-time": normalise_datetime,
    "zip": normalise_zip,
    "zip-or-all": normalise_zip_or_all,
    "quarter": str.upper,
}

# Strict checks by the schema's ``format`` keyword: True unless a text breaks the form.
FORMAT_CHECKS: dict[str, Callable[[object], bool]] = {}


def _checks(name: str) -> Callable[[Callable[[object], bool]], Callable[[object], bool]]:
    def register(check: Callable[[object], bool]) -> Callable[[object], bool]:
        FORMAT_CHECKS[name] = check
        return check
    return register


@cache
def format_checker() -> FormatChecker:
    """The checks as jsonschema's ``FormatChecker`` (only these formats; others annotate)."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in FORMAT_CHECKS.items():
        checker.checks(name)(check)
    return checker


@_checks("date")
def _is_iso_date(value: object) -> bool:
    return not isinstance(value, str) or (
        _ISO_DATE.fullmatch(value) is not None and parse_date(value) is not None)


@_checks("local-date-time")
def _is_local_datetime(value: object) -> bool:
    return not isinstance(value, str) or (
        _ISO_DATETIME.fullmatch(value) is not None and parse_datetime(value) is not None)


@_checks("npi")
def _is_npi(value: object) -> bool:
    return not isinstance(value, str) or npi_is_valid(value)


@_checks("zip")
def _is_zip(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"\d{5}", value) is not None


@_checks("quarter")
def _is_quarter(value: object) -> bool:
    return not isinstance(value, str) or _QUARTER.fullmatch(value) is not None


@_checks("zip-or-all")
def _is_zip_or_all(value: object) -> bool:
    """Summary strata: a ZIP code or ALL (every ZIP code)."""
    return not isinstance(value, str) or value == "ALL" or _is_zip(value)
