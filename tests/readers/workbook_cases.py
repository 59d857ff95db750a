"""Workbooks with every kind of cell a submitter's Excel can hold, written at test time.

Both workbook readers (fastexcel's Arrow columns and python-calamine's cells) must give the same
texts for each; the test of the two paths and ``bench.xlsx_paths`` use them. Each case is a
function writing one workbook; ``CASES`` maps a case's name to it and to whether the fast path
is expected to read it (False: a case it must hand to python-calamine).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import xlsxwriter
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

HEADER = ["patient_id", "visit_date", "amount", "flag", "note"]


def _xlsxwriter(path: Path, rows: list[list[object]], *, options: dict | None = None,
                sheet: str = "data", before: list[str] = ()) -> Path:
    """A workbook written the way Excel writes one (shared strings, typed numbers), a date
    format on datetime values, ``before`` sheets (with a line of text) ahead of ``sheet``."""
    book = xlsxwriter.Workbook(str(path), options or {})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    for name in before:
        book.add_worksheet(name).write_string(0, 0, "read me first")
    target = book.add_worksheet(sheet)
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, dt.datetime | dt.date):
                target.write_datetime(r, c, value, date)
            else:
                target.write(r, c, value)
    book.close()
    return path


def typed_columns(path: Path) -> Path:
    """One kind per column, every kind the fast path renders: whole and fractional numbers,
    numbers that repr and int() write differently, dates, times, datetimes, durations,
    percentages, booleans, rich and padded texts, empty and error cells, cached formulas."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    formats = {
        "date": book.add_format({"num_format": "yyyy-mm-dd"}),
        "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        "time": book.add_format({"num_format": "hh:mm"}),
        "duration": book.add_format({"num_format": "[h]:mm:ss"}),
        "percent": book.add_format({"num_format": "0.0%"}),
        "bold": book.add_format({"bold": True}),
        "quote": book.add_format({"quote_prefix": True}),
    }
    header = ["whole", "fraction", "big", "date", "datetime", "time", "duration", "percent",
              "flag", "text", "formula_number", "formula_text", "sparse"]
    sheet.write_row(0, 0, header)
    numbers = [42.0, -0.0, 0.0, 1.0, -7.0, 2.0**53, 123456789.0, 1e15]
    fractions = [0.1 + 0.2, 1e-7, 1.5, -2.25, 1 / 3, 7.23, 1e-5, 123456.789]
    bigs = [1e16, 1e20, 2.0**63, 2.0**64, 12345678901234567890.0, -1e17, 1.5e300, 9e15]
    dates = [dt.date(2023, 1, 5), dt.date(1900, 3, 1), dt.date(2014, 2, 28), dt.date(9999, 12, 31),
             dt.date(1999, 12, 31), dt.date(2000, 2, 29), dt.date(1901, 1, 1), dt.date(2024, 7, 4)]
    moments = [dt.datetime(2023, 1, 5, 13, 45), dt.datetime(2023, 1, 5, 0, 0, 30),
               dt.datetime(2014, 6, 30, 23, 59, 59), dt.datetime(2000, 1, 1, 12),
               dt.datetime(1950, 5, 5, 0, 1), dt.datetime(2023, 1, 5, 0, 0),
               dt.datetime(2030, 12, 31, 6, 30), dt.datetime(1900, 3, 1, 1, 2)]
    times = [dt.time(13, 45), dt.time(0, 0), dt.time(23, 59, 59), dt.time(7, 5, 30),
             dt.time(12), dt.time(0, 1), dt.time(18, 30), dt.time(9, 9)]
    durations = [1.5, 0.25, 2.0, 36.75, 0.0001, 100.0, 0.5, 3.0]
    percents = [0.125, 1.0, 0.0, 0.5, 0.333, 2.5, -0.1, 0.07]
    flags = [True, False, True, True, False, None, False, True]
    for r in range(8):
        row = r + 1
        sheet.write_number(row, 0, numbers[r])
        sheet.write_number(row, 1, fractions[r])
        sheet.write_number(row, 2, bigs[r])
        sheet.write_datetime(row, 3, dates[r], formats["date"])
        sheet.write_datetime(row, 4, moments[r], formats["datetime"])
        sheet.write_datetime(row, 5, times[r], formats["time"])
        sheet.write_number(row, 6, durations[r], formats["duration"])
        sheet.write_number(row, 7, percents[r], formats["percent"])
        if flags[r] is not None:
            sheet.write_boolean(row, 8, flags[r])
        sheet.write_formula(row, 10, f"=A{row + 1}*2", None, numbers[r] * 2)
        sheet.write_formula(row, 11, f'=E{row + 1}&"x"', None, f"cached {r}")
    texts = ["  padded  ", "'0123", "Zoë ünïcode", "", "x", "tab\there", "line\nbreak", "last"]
    for r, text in enumerate(texts, start=1):
        if r == 1:
            sheet.write_rich_string(r, 9, "rich ", formats["bold"], "bold", " text")
        elif r == 2:
            sheet.write_string(r, 9, "0123", formats["quote"])
        elif text:
            sheet.write_string(r, 9, text)
    sheet.write_formula(4, 9, "=NA()", None, "#N/A")  # an error value in a text column
    sheet.write_string(3, 12, "only one")
    sheet.write_formula(9, 0, "=1/0", None, "#DIV/0!")  # an error value in a number column
    sheet.merge_range(10, 9, 11, 10, "merged")  # J11:K12, the value in J11 only
    sheet.write_number(10, 0, 5)
    sheet.write_number(12, 1, 0.5)  # row 12 empty, then one more row
    book.close()
    return path


