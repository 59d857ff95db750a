"""Collecting a summary-level file's rows for the cross-row rules.

Summary files hold a row per component and stratum (hundreds, not millions), so the rules see
them whole; each row keeps its sheet row number and the file's column letters for findings.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping

import pandas as pd

from gateway.contract import FileRule, RecordBatch
from gateway.findings import Finding

ROW = "__row__"


class CollectedRule(FileRule):
    """A rule that needs every row before it can judge: collects, then ``judge``s once."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []
        self._cells: Mapping[str, str] = {}

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        frame = batch.frame.copy()
        frame[ROW] = batch.rows if batch.rows is not None else range(len(frame))
        self._parts.append(frame)
        self._cells = batch.cells
        return ()

    def finish(self) -> Iterable[Finding]:
        if not self._parts:
            return []
        table = pd.concat(self._parts, ignore_index=True)
        return list(self.judge(table))

    @abstractmethod
    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        """Findings over the whole table (one row per record, ``__row__`` its sheet row)."""

    def at(self, row: pd.Series, code: str, message: str, column: str | None = None,
           hint: str | None = None) -> Finding:
        """A finding at a collected row (and cell, when a column is named)."""
        number = int(row[ROW])
        letter = self._cells.get(column) if column else None
        value = row[column] if column and column in row.index else None
        return Finding(code=code, message=message, hint=hint, row=number, column=column,
                       cell=f"{letter}{number}" if letter else None,
                       value=None if value is None or pd.isna(value) else _plain(value))


def _plain(value: object) -> object:
    """numpy scalars to plain Python for the JSON receipt."""
    return value.item() if hasattr(value, "item") else value
