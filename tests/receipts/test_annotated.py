"""The annotated copy of the submitter's own file: marked cells with comments, a problems
sheet with links, formula-safe values; for XML a findings CSV."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gateway.engine.pipeline import default_plugins
from gateway.receipts import annotated
from gateway.receipts.annotated import annotated_copy, neutralised
from gateway.receipts.store import write_receipt
from tests.receipts.files import ODC_PATIENT, ROOT, check, read_rows, write_table
from tests.support.system import require_command

ERROR_FILL = "FFFFC7CE"
# OWASP's formula triggers, each in a coded column, so each is also a finding's value.
INJECTIONS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-2+3", "@SUM(A1:A2)",
              "\t=1+1", "\r=1+1"]


def _rejected_odc(tmp_path: Path, suffix: str = ".csv") -> tuple[Path, list[list[str]]]:
    rows = read_rows(ODC_PATIENT)
    header = rows[0]
    rows[1][header.index("payer_type")] = "CASH"
    rows[1][header.index("tobacco_status")] = ""
    rows[4][header.index("age")] = "forty"
    return write_table(rows, tmp_path / f"odc-rejected{suffix}"), rows


def _write(receipt: object, document: Path, folder: Path) -> Path:
    write_receipt(receipt, folder, default_plugins().catalog, document=document)  # type: ignore[arg-type]
    [copy] = list(folder.glob("*.annotated.xlsx")) or list(folder.glob("*.findings.csv"))
    return copy


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_every_problem_cell_is_filled_and_commented(tmp_path: Path, suffix: str) -> None:
    path, rows = _rejected_odc(tmp_path, suffix)
    receipt = check(path)
    book = load_workbook(_write(receipt, path, tmp_path / "out"))
    data, problems = book.worksheets
    assert problems.title == "problems"
    assert data.freeze_panes == "A2" and problems.freeze_panes == "A2"
    # the submitted data, cell for cell
    for r, row in enumerate(rows, start=1):
        assert [str(c.value if c.value is not None else "") for c in data[r]][:len(row)] == row
    listed = receipt.findings.listed
    assert len(listed) == 3
    for finding in listed:
        cell = data[finding.cell]
        assert cell.fill.fgColor.rgb == ERROR_FILL, finding.cell
        assert finding.message in cell.comment.text and finding.hint in cell.comment.text
    unmarked = data["B2"]
    assert unmarked.comment is None and unmarked.fill.fgColor.rgb != ERROR_FILL
    lines = list(problems.iter_rows(min_row=2, values_only=False))
    assert len(lines) == len(listed)
    for line, finding in zip(lines, listed, strict=True):
        assert [line[1].value, line[2].value, line[3].value] == [
            finding.code, finding.row, finding.column]
        assert line[4].hyperlink.location == f"'{data.title}'!{finding.cell}"
        assert line[6].value == finding.message and line[7].value == finding.hint


def test_values_that_look_like_formulas_are_neutralised(tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    payer = rows[0].index("payer_type")
    for i, value in enumerate(INJECTIONS, start=1):
        rows[i][payer] = value
    path = write_table(rows, tmp_path / "injected.csv")
    receipt = check(path)
    book = load_workbook(_write(receipt, path, tmp_path / "out"))
    data, problems = book.worksheets
    seen = 0
    for sheet in (data, problems):
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(annotated._RISKY_STARTS):
                    assert cell.data_type == "s", cell.coordinate  # text, never a formula
                    assert cell.quotePrefix, cell.coordinate
                    seen += 1
    assert seen >= 2 * len(INJECTIONS)  # each on the data sheet and as a finding's value
    for value in INJECTIONS:
        assert neutralised(value) == "'" + value
    assert neutralised("PRIVATE") == "PRIVATE"


def test_an_xml_file_gets_its_findings_as_a_neutralised_csv(tmp_path: Path) -> None:
    source = ROOT / "plugins/hospital/cart/examples/2015/CART/summary/valid/cart-2015q1-pps.xml"
    text = source.read_text().replace('id="IMM-2"', 'id="=cmd|\' /C calc\'!A0"', 1)
    path = tmp_path / "cart.xml"
    path.write_text(text)
    receipt = check(path)
    copy = _write(receipt, path, tmp_path / "out")
    assert copy.name.endswith(".cart.xml.findings.csv")
    table = list(csv.reader(io.StringIO(copy.read_bytes().decode("utf-8-sig"))))
    assert table[0] == ["severity", "code", "line", "xpath", "column", "value", "message",
                        "how to fix"]
    values = [line[5] for line in table[1:]]
    assert "'=cmd|' /C calc'!A0" in values  # echoed as written, neutralised
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for line in table
               for cell in line)
    finding = receipt.findings.listed[0]
    assert table[1][2] == str(finding.line) and table[1][3] == finding.xpath


def test_no_copy_for_an_accepted_file(tmp_path: Path) -> None:
    receipt = check(ODC_PATIENT)
    assert annotated_copy(receipt, ODC_PATIENT) is None
    write_receipt(receipt, tmp_path, default_plugins().catalog, document=ODC_PATIENT)
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".json", ".txt"]


def test_a_big_file_keeps_only_rows_with_findings_after_the_cap(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    monkeypatch.setattr(annotated, "MAX_COPIED_ROWS", 10)
    rows = read_rows(ODC_PATIENT)
    age = rows[0].index("age")
    rows[3][age] = "forty"   # row 4: within the first 10 data rows
    rows[60][age] = "sixty"  # row 61: after them
    path = write_table(rows, tmp_path / "big.csv")
    receipt = check(path)
    data = load_workbook(_write(receipt, path, tmp_path / "out")).worksheets[0]
    kept = [r[0].row for r in data.iter_rows() if any(c.value is not None for c in r)]
    # header, 10 data rows, then only the marked row; the printed notes after a blank row
    assert kept == [*range(1, 12), 61, 63, 64, 65]
    assert str(data["A63"].value).startswith("Notes on the marked cells")
    assert data["E61"].value == "sixty" and data["E61"].comment is not None


def test_validate_out_writes_the_copy(tmp_path: Path) -> None:
    path, _ = _rejected_odc(tmp_path)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "gateway", "validate", str(path),
                           "--submitter", "clinic-a", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1
    assert len(list(out.glob("*.odc-rejected.csv.annotated.xlsx"))) == 1


def _ppm_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and RGB bytes of a binary PPM (what pdftoppm writes by default)."""
    fields: list[bytes] = []
    position = 0
    while len(fields) < 4:
        while data[position:position + 1].isspace():
            position += 1
        end = position
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    assert fields[0] == b"P6"
    width, height = int(fields[1]), int(fields[2])
    return width, height, data[position + 1:]


