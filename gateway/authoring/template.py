"""Blank submission templates written from a layout's schema: a CSV header, or a workbook whose
``data`` sheet offers each coded column's codes as a drop-down and whose ``notes`` sheet says
what every column takes.

A template is only ever generated, never kept by hand, so it cannot lag behind the schema that
checks the filled-in file. The ``data`` sheet comes first and carries the header on row 1,
which is where the XLSX reader looks.
"""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from gateway.authoring.describe import column_docs
from gateway.authoring.layouts import Layout, LayoutError
from gateway.contract.findings import column_letter
from gateway.engine.plugins import Plugins
from gateway.engine.records import Column
from gateway.readers.sniff import CSV, XLSX
from gateway.readers.tables import DATA_SHEET

NOTES_SHEET, CODES_SHEET = "notes", "codes"
NOTES_HEADER = ("column", "type", "required", "allowed codes / range / format", "description")
# Excel refuses an inline list longer than 255 characters (quotes included); longer lists live
# on the codes sheet. Excel also caps an error title at 32 characters.
INLINE_LIST_LIMIT = 255
LAST_EXCEL_ROW = 1_048_576
# Text that a spreadsheet would take for a formula (OWASP CSV injection), tab and CR included.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TEXT_FORMAT = "@"
_DATE_FORMATS = {"date": "yyyy-mm-dd", "local-date-time": "yyyy-mm-dd hh:mm"}


class TemplateUnavailable(LayoutError):
    """The layout is not a table (an XML family), or not in the format asked for."""


def safe_text(text: str) -> str:
    """Text echoed from a schema into a sheet, made inert: a leading ``'`` keeps a description
    that starts like a formula from ever being evaluated."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def check_table(layout: Layout, fmt: str) -> None:
    """Refuse a template the family would not accept, saying what to do instead.

    An XML family's element layout (root, namespace, header elements) belongs to its reader,
    not to the record schema, so only the family can write its skeleton (``gateway_template``);
    a family that offers none builds its files from its own tool's output.
    """
    if not layout.table_formats:
        raise TemplateUnavailable(
            f"{layout.measure.measure} ({layout.family.title}) is submitted as "
            f"{', '.join(f.upper() for f in layout.family.formats)}, not as a table, so there "
            "is no CSV/XLSX template: build the file from your reporting tool's results in the "
            f"family's layout. {layout.schema.get('description', '')} Every field is listed "
            f"on its page of the specification (gateway docs: {layout.spec_page}).")
    if fmt not in layout.table_formats:
        raise TemplateUnavailable(
            f"the {layout.family.family} family accepts {', '.join(layout.table_formats)}, "
            f"not {fmt}")


def write_csv(layout: Layout, path: Path) -> None:
    """The header row alone. UTF-8 with a BOM so Excel opens it as UTF-8; the reader strips it."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerow([c.name for c in layout.columns])


def _text_cell(sheet: Worksheet, row: int, col: int, value: str) -> None:
    """A cell that holds exactly ``value`` as text (openpyxl would take "=..." for a formula)."""
    cell = sheet.cell(row=row, column=col, value=value)
    cell.data_type = "s"


def _list_source(book: Workbook, column: Column) -> str:
    """The ``formula1`` of a drop-down offering the column's codes: an inline list when Excel
    allows it, else a range on the hidden codes sheet."""
    codes = column.codes or ()
    inline = '"' + ",".join(codes) + '"'
    if len(inline) <= INLINE_LIST_LIMIT and not any("," in c or '"' in c for c in codes):
        return inline
    if CODES_SHEET in book.sheetnames:
        sheet = book[CODES_SHEET]
        col = sheet.max_column + 1
    else:
        sheet = book.create_sheet(CODES_SHEET)
        sheet.sheet_state = "hidden"
        col = 1
    _text_cell(sheet, 1, col, column.name)
    for row, code in enumerate(codes, start=2):
        _text_cell(sheet, row, col, code)
    letter = column_letter(col - 1)
    return f"{CODES_SHEET}!${letter}$2:${letter}${len(codes) + 1}"


def _data_sheet(book: Workbook, layout: Layout) -> None:
    """The sheet the reader takes: header on row 1, text-typed code columns, drop-downs."""
    sheet = book.active
    sheet.title = DATA_SHEET
    bold = Font(bold=True)
    for index, column in enumerate(layout.columns):
        letter = column_letter(index)
        _text_cell(sheet, 1, index + 1, column.name)
        sheet.cell(row=1, column=index + 1).font = bold
        dimension = sheet.column_dimensions[letter]
        dimension.width = max(12, len(column.name) + 2)
        if column.format in _DATE_FORMATS:
            dimension.number_format = _DATE_FORMATS[column.format]
        elif column.kind == "string":
            # Typed as text, so Excel keeps "5-11" an age band and "05501" a ZIP code.
            dimension.number_format = _TEXT_FORMAT
        if column.codes:
            check = DataValidation(
                type="list", formula1=_list_source(book, column), allow_blank=True,
                showErrorMessage=True, errorTitle="Not a listed code",
                error=f"Choose one of the codes for {column.name} (see the notes sheet).",
                showInputMessage=False)
            check.add(f"{letter}2:{letter}{LAST_EXCEL_ROW}")
            sheet.add_data_validation(check)
    sheet.freeze_panes = "A2"


def _notes_sheet(book: Workbook, layout: Layout) -> None:
    """One row per column, so the workbook explains itself without the specification."""
    sheet = book.create_sheet(NOTES_SHEET, index=1)
    sheet.append(list(NOTES_HEADER))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for doc in column_docs(layout):
        sheet.append([safe_text(text) for text in
                      (doc.name, doc.type, doc.requirement, doc.allowed, doc.description)])
    for letter, width in zip("ABCDE", (24, 16, 22, 50, 90), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"


def write_xlsx(layout: Layout, path: Path) -> None:
    """The data-entry workbook: ``data`` (header, drop-downs), ``notes``, hidden ``codes``."""
    book = Workbook()
    _data_sheet(book, layout)
    _notes_sheet(book, layout)
    book.save(path)


WRITERS = {CSV: write_csv, XLSX: write_xlsx}


def write_template(layout: Layout, fmt: str, path: Path, plugins: Plugins) -> Path:
    """Write the blank template of ``layout`` in ``fmt`` to ``path``: the family's own (an XML
    skeleton, through ``gateway_template``) if it has one, else the schema's CSV/XLSX."""
    own = plugins.hook.gateway_template(route=layout.route, format=fmt)
    if own is None:
        check_table(layout, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if own is not None:
        path.write_bytes(own)
    else:
        WRITERS[fmt](layout, path)
    return path
