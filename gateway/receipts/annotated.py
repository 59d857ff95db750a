"""The submitter's own file, marked up: where each problem is, what it is and how to fix it.

For a rejected (or warned) CSV or XLSX upload the gateway writes an ``.xlsx`` beside the
receipt: the submitted data on its first sheet, every cell a finding names filled (red for an
error, amber for a warning) with a comment holding the message and the fix, the header row
frozen, and a ``problems`` sheet listing every finding with a link to its cell. For an XML
upload, whose "cells" are elements, the findings go into a CSV instead.

Both are pure functions of the receipt and the uploaded file. Values from the file are
patient data and go only to their own submitter (this copy lies in their receipts folder);
a value that a spreadsheet could take for a formula (OWASP "CSV injection": a leading ``=``,
``+``, ``-``, ``@``, tab, CR or LF) is neutralised: XLSX cells are written as text with Excel's
hidden quote prefix, CSV cells get a visible leading apostrophe.

Size: the copy holds the first ``MAX_COPIED_ROWS`` data rows of the file whole, and after
them only the rows a listed finding names (each at its own row number, so ``D120007`` in the
receipt is ``D120007`` in the copy); reading stops after the last marked row and never goes
past ``MAX_SCANNED_ROWS``; a file refused for its safety or size is not opened again (its copy
has the problems sheet only). Memory, time and size stay bounded however large the upload.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.contract.findings import Finding, column_letter
from gateway.contract.lazylog import LazyLogger
from gateway.receipts.model import Annotation, Receipt, Status
from gateway.receipts.source_layout import SourceLayout, workbook_layout

if TYPE_CHECKING:
    from xlsxwriter.format import Format
    from xlsxwriter.workbook import Workbook
    from xlsxwriter.worksheet import Worksheet

log = LazyLogger("gateway.receipts")

MAX_COPIED_ROWS = 10_000
MAX_SCANNED_ROWS = 1_000_000  # rows read at most, looking for marked ones
MAX_CELL_CHARS = 32_767  # what one spreadsheet cell holds
# File-layer refusals of files the copy must not open again (unsafe, too large, not what
# they claim to be) or that broke the gateway itself.
_NOT_OPENED = frozenset({"E-FILE-UNSAFE-ZIP", "E-FILE-UNSAFE-XML", "E-FILE-TOO-LARGE",
                         "E-FILE-LIMIT", "E-FILE-FORMAT-MISMATCH", "E-FILE-NOT-REGULAR",
                         "E-FILE-UNREADABLE", "E-FILE-ENCRYPTED", "E-FILE-EXTERNAL-LINK",
                         "E-FILE-INTERRUPTED",
                         "E-PROCESSING-FAILED", "E-PROCESSING-LIMIT"})
_RISKY_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
DATA_SHEET = "data"  # the sheet the XLSX reader takes when a workbook has one
PROBLEMS_SHEET = "problems"
_PROBLEM_COLUMNS = ("severity", "code", "row", "column", "cell", "value", "message",
                    "how to fix")
_MESSAGE_CHARS, _HINT_CHARS = 55, 45  # widths of the problems sheet's text columns
_PROBLEM_WIDTHS = (9, 22, 7, 18, 9, 14, _MESSAGE_CHARS, _HINT_CHARS)
# Printing: a landscape page holds about this many characters of column width at 100%; a
# sheet is fitted to one page wide only when that keeps the text at least ``_MIN_SCALE`` of
# its size (22 columns of a patient file are not: they print over several pages instead, the
# header row and the record's key column repeated on each).
_PAGE_CHARS, _MIN_SCALE = 130, 0.7
_CSV_WIDTH_ROWS = 200  # rows of a CSV whose values size its columns
_MIN_WIDTH, _MAX_WIDTH = 6, 40
_NOTES_CHARS = 120  # width of the printed notes block
_XML_COLUMNS = ("severity", "code", "line", "xpath", "column", "value", "message",
                "how to fix")


def is_risky(text: str) -> bool:
    """True when a spreadsheet could read the text as a formula or control sequence."""
    return text.startswith(_RISKY_STARTS)


def neutralised(text: str) -> str:
    """The text as a CSV cell no spreadsheet will evaluate: a leading apostrophe when risky."""
    return "'" + text if is_risky(text) else text


def annotated_copy(receipt: Receipt, document: Path | None) -> Annotation | None:
    """The annotated copy for this receipt, or None when there is nothing to mark (accepted
    without findings or with warnings about nothing in the file, a duplicate, or a file whose
    format was never recognised)."""
    if receipt.status is Status.ACCEPTED or not receipt.findings.listed:
        return None
    if receipt.status is Status.ACCEPTED_WITH_WARNINGS and not any(
            f.row is not None or f.column or f.line is not None
            for f in receipt.findings.listed):
        return None  # warnings about nothing in the file (checks skipped): nothing to mark
    if receipt.duplicate_of is not None or document is None:
        return None
    if receipt.file.format == "xml":
        return Annotation(".findings.csv", findings_csv(receipt.findings.listed))
    if receipt.file.format in ("csv", "xlsx"):
        return Annotation(".annotated.xlsx", annotated_workbook(receipt, document))
    return None


def annotate(receipt: Receipt, document: Path) -> None:
    """Attach the annotated copy to the receipt, where the upload is at hand (the daemon's
    worker, under its time and memory limits); a copy that cannot be made is logged by type
    only (never a value) and the receipt goes out without it."""
    try:
        receipt.annotation = annotated_copy(receipt, document)
    except Exception as err:  # a damaged upload must not cost the submitter the receipt
        log.warning("annotated_copy_failed", submission_id=receipt.submission_id,
                    error_type=type(err).__name__)


def findings_csv(findings: Sequence[Finding]) -> bytes:
    """The findings of an XML file, one per line, every cell neutralised (UTF-8 with a BOM,
    so Excel opens it as UTF-8)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_XML_COLUMNS)
    for f in findings:
        writer.writerow([neutralised(_text(v)) for v in (
            f.severity.value, f.code, f.line, f.xpath, f.column, f.value, f.message, f.hint)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if value.second == 0 else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)[:MAX_CELL_CHARS]


def _column_index(cell: str) -> int:
    """0-based column of a reference such as ``AB12``."""
    index = 0
    for char in cell:
        if not char.isalpha():
            break
        index = index * 26 + ord(char.upper()) - 64
    return index - 1


def _csv_rows(path: Path) -> Iterator[tuple[int, list[object]]]:
    """(sheet row, cells) of a CSV as the submitter sees it: header row 1, a blank line a blank
    row. Bytes that are not UTF-8 show as replacement characters (the receipt says where)."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        try:
            for number, cells in enumerate(csv.reader(handle), start=1):
                yield number, list(cells)
        except csv.Error:
            return  # the rest is unreadable (the receipt says so); the copy ends there


def _xlsx_rows(path: Path) -> tuple[str, int, Iterator[tuple[int, list[object]]]]:
    """The data sheet the reader took (``data``, else the first), its first column's offset and
    its rows; calamine leaves out leading empty rows and columns, which are added back."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    name = DATA_SHEET if DATA_SHEET in book.sheet_names else book.sheet_names[0]
    sheet = book.get_sheet_by_name(name)
    first_row, first_col = sheet.start if sheet.start else (0, 0)
    rows = ((first_row + i + 1, list(values)) for i, values in enumerate(sheet.iter_rows()))
    return name, first_col, rows


def annotated_workbook(receipt: Receipt, document: Path) -> bytes:
    """The submitted table with every finding marked at its cell, and a ``problems`` sheet.
    The data sheet keeps the submitted workbook's column widths and number and date formats
    (a CSV's columns fit their header and values), dates stay dates, and it prints readably:
    the header row repeated, fitted to the page width only when the text stays legible, the
    notes on the marked cells printed at the end."""
    import xlsxwriter

    findings = receipt.findings.listed
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False,
                                     "strings_to_formulas": False, "strings_to_urls": False})
    styles = _Styles(book)
    sheet_name, offset, rows = DATA_SHEET, 0, iter(())
    layout = SourceLayout()
    try:
        if not _may_read(receipt):
            pass  # refused for its safety or size: the problems sheet still lists every finding
        elif receipt.file.format == "xlsx":
            sheet_name, offset, rows = _xlsx_rows(document)
            layout = workbook_layout(document, sheet_name)
        else:
            rows = _csv_rows(document)
    except Exception:  # a damaged upload: the problems sheet still lists every finding
        rows = iter(())
    sheet_name = sheet_name[:31] if sheet_name != PROBLEMS_SHEET else "submitted data"
    data = book.add_worksheet(sheet_name)
    problems = book.add_worksheet(PROBLEMS_SHEET)
    rows = iter(rows)
    first = next(rows, None)
    header = {} if first is None or first[0] != 1 else {
        _text(name).strip().lower(): offset + j for j, name in enumerate(first[1])}
    marks = _marks(findings, header)
    by_row: dict[int, set[int]] = defaultdict(set)
    for row, col in marks:
        by_row[row].add(col)
    width = 0
    fitted: dict[int, int] = defaultdict(int)  # a CSV's column widths, from its values
    written: set[tuple[int, int]] = set()  # marked cells that hold a submitted value
    last_row = 1
    last = min(max(MAX_COPIED_ROWS + 1, max(by_row, default=0)), MAX_SCANNED_ROWS + 1)
    for number, cells in itertools.chain([first] if first else [], rows):
        if number > last:
            break  # nothing marked further on: the rest of the file is not read
        if number > MAX_COPIED_ROWS + 1 and number not in by_row:
            continue
        width = max(width, offset + len(cells))
        last_row = number
        for j, value in enumerate(cells):
            col = offset + j
            if (number, col) in marks:
                written.add((number, col))
            if number <= _CSV_WIDTH_ROWS:
                fitted[col] = max(fitted[col], len(_text(value)))
            _write_cell(data, number - 1, col, value,
                        styles.pick(marks.get((number, col)), header=number == 1,
                                    number_format=layout.formats.get(col)
                                    if number > 1 else None))
    for (row, col), here in marks.items():
        if (row, col) not in written:  # a cell the file left out (a short row): filled too
            data.write_blank(row - 1, col, None, styles.pick(here, header=False)[0])
        data.write_comment(row - 1, col, _comment(here), {"x_scale": 3, "y_scale": 2.5,
                                                          "author": "gateway"})
        last_row = max(last_row, row)
    data.freeze_panes(1, 0)
    # the submitted widths, widened where a value would not show whole (a number too wide
    # for its column prints as 1.2E+09)
    widths = [max(layout.widths.get(c, 0.0), min(max(fitted.get(c, 0) + 2, _MIN_WIDTH),
                                                 _MAX_WIDTH)) for c in range(max(width, 1))]
    for c, column_width in enumerate(widths):
        data.set_column(c, c, column_width)
    _print_setup(data, widths, key=_key_column(header))
    _notes_block(data, marks, last_row + 2, widths, styles)
    _problems_sheet(problems, findings, sheet_name, receipt, styles, header)
    _print_setup(problems, list(_PROBLEM_WIDTHS), key=None)
    book.close()
    return out.getvalue()


