"""Receipts that reason like an abstractor (issue 19), tried on a CSV and on the .xlsx
LibreOffice saves from it: the advice of the rule that failed, dates as people get them
wrong, code words with the code they stand for, a renamed header as one problem, which sheet
and row the header was read from, and which checks did not run."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.engine.pipeline import default_plugins
from gateway.receipts.model import Receipt
from gateway.receipts.schema import receipt_errors
from gateway.receipts.text import render_text
from tests.receipts.files import ODC_PATIENT, check, read_rows, write_table
from tests.receipts.libreoffice import csv_and_libreoffice_xlsx

# column -> value planted on a row of its own (the row's other cells stay valid)
PLANTED = {
    "payer": ("payer_type", "Medicaid"),
    "sex": ("gender", "Female"),
    "diabetes": ("diabetes_type", "Type 2"),
    "yes": ("ivd", "Yes"),
    "blank_bp_date": ("bp_date", ""),
    "date_without_value": ("a1c_value", ""),
    "april_31": ("a1c_date", "4/31/2015"),
    "serial": ("a1c_date", "41809"),
    "day_month": ("a1c_date", "31/03/2015"),
    "two_digit_year": ("a1c_date", "3/3/15"),
}
FORMS = ("csv", "libreoffice-xlsx")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Receipt, dict]]:
    """One ODC patient file with every mistake of ``PLANTED`` on its own row, as a CSV and as
    LibreOffice saves it; per form its receipt and the sheet row of each mistake."""
    rows = read_rows(ODC_PATIENT)
    header = rows[0]
    at = {name: header.index(name) for name in header}
    # rows whose a1c and blood pressure are all given, so one blank is the only problem
    full = [i for i, row in enumerate(rows) if i and row[at["a1c_value"]]
            and row[at["bp_date"]] and row[at["ivd"]] == "N"]
    where: dict[str, int] = {}
    for (key, (column, value)), index in zip(PLANTED.items(), full, strict=False):
        rows[index][at[column]] = value
        where[key] = index + 1  # the sheet row (header = 1)
    assert len(where) == len(PLANTED)
    folder = tmp_path_factory.mktemp("planted")
    paths = csv_and_libreoffice_xlsx(rows, folder, "odc-planted")
    return {form: (check(path), where) for form, path in zip(FORMS, paths, strict=True)}


def _at(receipt: Receipt, row: int, column: str) -> dict:
    [found] = [f for f in receipt.as_dict()["findings"]
               if f["row"] == row and f["column"] == column]
    return found


@pytest.mark.parametrize("form", FORMS)
def test_a_blank_required_date_is_told_to_fill_it_in_not_how_to_write_a_date(
        planted: dict, form: str) -> None:
    receipt, where = planted[form]
    for key, column in (("blank_bp_date", "bp_date"), ("date_without_value", "a1c_date")):
        finding = _at(receipt, where[key], column)
        assert finding["code"] in ("E-RECORD-REQUIRED", "E-RECORD-NOT-ALLOWED")
        assert "YYYY" not in finding["hint"] and "Write the date" not in finding["hint"]
        assert "Fill in" in finding["hint"] or "Clear" in finding["hint"]


@pytest.mark.parametrize("form", FORMS)
def test_an_impossible_date_says_why_and_an_excel_serial_is_named(planted: dict,
                                                                  form: str) -> None:
    receipt, where = planted[form]
    april = _at(receipt, where["april_31"], "a1c_date")
    assert "April has 30 days" in april["message"] and april["suggestion"] is None
    serial = _at(receipt, where["serial"], "a1c_date")
    assert serial["code"] == "E-RECORD-DATE"  # judged as sent
    assert "Excel date serial" in serial["message"] and "2014-06-19" in serial["message"]
    assert serial["suggestion"] == "2014-06-19" and "format" in serial["hint"].lower()
    day_month = _at(receipt, where["day_month"], "a1c_date")
    assert "day-month order" in day_month["message"]
    assert day_month["suggestion"] == "2015-03-31"


def test_a_two_digit_year_is_named_as_such(planted: dict) -> None:
    # LibreOffice reads 3/3/15 as a date when it opens the CSV, so only the CSV still has it
    receipt, where = planted["csv"]
    found = _at(receipt, where["two_digit_year"], "a1c_date")
    assert "two-digit year" in found["message"] and found["suggestion"] == "2015-03-03"


@pytest.mark.parametrize("form", FORMS)
def test_code_words_are_echoed_as_written_with_the_code_as_suggestion(planted: dict,
                                                                      form: str) -> None:
    receipt, where = planted[form]
    for key, column, written, code in (("payer", "payer_type", "Medicaid", "MHCP"),
                                       ("sex", "gender", "Female", "F"),
                                       ("diabetes", "diabetes_type", "Type 2", "2"),
                                       ("yes", "ivd", "Yes", "Y")):
        finding = _at(receipt, where[key], column)
        assert finding["code"] == "E-RECORD-CODE"  # never applied
        assert finding["value"] == written and f"'{written}'" in finding["message"]
        assert finding["suggestion"] == code


@pytest.mark.parametrize("form", FORMS)
def test_every_finding_names_its_patient_and_the_receipt_is_valid(planted: dict,
                                                                  form: str) -> None:
    receipt, _ = planted[form]
    document = receipt.as_dict()
    assert receipt_errors(document) == []
    ids = {row[3] for row in read_rows(ODC_PATIENT)[1:]}
    for finding in document["findings"]:
        assert finding["record"]["patient_id"] in ids
        assert finding["caused_by"] is None
    text = render_text(receipt, default_plugins().catalog)
    assert f"patient {document['findings'][0]['record']['patient_id']}, row" in text


@pytest.mark.parametrize("form", FORMS)
def test_what_did_not_run_is_said_in_json_and_text(planted: dict, form: str) -> None:
    receipt, _ = planted[form]
    document = receipt.as_dict()
    assert document["layer"] == "record"
    assert [n["layer"] for n in document["not_checked"]] == ["file_rules", "submitter"]
    assert all(n["reason"] for n in document["not_checked"])
    text = render_text(receipt, default_plugins().catalog)
    assert "Not checked: the checks across records" in text
    assert "Fixing the problems shown may reveal others." in text


def test_an_accepted_file_without_a_registry_says_the_submitter_was_not_checked() -> None:
    document = check(ODC_PATIENT).as_dict()
    assert document["status"] == "accepted"
    assert document["not_checked"] == [{"layer": "submitter", "reason": document[
        "not_checked"][0]["reason"]}]
    assert "registry" in document["not_checked"][0]["reason"]


@pytest.mark.parametrize("form", FORMS)
def test_a_renamed_header_is_one_finding_with_the_expected_name(tmp_path: Path,
                                                                 form: str) -> None:
    rows = read_rows(ODC_PATIENT)
    rows[0][rows[0].index("payer_type")] = "Payer"
    path = csv_and_libreoffice_xlsx(rows, tmp_path, "renamed")[FORMS.index(form)]
    [finding] = check(path).as_dict()["findings"]
    assert finding["code"] == "E-HEADER-MISSING-COLUMN" and finding["column"] == "payer_type"
    assert finding["suggestion"] == "payer_type" and "payer" in finding["message"].lower()
    assert finding["cell"] == "H1"


def test_a_workbook_says_which_sheet_and_row_the_header_was_read_from(tmp_path: Path) -> None:
    from openpyxl import Workbook

    rows = read_rows(ODC_PATIENT)
    book = Workbook()
    book.active.title = "Cover"
    book.active.append(["ODC submission 2015"])
    data = book.create_sheet("Patients")
    for row in rows:
        data.append(row)
    book.save(tmp_path / "cover.xlsx")
    titled = write_table([["Optimal diabetes care 2015"], *rows], tmp_path / "titled.xlsx")
    for path, words in ((tmp_path / "cover.xlsx", ("sheet 'Cover'", "'Patients'")),
                        (titled, ("row 1 of sheet", "'optimal diabetes care 2015'"))):
        [finding] = check(path).as_dict()["findings"]
        assert all(w in finding["message"] for w in words), finding["message"]
        assert "gateway template" not in finding["hint"]  # an operator's command


def test_a_title_line_above_a_csv_header_is_named(tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    path = write_table([["Optimal diabetes care 2015"], *rows], tmp_path / "titled.csv")
    [finding] = check(path).as_dict()["findings"]
    assert "looks like a title" in finding["message"] and "title" in finding["hint"]
