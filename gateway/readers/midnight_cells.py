"""Whether a workbook's date at midnight was entered as a date or as a date and time.

Excel stores a date and a date-time at 00:00 alike, as a whole-day serial; only the cell's
number format tells them apart, and neither workbook reader exposes it, so both hand such a cell
over as a date. In a date-time column the difference decides between accepting 00:00 and
refusing a date without a time (docs/decisions.md, "A date-time at midnight in a workbook").
Such cells are rare, so they are looked up only when a date-time column holds one: the cell's
style in the sheet's XML (``<c r="H5" s="3">``) and that style's number format in
``xl/styles.xml`` (built-in 22 and custom formats with hours or seconds are date-times, 14-17
and custom formats with a day or year but no time are dates).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path

DATE_TIME = "date-time"
DATE_ONLY = "date"

_DAY_MS = 86_400_000
_BUILT_IN = {14: DATE_ONLY, 15: DATE_ONLY, 16: DATE_ONLY, 17: DATE_ONLY, 22: DATE_TIME}
_ATTRIBUTE = re.compile(rb"""([\w:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)/?>")
_NUMBER_FORMAT = re.compile(rb"<(?:\w+:)?numFmt\b([^>]*)/?>")
_CELL_STYLES = re.compile(rb"<(?:\w+:)?cellXfs\b[^>]*>(.*?)</(?:\w+:)?cellXfs>", re.DOTALL)
_STYLE = re.compile(rb"<(?:\w+:)?xf\b([^>]*)>")
# what a format code holds besides its date and time letters
_LITERALS = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?![hms]+\])[^\]]*\]', re.IGNORECASE)
_OVERLAP = 1024  # bytes kept between chunks of the sheet, so no cell is split


def midnight_kinds(path: Path, sheet_name: str, letters: set[str]
                   ) -> dict[tuple[str, int], str] | None:
    """For each cell of the columns ``letters`` holding a whole-day date, whether its format
    is a date and time (``DATE_TIME``) or a date (``DATE_ONLY``), by (letters, row); cells of
    other formats are left out. ``None`` when the workbook cannot be read this way (its parts
    missing or unreadable)."""
    if not letters:
        return {}
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet_name)
            formats = _style_kinds(archive)
            if part is None or formats is None:
                return None
            return _cells(archive, part, formats, letters)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, EOFError, RuntimeError):
        return None


def _attributes(raw: bytes) -> dict[bytes, bytes]:
    return {key.split(b":")[-1]: first or second for key, first, second in _ATTRIBUTE.findall(raw)}


def _sheet_part(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The part holding the sheet named ``sheet_name`` (workbook.xml, then its relationships)."""
    names = {n.lower(): n for n in archive.namelist()}
    book = names.get("xl/workbook.xml")
    links = names.get("xl/_rels/workbook.xml.rels")
    if book is None or links is None:
        return None
    wanted = sheet_name.encode()
    target_id = None
    for raw in _SHEET.findall(archive.read(book)):
        found = _attributes(raw)
        if found.get(b"name", b"").replace(b"&amp;", b"&") == wanted:
            target_id = found.get(b"id")
    for raw in _RELATIONSHIP.findall(archive.read(links)):
        found = _attributes(raw)
        if target_id is not None and found.get(b"Id") == target_id:
            target = found.get(b"Target", b"").decode()
            path = target.lstrip("/") if target.startswith("/") else \
                posixpath.normpath(posixpath.join("xl", target))
            return names.get(path.lower())
    return None


def _style_kinds(archive: zipfile.ZipFile) -> list[str | None] | None:
    """Each cell style's kind of date format (by the ``s`` index), or None for other formats."""
    names = {n.lower(): n for n in archive.namelist()}
    styles = names.get("xl/styles.xml")
    if styles is None:
        return None
    xml = archive.read(styles)
    codes = {}
    for raw in _NUMBER_FORMAT.findall(xml):
        found = _attributes(raw)
        if b"numFmtId" in found:
            code = found.get(b"formatCode", b"").decode("utf-8", "replace")
            codes[int(found[b"numFmtId"])] = code
    table = _CELL_STYLES.search(xml)
    if table is None:
        return None
    kinds: list[str | None] = []
    for raw in _STYLE.findall(table.group(1)):
        number = int(_attributes(raw).get(b"numFmtId", b"0"))
        kinds.append(format_kind(codes[number]) if number in codes else _BUILT_IN.get(number))
    return kinds


def format_kind(code: str) -> str | None:
    """A custom number format's kind: a date and time, a date, or neither (None)."""
    letters = _LITERALS.sub("", code).split(";")[0].lower()
    date = "y" in letters or "d" in letters
    time = "h" in letters or "s" in letters
    if date:
        return DATE_TIME if time else DATE_ONLY
    return None


def _cells(archive: zipfile.ZipFile, part: str, formats: list[str | None], letters: set[str]
           ) -> dict[tuple[str, int], str]:
    cell = re.compile(
        rb'<c r="(%s)([1-9][0-9]{0,6})"([^>]*)>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?'
        rb"<v>([^<]*)</v>" % b"|".join(re.escape(x.encode()) for x in sorted(letters)))
    kinds: dict[tuple[str, int], str] = {}
    with archive.open(part) as sheet:
        tail = b""
        while chunk := sheet.read(1 << 20):
            for column, row, raw, value in cell.findall(tail + chunk):
                kind = _kind(_attributes(raw), value, formats)
                if kind is not None:
                    kinds[(column.decode(), int(row))] = kind
            tail = chunk[-_OVERLAP:]
    return kinds


def _kind(attributes: dict[bytes, bytes], value: bytes, formats: list[str | None]) -> str | None:
    """A cell's kind if it holds a whole-day date: a number (to the millisecond, as calamine
    rounds) under a date format, or an ISO 8601 date cell (``t="d"``) by its own text."""
    kind = attributes.get(b"t", b"n")
    if kind == b"d":
        return (DATE_TIME if b"T" in value else DATE_ONLY) if value else None
    if kind != b"n":
        return None
    try:
        serial = float(value)
        style = int(attributes.get(b"s", b"0"))
    except ValueError:
        return None
    if round(serial * _DAY_MS) % _DAY_MS != 0 or not 0 <= style < len(formats):
        return None
    return formats[style]
