"""The two workbook readers give the submitter the same receipt.

fastexcel reads most sheets as Arrow columns; a sheet it cannot render exactly is read by
python-calamine. Both must see the same texts, rows and letters, so each edge case is read both
ways and compared whole, and the texts a submitter would see in a finding are pinned.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter

from gateway.contract.formats import parse_date
from gateway.engine.pipeline import validate_file
from tests.readers.workbook_cases import CASES, outcome, same_outcome, typed_columns


@pytest.mark.parametrize("name", sorted(CASES))
def test_both_readers_see_the_same_workbook(tmp_path: Path, name: str) -> None:
    write, fast = CASES[name]
    path = write(tmp_path / f"{name}.xlsx")
    same, read_by, where = same_outcome(path)
    assert same, f"the readers differ in {where}"
    if fast:
        assert read_by == "fastexcel"
    else:  # handed to python-calamine, or rejected by the file layer
        assert read_by in ("python-calamine", "rejected")


def test_the_same_workbook_in_small_batches(tmp_path: Path) -> None:
    path = CASES["many_rows"][0](tmp_path / "many.xlsx")
    same, read_by, where = same_outcome(path, batch_rows=4_000)
    assert same and read_by == "fastexcel", where


def test_cells_read_as_the_submitter_typed_them(tmp_path: Path) -> None:
    seen = outcome(typed_columns(tmp_path / "typed.xlsx"), arrow=True)
    assert seen["read_by"] == "fastexcel"
    frame, rows, _ = seen["batches"][0]
    # row 10 holds only #DIV/0! (an error reads as an empty cell), row 12 nothing: both are
    # blank rows, skipped without renumbering the rest
    assert rows == [2, 3, 4, 5, 6, 7, 8, 9, 11, 13]
    assert frame["whole"][:5] == ["42", "0", "0", "1", "-7"]  # -0.0 too
    assert frame["fraction"][1:3] == ["1e-07", "1.5"]
    assert frame["big"][1] == "100000000000000000000"
    assert frame["date"][0] == "2023-01-05"
    assert frame["datetime"][:2] == ["2023-01-05T13:45", "2023-01-05T00:00"]
    assert frame["datetime"][5] == "2023-01-05"  # a date and time at midnight is a whole day
    assert frame["time"][:2] == ["13:45", "00:00"]
    assert frame["duration"][0] == "1 day, 12:00:00"
    assert frame["percent"][0] == "0.125"
    assert frame["flag"][:2] == ["Y", "N"]
    assert frame["text"][:4] == ["rich bold text", "0123", "Zoë ünïcode", ""]  # #N/A is empty
    assert frame["text"][8] == "merged"  # a merged range's value sits in its first cell
    assert frame["formula_number"][0] == "84" and frame["formula_text"][0] == "cached 0"
    assert frame["whole"][7:9] == ["1000000000000000", "5"]


def test_a_mixed_column_is_read_by_python_calamine(tmp_path: Path) -> None:
    seen = outcome(CASES["mixed_column"][0](tmp_path / "zip.xlsx"), arrow=True)
    assert seen["read_by"] == "python-calamine"
    assert seen["batches"][0][0]["amount"] == ["55401", "55401-1234"]


def test_a_text_fastexcel_would_read_as_empty_keeps_its_text(tmp_path: Path) -> None:
    seen = outcome(CASES["null_texts_among_numbers"][0](tmp_path / "na.xlsx"), arrow=True)
    assert seen["batches"][0][0]["amount"] == ["1", "NA", "nan", "null"]


def test_letters_follow_the_sheet_when_the_table_starts_right_of_column_a(tmp_path: Path) -> None:
    seen = outcome(CASES["leading_columns"][0](tmp_path / "c.xlsx"), arrow=True)
    assert seen["read_by"] == "fastexcel"
    assert seen["cells"]["patient_id"] == "C" and seen["cells"]["note"] == "G"


def test_a_long_cell_in_a_workbook_is_refused_with_its_cell(tmp_path: Path) -> None:
    seen = outcome(CASES["long_cell"][0](tmp_path / "long.xlsx"), arrow=True)
    (finding,) = seen["problem"]
    assert finding.code == "E-FILE-LIMIT" and finding.cell == "E2"


def test_a_patient_workbook_gets_the_same_receipt_either_way(tmp_path: Path, monkeypatch,
                                                            odc_patient_rows) -> None:
    """A whole validation through each reader: typed cells as Excel saves them (numbers,
    dates), two rows breaking rules; the receipts agree but for their ids and times."""
    from gateway.readers import tables, workbook_columns

    header, rows = odc_patient_rows
    rows[3]["age"] = "81"
    rows[6]["a1c_date"] = "2015-03-01"
    path = tmp_path / "odc.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, name in enumerate(header):
            text = row[name]
            if name.endswith("_date") and parse_date(text):
                sheet.write_datetime(r, c, parse_date(text), day)
            elif text.isdigit() and name in ("age", "reporting_year", "bp_systolic"):
                sheet.write_number(r, c, int(text))
            elif text:
                sheet.write_string(r, c, text)
    book.close()

    def comparable(receipt) -> dict:
        seen = receipt.as_dict()
        seen.pop("submission_id")
        seen.pop("created_at")
        seen["file"].pop("received_at")
        return seen

    read = []
    monkeypatch.setattr(tables, "read_sheet_columns",
                        lambda path, **given: read.append(
                            workbook_columns.read_sheet_columns(path, **given))
                        or read[-1])
    fast = validate_file(path, submitter="t")
    assert read and read[0] is not None  # fastexcel read it
    assert sorted(fast.findings.by_code) == ["E-RULE-AGE", "E-RULE-PERIOD"]
    monkeypatch.setattr(tables, "read_sheet_columns", lambda path, **_: None)
    assert comparable(validate_file(path, submitter="t")) == comparable(fast)


def test_a_sheet_with_too_many_empty_cells_to_explain_goes_to_python_calamine(
        tmp_path: Path, monkeypatch) -> None:
    """fastexcel's reasons for empty cells are Python objects, one a cell: past a bound (here
    lowered to one) the sheet is read by python-calamine, with the same outcome."""
    from gateway.readers import workbook_columns

    monkeypatch.setattr(workbook_columns, "_MOST_EMPTY_READS", 1)
    path = typed_columns(tmp_path / "typed.xlsx")  # several number columns with empty cells
    same, read_by, where = same_outcome(path)
    assert same and read_by == "python-calamine", where
