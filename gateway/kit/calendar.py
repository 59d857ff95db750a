"""The reporting calendar of a family's ``[deadlines]`` table (``gateway.kit.manifest``) for its
``reporting_years``: the submission windows, and the dates of service each period covers.

A quarter's window opens the day after the quarter ends and closes on its deadline
(``"2014Q3" = "2015-02-15"``); a yearly entry (``"2015" = { discharges_of = 2014, due = ... }``)
opens on January 1 of the reporting year and covers the data year it names. A family with
several deadline tables (inpatient and outpatient settings) nests them one level deeper
(``[deadlines.inpatient]``). Next year's calendar is therefore data: new lines in
``[deadlines]``.
"""

from __future__ import annotations

from datetime import date, timedelta

from gateway.contract.formats import quarter_bounds
from gateway.contract.records import ReportingPeriod
from gateway.kit.manifest import Manifest

QUARTER, YEAR = "quarter", "year"


def windows(manifest: Manifest, reporting_year: int,
            setting: str | None = None) -> dict[str, tuple[date, date]]:
    """Period -> (opens, due) for every period of the family due in ``reporting_year``."""
    table = manifest.data.get("deadlines", {})
    if setting is not None:
        table = table[setting]
    rules = manifest.obligation or {}
    if rules.get("period", QUARTER) == YEAR:
        entry = table.get(str(reporting_year))
        if entry is None:
            return {}
        return {str(reporting_year): (date(reporting_year, 1, 1),
                                      date.fromisoformat(entry["due"]))}
    out = {}
    for quarter, due in table.items():
        due_date = date.fromisoformat(due)
        if due_date.year != reporting_year:
            continue
        bounds = quarter_bounds(quarter)
        if bounds is None:
            raise ValueError(f"{manifest.family}: [deadlines] key {quarter!r} is not a quarter")
        out[quarter] = (bounds[1] + timedelta(days=1), due_date)
    return out


def _service(manifest: Manifest, period: str) -> tuple[date, date]:
    bounds = quarter_bounds(period)
    if bounds is not None:
        return bounds
    entry = manifest.data["deadlines"][period]
    data_year = int(next(v for k, v in entry.items() if k != "due"))
    return date(data_year, 1, 1), date(data_year, 12, 31)


def calendar(manifest: Manifest, year: int) -> list[ReportingPeriod] | None:
    """The periods due in reporting ``year``, or None when the manifest does not declare it
    among its ``reporting_years``."""
    if year not in manifest.reporting_years:
        return None
    table = manifest.data.get("deadlines", {})
    settings = [k for k, v in table.items() if isinstance(v, dict) and "due" not in v] or [None]
    periods = [ReportingPeriod(f"{period} {setting or ''}".strip(), _service(manifest, period),
                               window)
               for setting in settings
               for period, window in windows(manifest, year, setting).items()]
    return sorted(periods, key=lambda p: (p.dates_of_service, p.label)) or None
