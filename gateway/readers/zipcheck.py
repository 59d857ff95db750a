"""Refusing hostile workbooks before the spreadsheet reader opens them.

First from the ZIP central directory alone (sizes, ratios, part count), then in one streaming
pass over every part's compressed bytes, exactly those the spreadsheet reader would inflate:
- a part that inflates past the size its directory entry declares (a ZIP bomb behind a lying
  directory: the reader trusts the compressed length, not the declared size) is refused;
- an XML part that declares a DTD or entities is refused (Excel never writes one), and so is a
  table of texts that claims more entries than its bytes could hold (the reader would reserve
  room for all of them and abort);
- links to other workbooks are refused (their values could change when opened elsewhere);
- each sheet's used area, first to last used row times column, is capped: the reader holds it as
  a dense grid, so one cell at XFD1048576 would make it allocate half a terabyte and abort.
The pass inflates into a fixed-size buffer and keeps only counters, so its memory is flat.

It also says whether fastexcel may read the workbook (``tables``), which needs two things
python-calamine does not: each sheet's XML outside its cell data (what comes before
``<sheetData>`` and after ``</sheetData>``, up to 1 MiB each, is kept) well-formed with merged
ranges calamine can read -- python-calamine reads a sheet's whole XML a second time for its
merged ranges and calls a workbook damaged there, while fastexcel stops at the end of the
cells -- and no NUL character in any XML part, raw or escaped (``_x0000_``), since fastexcel
drops it from header names.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from xml.parsers import expat

from gateway.contract.findings import column_letter
from gateway.readers.limits import MIB, Limits
from gateway.readers.problems import FileProblem
from gateway.readers.sheet_scan import ExactScan, SharedTextsScan, SheetScan
from gateway.readers.xml_safe import prolog_declaration

_CHUNK = MIB
_LOCAL_HEADER = struct.Struct("<4s22xHH")
_XML_PART = (".xml", ".rels", ".vml")
_SHARED_STRINGS = re.compile(rb"<(?:\w+:)?sst\b[^>]*>")
# uniqueCount is what the reader reserves for; count (cells using a text) may be far larger.
_UNIQUE_COUNT = re.compile(rb'\buniqueCount\s*=\s*["\']([0-9]{1,20})["\']')
_OUTSIDE = MIB  # bytes of a sheet's XML kept before and after its cell data
_CELLS_START = b"<sheetData"
_CELLS_END = b"</sheetData>"
_NUL = b"_x0000_"
_MERGE_CELL = re.compile(rb"<(?:\w+:)?mergeCell\b")
# The merged-range references calamine surely parses: plain cells, no $, rows from 1.
_PLAIN_MERGE_CELL = re.compile(
    rb'<(?:\w+:)?mergeCell ref="[A-Z]{1,3}[1-9][0-9]{0,6}(?::[A-Z]{1,3}[1-9][0-9]{0,6})?"\s*/>')


@dataclass(frozen=True)
class WorkbookArchive:
    """What the pass learnt beyond its refusals: whether fastexcel reads the workbook as
    python-calamine does (see the module's docstring), and whether a cell may be a text
    fastexcel's type inference takes for an empty cell (``sheet_scan``): only then are its
    reasons for empty cells asked for (``workbook_columns``)."""

    fastexcel_reads_alike: bool
    texts_read_as_empty: bool = True


def check_workbook_archive(path: Path, size: int, limits: Limits) -> WorkbookArchive:
    """Reject a workbook over the size caps, a ZIP bomb, a part with a DTD, external links or
    a sheet whose used area is over the cell cap. The central directory's sizes are checked
    first, then every part is inflated once (bounded by its declared size) and inspected."""
    if size > limits.max_xlsx_bytes:
        raise FileProblem.of(
            "E-FILE-TOO-LARGE", f"The workbook is {size / MIB:,.1f} MiB; workbooks up to "
            f"{limits.max_xlsx_bytes / MIB:,.0f} MiB are accepted.",
            hint="Send a file this large as CSV, or split it.")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
        _check_directory(members, limits)
        alike, texts = True, False
        with path.open("rb") as handle:
            for member in members:
                part_alike, part_texts = _check_part(handle, member, limits)
                alike, texts = alike and part_alike, texts or part_texts
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error):
        raise _damaged() from None  # offsets or lengths that point outside the file
    return WorkbookArchive(fastexcel_reads_alike=alike, texts_read_as_empty=texts)


def _check_directory(members: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(members) > limits.max_xlsx_entries:
        raise FileProblem.of("E-FILE-UNSAFE-ZIP",
                             f"The workbook holds {len(members):,} parts; at most "
                             f"{limits.max_xlsx_entries:,} are accepted.")
    unpacked = 0
    for member in members:
        unpacked += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > MIB and ratio > limits.max_xlsx_ratio:
            raise _bomb(f"A part of the workbook compresses {ratio:,.0f} to 1, above the "
                        f"{limits.max_xlsx_ratio} to 1 accepted; it looks like a ZIP bomb.")
        if member.flag_bits & 0x1:
            raise FileProblem.of(
                "E-FILE-ENCRYPTED", "The workbook is password-protected (encrypted), so the "
                "gateway cannot read it.", hint="Save it again without a password.")
        if member.filename.startswith("xl/externalLinks/"):
            raise FileProblem.of(
                "E-FILE-EXTERNAL-LINK", "The workbook takes values from other workbooks "
                "(external links); the gateway reads only what the file itself holds.",
                hint="In Excel use Data > Edit Links > Break Link, save, and upload the saved "
                     "file.")
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _damaged()
    if unpacked > limits.max_xlsx_unpacked_bytes:
        raise FileProblem.of(
            "E-FILE-TOO-LARGE", f"The workbook unpacks to {unpacked / MIB:,.0f} MiB; at most "
            f"{limits.max_xlsx_unpacked_bytes / MIB:,.0f} MiB are accepted.",
            hint="Send a file this large as CSV, or split it.")


def _bomb(message: str) -> FileProblem:
    return FileProblem.of(
        "E-FILE-UNSAFE-ZIP", message,
        hint="Remove empty formatted rows and columns, or send the data as CSV.")


def _damaged() -> FileProblem:
    return FileProblem.of("E-FILE-MALFORMED", "The workbook is damaged (not a readable ZIP).",
                          hint="Save the workbook again from Excel and upload the new copy.")


def _check_prolog(name: str, head: bytes, size: int) -> None:
    """A part's start: no DTD; and a shared-strings table may not claim more strings than its
    bytes could hold (the reader reserves room for the claimed number up front, ~24 bytes each,
    and aborts when two billion do not fit)."""
    found = prolog_declaration(head)
    if found:
        raise FileProblem.of(
            "E-FILE-UNSAFE-XML", f"The workbook's part {name} declares a {found[0]}; DTDs and "
            "entities are refused (Excel never writes them).",
            hint="Save the workbook again from Excel, or send the data as CSV.")
    table = _SHARED_STRINGS.search(head)
    if table:
        claimed = max((int(n) for n in _UNIQUE_COUNT.findall(table.group(0))), default=0)
        if claimed > size // len(b"<si/>"):
            raise FileProblem.of(
                "E-FILE-MALFORMED", f"The workbook is damaged: its table of texts ({name}) "
                f"claims {claimed:,} entries in {size:,} bytes.",
                hint="Save the workbook again from Excel and upload the new copy.")


class _Outside:
    """A sheet's XML before and after its cell data, chunk by chunk, up to ``_OUTSIDE`` bytes
    each (the tail is a rolling window)."""

    def __init__(self) -> None:
        self.head = b""
        self.head_done = False
        self.last: list[bytes] = []  # the last two chunks: at least _OUTSIDE bytes once full

    def feed(self, text: bytes) -> None:
        if not self.head_done and len(self.head) <= _OUTSIDE:
            self.head += text
            self.head_done = _CELLS_START in self.head
        self.last = [*self.last[-1:], text]

    def clean(self) -> bool:
        """Whether head + empty cell data + tail is well-formed XML (expat is stricter than the
        reader calamine uses, so this errs on the side of python-calamine) and every merged
        range has a plain reference."""
        whole_tail = b"".join(self.last)[-(_OUTSIDE + len(_CELLS_END)):]
        start, end = self.head.find(_CELLS_START), whole_tail.rfind(_CELLS_END)
        if start < 0 or end < 0 or start > _OUTSIDE:
            return False
        head, tail = self.head[:start], whole_tail[end + len(_CELLS_END):]
        merges = _MERGE_CELL.findall(head) + _MERGE_CELL.findall(tail)
        if len(merges) != len(_PLAIN_MERGE_CELL.findall(head) + _PLAIN_MERGE_CELL.findall(tail)):
            return False
        parser = expat.ParserCreate()
        parser.StartDoctypeDeclHandler = _refuse_doctype  # no entity is ever expanded here
        try:
            parser.Parse(head + b"<sheetData/>" + tail, True)
        except (expat.ExpatError, ValueError):
            return False
        return True


def _refuse_doctype(*_: object) -> None:
    raise ValueError("a DTD outside a sheet's cells")


def _check_part(handle: BinaryIO, member: zipfile.ZipInfo, limits: Limits) -> tuple[bool, bool]:
    """Inflate one part exactly as the spreadsheet reader would and inspect it: whether
    fastexcel reads it as python-calamine does (no NUL character in an XML part, a sheet's XML
    outside its cells clean: ``_Outside``), and whether it may hold a text fastexcel's
    inference takes for an empty cell (a sheet or the table of texts: ``sheet_scan``)."""
    name = member.filename
    xml = name.lower().endswith(_XML_PART)
    sheet = SheetScan() if name.startswith("xl/worksheets/") and xml else None
    outside = _Outside() if sheet is not None else None
    texts = SharedTextsScan() if xml and name.lower().endswith("sharedstrings.xml") else None
    first, nul, last = True, False, b""  # last: the end of the chunk before, for _NUL
    for text in _inflated(handle, member):
        if first and xml:
            _check_prolog(name, text[:64 * 1024], member.file_size)
        first = False
        if xml and not nul:
            nul = b"\0" in text or _NUL in text or _NUL in last + text[:len(_NUL)]
            last = text[-len(_NUL):]
        if sheet is not None:
            sheet.feed(text)
            outside.feed(text)
        if texts is not None:
            texts.feed(text)
    may_read_empty = False
    if texts is not None:
        texts.finish()
        may_read_empty = texts.texts
    if sheet is not None:
        area: SheetScan | ExactScan = sheet
        if sheet.unusual:  # read again, tag by tag
            area = ExactScan()
            for text in _inflated(handle, member):
                area.feed(text)
            area.finish()
            if area.unreadable:
                raise FileProblem.of(
                    "E-FILE-MALFORMED", "The workbook's sheet cannot be read safely: a comment, "
                    "a CDATA section or a tag the gateway cannot read stands among its cells.",
                    hint="Save the workbook again from Excel and upload the new copy.")
        _check_area(area.last_row, area.last_column, limits)
        may_read_empty = area.texts
    return not nul and (outside is None or outside.clean()), may_read_empty


def _inflated(handle: BinaryIO, member: zipfile.ZipInfo) -> Iterator[bytes]:
    """One part's bytes as the spreadsheet reader inflates them (from its local header, for
    the compressed length the directory gives), chunk by chunk; a part that inflates past the
    size its directory declares is refused one chunk after that size."""
    handle.seek(member.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size:
        raise _damaged()
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != b"PK\x03\x04":
        raise _damaged()
    handle.seek(member.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
    inflater = zlib.decompressobj(-15) if member.compress_type == zipfile.ZIP_DEFLATED else None
    left, produced = member.compress_size, 0
    while left > 0:
        raw = handle.read(min(left, _CHUNK))
        if not raw:
            raise _damaged()
        left -= len(raw)
        while raw:
            try:
                text = inflater.decompress(raw, _CHUNK) if inflater else raw
            except zlib.error:
                raise _damaged() from None
            raw = inflater.unconsumed_tail if inflater else b""
            produced += len(text)
            if produced > member.file_size:
                raise _bomb(f"The workbook's part {member.filename} unpacks to more than the "
                            f"{member.file_size:,} bytes its directory declares; the file is "
                            "damaged or a ZIP bomb.")
            if text:
                yield text


def _check_area(last_row: int, last_column: int, limits: Limits) -> None:
    """The used area, counted from A1, within the cap (see the module's docstring)."""
    cells = max(last_row, 1) * max(last_column, 1)
    if cells > limits.max_sheet_cells:
        shown = (f"{column_letter(max(last_column, 1) - 1)}{max(last_row, 1)}"
                 if last_column <= 16_384 and last_row <= 1_048_576 else
                 f"row {last_row:,}, column {last_column:,}")
        raise FileProblem.of(
            "E-FILE-LIMIT", f"A sheet of the workbook uses cells up to {shown}: {cells:,} cells "
            f"counted from A1, more than the {limits.max_sheet_cells:,} a sheet may span.",
            hint="Press Ctrl+End in Excel to find the last used cell; delete the rows and "
                 "columns past your data, save, and upload again.")
