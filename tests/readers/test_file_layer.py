"""The file layer: formats from content, encodings, safe XML and workbooks, headers."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Status


def codes(receipt) -> list[str]:
    return sorted(receipt.findings.by_code)


def test_utf8_bom_is_stripped(write_csv, odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    receipt = validate_file(write_csv("bom.csv", header, rows, prefix=b"\xef\xbb\xbf"),
                            submitter="t")
    assert receipt.status is Status.ACCEPTED, codes(receipt)


def test_windows_1252_file_is_rejected_with_offset_and_advice(write_csv,
                                                               odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    rows[1]["patient_id"] = "JOS\u00c9-7"
    path = write_csv("cp1252.csv", header, rows, encoding="cp1252")
    receipt = validate_file(path, submitter="t")
    assert receipt.layer == "file" and codes(receipt) == ["E-FILE-ENCODING"]
    finding = receipt.findings.listed[0]
    offset = path.read_bytes().index(b"\xc9")
    assert f"byte {offset:,}" in finding.message and finding.line == 3
    assert "Windows-1252" in finding.message


def test_xlsx_and_csv_of_the_same_data_give_the_same_findings(tmp_path: Path, write_csv,
                                                              odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    rows[3]["age"] = "81"            # file rule: age range
    rows[6]["a1c_date"] = "2015-03-01"  # file rule: period
    csv_path = write_csv("same.csv", header, rows)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(header)
    for row in rows:
        sheet.append([row[c] for c in header])
    xlsx_path = tmp_path / "same.xlsx"
    book.save(xlsx_path)
    from_csv = validate_file(csv_path, submitter="t")
    from_xlsx = validate_file(xlsx_path, submitter="t")
    assert from_xlsx.file.format == "xlsx" and from_csv.file.format == "csv"

    def comparable(receipt):
        return [(f.code, f.row, f.column, f.value) for f in receipt.findings.listed]
    assert comparable(from_csv) == comparable(from_xlsx)
    assert sorted(from_csv.findings.by_code) == ["E-RULE-AGE", "E-RULE-PERIOD"]


def test_xml_with_a_dtd_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "laughs.xml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<root>&lol2;</root>\n')
    receipt = validate_file(path, submitter="t")
    assert receipt.layer == "file" and codes(receipt) == ["E-FILE-UNSAFE-XML"]
    assert receipt.findings.listed[0].line == 2


def test_a_csv_that_is_really_a_workbook_names_both_formats(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    path = tmp_path / "upload.csv"
    book.save(path)
    receipt = validate_file(path, submitter="t")
    assert codes(receipt) == ["E-FILE-FORMAT-MISMATCH"]
    message = receipt.findings.listed[0].message
    assert ".csv" in message and "XLSX" in message


@pytest.mark.parametrize(("name", "code", "words"), [
    ("export.csv", "E-FILE-FORMAT-MISMATCH", (".csv", "ZIP", "CSV")),
    ("cart.xml", "E-FILE-FORMAT-MISMATCH", (".xml", "ZIP", "XML")),
    ("export.zip", "E-FILE-FORMAT", ("ZIP",))])
def test_a_zip_archive_is_refused_naming_the_name_and_the_content(
        tmp_path: Path, name: str, code: str, words: tuple[str, ...]) -> None:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("odc.csv", "clinic_npi,measure_id\n")
    receipt = validate_file(path, submitter="t")
    assert receipt.layer == "file" and codes(receipt) == [code]
    finding = receipt.findings.listed[0]
    assert all(word in finding.message for word in words) and finding.hint


@pytest.mark.parametrize("name", ["old.xls", "macros.xlsm", "calc.ods"])
def test_other_workbook_kinds_are_refused_with_advice(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    receipt = validate_file(path, submitter="t")
    assert codes(receipt) == ["E-FILE-UNSUPPORTED-WORKBOOK"]
    assert "Save As" in receipt.findings.listed[0].hint


def test_zip_bomb_workbook_is_refused_before_unpacking(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    receipt = validate_file(path, submitter="t")
    assert codes(receipt) == ["E-FILE-UNSAFE-ZIP"]


@pytest.mark.parametrize("content", [b"", b"clinic_npi,measure_id,patient_id\r\n",
                                     b"clinic_npi,measure_id\r\n\r\n,\r\n"])
def test_empty_and_header_only_files_are_rejected_as_empty(tmp_path: Path,
                                                           content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    assert codes(validate_file(path, submitter="t")) == ["E-FILE-EMPTY"]


def test_header_names_are_matched_loosely_and_unknown_ones_get_a_suggestion(
        write_csv, odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    shuffled = [f"  {c.upper()} " for c in reversed(header)]
    renamed = [{f"  {k.upper()} ": v for k, v in r.items()} for r in rows]
    assert validate_file(write_csv("loose.csv", shuffled, renamed),
                         submitter="t").status is Status.ACCEPTED
    typo = [("a1c_valu" if c == "a1c_value" else c) for c in header]
    rows_typo = [{("a1c_valu" if k == "a1c_value" else k): v for k, v in r.items()}
                 for r in rows]
    receipt = validate_file(write_csv("typo.csv", typo, rows_typo), submitter="t")
    # a renamed column is one problem (specs README section 4): the expected column is
    # missing, the unknown header is named as its rename, the expected name suggested
    assert codes(receipt) == ["E-HEADER-MISSING-COLUMN"]
    [renamed_column] = receipt.findings.listed
    assert "a1c_valu" in renamed_column.message and renamed_column.cell is not None
    assert renamed_column.suggestion == "a1c_value" and renamed_column.column == "a1c_value"
    assert receipt.findings.errors == 1  # one per column, not one per row


def test_ragged_csv_is_malformed_with_its_line(tmp_path: Path, odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    lines = [",".join(header)] + [",".join(r[c] for c in header) for r in rows]
    lines[4] += ",extra"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    receipt = validate_file(path, submitter="t")
    assert codes(receipt) == ["E-FILE-MALFORMED"]
    assert "Line 5" in receipt.findings.listed[0].message


def test_blank_rows_are_skipped_without_renumbering(tmp_path: Path, odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    rows[2]["payer_type"] = "MEDICAID"
    lines = [",".join(header), ",".join(rows[0][c] for c in header), ""]
    lines += [",".join(r[c] for c in header) for r in rows[1:]]
    path = tmp_path / "blank.csv"
    path.write_text("\n".join(lines) + "\n")
    receipt = validate_file(path, submitter="t")
    finding = receipt.findings.listed[0]
    assert finding.code == "E-RECORD-CODE" and finding.row == 5  # header, row, blank, row, bad


def test_symlink_upload_is_refused_unread(tmp_path: Path) -> None:
    target = tmp_path / "secret.csv"
    target.write_text("a,b\n1,2\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert codes(validate_file(link, submitter="t")) == ["E-FILE-NOT-REGULAR"]


def test_bad_file_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "my file (1).csv"
    path.write_text("a,b\n1,2\n")
    assert codes(validate_file(path, submitter="t")) == ["E-FILE-NAME"]


@pytest.mark.parametrize("padding", [" ", "\t", "\x1f", "\u00a0", "\u3000", "\u2003", "\x85"])
def test_cells_are_trimmed_as_python_strips_them(tmp_path: Path, odc_patient_rows,
                                                 padding: str) -> None:
    """A code padded with ASCII or Unicode spaces (a non-breaking space pasted from a web page)
    is read as the code; a space inside a cell is kept, so that cell is still wrong."""
    header, rows = odc_patient_rows
    rows[0]["payer_type"] = f"{padding}MEDICARE{padding}"
    rows[1]["gender"] = f"{padding}F"
    rows[2]["tobacco_status"] = f"FR{padding}EE"  # inside the cell: not trimmed
    path = tmp_path / "padded.csv"
    path.write_text("\n".join([",".join(header)] + [",".join(r[c] for c in header)
                                                    for r in rows]) + "\n", encoding="utf-8")
    receipt = validate_file(path, submitter="t")
    assert [(f.code, f.row, f.column) for f in receipt.findings.listed] == [
        ("E-RECORD-CODE", 4, "tobacco_status")]
