"""A workbook's data sheet as Arrow text columns, read by fastexcel (calamine to Arrow in Rust).

python-calamine hands the sheet to Python cell by cell, and turning a million typed cells into
Python objects and back into texts was most of a workbook's validation time. fastexcel parses
the same sheet with the same calamine and returns whole typed Arrow columns; this module turns
them into the texts the calamine path makes (``cell_text`` in ``tables``), column by column.

The texts must be exactly those: a receipt may not depend on which path read a workbook. So a
sheet is read here only when every column is of one kind this module renders exactly; anything
else returns ``None`` and the caller reads the sheet with python-calamine as before:

- a column mixing kinds (numbers and text, say) -- fastexcel's strict inference refuses it;
- a cell fastexcel could not convert to its column's kind -- a text such as ``NA`` among
  numbers, which its inference takes for an empty cell -- other than an error value or an
  empty text, which both paths read as an empty cell; and ``NaN`` or ``nan`` among numbers,
  which it parses as a number;
- a header cell that is not a text (fastexcel names such columns itself) or a header name
  fastexcel altered (it suffixes a repeated name);
- dates of a workbook counted from 1904, a moment at 1900-01-01 00:00 (a serial of exactly 1
  or just under it: calamine's rounding to milliseconds makes them one instant here) and years
  python-calamine does not turn into dates;
- more than ``_MOST_EMPTY_READS`` empty cells in a sheet where a number, date or boolean column
  has some (fastexcel's reason for each would be a Python object).

The ZIP pre-pass (``zipcheck``) has already decided whether this module may read the workbook
at all (its XML outside the cells clean, no NUL character).

Nothing from a cell reaches an exception or a log here: fastexcel's errors are caught whole.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gateway.contract.lazy import lazy_module

pa = lazy_module("pyarrow")
pc = lazy_module("pyarrow.compute")

DATA_SHEET = "data"
_EPOCH = dt.datetime(1970, 1, 1)
_DAY_MS = 86_400_000
# calamine counts serial dates from 1899-12-30 and adds one day below serial 60, so serials in
# [0, 1) -- times of day, which python-calamine reads as times -- land before 1900-01-01.
_TIMES_BEFORE_MS = int((dt.datetime(1900, 1, 1) - _EPOCH).total_seconds()) * 1000
_NUMERIC_NAME = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|inf)|NaN")
# The name fastexcel gives a column whose header cell is empty or not readable as a text.
_GENERATED_NAME = re.compile(r"__UNNAMED__[0-9]+")
_ALIAS = re.compile(r"(.*)_[0-9]+", re.DOTALL)
# What fastexcel reports for a cell it left empty that python-calamine also reads as empty: an
# error value (#N/A, #DIV/0!, ...) or a text of no characters.
_EMPTY_READ = re.compile(r"got '(?:Error\(|(?:Shared)?String\(\"\"\)'?$)")
# Empty cells (the bound on fastexcel's errors) above which its errors are not asked for: each
# is a Python object of ~200 bytes, so this keeps them under ~100 MB.
_MOST_EMPTY_READS = 500_000
_DATE_1904 = re.compile(rb"""date1904\s*=\s*["'](?:1|true)["']""")
# fastexcel logs a warning for every column whose kind it cannot tell (all cells empty); the
# column is then read as text, which is what this module wants, so the warning is noise.
logging.getLogger("fastexcel").setLevel(logging.ERROR)


@dataclass(frozen=True)
class SheetColumns:
    """The data sheet as read: its header texts, one text column (no nulls) per header cell up
    to the last named one, ``rows`` data rows each (row 2 on), and ``offset``, the number of
    empty columns left of the data."""

    sheet_names: list[str]
    sheet_name: str
    header: list[str]
    offset: int
    columns: list[pa.Array]
    rows: int
    dates: frozenset[int] = frozenset()  # the columns of real dates (typed, not texts)


def read_sheet_columns(path: Path, texts_read_as_empty: bool = True) -> SheetColumns | None:
    """The sheet named ``data`` (else the first sheet) as text columns, or ``None`` when this
    path cannot reproduce python-calamine's texts exactly (see the module's docstring).

    ``texts_read_as_empty`` (the ZIP pre-pass's answer, ``sheet_scan``) says whether a cell
    may be a text fastexcel's inference takes for an empty cell (``NA``, ``#N/A``, ...). If
    not, the sheet is loaded eagerly -- calamine's cells borrowed from its tables and turned
    into one Arrow record batch in Rust, about a quarter less CPU than keeping fastexcel's
    sheet object and converting it -- and an empty cell in a number, date or boolean column is
    an empty cell. If so, the sheet object is kept to ask it why such cells are empty."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        names = list(reader.sheet_names)
        if not names:
            return None
        sheet_name = DATA_SHEET if DATA_SHEET in names else names[0]
        available: list = []  # fastexcel's column descriptions, as it selects the columns
        # header_row=0 with skip_rows=0: row 1 of the sheet is the header, whatever is empty
        options = {"header_row": 0, "skip_rows": 0, "schema_sample_rows": None,
                   "dtype_coercion": "strict"}
        empty_reads: dict[int, set[str]] | None = {}
        if texts_read_as_empty:
            sheet = reader.load_sheet(sheet_name, **options)
            available = sheet.available_columns()
            table = sheet.to_arrow()
            if _typed_nulls(table):
                empty_reads = _empty_reads(sheet, table)
            del sheet  # the parsed sheet: only the Arrow columns are kept
        else:
            table = reader.load_sheet(
                sheet_name, eager=True, **options,
                use_columns=lambda column: available.append(column) or True)
        del reader
    except Exception:  # fastexcel raises many types; python-calamine then reads and judges
        return None
    header = [column.name for column in available]
    if (empty_reads is None or not header or header != table.schema.names
            or not _plain_header(available)):
        return None
    offset = available[0].absolute_index - available[0].index
    needed = len(header)
    while needed and not header[needed - 1].strip():  # trailing unnamed columns are not read
        needed -= 1
    columns: list[pa.Array] = []
    dates: set[int] = set()
    date1904: bool | None = None
    for index in range(needed):
        values = table.column(index)
        details = empty_reads.get(index, set())
        if any(not _EMPTY_READ.search(detail) for detail in details):
            return None
        if pa.types.is_timestamp(values.type):
            if date1904 is None:
                date1904 = _counts_from_1904(path)
            if date1904:
                return None
        if pa.types.is_timestamp(values.type) or pa.types.is_date32(values.type):
            dates.add(index)
        texts = _column_texts(values)
        if texts is None:
            return None
        columns.append(texts)
    return SheetColumns(sheet_names=names, sheet_name=sheet_name, header=header, offset=offset,
                        columns=columns, rows=table.num_rows, dates=frozenset(dates))


def _typed_nulls(table: pa.RecordBatch) -> bool:
    """Whether a number, date or boolean column has empty cells."""
    return any(values.null_count and not _is_text(values.type) for values in table.columns)


def _empty_reads(sheet: object, table: pa.RecordBatch) -> dict[int, set[str]] | None:
    """Why fastexcel left cells of a number, date or boolean column empty, by column index;
    ``None`` when the answer could hold more than ``_MOST_EMPTY_READS`` errors, each a Python
    object: a sheet of millions of error cells is left to python-calamine."""
    if sum(values.null_count for values in table.columns) > _MOST_EMPTY_READS:
        return None
    _, problems = sheet.to_arrow_with_errors()  # type: ignore[attr-defined]
    reads: dict[int, set[str]] = {}
    for problem in problems.errors if problems is not None else []:
        reads.setdefault(problem.position[1], set()).add(problem.detail)
    return reads


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)


def _plain_header(columns: list) -> bool:
    """Every header cell is a text fastexcel kept as written: a generated name stands for an
    empty or non-text cell (a header cell holding such a name goes to python-calamine too), a
    numeric-looking one may be a number fastexcel formatted, and a
    name ending ``_<n>`` next to its stem may be fastexcel's rename of a repeated name."""
    names = {column.name for column in columns}
    for column in columns:
        name = column.name
        if _GENERATED_NAME.fullmatch(name) or _NUMERIC_NAME.fullmatch(name):
            return False
        alias = _ALIAS.fullmatch(name)
        if alias and alias.group(1) in names:
            return False
    return True


def _counts_from_1904(path: Path) -> bool:
    """Whether the workbook counts dates from 1904 (old Mac Excel): its serials then mean other
    days, which only python-calamine's reading handles."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = [n for n in archive.namelist() if n.lower().endswith("workbook.xml")]
            return any(_DATE_1904.search(archive.read(n)) for n in parts)
    except (zipfile.BadZipFile, OSError, KeyError):
        return True  # unreadable here: let python-calamine read (and judge) the workbook


def _column_texts(values: pa.Array) -> pa.Array | None:
    """One typed fastexcel column as python-calamine's texts (nulls are empty cells)."""
    kind = values.type
    if pa.types.is_null(kind):
        return pa.array([""] * len(values), type=pa.string())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return values.cast(pa.string()).fill_null("")
    if pa.types.is_floating(kind):
        if pc.any(pc.is_nan(values)).as_py():  # "NaN"/"nan" texts parse as numbers
            return None
        return _by_distinct(values, _number_text)
    if pa.types.is_timestamp(kind):
        return _by_distinct(values.cast(pa.int64()), _moment_text)
    if pa.types.is_duration(kind):
        return _by_distinct(values.cast(pa.int64()),
                            lambda ms: str(dt.timedelta(milliseconds=ms)))
    if pa.types.is_date32(kind):
        return _by_distinct(values.cast(pa.int32()),
                            lambda days: (dt.date(1970, 1, 1) + dt.timedelta(days=days))
                            .isoformat())
    if pa.types.is_boolean(kind):
        return pc.if_else(values, "Y", "N").fill_null("")
    if pa.types.is_integer(kind):
        return values.cast(pa.string()).fill_null("")
    return None


def _by_distinct(values: pa.Array, text: Callable[[int | float], str | None]) -> pa.Array | None:
    """Each distinct value converted once in Python, then spread over the column; ``None`` if a
    value has no exact text here."""
    distinct = pc.unique(values.drop_null())
    texts = []
    for value in distinct.to_pylist():
        written = text(value)
        if written is None:
            return None
        texts.append(written)
    positions = pc.index_in(values, value_set=distinct)
    return pc.take(pa.array(texts, type=pa.string()), positions).fill_null("")


def _number_text(value: float) -> str:
    """python-calamine's float as the calamine path writes it: whole numbers without a
    decimal point (so -0.0 is "0"), others as Python's shortest repr."""
    return str(int(value)) if value.is_integer() else repr(value)


def _moment_text(ms: int) -> str | None:
    """A calamine date-time (milliseconds since 1970) as python-calamine's reading writes it:
    a serial under 1 is a time of day, a whole-day serial a date, others a date and time."""
    if ms < _TIMES_BEFORE_MS:
        minutes = ms % _DAY_MS // 60_000
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    if ms == _TIMES_BEFORE_MS:
        return None  # serial 1 (a date) or a time just under it: python-calamine decides
    try:
        moment = _EPOCH + dt.timedelta(milliseconds=ms)
    except OverflowError:
        return None  # past year 9999: python-calamine writes the serial number
    if ms % _DAY_MS == 0:
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M")

