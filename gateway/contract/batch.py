"""``RecordBatch``: a run of records with the place in the file each came from.

Every reader produces batches, the record layer types them, rules and results read them; the
contract's other types refer to it, so it sits below them, needing only findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway.contract.findings import Finding

if TYPE_CHECKING:  # records are pandas frames, but importing pandas costs a command 0.3 s
    import numpy as np
    import pandas as pd


@dataclass
class RecordBatch:
    """A run of records with their source positions.

    ``frame`` holds one row per record: raw text before the record layer, typed values after it
    (integers as ``Int64``, decimals as ``Float64``, dates as ``datetime64``, codes upper case,
    empty as ``<NA>``). Positions: ``rows`` (1-based sheet rows, header = row 1) for tables,
    ``xpaths`` and ``lines`` for XML. ``cells`` maps a column name to its spreadsheet letter.
    ``places`` maps a column whose value every record repeats from one place of the file (an
    XML header element) to that element's (xpath, line): a problem there is reported once,
    where it is. ``elements`` maps a column read from a child element of each XML record to
    (the element's name, each record's line of it, 0 where absent), so a finding names the
    element itself. ``notes`` are the reader's own findings about these records (a short row).
    """

    frame: pd.DataFrame
    rows: np.ndarray | None = None
    xpaths: list[str] | None = None
    lines: np.ndarray | None = None
    cells: Mapping[str, str] = field(default_factory=dict)
    places: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    elements: Mapping[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    notes: list[Finding] = field(default_factory=list)
    # an XML family's column -> the element (or ``element/@attribute``) it is read from, as the
    # file writes it: findings name ``<median-minutes>``, not the column ``median_minutes``
    names: Mapping[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    def where(self, mask: np.ndarray | pd.Series) -> RecordBatch:
        """The records where ``mask`` is true, positions kept."""
        import numpy as np

        keep = np.asarray(mask, dtype=bool)
        return RecordBatch(
            frame=self.frame[keep],
            rows=None if self.rows is None else self.rows[keep],
            xpaths=None if self.xpaths is None
            else [x for x, k in zip(self.xpaths, keep, strict=True) if k],
            lines=None if self.lines is None else self.lines[keep],
            cells=self.cells, places=self.places,
            elements={c: (name, lines[keep]) for c, (name, lines) in self.elements.items()},
            names=self.names,
        )

    def finding(self, i: int, code: str, message: str, *, column: str | None = None,
                value: Any = None, hint: str | None = None) -> Finding:
        """A finding located at the ``i``-th record of this batch (0-based within the batch),
        or at the column's own place when the record repeats it from there."""
        if column in self.places:
            xpath, line = self.places[column]
            return Finding(code=code, message=message, hint=hint, column=column, value=value,
                           xpath=xpath, line=line)
        row = None if self.rows is None else int(self.rows[i])
        letter = self.cells.get(column) if column else None
        xpath = None if self.xpaths is None else self.xpaths[i]
        line = None if self.lines is None else int(self.lines[i])
        if column in self.elements and xpath is not None:
            name, lines = self.elements[column]
            if lines[i] > 0:
                xpath, line = f"{xpath}/{name}", int(lines[i])
        return Finding(
            code=code, message=message, hint=hint, row=row, column=column,
            cell=f"{letter}{row}" if letter and row is not None else None, value=value,
            xpath=xpath, line=line,
        )
