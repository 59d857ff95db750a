"""A base for file rules that judge the whole file at once, for files small enough to hold:
summary tables, hospital measure files, a quarter's stroke patients.

Such a rule collects the typed records (with their positions) as they stream past and judges
them together at the end, so it can compare rows with each other and with totals; a finding it
makes is located at the row's cell (tables) or element path and line (XML). Patient-level rules
over millions of rows must keep compact aggregates instead (see ``FileRule``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping

from gateway.contract.findings import Finding
from gateway.contract.lazy import lazy_module
from gateway.contract.records import FileRule, RecordBatch

np = lazy_module("numpy")
pd = lazy_module("pandas")

ROW, XPATH, LINE = "__row__", "__xpath__", "__line__"
_ELEMENT_LINE = "__line__:"  # + column: the line of the record's element for that column


def plain(value: object) -> object:
    """numpy/pandas scalars to plain Python for the JSON receipt; NA to None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):  # as sent: a date alone, or a date-time to the minute
        return (value.date().isoformat() if value == value.normalize()
                else value.isoformat(timespec="minutes"))
    return value.item() if hasattr(value, "item") else value


def show(value: object) -> str:
    """A value as a message shows it (whole floats without '.0' noise kept as given)."""
    value = plain(value)
    return "(empty)" if value is None else str(value)


class CollectedRule(FileRule):
    """A rule that needs every row before it can judge: collects, then ``judge``s once."""

    def __init__(self) -> None:
        self._parts: list[pd.DataFrame] = []
        self._cells: Mapping[str, str] = {}
        self._elements: dict[str, str] = {}  # XML: column -> its child element's name

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        frame = batch.frame.copy()
        n = len(frame)
        frame[ROW] = batch.rows if batch.rows is not None else np.full(n, -1)
        frame[XPATH] = batch.xpaths if batch.xpaths is not None else [None] * n
        frame[LINE] = batch.lines if batch.lines is not None else np.full(n, -1)
        for column, (name, lines) in batch.elements.items():  # the line of each field
            frame[_ELEMENT_LINE + column] = lines
            self._elements[column] = name
        self._parts.append(frame)
        self._cells = batch.cells
        return ()

    def finish(self) -> Iterable[Finding]:
        if not self._parts:
            return []
        return list(self.judge(pd.concat(self._parts, ignore_index=True)))

    @abstractmethod
    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        """Findings over the whole table (one row per record, positions in ``__row__`` etc.)."""

    def at(self, row: pd.Series, message: str, column: str | None = None,
           code: str | None = None, hint: str | None = None) -> Finding:
        """A finding at a collected row: its cell for tables, its element and line for XML."""
        number = int(row[ROW])
        line = int(row[LINE])
        letter = self._cells.get(column) if column else None
        value = plain(row[column]) if column and column in row.index else None
        xpath = row[XPATH] if row[XPATH] else None
        own_line = row.get(_ELEMENT_LINE + column) if column else None
        if xpath and own_line is not None and pd.notna(own_line) and int(own_line) > 0:
            # the line of the element that is wrong (<rate>), not of its <measure>
            xpath, line = f"{xpath}/{self._elements[column]}", int(own_line)
        return Finding(code=code or self.code, message=message, hint=hint,
                       row=number if number >= 0 else None, column=column,
                       cell=f"{letter}{number}" if letter and number >= 0 else None,
                       value=value, xpath=xpath, line=line if line >= 0 else None)

    def nowhere(self, message: str, column: str | None = None, code: str | None = None
                ) -> Finding:
        """A finding about something absent (a missing row): located by its column, and for
        XML by the root element (``where``), since the missing element has no line."""
        return Finding(code=code or self.code, message=message, column=column,
                       xpath=self.where_missing)

    where_missing: str | None = None