def openpyxl_kinds(path: Path) -> Path:
    """openpyxl's own forms: texts stored in the cells (inline strings, rich text among them),
    booleans, a formula without a cached value, dates and datetimes with its default formats,
    an empty row in the middle."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(HEADER)
    sheet.append(["P1", dt.date(2023, 1, 5), 12.5, True, "plain"])
    sheet.append(["P2", dt.datetime(2023, 1, 6, 8, 30), 3.0, False,
                  CellRichText("rich ", TextBlock(InlineFont(b=True), "bold"))])
    sheet.append([])
    sheet.append(["P3", None, -0.0, None, "#N/A"])
    sheet.cell(row=5, column=3).value = "=1/0"  # a formula without a cached value: empty
    sheet.append(["P4", dt.date(2024, 2, 29), 1e20, True, None])
    book.save(path)
    return path


def leading_columns(path: Path) -> Path:
    """The table starts in column C: letters in findings must still be the sheet's."""
    return _xlsxwriter(path, [[None, None, *HEADER],
                              [None, None, "P1", dt.date(2023, 1, 5), 3.5, "Y", "n"],
                              [None, None, "P2", None, 4.0, "N", None]])


def other_sheets_first(path: Path) -> Path:
    """Sheets before ``data``: only ``data`` is read, and the receipt names the others."""
    return _xlsxwriter(path, [HEADER, ["P1", dt.date(2023, 1, 5), 1.0, "Y", "a"]],
                       before=["notes", "lookup"])


def no_data_sheet(path: Path) -> Path:
    """No sheet is named ``data``: the first sheet is read."""
    return _xlsxwriter(path, [HEADER, ["P1", dt.date(2023, 1, 5), 1.0, "Y", "a"]],
                       sheet="Sheet1", before=[])


def mixed_column(path: Path) -> Path:
    """Numbers and texts in one column (a ZIP code typed as a number in some rows)."""
    return _xlsxwriter(path, [HEADER, ["P1", dt.date(2023, 1, 5), 55401.0, "Y", "a"],
                              ["P2", dt.date(2023, 1, 6), "55401-1234", "N", "b"]])


def null_texts_among_numbers(path: Path) -> Path:
    """Texts fastexcel's inference takes for empty in a column of numbers: NA, nan, null."""
    return _xlsxwriter(path, [HEADER, ["P1", None, 1.0, "Y", "a"], ["P2", None, "NA", "Y", "b"],
                              ["P3", None, "nan", "Y", "c"], ["P4", None, "null", "N", "d"]])


def nan_text_among_numbers(path: Path) -> Path:
    """``NaN`` parses as a number where a column holds numbers; its text must stay ``NaN``."""
    return _xlsxwriter(path, [HEADER, ["P1", None, 1.0, "Y", "a"], ["P2", None, "NaN", "Y", "b"]])


def empty_text_among_numbers(path: Path) -> Path:
    """A formula returning "" in a column of numbers (Excel's =IF(...,"",...))."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ["P1", None, 1.0, "Y", "a"])
    sheet.write_row(2, 0, ["P2", None, None, "N", "b"])
    sheet.write_formula(2, 2, '=IF(TRUE,"",1)', None, "")
    book.close()
    return path


def error_among_dates(path: Path) -> Path:
    """An error value in a column of dates."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ["P1"])
    sheet.write_datetime(1, 1, dt.date(2023, 1, 5), date)
    sheet.write_row(2, 0, ["P2"])
    sheet.write_formula(2, 1, "=NA()", None, "#N/A")
    book.close()
    return path


