"""The reporting calendar of a hospital family, read from its manifest's ``[deadlines]`` table.

The tables come in the shapes the program publishes: quarter -> due date (``"2014Q3" =
"2015-02-15"``), one such table per setting (``[deadlines.inpatient]``), or reporting year ->
the calendar year of the data and the due date (``"2015" = { discharges_of = 2014, due = ... }``).
A window opens the day after its period ends and closes on the due date.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from gateway_plugins.hospital.common.manifest import Manifest
from gateway_plugins.hospital.common.periods import parse_quarter

from gateway.contract import ReportingPeriod


def _quarter_dates(quarter: str) -> tuple[date, date] | None:
    parsed = parse_quarter(quarter)
    if parsed is None:
        return None
    year, q = parsed
    first = date(year, 3 * q - 2, 1)
    after = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return first, after - timedelta(days=1)


def _periods(table: Mapping[str, Any], setting: str = "") -> Iterator[ReportingPeriod]:
    for key, value in table.items():
        if isinstance(value, Mapping) and "due" not in value:
            yield from _periods(value, key)  # one table per setting
            continue
        if isinstance(value, Mapping):  # a reporting year: the data year and its due date
            data_year = next(v for k, v in value.items() if k != "due")
            span = date(int(data_year), 1, 1), date(int(data_year), 12, 31)
            due = date.fromisoformat(str(value["due"]))
        else:
            quarter = _quarter_dates(key)
            if quarter is None:
                continue
            span, due = quarter, date.fromisoformat(str(value))
        label = f"{key} {setting}".strip()
        yield ReportingPeriod(label, span, (span[1] + timedelta(days=1), due))


def calendar(manifest: Manifest, year: int) -> list[ReportingPeriod] | None:
    """The periods due in reporting ``year``, or None when the manifest does not declare it."""
    if year not in manifest.years:
        return None
    periods = [p for p in _periods(manifest.data.get("deadlines", {})) if p.window[1].year == year]
    return sorted(periods, key=lambda p: (p.dates_of_service, p.label)) or None
