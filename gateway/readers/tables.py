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
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from gateway.contract import Document, FileSample, RecordBatch
from gateway.findings import column_letter
from gateway.readers.header import duplicate_columns, normalise_name
from gateway.readers.limits import Limits
from gateway.readers.problems import FileProblem
from gateway.readers.sniff import CSV, XLSX

SAMPLE_ROWS = 50
DATA_SHEET = "data"


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

    @abstractmethod
    def batches(self, batch_size: int) -> Iterator[RecordBatch]:
        """Records in source order as raw text, blank rows skipped."""

    def sample(self) -> FileSample:
        rows: list[dict[str, str]] = []
        for batch in self.batches(SAMPLE_ROWS):
            rows.extend(batch.frame.to_dict("records"))
            break
        return FileSample(format=self.format, columns=self.columns, rows=tuple(rows))

    def _batch(self, frame: pd.DataFrame, first_row: int) -> RecordBatch | None:
        """Trim cells, drop blank rows, check cell lengths; ``first_row`` is the sheet row of
        the frame's first line."""
        rows = np.arange(first_row, first_row + len(frame), dtype=np.int64)
        frame = pd.DataFrame({name: _stripped(frame[name]) for name in frame.columns},
                             index=frame.index)
        filled = (frame != "").any(axis=1).to_numpy()
        if not filled.all():
            frame, rows = frame[filled], rows[filled]
        if frame.empty:
            return None
        frame.index = pd.RangeIndex(len(frame))
        limit = self.limits.max_cell_chars
        for name in frame.columns:
            too_long = (frame[name].str.len() > limit).to_numpy()
            if too_long.any():
                row = int(rows[too_long.argmax()])
                raise FileProblem.of(
                    "E-FILE-LIMIT", f"Cell {self.cells[name]}{row} ({name}) is longer than "
                    f"{limit:,} characters.", row=row, column=name, cell=f"{self.cells[name]}{row}")
        return RecordBatch(frame=frame, rows=rows, cells=self.cells)


class CsvDocument(TableDocument):
    format = CSV

    def __init__(self, path: Path, limits: Limits) -> None:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            try:
                header = next(csv.reader(io.StringIO(handle.readline())), [])
            except csv.Error:
                header = []
        super().__init__(path, limits, header)
        self._width = len(header)

    def batches(self, batch_size: int) -> Iterator[RecordBatch]:
        extra = self._width - len(self.columns)  # dropped trailing unnamed columns
        names = [*self.columns, *(f"\0unnamed{i}" for i in range(extra))]
        reader = pd.read_csv(
            self.path, dtype=str, header=0, names=names, encoding="utf-8-sig",
            keep_default_na=False, na_filter=False, skip_blank_lines=False,
            chunksize=batch_size, engine="c", quoting=csv.QUOTE_MINIMAL)
        next_row = 2
        try:
            for chunk in reader:
                first = next_row
                next_row += len(chunk)
                if next_row - 2 > self.limits.max_rows:
                    raise FileProblem.of("E-FILE-LIMIT", f"The file has more than "
                                         f"{self.limits.max_rows:,} rows.")
                batch = self._batch(chunk[list(self.columns)], first)
                if batch is not None:
                    yield batch
        except pd.errors.ParserError as err:
            raise FileProblem.of("E-FILE-MALFORMED", _csv_error_text(err),
                                 hint="Check that every row has as many cells as the header and "
                                      "that quotes are paired; export the file again.") from None
        finally:
            reader.close()


def _stripped(column: pd.Series) -> np.ndarray:
    """Cells trimmed; each distinct text once (pandas strips cell by cell in Python)."""
    codes, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=False)
    if len(uniques) * 2 > len(column):
        return np.array([c.strip() for c in column.tolist()], dtype=object)
    return np.array([u.strip() for u in uniques.tolist()], dtype=object)[codes]


def _csv_error_text(err: Exception) -> str:
    """pandas' tokenizer messages hold line numbers and counts only; keep those, in our words."""
    text = str(err)
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        expected, line, saw = match.groups()
        return (f"Line {line} has {saw} cells but the header has {expected}; the CSV cannot be "
                "read reliably.")
    if "EOF inside string" in text:
        return "A quoted cell is never closed: a '\"' is missing somewhere in the file."
    return "The CSV cannot be read: its quoting or separators are inconsistent."


def _cell_text(value: object) -> str:
    """Calamine's typed cell as the text the record layer expects."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value)


class XlsxDocument(TableDocument):
    """The data sheet of a workbook (the sheet named ``data``, else the first sheet).

    python-calamine reads the sheet's cached values (formulas are not evaluated). It holds one
    sheet in memory, which is why workbooks are capped by size before they are opened.
    """

    format = XLSX

    def __init__(self, path: Path, limits: Limits) -> None:
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
        header = [_cell_text(v) for v in first] if first else []
        if not any(header):
            raise FileProblem.of("E-FILE-EMPTY", f"Row 1 of sheet '{self.sheet_name}' is empty; "
                                 "the header must be on row 1.", row=1,
                                 hint="Put the column names on row 1 of the data sheet.")
        super().__init__(path, limits, header)
        # calamine trims empty leading columns: shift letters to the sheet's real columns
        self.cells = {n: column_letter(i + self._offset) for i, n in enumerate(self.columns)}

    def batches(self, batch_size: int) -> Iterator[RecordBatch]:
        width = len(self.columns)
        rows = self._sheet.iter_rows()  # a fresh pass over the loaded sheet each time
        next(rows, None)  # the header
        row_number = 2
        while True:
            block: list[list[str]] = []
            first = row_number
            for values in rows:
                cells = [_cell_text(v) for v in values[:width]]
                cells += [""] * (width - len(cells))
                block.append(cells)
                row_number += 1
                if len(block) >= batch_size:
                    break
            if not block:
                return
            if row_number - 2 > self.limits.max_rows:
                raise FileProblem.of("E-FILE-LIMIT",
                                     f"The sheet has more than {self.limits.max_rows:,} rows.")
            frame = pd.DataFrame(block, columns=list(self.columns), dtype=object).astype(str)
            batch = self._batch(frame, first)
            if batch is not None:
                yield batch