def header_problems(kind: str) -> Callable[[Path], Path]:
    """A header fastexcel names differently from the cell: a repeated name, a number, a
    boolean, an empty cell in the middle, a data cell right of the header."""
    def write(path: Path) -> Path:
        header: list[object] = list(HEADER)
        rows: list[list[object]] = [["P1", dt.date(2023, 1, 5), 1.0, "Y", "a"]]
        if kind == "repeated":
            header[4] = "amount"
        elif kind == "repeated_alias":
            header[4] = "amount_1"
            header[3] = "amount"
        elif kind == "number":
            header[4] = 2015.0
        elif kind == "boolean":
            header[4] = True
        elif kind == "gap":
            header[2] = None
        elif kind == "right_of_header":
            rows[0].extend([None, "stray"])
        elif kind == "row_1_empty":
            return _xlsxwriter(path, [[None] * 5, header, *rows])
        elif kind == "header_only":
            rows = []
        return _xlsxwriter(path, [header, *rows])
    return write


def empty_sheet(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("data")
    book.close()
    return path


def dates_from_1904(path: Path) -> Path:
    """A workbook counting dates from 1904 (old Mac Excel)."""
    return _xlsxwriter(path, [HEADER, ["P1", dt.date(2023, 1, 5), 1.0, "Y", "a"]],
                       options={"date_1904": True})


def serial_edges(path: Path) -> Path:
    """Serials under a date format that rounding or the year range makes special: a whole day
    plus floating-point noise, serial 1 and just under it, before 1900-03-01, negative, past
    year 9999."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    date = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(0, 0, ["serial"])
    for r, serial in enumerate([44927.0, 44927.000000000007, 1.0, 1 - 1e-10, 59.0, 60.0, 61.0,
                                0.5, -1.25, 3_000_000.0, 2958465.0, 2958465.9], start=1):
        sheet.write_number(r, 0, serial, date)
    book.close()
    return path


def _only_one(edge: float) -> Callable[[Path], Path]:
    def write(path: Path) -> Path:
        book = xlsxwriter.Workbook(str(path))
        sheet = book.add_worksheet("data")
        date = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        sheet.write_row(0, 0, ["serial", "n"])
        sheet.write_number(1, 0, 44927.0, date)
        sheet.write_number(2, 0, edge, date)
        sheet.write_number(1, 1, 1)
        book.close()
        return path
    return write


def iso_date_cells(path: Path) -> Path:
    """Cells of type ``d`` (ISO 8601 text), which openpyxl writes with ``iso_dates``."""
    book = openpyxl.Workbook(iso_dates=True)
    sheet = book.active
    sheet.title = "data"
    sheet.append(["day", "moment"])
    sheet.append([dt.date(2023, 1, 5), dt.datetime(2023, 1, 5, 13, 45)])
    sheet.append([dt.date(2024, 2, 29), dt.datetime(2023, 1, 5, 0, 0)])
    book.save(path)
    return path


def damaged_outside_cells(kind: str) -> Callable[[Path], Path]:
    """A sheet whose XML is damaged only outside its cells -- the root's start tag broken (as
    the fuzz test's mutations do) or a merged range python-calamine cannot parse -- which
    python-calamine reads to the end and calls damaged, while fastexcel stops after the cells."""
    def write(path: Path) -> Path:
        source = typed_columns(path.with_name(f"source-{path.name}"))
        with zipfile.ZipFile(source) as archive:
            parts = {n: archive.read(n) for n in archive.namelist()}
        sheet = parts["xl/worksheets/sheet1.xml"]
        if kind == "root":
            sheet = sheet.replace(b"<worksheet ", b"=worksheet ", 1)
        else:
            sheet = sheet.replace(b'<mergeCell ref="J11:K12"/>', b'<mergeCell ref="J11:K1:Z"/>')
        assert sheet != parts["xl/worksheets/sheet1.xml"]
        parts["xl/worksheets/sheet1.xml"] = sheet
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in parts.items():
                out.writestr(name, data)
        return path
    return write


def nul_in_header(path: Path) -> Path:
    """A header cell holding a NUL character (xlsxwriter writes it escaped, ``_x0000_``)."""
    return _xlsxwriter(path, [["patient_id", "no\x00te"], ["P1", "x"]])


def long_cell(path: Path) -> Path:
    """A cell over the 5,000-character cap."""
    return _xlsxwriter(path, [HEADER, ["P1", None, 1.0, "Y", "x" * 6000]])


def many_rows(path: Path) -> Path:
    """25,000 rows: blocks of 10,000 and a batch boundary, blank rows among them."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("data")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADER)
    for r in range(1, 25_001):
        if r % 997 == 0:
            continue
        sheet.write_string(r, 0, f"P{r}")
        sheet.write_datetime(r, 1, dt.date(2014, 1, 1) + dt.timedelta(days=r % 365), date)
        sheet.write_number(r, 2, (r % 300) / 4)
        sheet.write_string(r, 3, "Y" if r % 3 else "N")
    book.close()
    return path


CASES: dict[str, tuple[Callable[[Path], Path], bool]] = {
    "typed_columns": (typed_columns, True),
    "openpyxl_kinds": (openpyxl_kinds, True),
    "leading_columns": (leading_columns, True),
    "other_sheets_first": (other_sheets_first, True),
    "no_data_sheet": (no_data_sheet, True),
    "iso_date_cells": (iso_date_cells, True),
    "long_cell": (long_cell, True),
    "many_rows": (many_rows, True),
    "empty_text_among_numbers": (empty_text_among_numbers, True),
    "error_among_dates": (error_among_dates, True),
    "header_only": (header_problems("header_only"), True),
    "header_repeated": (header_problems("repeated"), False),
    "header_repeated_alias": (header_problems("repeated_alias"), False),
    "header_number": (header_problems("number"), False),
    "header_boolean": (header_problems("boolean"), False),
    "header_gap": (header_problems("gap"), False),
    "right_of_header": (header_problems("right_of_header"), False),
    "row_1_empty": (header_problems("row_1_empty"), False),
    "empty_sheet": (empty_sheet, False),
    "mixed_column": (mixed_column, False),
    "null_texts_among_numbers": (null_texts_among_numbers, False),
    "nan_text_among_numbers": (nan_text_among_numbers, False),
    "dates_from_1904": (dates_from_1904, False),
    "serial_edges": (serial_edges, False),
    "serial_1": (_only_one(1.0), False),
    "serial_just_under_1": (_only_one(1 - 1e-10), False),
    "serial_past_9999": (_only_one(3_000_000.0), False),
    "serial_whole_day_noise": (_only_one(44927.000000000007), True),
    "nul_in_header": (nul_in_header, False),
    "damaged_root_tag": (damaged_outside_cells("root"), False),
    "damaged_merged_range": (damaged_outside_cells("merge"), False),
}


def outcome(path: Path, *, arrow: bool, batch_rows: int = 32_768) -> dict[str, object]:
    """Everything the rest of the gateway sees of a workbook read one way: the header, the
    letters, where the header was looked for, the sample, every batch's texts, row numbers and
    notes -- or the findings of the rejection, and where in the reading it came."""
    from gateway.readers.limits import Limits
    from gateway.readers.problems import FileProblem
    from gateway.readers.tables import XlsxDocument
    from gateway.readers.zipcheck import check_workbook_archive

    seen: dict[str, object] = {}
    try:  # as the gateway opens an upload: the archive's checks first
        archive = check_workbook_archive(path, path.stat().st_size, Limits())
        document = XlsxDocument(path, Limits(), arrow=arrow and archive.fastexcel_reads_alike,
                                texts_read_as_empty=archive.texts_read_as_empty)
        seen["read_by"] = document.read_by
        seen.update(columns=document.columns, cells=document.cells,
                     place=document.header_place(), others=document.other_sheets,
                     sample=document.sample())
        batches = seen.setdefault("batches", [])
        for batch in document.batches(batch_rows):
            batches.append((batch.frame.to_dict("list"), batch.rows.tolist(), batch.notes))
    except FileProblem as problem:
        seen["problem"] = [finding for finding in problem.findings]
    return seen


def same_outcome(path: Path, batch_rows: int = 32_768) -> tuple[bool, str, str]:
    """Whether both readers give the same outcome, which read it, and the first difference."""
    fast = outcome(path, arrow=True, batch_rows=batch_rows)
    calamine = outcome(path, arrow=False, batch_rows=batch_rows)
    read_by = str(fast.pop("read_by", "rejected"))
    calamine.pop("read_by", None)
    if fast == calamine:
        return True, read_by, ""
    for key in sorted(set(fast) | set(calamine)):
        if fast.get(key) != calamine.get(key):
            return False, read_by, key
    return False, read_by, "?"
