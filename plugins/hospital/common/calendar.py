"""The reporting calendar of a hospital family (``gateway_calendar``): the submission windows
the submitter layer uses (``obligations.windows``, the one reader of the ``[deadlines]`` table)
with the dates of service each period covers: a quarter's own days, or the data year a yearly
entry names (``"2015" = { discharges_of = 2014, due = ... }``).
"""

from __future__ import annotations

from datetime import date

from gateway_plugins.hospital.common.manifest import Manifest
from gateway_plugins.hospital.common.obligations import windows
from gateway_plugins.hospital.common.periods import parse_quarter, quarter_days

from gateway.contract import ReportingPeriod


def _service(manifest: Manifest, period: str) -> tuple[date, date]:
    parsed = parse_quarter(period)
    if parsed is not None:
        year, q = parsed
        first = date(year, 3 * q - 2, 1)
        return first, date.fromordinal(first.toordinal() + quarter_days(period) - 1)
    entry = manifest.data["deadlines"][period]
    data_year = int(next(v for k, v in entry.items() if k != "due"))
    return date(data_year, 1, 1), date(data_year, 12, 31)


def calendar(manifest: Manifest, year: int) -> list[ReportingPeriod] | None:
    """The periods due in reporting ``year``, or None when the manifest does not declare it."""
    if year not in manifest.years:
        return None
    table = manifest.data.get("deadlines", {})
    settings = [k for k, v in table.items() if isinstance(v, dict) and "due" not in v] or [None]
    periods = [ReportingPeriod(f"{period} {setting or ''}".strip(), _service(manifest, period),
                               window)
               for setting in settings
               for period, window in windows(manifest, year, setting).items()]
    return sorted(periods, key=lambda p: (p.dates_of_service, p.label)) or None
