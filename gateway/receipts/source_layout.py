"""How the submitted workbook looked: its column widths and number and date formats.

The annotated copy is the submitter's own sheet, marked; it should look like it, so a date
reads as the date it was and a column is as wide as the submitter made it. Both are read from
the workbook itself (already checked as a safe ZIP by the file layer): the widths from the
sheet's ``<cols>`` (which comes before its data, so reading stops there), the formats from the
first data rows' cells.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gateway.contract.lazy import lazy_module

etree = lazy_module("lxml.etree")

FORMAT_ROWS = 50  # data rows whose formats decide a column's
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
MAX_WIDTH = 60.0


@dataclass
class SourceLayout:
    """0-based column -> width in characters, and -> number format (``mm/dd/yyyy``)."""

    widths: dict[int, float] = field(default_factory=dict)
    formats: dict[int, str] = field(default_factory=dict)


def workbook_layout(path: Path, sheet_name: str) -> SourceLayout:
    """The layout of ``sheet_name`` in the workbook at ``path``; empty when it cannot be read
    (the copy then sizes columns to their contents)."""
    layout = SourceLayout()
    try:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book[sheet_name]
            seen: dict[int, Counter[str]] = {}
            for row in sheet.iter_rows(min_row=2, max_row=FORMAT_ROWS + 1):
                for cell in row:
                    number_format = getattr(cell, "number_format", "General") or "General"
                    column = getattr(cell, "column", None)
                    if column is not None and number_format != "General":
                        seen.setdefault(column - 1, Counter())[number_format] += 1
            layout.formats = {c: found.most_common(1)[0][0] for c, found in seen.items()}
            part = str(getattr(sheet, "_worksheet_path", ""))
        finally:
            book.close()
        if part:
            layout.widths = _widths(path, part)
    except Exception:  # a workbook only calamine can read: no layout, never a failure
        return SourceLayout()
    return layout


def _widths(path: Path, part: str) -> dict[int, float]:
    """``<col min max width>`` of a sheet part, read up to its ``<sheetData>``."""
    widths: dict[int, float] = {}
    with zipfile.ZipFile(path) as archive, archive.open(part.lstrip("/")) as stream:
        parser = etree.iterparse(stream, events=("start",), resolve_entities=False,
                                 no_network=True, load_dtd=False, huge_tree=False)
        for _event, element in parser:
            if element.tag == f"{_MAIN}sheetData":
                break
            if element.tag == f"{_MAIN}col" and element.get("width"):
                low, high = int(element.get("min", "1")), int(element.get("max", "1"))
                width = min(float(element.get("width", "0")), MAX_WIDTH)
                for column in range(low, min(high, low + 16_384) + 1):
                    widths[column - 1] = width
    return widths