def test_libreoffice_opens_the_annotated_workbook_and_shows_the_marks(tmp_path: Path) -> None:
    soffice = require_command("soffice", "libreoffice-calc-nogui")
    pdftotext = require_command("pdftotext", "poppler-utils")
    pdftoppm = require_command("pdftoppm", "poppler-utils")
    path, _ = _rejected_odc(tmp_path)
    receipt = check(path)
    workbook = _write(receipt, path, tmp_path / "out")
    profile = tmp_path / "lo-profile"
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(workbook)],
                   check=True, capture_output=True, timeout=300)
    pdf = tmp_path / (workbook.stem + ".pdf")
    text = subprocess.run([pdftotext, "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    for finding in receipt.findings.listed:  # the problems sheet, as printed
        assert finding.code in text and finding.column in text
        assert " ".join(finding.message.split()[:4]) in " ".join(text.split())
    assert "CASH" in text and "forty" in text  # the submitted values, on the data sheet
    image = subprocess.run([pdftoppm, "-r", "60", "-f", "1", "-l", "1", str(pdf)],
                           check=True, capture_output=True).stdout
    width, height, pixels = _ppm_pixels(image)
    marked = sum(1 for i in range(0, len(pixels), 3)
                 if abs(pixels[i] - 0xFF) < 8 and abs(pixels[i + 1] - 0xC7) < 8
                 and abs(pixels[i + 2] - 0xCE) < 8)
    assert width > 0 and height > 0
    assert marked > 20, "no cell on the first page is filled red"


def test_a_warned_file_gets_a_copy_with_the_warning_marked_amber(tmp_path: Path) -> None:
    source = ROOT / "plugins/clinic/mncm/examples/2015/odc/summary/valid/odc-summary-full.csv"
    rows = read_rows(source)
    index = next(i for i, r in enumerate(rows) if i and r[-1] == "" and r[-2] == "")
    rows[index] = rows[index][:-2]  # a short row: accepted with a warning
    path = write_table(rows, tmp_path / "short.csv")
    receipt = check(path)
    assert receipt.status.value == "accepted_with_warnings"
    [finding] = receipt.findings.listed
    data = load_workbook(_write(receipt, path, tmp_path / "out")).worksheets[0]
    assert data[finding.cell].fill.fgColor.rgb == "FFFFEB9C"
    assert finding.message in data[finding.cell].comment.text


def test_a_finding_about_a_column_marks_its_header_cell(tmp_path: Path) -> None:
    path = ROOT / ("plugins/clinic/mncm/examples/2015/aem/summary/invalid/"
                   "E-RULE-TOTALS--no-total-row-for-all.csv")
    receipt = check(path)
    [finding] = receipt.findings.listed
    assert finding.row is None and finding.column == "component"
    book = load_workbook(_write(receipt, path, tmp_path / "out"))
    data, problems = book.worksheets
    header = [c.value for c in data[1]]
    cell = data.cell(row=1, column=header.index("component") + 1)
    assert finding.message in cell.comment.text
    assert problems["E2"].hyperlink.location == f"'data'!{cell.coordinate}"


def test_a_file_refused_for_its_safety_is_not_opened_again(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    path, _ = _rejected_odc(tmp_path, ".xlsx")
    receipt = check(path)
    from gateway.contract.findings import Finding, FindingList

    receipt.findings = FindingList()
    receipt.reject("file", Finding("E-FILE-UNSAFE-ZIP", "The workbook unpacks too large.",
                                   hint="Send the data as CSV."))
    opened: list[Path] = []
    monkeypatch.setattr(annotated, "_xlsx_rows", lambda p: opened.append(p))
    copy = annotated_copy(receipt, path)
    assert copy is not None and opened == []
    problems = load_workbook(io.BytesIO(copy.data)).worksheets[1]
    assert problems["B2"].value == "E-FILE-UNSAFE-ZIP"
