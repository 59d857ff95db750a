"""Value forms spreadsheets write: US date-times with seconds, ALL in any case."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.contract.formats import normalise_datetime, parse_datetime
from tests.receipts.files import ROOT, STROKE, check, read_rows, write_table


@pytest.mark.parametrize(("text", "iso"), [
    ("01/04/2015 08:10:00", "2015-01-04T08:10"),   # LibreOffice's CSV of a date-time cell
    ("1/4/2015 8:10:00", "2015-01-04T08:10"),
    ("01/04/2015 08:10", "2015-01-04T08:10"),
    ("2015-01-04 08:10:00", "2015-01-04T08:10"),
])
def test_us_and_iso_date_times_with_zero_seconds_are_the_same_minute(text: str, iso: str
                                                                     ) -> None:
    assert normalise_datetime(text) == iso


@pytest.mark.parametrize("text", ["01/04/2015 08:10:30", "2015-01-04 08:10:30",
                                  "01/04/2015 24:10:00", "13/04/2015 08:10:00"])
def test_other_seconds_and_impossible_times_are_refused(text: str) -> None:
    assert parse_datetime(text) is None


def test_stroke_file_saved_by_a_spreadsheet_is_accepted(tmp_path: Path) -> None:
    rows = read_rows(STROKE)
    header = rows[0]
    for row in rows[1:]:
        for name in ("arrival_time", "imaging_time", "thrombolytic_time"):
            parsed = parse_datetime(row[header.index(name)])
            if parsed:  # 2015-01-04T08:10 -> 01/04/2015 08:10:00
                row[header.index(name)] = parsed.strftime("%m/%d/%Y %H:%M:%S")
    receipt = check(write_table(rows, tmp_path / "stroke.csv"))
    assert receipt.status.value == "accepted", [f.message for f in receipt.findings.listed]


def test_zip_code_stratum_takes_all_in_any_case(tmp_path: Path) -> None:
    source = ROOT / "plugins/clinic/mncm/examples/2015/odc/summary/valid/odc-summary-full.csv"
    rows = read_rows(source)
    header = rows[0]
    zip_code = header.index("zip_code")
    for row in rows[1:]:
        if row[zip_code] == "ALL":
            row[zip_code] = "all"
    for column in ("payer_type", "gender"):  # as every other stratum already did
        rows[1][header.index(column)] = rows[1][header.index(column)].lower()
    receipt = check(write_table(rows, tmp_path / "lower.csv"))
    assert receipt.status.value == "accepted", [f.message for f in receipt.findings.listed]
