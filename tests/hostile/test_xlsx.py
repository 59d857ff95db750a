"""Hostile workbooks: refused before the spreadsheet reader unpacks or allocates anything, with
a message that tells a hospital what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile import files
from tests.hostile.judge import judged, refusal, refused_in


def test_an_honest_zip_bomb_is_refused_from_the_directory(tmp_path: Path) -> None:
    path = files.zip_bomb(tmp_path / "edtc.xlsx", 200, lie=False)
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSAFE-ZIP"
    assert "looks like a ZIP bomb" in finding["message"]


def test_a_zip_bomb_behind_a_lying_directory_is_refused_after_one_chunk(tmp_path: Path) -> None:
    path = files.zip_bomb(tmp_path / "edtc.xlsx", 1000, lie=True)
    assert path.stat().st_size < 2 * files.MIB  # a gigabyte of spaces, declared as 4 KB
    finding = refused_in(path, 50)
    assert finding["code"] == "E-FILE-UNSAFE-ZIP"
    assert "unpacks to more than the" in finding["message"]
    assert "its directory declares" in finding["message"]


@pytest.mark.parametrize("name", ["edtc.xlsx", "edtc.xlsm"])
def test_a_macro_enabled_workbook_is_refused_by_content_or_name(tmp_path: Path,
                                                                name: str) -> None:
    types = files.workbook_part("[Content_Types].xml").replace(
        b"spreadsheetml.sheet.main+xml", b"ms-excel.sheet.macroEnabled.main+xml")
    path = files.rebuilt_workbook(tmp_path / name, replace={"[Content_Types].xml": types})
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSUPPORTED-WORKBOOK"
    assert "macro-enabled workbook (.xlsm)" in finding["message"]


def test_external_links_are_refused(tmp_path: Path) -> None:
    link = (b'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<externalBook r:id="rId1" xmlns:r="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships"/></externalLink>')
    rels = (b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships/externalLinkPath" Target="file:///C:/secret/other.xlsx" '
            b'TargetMode="External"/></Relationships>')
    path = files.rebuilt_workbook(tmp_path / "edtc.xlsx", add={
        "xl/externalLinks/externalLink1.xml": link,
        "xl/externalLinks/_rels/externalLink1.xml.rels": rels})
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-EXTERNAL-LINK"
    assert "external links" in finding["message"] and "Break Link" in finding["hint"]


def test_a_workbook_with_shared_strings_is_read(tmp_path: Path) -> None:
    """The workbook the entity cases start from is a good one."""
    receipt = judged(files.shared_strings_workbook(tmp_path / "edtc.xlsx"))
    assert receipt["status"] == "accepted", receipt["findings"][:2]


def test_an_entity_in_the_shared_strings_is_refused(tmp_path: Path) -> None:
    path = files.shared_strings_workbook(tmp_path / "edtc.xlsx", doctype=True)
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSAFE-XML"
    assert finding["message"] == ("The workbook's part xl/sharedStrings.xml declares a DOCTYPE; "
                                  "DTDs and entities are refused (Excel never writes them).")


def test_an_entity_in_a_sheet_is_refused(tmp_path: Path) -> None:
    part = "xl/worksheets/sheet1.xml"
    path = files.rebuilt_workbook(tmp_path / "edtc.xlsx", replace={
        part: files.with_doctype(files.workbook_part(part)).replace(b"<t>ccn<", b"<t>&e;<")})
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSAFE-XML"
    assert finding["message"] == (f"The workbook's part {part} declares a DOCTYPE; DTDs and "
                                  "entities are refused (Excel never writes them).")


def test_a_text_table_claiming_two_billion_entries_is_refused_before_the_reader_reserves_them(
        tmp_path: Path) -> None:
    """The reader reserves room for uniqueCount texts up front (48 GB here) and aborts; count,
    the number of cells using a text, may honestly be far larger than the table."""
    plain = files.shared_strings_workbook(tmp_path / "plain.xlsx")
    table = files.workbook_part("xl/sharedStrings.xml", plain)
    many_uses = table.replace(b"<sst ", b'<sst count="2000000000" ')
    assert judged(files.rebuilt_workbook(tmp_path / "uses.xlsx", source=plain, replace={
        "xl/sharedStrings.xml": many_uses}))["status"] == "accepted"
    lying = table.replace(b"<sst ", b'<sst uniqueCount="2000000000" ')
    path = files.rebuilt_workbook(tmp_path / "edtc.xlsx", source=plain,
                                  replace={"xl/sharedStrings.xml": lying})
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-MALFORMED"
    assert "claims 2,000,000,000 entries" in finding["message"]


def test_a_sheet_filled_to_row_1048576_is_refused_before_it_is_loaded(tmp_path: Path) -> None:
    header = b'<row r="1">' + b"".join(b'<c r="%s1" t="inlineStr"><is><t>c%d</t></is></c>'
                                        % (chr(65 + i).encode(), i) for i in range(26)) + b"</row>"
    rows = (b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (n, n)
            for n in range(2, 1_048_577))
    path = files.workbook_with_sheet(tmp_path / "edtc.xlsx", files.sheet_xml([header, *rows]))
    finding = refused_in(path, 80)
    assert finding["code"] == "E-FILE-LIMIT"
    assert finding["message"] == ("A sheet of the workbook uses cells up to Z1048576: "
                                  "27,262,976 cells counted from A1, more than the 20,000,000 a "
                                  "sheet may span.")
    assert "Ctrl+End" in finding["hint"]


def test_one_far_away_cell_does_not_make_the_reader_allocate_the_grid(tmp_path: Path) -> None:
    """Without the check the spreadsheet reader allocates 1,048,576 x 16,384 cells and aborts
    the process."""
    sheet = [b'<row r="1"><c r="A1" t="inlineStr"><is><t>ccn</t></is></c></row>',
             b'<row r="1048576"><c s="0" r="XFD1048576"><v>1</v></c></row>']
    path = files.workbook_with_sheet(tmp_path / "edtc.xlsx", files.sheet_xml(sheet))
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-LIMIT" and "XFD1048576" in finding["message"]


def test_cells_without_references_count_as_a_row_wide(tmp_path: Path) -> None:
    wide = b"<row>" + b"<c><v>1</v></c>" * 30_000 + b"</row>"
    far = b'<row r="1000"><c r="A1000"><v>1</v></c></row>'
    path = files.workbook_with_sheet(tmp_path / "edtc.xlsx", files.sheet_xml([wide, far]))
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-LIMIT" and "a sheet may span" in finding["message"]


def test_a_password_protected_workbook_is_named_so_not_called_xls(tmp_path: Path) -> None:
    path = files.encrypted_workbook(tmp_path / "edtc.xlsx")
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-ENCRYPTED"
    assert finding["message"] == ("The workbook is password-protected (encrypted), so the "
                                  "gateway cannot read it.")
    assert "delete the password" in finding["hint"]
    assert ".xls" not in finding["message"]


@pytest.mark.parametrize("name", ["edtc.xls", "edtc.xlsx", "edtc.csv"])
def test_an_excel_97_2003_file_is_refused_by_content_whatever_its_name(tmp_path: Path,
                                                                      name: str) -> None:
    # an OLE compound file with a Workbook stream, starting with a BIFF8 BOF record
    path = files.ole_file(tmp_path / name, "Workbook", b"\x09\x08\x10\x00\x00\x06\x05\x00")
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSUPPORTED-WORKBOOK"
    assert "Excel 97-2003 workbook (.xls)" in finding["message"]
    assert "Save As > Excel Workbook (.xlsx)" in finding["hint"]


def test_a_damaged_ole_file_is_refused_as_xls(tmp_path: Path) -> None:
    path = files.stream(tmp_path / "edtc.xls", [b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4088])
    finding = refusal(judged(path))
    assert finding["code"] == "E-FILE-UNSUPPORTED-WORKBOOK"


def test_an_opendocument_spreadsheet_is_refused(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "edtc.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    finding = refusal(judged(path, "edtc.xlsx"))
    assert finding["code"] == "E-FILE-UNSUPPORTED-WORKBOOK"
    assert "OpenDocument spreadsheet (.ods)" in finding["message"]


# -- the used area as calamine places cells: references the plain form does not show ----------

def _area_refusal(tmp_path: Path, rows: list[bytes], cap: int = 10_000) -> str:
    """The refusal of a sheet made of ``rows``, with the area capped at ``cap`` cells (small,
    so a guard that let the sheet through could not make a reader allocate much)."""
    from gateway.readers.limits import Limits
    from gateway.readers.problems import FileProblem
    from gateway.readers.zipcheck import check_workbook_archive

    path = files.workbook_with_sheet(tmp_path / "edtc.xlsx", files.sheet_xml(rows))
    with pytest.raises(FileProblem) as refused:
        check_workbook_archive(path, path.stat().st_size, Limits(max_sheet_cells=cap))
    (finding,) = refused.value.findings
    assert finding.code == "E-FILE-LIMIT", finding.message
    return finding.message


@pytest.mark.parametrize("cell", [
    b'<c r="A20000"><v>1</v></c>',  # the cell's own row, not the row element's, places it
    b'<c r="a20000"><v>1</v></c>',  # references in lower case
    b'<c r="ZZZZ1"><v>1</v></c>',  # four letters
    b'<x:c xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="A20000">'
    b'<x:v>1</x:v></x:c>',  # a namespace prefix
    b'<c r="A1" r="A20000"><v>1</v></c>',  # a second reference (calamine takes the last)
    b'<c t="n" r="A20000"><v>1</v></c>',  # the reference not first
    b'<c s="&gt;" r="A20000"><v>1</v></c>',
    b"<c r='A20000'><v>1</v></c>",  # single quotes
    b'<c r="A020000"><v>1</v></c>',  # a leading zero
])
def test_a_far_cell_is_counted_however_its_tag_is_written(tmp_path: Path, cell: bytes) -> None:
    rows = [b'<row r="1"><c r="A1" t="inlineStr"><is><t>ccn</t></is></c>' + cell + b"</row>"]
    message = _area_refusal(tmp_path, rows)
    assert "a sheet may span" in message
    assert "A20000" in message or "ZZZZ" not in message  # the cell named where it fits Excel


def test_cells_without_references_follow_the_row_the_last_row_element_names(
        tmp_path: Path) -> None:
    rows = [b'<row r="1"><c r="A1" t="inlineStr"><is><t>ccn</t></is></c></row>',
            b'<row r="20000"><c><v>1</v></c></row>']
    assert "up to A20000" in _area_refusal(tmp_path, rows)


def test_a_sheet_written_in_the_usual_form_is_measured_exactly(tmp_path: Path) -> None:
    """Excel's own form: the area named is the last cell's, across chunks of the XML."""
    rows = [b'<row r="%d"><c r="A%d"><v>1</v></c><c r="C%d"><v>2</v></c></row>' % (n, n, n)
            for n in range(1, 60_001)]
    assert _area_refusal(tmp_path, rows, cap=100_000).startswith(
        "A sheet of the workbook uses cells up to C60000: 180,000 cells")


def test_a_comment_among_cells_of_an_unusual_sheet_is_refused(tmp_path: Path) -> None:
    """Where the tag-by-tag reading could be misled (a row element inside a comment would move
    the cells after it), the sheet is refused rather than read."""
    from gateway.readers.limits import Limits
    from gateway.readers.problems import FileProblem
    from gateway.readers.zipcheck import check_workbook_archive

    rows = [b'<row r="20000"><c><v>1</v></c><!-- <row r="1"> --><c><v>2</v></c></row>']
    path = files.workbook_with_sheet(tmp_path / "edtc.xlsx", files.sheet_xml(rows))
    with pytest.raises(FileProblem) as refused:
        check_workbook_archive(path, path.stat().st_size, Limits())
    (finding,) = refused.value.findings
    assert finding.code == "E-FILE-MALFORMED" and "comment" in finding.message


@pytest.mark.parametrize("far", [b'<c r="ZZZ1"><v>1</v></c>', b'<c r="A9999999"><v>1</v></c>'])
def test_the_last_column_or_row_a_reference_can_name_is_counted_in_a_long_sheet(
        tmp_path: Path, far: bytes) -> None:
    """Past the last column or row a plain reference can name, the search for wider or lower
    cells in the next chunks has nothing left to look for; it still runs."""
    rows = [b'<row r="1"><c r="A1" t="inlineStr"><is><t>ccn</t></is></c>' + far + b"</row>"]
    rows += [b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (n, n) for n in range(2, 60_000)]
    message = _area_refusal(tmp_path, rows, cap=100_000)
    assert "a sheet may span" in message
    assert "column 18,278" in message or "row 9,999,999, column 1" in message