def _key_column(header: dict[str, int]) -> int | None:
    """The column that names a record (repeated on every printed page), if the file has one."""
    for name in ("patient_id", "prescriber_npi", "measure_id", "component", "measure"):
        if name in header:
            return header[name]
    return None


def _print_setup(sheet: Worksheet, widths: Sequence[float], key: int | None) -> None:
    """Landscape, the header row on every page; one page wide only when readable (scale at
    least ``_MIN_SCALE``), otherwise across pages with the key column repeated."""
    sheet.set_landscape()
    sheet.set_paper(1)  # Letter, as the program's users print
    sheet.repeat_rows(0)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.5)
    total = sum(widths)
    if total * _MIN_SCALE <= _PAGE_CHARS:
        sheet.fit_to_pages(1, 0)
    else:
        sheet.print_across()
        if key is not None:
            sheet.repeat_columns(key)


def _notes_block(sheet: Worksheet, marks: dict[tuple[int, int], list[Finding]], start: int,
                 widths: Sequence[float], styles: _Styles) -> None:
    """The cell comments as printed text below the data: spreadsheets do not print comments
    unless asked, and a printed copy must carry them."""
    if not marks:
        return
    span, used = 0, 0.0
    while span < len(widths) and used + widths[span] <= _NOTES_CHARS:
        used += widths[span]
        span += 1
    span = max(span, 1)
    chars = max(used, 40.0)
    sheet.write_string(start - 1, 0, "Notes on the marked cells (the cell comments, printed):",
                       styles.header)
    for i, ((row, col), here) in enumerate(sorted(marks.items()), start=start):
        text = f"{column_letter(col)}{row}: " + _comment(here).replace("\n\n", " | ").replace(
            "\n", " ")
        style = styles.wrap_text if is_risky(text) else styles.wrap
        if span > 1:
            sheet.merge_range(i, 0, i, span - 1, text, style)
        else:
            sheet.write_string(i, 0, text, style)
        sheet.set_row(i, 15 * max(1, -(-len(text) // int(chars * 0.75))))


def _may_read(receipt: Receipt) -> bool:
    """Whether the copy may read the upload again: not when it was refused unread for its
    safety or size, nor a workbook too large to load twice within the worker's limits."""
    if any(f.code in _NOT_OPENED for f in receipt.findings.listed):
        return False
    return receipt.file.format != "xlsx" or receipt.records <= MAX_SCANNED_ROWS


def _write_cell(sheet: Worksheet, row: int, col: int, value: object,
                style: tuple[Format, Format]) -> None:
    """A submitted value as it was: numbers as numbers, dates as dates, text as text (never
    a formula; a risky text carries the hidden quote prefix)."""
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value, style[0])
    elif isinstance(value, dt.date | dt.datetime | dt.time):
        timed = isinstance(value, dt.time) or (
            isinstance(value, dt.datetime) and value.time() != dt.time(0))
        dated = style[3 if timed else 2] if len(style) > 3 else style[0]
        sheet.write_datetime(row, col, value, dated)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value, style[0])
    else:
        text = _text(value)
        sheet.write_string(row, col, text, style[1] if is_risky(text) else style[0])


class _Styles:
    """The workbook's formats; each data style in pairs: (as is, with the quote prefix)."""

    def __init__(self, book: Workbook) -> None:
        def pair(spec: dict[str, object]) -> tuple[Format, Format]:
            return book.add_format(spec), book.add_format({**spec, "quote_prefix": True})

        self.book = book
        self.specs: dict[str, dict[str, object]] = {
            "plain": {}, "error": {"bg_color": "#FFC7CE", "font_color": "#9C0006",
                                   "bold": True, "border": 2, "border_color": "#C00000"},
            "warning": {"bg_color": "#FFEB9C", "font_color": "#9C5700", "border": 1,
                        "border_color": "#BF8F00"}}
        self._numbered: dict[tuple[str, str], tuple[Format, ...]] = {}
        self.plain = pair(self.specs["plain"])
        self.error = pair(self.specs["error"])
        self.warning = pair(self.specs["warning"])
        self.head = pair({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        self.header = self.head[0]
        self.wrap, self.wrap_text = pair({"text_wrap": True, "valign": "top"})
        self.link = book.add_format({"font_color": "blue", "underline": 1, "valign": "top"})

    def pick(self, here: Sequence[Finding] | None, header: bool,
             number_format: str | None = None) -> tuple[Format, ...]:
        """(as is, with the quote prefix, for a date) of a cell: marked or not, header or
        data, in the submitted column's number format (dates as dates when it has none)."""
        if header:
            return self.head
        kind = ("error" if any(f.code.startswith("E-") for f in here) else "warning") \
            if here else "plain"
        key = (kind, number_format or "")
        found = self._numbered.get(key)
        if found is None:
            spec = self.specs[kind]
            numbered = {**spec, "num_format": number_format} if number_format else spec
            own = number_format if number_format and any(
                c in number_format.lower() for c in "dmyh") else None
            found = self._numbered[key] = (
                self.book.add_format(numbered),
                self.book.add_format({**numbered, "quote_prefix": True}),
                self.book.add_format({**spec, "num_format": own or "yyyy-mm-dd"}),
                self.book.add_format({**spec, "num_format": own or "yyyy-mm-dd hh:mm"}))
        return found


def _target(finding: Finding, header: dict[str, int]) -> tuple[int, int] | None:
    """The (sheet row, 0-based column) a finding marks: its cell; a row-wide finding the row's
    first cell; a finding about a column (a missing total row) that column's header cell."""
    if finding.cell:
        return int("".join(c for c in finding.cell if c.isdigit())), _column_index(finding.cell)
    if finding.row is not None:
        return finding.row, 0
    if finding.column in header:
        return 1, header[finding.column]
    return None


def _marks(findings: Sequence[Finding], header: dict[str, int]
           ) -> dict[tuple[int, int], list[Finding]]:
    marks: dict[tuple[int, int], list[Finding]] = defaultdict(list)
    for finding in findings:
        target = _target(finding, header)
        if target is not None:
            marks[target].append(finding)
    return marks


def _comment(findings: Sequence[Finding]) -> str:
    parts = [f"{f.code}: {f.message}\nFix: {f.hint}" if f.hint else f"{f.code}: {f.message}"
             for f in findings]
    return "\n\n".join(parts)[:MAX_CELL_CHARS]


def _problems_sheet(sheet: Worksheet, findings: Sequence[Finding], data_name: str,
                    receipt: Receipt, styles: _Styles, header: dict[str, int]) -> None:
    write = sheet.write_string
    for j, title in enumerate(_PROBLEM_COLUMNS):
        write(0, j, title, styles.header)
    for i, f in enumerate(findings, start=1):
        write(i, 0, f.severity.value, styles.wrap)
        write(i, 1, f.code, styles.wrap)
        if f.row is not None:
            sheet.write_number(i, 2, f.row, styles.wrap)
        write(i, 3, f.column or "", styles.wrap)
        target = _target(f, header)
        if target is not None:
            reference = f"{column_letter(target[1])}{target[0]}"
            sheet.write_url(i, 4, f"internal:'{data_name}'!{reference}", styles.link,
                            f.cell or (f"row {f.row}" if f.row is not None else reference))
        value = _text(f.value)
        write(i, 5, value, styles.wrap_text if is_risky(value) else styles.wrap)
        write(i, 6, f.message, styles.wrap_text if is_risky(f.message) else styles.wrap)
        write(i, 7, f.hint or "", styles.wrap)
        # spreadsheets do not grow a row for wrapped text written by a program: size it
        lines = max(-(-len(f.message) // _MESSAGE_CHARS), -(-len(f.hint or "") // _HINT_CHARS),
                    1)
        sheet.set_row(i, 15 * lines)
    note_row = len(findings) + 2
    if receipt.findings.truncated:
        write(note_row, 0, f"The first {len(findings):,} of {receipt.findings.total:,} "
                           "findings are listed; correct these and upload again to see the "
                           "rest.")
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(findings), 1), len(_PROBLEM_COLUMNS) - 1)
    for j, width in enumerate(_PROBLEM_WIDTHS):
        sheet.set_column(j, j, width)
