"""A stroke time at exactly midnight in a workbook: Excel stores a date-time at 00:00 as a whole
day, like a date; the cell's number format says which it is (docs/decisions.md, "A date-time
at midnight in a workbook")."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from gateway.engine.pipeline import validate_file
from gateway.readers import tables
from gateway.receipts.model import Status

EXAMPLE = (Path(__file__).resolve().parents[2] / "plugins" / "hospital" / "stroke" / "examples"
           / "2015" / "STROKE" / "patient" / "valid" / "stroke-2015q1.xlsx")
MIDNIGHT = dt.datetime(2015, 1, 18, 0, 0)  # patient S-1002's thrombolytic, J3 (was 00:05)


def _workbook(tmp_path: Path, value: object, number_format: str) -> Path:
    book = openpyxl.load_workbook(EXAMPLE)
    cell = book.active["J3"]
    assert cell.value == dt.datetime(2015, 1, 18, 0, 5)
    cell.value, cell.number_format = value, number_format
    path = tmp_path / "stroke.xlsx"
    book.save(path)
    return path


@pytest.fixture(params=["fastexcel", "python-calamine"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both workbook readers give the same receipt."""
    if request.param == "python-calamine":
        monkeypatch.setattr(tables, "read_sheet_columns", lambda path, **_: None)
    return request.param


def test_a_date_time_cell_at_midnight_is_accepted_as_00_00(tmp_path: Path, reader: str) -> None:
    path = _workbook(tmp_path, MIDNIGHT, "yyyy-mm-dd h:mm:ss")
    receipt = validate_file(path, submitter="t")
    assert receipt.status is Status.ACCEPTED, receipt.findings.listed
    assert receipt.findings.listed == []


def test_a_date_only_cell_in_a_date_time_column_says_the_time_is_missing(
        tmp_path: Path, reader: str) -> None:
    path = _workbook(tmp_path, MIDNIGHT, "yyyy-mm-dd")
    receipt = validate_file(path, submitter="t")
    assert receipt.status is Status.REJECTED
    (finding,) = receipt.findings.listed
    assert finding.code == "E-RECORD-DATE" and finding.cell == "J3"
    assert finding.message == ("thrombolytic_time: 2015-01-18 is a date without a time; the "
                               "column holds a date and a 24-hour time.")
    assert "format the column as date and time" in finding.hint
    assert "type each time" in finding.hint


def test_a_date_typed_as_text_in_a_date_time_column_is_refused_alike(tmp_path: Path,
                                                                    reader: str) -> None:
    path = _workbook(tmp_path, "2015-01-18", "@")
    (finding,) = validate_file(path, submitter="t").findings.listed
    assert finding.code == "E-RECORD-DATE" and finding.cell == "J3"
    assert "is a date without a time" in finding.message


def test_a_midnight_whose_format_cannot_be_looked_up_is_accepted_with_a_warning(
        tmp_path: Path, reader: str) -> None:
    """The cell written without its reference (calamine places it after I3): the lookup by
    reference finds nothing, so the date is read as 00:00 and the receipt says so."""
    source = _workbook(tmp_path, MIDNIGHT, "yyyy-mm-dd h:mm:ss")
    path = tmp_path / "unreferenced.xlsx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as out:
        for info in original.infolist():
            data = original.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(rb'<c r="J3"', b"<c", data)
                assert count == 1
            out.writestr(info, data)
    receipt = validate_file(path, submitter="t")
    assert receipt.status is Status.ACCEPTED_WITH_WARNINGS
    (finding,) = receipt.findings.listed
    assert finding.code == "W-RECORD-MIDNIGHT" and finding.cell == "J3"
    assert finding.message == ("Cell J3 (thrombolytic_time) holds a date at midnight whose "
                               "number format the gateway could not read; it was read as 00:00 "
                               "on that day.")


@pytest.mark.parametrize(("number_format", "accepted"), [("yyyy-mm-dd h:mm:ss", True),
                                                         ("yyyy-mm-dd", False)])
def test_a_workbook_libreoffice_saved_keeps_the_meaning_of_its_format(
        tmp_path: Path, number_format: str, accepted: bool) -> None:
    """LibreOffice writes its own styles (``yyyy\\-mm\\-dd\\ h:mm:ss``, ``t="n"``): the lookup
    reads them as Excel's."""
    from tests.receipts.libreoffice import convert

    source = _workbook(tmp_path, MIDNIGHT, number_format)
    [saved] = convert([source], "xlsx", tmp_path / "libreoffice")
    receipt = validate_file(saved, submitter="t")
    if accepted:
        assert receipt.status is Status.ACCEPTED, receipt.findings.listed
    else:
        (finding,) = receipt.findings.listed
        assert finding.code == "E-RECORD-DATE" and finding.cell == "J3"
        assert "is a date without a time" in finding.message
