"""The annotated copy prints: the submitted workbook's column widths and date formats kept,
dates as dates, the header row on every page, fitted to the page width only when the text
stays readable, the cell notes printed at the end, the problems sheet printable on its own.
Checked the way a submitter prints it: LibreOffice converts the copy to PDF."""

from __future__ import annotations

import re
import statistics
import subprocess

import pytest
from openpyxl import load_workbook

from gateway.engine.pipeline import default_plugins
from gateway.receipts.source_layout import workbook_layout
from gateway.receipts.store import write_receipt
from tests.receipts.files import ODC_PATIENT, check, read_rows
from tests.receipts.libreoffice import convert, csv_and_libreoffice_xlsx
from tests.support.system import require_command

MIN_POINTS = 7.0  # the smallest text height that still reads on paper


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A rejected 21-column patient file saved by LibreOffice, its annotated copy, and the
    copy converted to PDF by LibreOffice."""
    folder = tmp_path_factory.mktemp("printed")
    rows = read_rows(ODC_PATIENT)
    header = rows[0]
    rows[1][header.index("payer_type")] = "Medicaid"
    rows[3][header.index("a1c_date")] = "4/31/2015"
    rows[60][header.index("gender")] = "Female"
    _, workbook = csv_and_libreoffice_xlsx(rows, folder, "odc-wide")
    receipt = check(workbook)
    assert receipt.status.value == "rejected" and len(header) >= 21
    write_receipt(receipt, folder / "out", default_plugins().catalog, document=workbook)
    [copy] = (folder / "out").glob("*.annotated.xlsx")
    [pdf] = convert([copy], "pdf", folder / "pdf")
    return {"source": workbook, "copy": copy, "pdf": pdf, "receipt": receipt,
            "folder": folder, "text": next((folder / "out").glob("*.receipt.txt"))}


def test_the_copy_keeps_widths_and_dates_of_the_submitted_workbook(printed: dict) -> None:
    source = workbook_layout(printed["source"], "odc-wide")
    book = load_workbook(printed["copy"])
    data = book.worksheets[0]
    header = [c.value for c in data[1]]
    for index, width in source.widths.items():
        if index < len(header):
            letter = data.cell(row=1, column=index + 1).column_letter
            assert data.column_dimensions[letter].width >= width - 0.8, letter
    date_cell = data.cell(row=2, column=header.index("a1c_date") + 1)
    assert date_cell.is_date, "a date of the submitted workbook is a date in the copy"
    npi = data.cell(row=2, column=header.index("clinic_npi") + 1)
    letter = npi.column_letter
    assert data.column_dimensions[letter].width >= len(str(npi.value))  # shows whole


def test_the_copy_has_a_print_set_up_for_each_sheet(printed: dict) -> None:
    book = load_workbook(printed["copy"])
    data, problems = book.worksheets[0], book["problems"]
    assert data.print_title_rows == "$1:$1" and problems.print_title_rows == "$1:$1"
    assert data.page_setup.orientation == "landscape"
    # 21 columns fitted to one page would print unreadably small: not fitted
    assert not data.sheet_properties.pageSetUpPr.fitToPage
    assert problems.sheet_properties.pageSetUpPr.fitToPage  # the problems sheet fits
    assert data.print_title_cols  # the patient id on every page


def test_the_pdf_is_readable_and_prints_the_notes(printed: dict) -> None:
    pdftotext = require_command("pdftotext", "poppler-utils")
    text = subprocess.run([pdftotext, "-layout", str(printed["pdf"]), "-"], check=True,
                          capture_output=True, text=True).stdout
    flat = " ".join(text.split())
    assert "Notes on the marked cells" in flat
    for finding in printed["receipt"].findings.listed:
        assert f"{finding.cell}: {finding.code}" in flat  # each note, printed
    assert "April has 30 days" in flat and "Did you mean MHCP?" in flat
    bbox = subprocess.run([pdftotext, "-bbox", str(printed["pdf"]), "-"], check=True,
                          capture_output=True, text=True).stdout
    heights = [float(b) - float(a) for a, b in re.findall(
        r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', bbox)]
    assert heights and statistics.median(heights) >= MIN_POINTS, statistics.median(heights)
    pages = bbox.count("<page ")
    assert 2 <= pages <= 30


def test_a_rendered_page_shows_the_marked_cell(printed: dict) -> None:
    pdftoppm = require_command("pdftoppm", "poppler-utils")
    subprocess.run([pdftoppm, "-png", "-r", "40", "-f", "1", "-l", "1", str(printed["pdf"]),
                    str(printed["folder"] / "page")], check=True)
    [png] = printed["folder"].glob("page*.png")
    assert png.stat().st_size > 2000  # a page with content, not a blank one


def test_the_text_receipt_names_the_copy(printed: dict) -> None:
    text = printed["text"].read_text(encoding="utf-8")
    assert f"Annotated copy: {printed['copy'].name}" in text
