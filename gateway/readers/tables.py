"""CSV and XLSX documents: a header, a sample for routing, and raw-text record batches.

Values stay text here (trimmed; empty cells are ``""``); the record layer types them from the
schema. Rows are numbered as the submitter sees them in a spreadsheet: the header is row 1, and
blank rows are skipped without renumbering the rest.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from itertools import islice
from pathlib import Path
from typing import NamedTuple

from gateway.contract.findings import Finding, column_letter
from gateway.contract.lazy import lazy_module
from gateway.contract.records import Document, FileSample, RecordBatch
from gateway.readers.columnwise import as_text, bools, filled
from gateway.readers.header import duplicate_columns, normalise_name
from gateway.readers.limits import Limits
from gateway.readers.midnight_cells import DATE_ONLY, midnight_kinds
from gateway.readers.problems import FileProblem
from gateway.readers.sniff import CSV, XLSX
from gateway.readers.workbook_columns import DATA_SHEET, SheetColumns, read_sheet_columns

np = lazy_module("numpy")
pd = lazy_module("pandas")
pa = lazy_module("pyarrow")
pc = lazy_module("pyarrow.compute")
pacsv = lazy_module("pyarrow.csv")

SAMPLE_ROWS = 50
# What str.strip() removes from ASCII text.
_PY_ASCII_SPACE = "".join(chr(c) for c in range(128) if chr(c).isspace())
_CSV_BLOCK = 1 << 20  # bytes Arrow parses at a time (well over a row's 200 x 2,000 chars)
# A CSV file at most this large with no quote is split by Python (``CsvDocument._plain``):
# Arrow's reader costs about a millisecond to set up, Python's split a few microseconds a row.
_PLAIN_CSV_BYTES = 16 * 1024
_LINE_END = re.compile(r"\r\n|\r|\n")  # what ends a CSV record for Arrow and Python's csv
# Rows of a sheet converted to Python at a time: calamine already holds the whole sheet, so the
# batch adds little speed but much memory.
_XLSX_BLOCK = 10_000


class TableDocument(Document):
    """A table whose header is read and checked for duplicates on open."""

    def __init__(self, path: Path, limits: Limits, raw_header: list[str]) -> None:
        self.path = path
        self.limits = limits
        names = [normalise_name(str(h)) for h in raw_header]
        while names and not names[-1]:  # trailing unnamed columns are spreadsheet residue
            names.pop()
        if not names:
            raise FileProblem.of("E-FILE-EMPTY", "The file has no header row and no data.",
                                 hint="Start from the measure's template.")
        if len(names) > limits.max_columns:
            raise FileProblem.of("E-FILE-LIMIT",
                                 f"The header has {len(names)} columns; at most "
                                 f"{limits.max_columns} are accepted.", row=1)
        letters = {i: column_letter(i) for i in range(len(names))}
        for index, name in enumerate(names):
            if len(name) > limits.max_cell_chars:
                raise FileProblem.of(
                    "E-FILE-LIMIT", f"Cell {letters[index]}1 of the header row is longer than the "
                    f"{limits.max_cell_chars:,} characters a cell may have.", row=1,
                    cell=f"{letters[index]}1", hint="Row 1 holds the column names only; start "
                                                    "from the measure's template.")
            if not name:
                raise FileProblem.of("E-HEADER-UNKNOWN-COLUMN",
                                     f"Column {letters[index]} has no name in the header row.",
                                     hint="Enter the column's name in row 1 or delete the column.",
                                     row=1, cell=f"{letters[index]}1")
        problems = duplicate_columns(names, letters)
        if problems:
            raise FileProblem(*problems)
        self.columns = tuple(names)
        self.cells = {name: letters[i] for i, name in enumerate(names)}

    # The batch ``sample`` read when it held the whole file, for the next ``batches`` call.
    _kept: RecordBatch | None = None

    def batches(self, batch_size: int) -> Iterator[RecordBatch]:
        """Records in source order as raw text, blank rows skipped."""
        kept, self._kept = self._kept, None
        if kept is not None and batch_size >= SAMPLE_ROWS:
            return iter([kept])
        return (read.batch for read in self._batches(batch_size))

    @abstractmethod
    def _batches(self, batch_size: int) -> Iterator[_Read]:
        """``batches``, each with its texts and whether it is the whole file."""

    def header_place(self) -> str:
        """Where the header was looked for, in the submitter's terms (a routing receipt says
        it, so a title row above the header or data on another sheet is plain to see)."""
        return "row 1 (the first line of the file)"

    def sample(self) -> FileSample:
        """The first records, for routing. A file with fewer records than the sample is read
        whole here: its batch is kept for the next ``batches`` call, so a small file is parsed
        and built into a frame once, not twice (most uploads are small)."""
        self._kept = None
        batches = self._batches(SAMPLE_ROWS)
        read = next(batches, None)
        batches.close()
        if read is None:
            return FileSample(format=self.format, columns=self.columns, rows=())
        if read.whole:
            self._kept = read.batch
        names = list(read.texts)
        texts = [text if isinstance(text, tuple) else text.to_pylist()
                 for text in read.texts.values()]
        return FileSample(format=self.format, columns=self.columns,
                          rows=tuple(dict(zip(names, row, strict=True))
                                     for row in zip(*texts, strict=True)))

    def _batch(self, columns: dict[str, pa.Array], first_row: int, whole: bool
               ) -> _Read | None:
        """Trim cells, drop blank rows, check cell lengths; ``first_row`` is the sheet row of
        the first record. Columns are Arrow string arrays (no nulls)."""
        length = len(next(iter(columns.values()))) if columns else 0
        rows = np.arange(first_row, first_row + length, dtype=np.int64)
        columns = {name: _stripped(text) for name, text in columns.items()}
        any_text = np.zeros(length, dtype=bool)
        for text in columns.values():
            any_text |= filled(text)
        if not any_text.all():
            keep = pa.array(any_text)
            columns = {name: text.filter(keep) for name, text in columns.items()}
            rows = rows[any_text]
        if len(rows) == 0:
            return None
        limit = self.limits.max_cell_chars
        for name, text in columns.items():
            # a cell has at least as many bytes as characters: count characters only when
            # some cell's bytes exceed the limit
            if not (bools(pc.binary_length(text)) > limit).any():
                continue
            too_long = bools(pc.utf8_length(text)) > limit
            if too_long.any():
                row = int(rows[too_long.argmax()])
                raise FileProblem.of(
                    "E-FILE-LIMIT", f"Cell {self.cells[name]}{row} ({name}) is longer than "
                    f"{limit:,} characters.", row=row, column=name, cell=f"{self.cells[name]}{row}")
        frame = pd.DataFrame({name: _text_array(text) for name, text in columns.items()},
                             copy=False)  # arrays, not Series: nothing to align
        return _Read(RecordBatch(frame=frame, rows=rows, cells=self.cells), columns, whole)

    def _rows_read(self, records: Sequence[Sequence[str]], first_row: int, whole: bool
                   ) -> _Read | None:
        """``_batch`` of a few records already in Python (each with at least the named
        columns' cells): the same trimming, blank rows and cell-length check, without a dozen
        Arrow calls a column. The frame is one block of Python strings (the raw text a record
        layer reads: a frame of Arrow columns costs ten times more to make and to read)."""
        width = len(self.columns)
        kept = [(first_row + i, cells) for i, record in enumerate(records)
                if any(cells := [cell.strip() for cell in record[:width]])]
        if not kept:
            return None
        rows = np.array([row for row, _cells in kept], dtype=np.int64)
        cells = [cells for _row, cells in kept]
        texts = dict(zip(self.columns, zip(*cells, strict=True), strict=True))
        limit = self.limits.max_cell_chars
        for name, column in texts.items():
            if max(map(len, column)) > limit:
                row = int(rows[next(i for i, cell in enumerate(column) if len(cell) > limit)])
                raise FileProblem.of(
                    "E-FILE-LIMIT", f"Cell {self.cells[name]}{row} ({name}) is longer than "
                    f"{limit:,} characters.", row=row, column=name, cell=f"{self.cells[name]}{row}")
        frame = pd.DataFrame(np.array(cells, dtype=object), columns=list(self.columns),
                             dtype=object, copy=False)
        return _Read(RecordBatch(frame=frame, rows=rows, cells=self.cells), texts, whole)


class _Read(NamedTuple):
    """A batch as read: its texts (trimmed, blank rows dropped: Arrow arrays, or tuples of
    Python strings for a batch made in Python), and whether it is the whole file (read from
    the file's first block, which was also its last: a larger batch size then reads the same
    batch)."""

    batch: RecordBatch
    texts: Mapping[str, pa.Array | tuple[str, ...]]
    whole: bool


class CsvDocument(TableDocument):
    """A CSV file, read by Arrow's streaming CSV reader in ~1 MiB blocks.

    Arrow and Python's ``csv`` module agree on every well-formed file: quoted newlines, doubled
    quotes, blank lines kept as records (so later rows keep their numbers), CR/LF/CRLF line
    ends, a UTF-8 BOM. Where Arrow refuses a record (a row with too few or too many cells, an
    unclosed quote) the rest of the file is read row by row from that record on: short rows
    padded and reported as a warning, an overlong row or unclosed quote reported with its row
    and line.
    """

    format = CSV

    def __init__(self, path: Path, limits: Limits) -> None:
        # The hashing pass has refused lines over the line cap, so one line is bounded; the csv
        # module's own field limit (128 KiB) must not turn a long header cell into "no header".
        with path.open(encoding="utf-8-sig", newline="") as handle, \
                _csv_field_limit(limits.max_line_bytes):
            try:
                header = next(csv.reader(io.StringIO(handle.readline())), [])
            except csv.Error:
                header = []
        super().__init__(path, limits, header)
        self._width = len(header)

    def _names(self) -> list[str]:
        extra = self._width - len(self.columns)  # dropped trailing unnamed columns
        return [*self.columns, *(f"\0unnamed{i}" for i in range(extra))]

    _plain_records: list[list[str]] | None = None

    def _plain(self) -> list[list[str]] | None:
        """The records of a small file that holds no quote, split by Python, when every line
        has as many cells as the header (no blank line): such a file is read the same by any
        CSV reader, so it need not start Arrow's. None for any other file."""
        if self._plain_records is not None:
            return self._plain_records
        if self.path.stat().st_size > _PLAIN_CSV_BYTES:
            return None
        try:
            text = self.path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            return None
        if '"' in text or "\0" in text:
            return None
        lines = _LINE_END.split(text)
        if lines and lines[-1] == "":
            lines.pop()  # the end of the last line
        records = [line.split(",") for line in lines[1:]]
        if any(len(record) != self._width for record in records):
            return None
        self._plain_records = records
        return records

    def _batches(self, batch_size: int) -> Iterator[_Read]:
        records = self._plain()
        if records is not None:
            for start in range(0, len(records), batch_size):
                chunk = records[start:start + batch_size]
                self._check_rows(start + len(chunk))
                read = self._rows_read(chunk, start + 2,
                                       whole=start == 0 and len(chunk) < batch_size)
                if read is not None:
                    yield read
            return
        handed = 0  # records (blank ones included) already turned into batches
        for table, whole in self._arrow_tables(batch_size):
            if table is None:  # Arrow refused a record: Python's csv reads on from there
                yield from self._row_by_row(batch_size, skip=handed)
                return
            first = handed + 2
            handed += table.num_rows
            self._check_rows(handed)
            read = self._batch({name: table.column(name).combine_chunks()
                                for name in self.columns}, first, whole)
            if read is not None:
                yield read

    def _check_rows(self, records: int) -> None:
        if records > self.limits.max_rows:
            raise FileProblem.of("E-FILE-LIMIT", f"The file has more than "
                                 f"{self.limits.max_rows:,} rows.")

    def _arrow_tables(self, batch_size: int) -> Iterator[tuple[pa.Table | None, bool]]:
        """Tables of exactly ``batch_size`` records (the last one shorter), each with whether
        it is the whole file; ``None`` once, at the end, if Arrow refused a record."""
        names = self._names()
        try:
            reader = pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(column_names=names, skip_rows=1,
                                               block_size=_CSV_BLOCK, use_threads=False),
                parse_options=pacsv.ParseOptions(newlines_in_values=True,
                                                 ignore_empty_lines=False),
                convert_options=pacsv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()), include_columns=names,
                    strings_can_be_null=False, quoted_strings_can_be_null=False))
        except pa.ArrowInvalid:
            yield None, False
            return
        pending: list[pa.RecordBatch] = []
        count = 0
        whole = True  # no table handed out yet
        while True:
            try:
                block = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid:
                yield None, False
                return
            pending.append(block)
            count += block.num_rows
            while count >= batch_size:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, batch_size), False
                whole = False
                rest = table.slice(batch_size)
                pending, count = rest.to_batches(), rest.num_rows
        if count:
            yield pa.Table.from_batches(pending), whole

    def _row_by_row(self, batch_size: int, skip: int) -> Iterator[_Read]:
        """Python's ``csv`` reader from record ``skip`` on (records before it are parsed again
        and dropped), for files Arrow refused: each record's cell count is known, so a row with
        more cells than the header (the first data row too) is ``E-FILE-MALFORMED`` with its
        row and line, and a shorter row is padded with empty cells and said
        (``W-RECORD-SHORT-ROW``). A blank line is a blank row, as in the Arrow path."""
        width = self._width
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            row, start = 0, 1  # records read, and the line the next one begins on
            pending: list[list[str]] = []
            notes: list[Finding] = []
            whole = skip == 0  # until a batch is handed out: Arrow handed out none
            try:
                next(reader, None)  # the header (its quote may be what is never closed)
                row, start = 1, reader.line_num + 1
                for record in reader:
                    row += 1
                    line, start = start, reader.line_num + 1
                    self._check_rows(row - 1)
                    if row - 2 < skip:
                        continue
                    if len(record) > width:
                        title = width <= 2 and row == 2  # a title line above the header
                        raise FileProblem.of(
                            "E-FILE-MALFORMED", f"Line {line} (row {row}) has "
                            f"{len(record)} cells but the header has {width}; the CSV cannot "
                            "be read reliably." + (
                                " The header was read from row 1 (the first line of the "
                                "file), which looks like a title, not the column names."
                                if title else ""), row=row, line=line,
                            cell=f"{column_letter(width)}{row}",
                            hint="Delete the title rows above the header: row 1 holds the "
                                 "column names." if title else
                                 "Delete the extra cells (or quote a value that holds a "
                                 "comma) so every row has as many cells as the header.")
                    if 0 < len(record) < width:
                        notes.append(self._short_row(row, len(record), width))
                        record = record + [""] * (width - len(record))
                    pending.append(record or [""] * width)
                    if len(pending) == batch_size:
                        yield from self._rows_batch(pending, row - len(pending) + 1, notes,
                                                    False)
                        pending, notes, whole = [], [], False
            except csv.Error:  # in the record after ``row``, which began on line ``start``
                raise FileProblem.of(
                    "E-FILE-MALFORMED", f"Line {start} (row {row + 1}): a quoted cell is not "
                    "closed, or a '\"' stands inside a cell that is not quoted.",
                    row=row + 1, line=start,
                    hint="Check that quotes are paired; export the file again.") from None
        if pending:
            yield from self._rows_batch(pending, row - len(pending) + 1, notes, whole)

    def _short_row(self, row: int, cells: int, width: int) -> Finding:
        names = self._names()[cells:width]
        shown = [n for n in names if not n.startswith("\0")]
        first = column_letter(cells)
        return Finding(
            code="W-RECORD-SHORT-ROW", row=row, column=shown[0] if shown else None,
            cell=f"{first}{row}",
            message=f"Row {row} has {cells} cells but the header has {width}; the cells from "
                    f"{first} on ({', '.join(shown) or 'unnamed'}) were read as empty.")

    def _rows_batch(self, records: list[list[str]], first: int, notes: list[Finding],
                    whole: bool) -> Iterator[_Read]:
        columns = list(zip(*records, strict=True))
        read = self._batch({name: as_text(list(columns[j]))
                            for j, name in enumerate(self.columns)}, first, whole)
        if read is not None:  # None: blank rows only (a short row of spaces is blank too)
            read.batch.notes = notes
            yield read


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """The csv module's field limit is process-wide: raise it for one read, then restore it."""
    before = csv.field_size_limit(max(limit, csv.field_size_limit()))
    try:
        yield
    finally:
        csv.field_size_limit(before)


def _stripped(text: pa.Array) -> pa.Array:
    """Cells trimmed exactly as Python's ``str.strip`` trims. Only cells that may change are
    trimmed (almost no cell of an exported file has a space at an end, and trimming every cell
    copied every column): those are found from two bytes a cell."""
    changing = _may_strip(text)
    if changing is None:
        return _trimmed(text)
    if not changing.any():
        return text
    mask = pa.array(changing)
    return pc.replace_with_mask(text, mask, _trimmed(text.filter(mask)))


@cache
def _edge_bytes() -> np.ndarray:
    """Bytes at either end of a cell that ``str.strip`` may remove: Python's ASCII whitespace,
    and any byte of a non-ASCII character (the cell may end in a Unicode space). Built at first
    use, so importing the readers does not import numpy."""
    edge = np.zeros(256, dtype=bool)
    edge[[ord(c) for c in _PY_ASCII_SPACE]] = True
    edge[0x80:] = True
    return edge


def _may_strip(text: pa.Array) -> np.ndarray | None:
    """Which cells begin or end with a byte of ``_edge_bytes()``, read from the array's offsets
    and data (no copy); None for an array with nulls (then every cell is trimmed). A cell
    whose first and last bytes are printable ASCII is left as it is by ``str.strip``."""
    if text.null_count or len(text) == 0:
        return None if text.null_count else np.zeros(0, dtype=bool)
    _validity, offsets_buffer, data_buffer = text.buffers()
    width = np.int64 if pa.types.is_large_string(text.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[
        text.offset:text.offset + len(text) + 1]
    starts, ends = offsets[:-1], offsets[1:]
    if data_buffer is None or data_buffer.size == 0:
        return np.zeros(len(text), dtype=bool)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    # an empty cell reads a neighbour's byte ("clip" keeps it inside the data): not changing
    first = data.take(starts, mode="clip")
    last = data.take(ends - 1, mode="clip")
    edge = _edge_bytes()
    return (edge[first] | edge[last]) & (ends > starts)


def _trimmed(text: pa.Array) -> pa.Array:
    """Every cell trimmed as ``str.strip`` trims: ASCII cells by Arrow with Python's ASCII
    whitespace set (it includes the separators \x1c-\x1f), non-ASCII cells by Python."""
    trimmed = pc.ascii_trim(text, characters=_PY_ASCII_SPACE)
    ascii = bools(pc.string_is_ascii(text))
    if ascii.all():
        return trimmed
    other = ~ascii
    python = [t.strip() for t in text.filter(pa.array(other)).to_pylist()]
    return pc.replace_with_mask(trimmed, pa.array(other), pa.array(python, type=text.type))


def _text_array(text: pa.Array) -> pd.api.extensions.ExtensionArray:
    """An Arrow string array as a pandas string column, without copying the texts."""
    return pd.arrays.ArrowStringArray(pa.chunked_array([text.cast(pa.large_string())]))


def cell_text(value: object) -> str:
    """python-calamine's typed cell as the text the record layer expects.

    A moment at exactly midnight is written as its date: python-calamine already hands a
    whole-day serial (what Excel stores for a date, or a date and time at 00:00) over as a
    date, and the Arrow path, which sees calamine's moments rounded to the millisecond, cannot
    tell such a serial from one a floating-point hair off it or from an ISO 8601 cell at 00:00."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


class XlsxDocument(TableDocument):
    """The data sheet of a workbook (the sheet named ``data``, else the first sheet).

    Both readers take the sheet's cached values (formulas are not evaluated) and hold one sheet
    in memory, which is why workbooks are capped by size before they are opened. fastexcel reads
    the sheet into Arrow columns (``workbook_columns``); a sheet it cannot render exactly as
    python-calamine does is read by python-calamine, cell by cell, as before. ``read_by`` says
    which one read this document.
    """

    format = XLSX

    def __init__(self, path: Path, limits: Limits, *, arrow: bool = True,
                 texts_read_as_empty: bool = True) -> None:
        """``arrow=False`` reads with python-calamine only: for a workbook the ZIP pre-pass
        found fastexcel would read otherwise (``zipcheck``), and to compare the two;
        ``texts_read_as_empty`` is the pre-pass's answer that ``read_sheet_columns`` takes."""
        self._columns = (read_sheet_columns(path, texts_read_as_empty=texts_read_as_empty)
                         if arrow else None)
        if self._columns is not None:
            self.read_by = "fastexcel"
            names = self._columns.sheet_names
            self.sheet_name = self._columns.sheet_name
            self._offset = self._columns.offset
            header = self._columns.header
        else:
            self.read_by = "python-calamine"
            names, header = self._open_calamine(path)
        self.other_sheets = [n for n in names if n != self.sheet_name]
        if not any(header):
            raise FileProblem.of("E-FILE-EMPTY", f"Row 1 of sheet '{self.sheet_name}' is empty; "
                                 f"the header must be on row 1.{self._others()}", row=1,
                                 hint="Put the column names on row 1 of the data sheet (the "
                                      "sheet named 'data', else the first sheet).")
        super().__init__(path, limits, header)
        # calamine trims empty leading columns: shift letters to the sheet's real columns
        self.cells = {n: column_letter(i + self._offset) for i, n in enumerate(self.columns)}
        self._date_times: set[str] = set()
        self._midnights: dict[tuple[str, int], str] | None = None
        self._midnights_read = False

    def expect_date_times(self, columns: Iterable[str]) -> None:
        """The layout's date-time columns: a real date at midnight in one is read by its number
        format (``midnight_cells``), as a date and time at 00:00 or as a date without a time.
        The sample's batch was read without them, so it is not reused when there are any."""
        self._date_times = {name for name in columns if name in self.cells}
        if self._date_times:
            self._kept = None

    def _open_calamine(self, path: Path) -> tuple[list[str], list[str]]:
        """Load the sheet with python-calamine: the workbook's sheet names and the header."""
        from python_calamine import CalamineWorkbook

        try:
            self._book = CalamineWorkbook.from_path(str(path))
            names = self._book.sheet_names
            self.sheet_name = DATA_SHEET if DATA_SHEET in names else names[0]
            sheet = self._book.get_sheet_by_name(self.sheet_name)
        except Exception as err:  # calamine raises several types for damaged workbooks
            raise FileProblem.of("E-FILE-MALFORMED", "The workbook cannot be read: it is "
                                 f"damaged or not a real .xlsx ({type(err).__name__}).",
                                 hint="Save the workbook again from Excel.") from None
        self._sheet = sheet
        self._offset = sheet.start[1] if sheet.start else 0
        first = next(sheet.iter_rows(), None)
        return names, [cell_text(v) for v in first] if first else []

    def _others(self) -> str:
        if not self.other_sheets:
            return ""
        shown = ", ".join(f"'{n}'" for n in self.other_sheets[:5])
        return (f" The workbook's other sheets ({shown}) are not read: the gateway reads the "
                f"sheet named '{DATA_SHEET}', else the first sheet.")

    def header_place(self) -> str:
        if not self.other_sheets:
            return f"row 1 of sheet '{self.sheet_name}'"
        shown = ", ".join(f"'{n}'" for n in self.other_sheets[:5])
        return (f"row 1 of sheet '{self.sheet_name}' (the workbook's other sheets, {shown}, "
                f"are not read: the gateway reads the sheet named '{DATA_SHEET}', else the "
                "first sheet)")

    def _batches(self, batch_size: int) -> Iterator[_Read]:
        block_size = min(batch_size, _XLSX_BLOCK)
        if self._columns is not None:
            blocks = self._arrow_blocks(self._columns, block_size)
        else:
            blocks = self._calamine_blocks(block_size)
        row_number = 2
        for length, columns, dates, whole in blocks:
            first = row_number
            row_number += length
            if row_number - 2 > self.limits.max_rows:
                raise FileProblem.of("E-FILE-LIMIT",
                                     f"The sheet has more than {self.limits.max_rows:,} rows.")
            texts = dict(zip(self.columns, columns, strict=True))
            notes = self._at_midnight(texts, dates, first) if self._date_times else []
            read = self._batch(texts, first, whole)
            if read is not None:
                read.batch.notes = notes
                yield read

    def _at_midnight(self, texts: dict[str, pa.Array], dates: dict[int, np.ndarray],
                     first: int) -> list[Finding]:
        """Real dates at midnight in date-time columns (``dates``: which cells of which columns
        are real dates, not texts): a date-time format makes them 00:00; a date format leaves
        the date, which the record layer refuses as a date without a time. Where the format
        cannot be looked up, the cell is read as 00:00 and a warning names it."""
        notes: list[Finding] = []
        for name in sorted(self._date_times):
            real = dates.get(self.columns.index(name))
            if real is None:
                continue
            text = texts[name]
            day = real & bools(pc.match_substring_regex(text, r"^\d{4}-\d{2}-\d{2}$"))
            if not day.any():
                continue
            kinds = self._midnight_kinds()
            letter = self.cells[name]
            timed = np.zeros(len(text), dtype=bool)
            for i in np.flatnonzero(day):
                row = first + int(i)
                kind = kinds.get((letter, row)) if kinds is not None else None
                if kind == DATE_ONLY:
                    continue
                timed[i] = True
                if kind is None:
                    notes.append(Finding(
                        code="W-RECORD-MIDNIGHT", row=row, column=name, cell=f"{letter}{row}",
                        message=f"Cell {letter}{row} ({name}) holds a date at midnight whose "
                                "number format the gateway could not read; it was read as "
                                "00:00 on that day."))
            if timed.any():
                mask = pa.array(timed)
                texts[name] = pc.replace_with_mask(
                    text, mask, pc.binary_join_element_wise(text.filter(mask), "T00:00", ""))
        return notes

    def _midnight_kinds(self) -> dict[tuple[str, int], str] | None:
        """The formats of the date-time columns' whole-day cells, read once when needed."""
        if not self._midnights_read:
            self._midnights_read = True
            self._midnights = midnight_kinds(self.path, self.sheet_name,
                                             {self.cells[n] for n in self._date_times})
        return self._midnights

    def _arrow_blocks(self, sheet: SheetColumns, size: int
                      ) -> Iterator[tuple[int, list[pa.Array], dict[int, np.ndarray], bool]]:
        """The header's columns in blocks of ``size`` rows, sliced from fastexcel's texts,
        which of their cells are real dates (every cell of a typed date column), and whether
        the block is the whole sheet."""
        texts = sheet.columns[:len(self.columns)]
        for start in range(0, sheet.rows, size):
            length = min(size, sheet.rows - start)
            dates = {j: np.ones(length, dtype=bool) for j in sheet.dates if j < len(texts)}
            yield (length, [text.slice(start, length) for text in texts], dates,
                   sheet.rows <= size)

    def _calamine_blocks(self, size: int) -> Iterator[
            tuple[int, list[pa.Array], dict[int, np.ndarray], bool]]:
        """The header's columns in blocks of ``size`` rows, converted from calamine's cells
        (cells right of the header's last column are not read; rows shorter than the header
        are padded with empty cells), which cells of the date-time columns are real dates, and
        whether the block is the whole sheet."""
        watched = [self.columns.index(name) for name in self._date_times]
        width = len(self.columns)
        rows = self._sheet.iter_rows()  # a fresh pass over the loaded sheet each time
        next(rows, None)  # the header
        first = True
        while block := list(islice(rows, size)):
            if min(map(len, block)) >= width:
                columns = list(zip(*block, strict=False))
            else:
                columns = list(zip(*([*values[:width], *[""] * (width - len(values))]
                                     for values in block), strict=True))
            dates = {j: np.fromiter((isinstance(v, dt.date) for v in columns[j]), dtype=bool,
                                    count=len(block)) for j in watched}
            yield len(block), [pa.array(_column_text(columns[j]), type=pa.string())
                               for j in range(width)], dates, first and len(block) < size
            first = False


def _column_text(values: Sequence[object]) -> Sequence[str]:
    """A column of calamine cells as text: each distinct value converted once. Booleans go
    cell by cell, since ``True == 1`` would share a dictionary entry with the number 1."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return values  # type: ignore[return-value]
    if bool in kinds:
        return [cell_text(v) for v in values]
    texts = {v: cell_text(v) for v in set(values)}
    return list(map(texts.__getitem__, values))
