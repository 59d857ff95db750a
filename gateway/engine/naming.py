"""Naming the record a finding is about, by the key the abstractor knows it by.

A data abstractor finds a problem in the source system by the patient id, the measure id, the
prescriber's NPI or the summary row's component and strata, not by a row number alone (specs
README section 4, ``findings[].record``). The key is read off the layout's columns, in the
order the specification gives them:

- a ``patient_id`` column: ``{"patient_id": ...}`` (patient-level files);
- a ``prescriber_npi`` column: ``{"prescriber_npi": ..., "measure": ...}`` (measure where the
  row has one);
- strata (the schema's ``x-strata``) with a ``component``: ``{"measure", "component",
  "stratum"}``, ``stratum`` null on a total row (every stratum ``ALL``);
- a ``measure_id``/``measure``/``indicator``/``cohort`` column: ``{"measure": ...}`` (a CART
  measure, an EDTC measure, an AHRQ indicator, a VON cohort); a NHSN unit adds its location;
- a schema may name its own key columns with ``x-record-key``.

Values are the submitter's own text (trimmed), so the key reads as the file writes it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gateway.contract.batch import RecordBatch
from gateway.contract.findings import Finding
from gateway.contract.lazy import lazy_module

if TYPE_CHECKING:
    import pandas as pd

np = lazy_module("numpy")

REMEMBERED = 20_000  # records whose key is kept for findings made after the whole file is read
_MEASURE_COLUMNS = ("measure_id", "measure", "indicator", "cohort")
_UNIT_COLUMNS = ("location_code", "birthweight_category")


class RecordNamer:
    """Keys of records as they stream past, and findings given the key of their record."""

    def __init__(self, schema: Mapping[str, Any], measure: str) -> None:
        columns = list(schema.get("properties", {}))
        self.measure = measure
        self.strata: list[str] = list(schema.get("x-strata") or [])
        own = schema.get("x-record-key")
        self.kind = "columns"
        if own:
            self.columns = list(own)
        elif "patient_id" in columns:
            self.columns = ["patient_id"]
        elif "prescriber_npi" in columns:
            self.columns = ["prescriber_npi", *[c for c in ("measure",) if c in columns]]
        elif self.strata and "component" in columns:
            self.kind = "summary"
            self.columns = [*[c for c in ("measure_id",) if c in columns], "component",
                            *self.strata]
        else:
            found = next((c for c in _MEASURE_COLUMNS if c in columns), None)
            self.kind = "measure" if found else "none"
            self.columns = ([found] if found else []) + [c for c in _UNIT_COLUMNS
                                                         if c in columns]
        # place -> the record's key cells (the key is worked out only for a finding there)
        self.known: dict[Any, tuple[Any, ...]] = {}
        # a key value a schema conceals (a patient id that looks like an SSN) names nothing
        self.concealed = [re.compile(pattern) for pattern in _concealed_patterns(
            schema, self.columns)]

    def key(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        """The record's key from its column texts (missing columns read as empty)."""
        text = {c: str(values.get(c) or "").strip() for c in self.columns}
        if self.kind == "none" or not any(text.values()) or any(
                pattern.search(t) for pattern in self.concealed for t in text.values()):
            return None
        if self.kind == "summary":
            stratum = {s: text[s] for s in self.strata if text[s] and text[s].upper() != "ALL"}
            return {"measure": text.get("measure_id") or self.measure,
                    "component": text["component"], "stratum": stratum or None}
        if self.kind == "measure":
            first, *rest = self.columns
            return {"measure": text[first], **{c: text[c] for c in rest if text[c]}}
        return {c: text[c] for c in self.columns if text[c] or c == self.columns[0]}

    def observe(self, batch: RecordBatch) -> None:
        """Remember the keys of the first ``REMEMBERED`` records, by their place."""
        if self.kind == "none" or len(self.known) >= REMEMBERED:
            return
        frame = batch.frame
        count = min(len(frame), REMEMBERED - len(self.known))
        places = _places(batch, count)
        # the key columns' first ``count`` cells (not a copy of every column's first rows)
        lists = [_first(frame[c], count) if c in frame.columns else [""] * count
                 for c in self.columns]
        rows = zip(places, zip(*lists, strict=True), strict=True)
        self.known.update((place, cells) for place, cells in rows if place is not None)

    def named_in(self, batch: RecordBatch, findings: Sequence[Finding]) -> list[Finding]:
        """Findings about records of ``batch``, named from the batch itself (a file's later
        records are not remembered, but their findings are made while the batch is at hand)."""
        if not findings or self.kind == "none":
            return list(findings)
        rows = batch.rows
        index = {} if rows is not None or batch.xpaths is None else {
            place: i for i, place in enumerate(batch.xpaths)}
        positions: list[int | None] = []
        found = _row_positions(rows, findings) if rows is not None else None
        for n, finding in enumerate(findings):
            i = None
            if finding.record is not None:
                pass
            elif found is not None:
                i = found[n]
            elif finding.xpath is not None:
                path = finding.xpath
                while i is None and "/" in path.strip("/"):
                    i = index.get(path)
                    path = path.rsplit("/", 1)[0]
            positions.append(i)
        wanted = sorted({i for i in positions if i is not None})
        if not wanted:
            return list(findings)
        # the key cells of those records, one column at a time (not a lookup per finding)
        cells = {c: dict(zip(wanted, batch.frame[c].iloc[wanted].tolist(), strict=True))
                 if c in batch.frame.columns else {} for c in self.columns}
        keys = {i: self.key({c: cells[c].get(i, "") for c in self.columns}) for i in wanted}
        return [finding if i is None or keys[i] is None else finding.about(keys[i])
                for finding, i in zip(findings, positions, strict=True)]

    def named(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings, each with its record's key where the finding has a record."""
        return [self._named(f) for f in findings]

    def _named(self, finding: Finding) -> Finding:
        if finding.record is not None:
            return finding
        cells = None
        if finding.row is not None:
            cells = self.known.get(finding.row)
        elif finding.xpath is not None:
            path = finding.xpath
            while cells is None and "/" in path.strip("/"):
                cells = self.known.get(path)
                path = path.rsplit("/", 1)[0]
        record = self.key(dict(zip(self.columns, cells, strict=True))) if cells else None
        if record is None and len(self.columns) == 1 and self.kind == "columns" \
                and finding.column == self.columns[0] and finding.value is not None \
                and finding.row is not None:
            record = self.key({finding.column: finding.value})  # a key beyond the remembered
        return finding.about(record) if record is not None else finding


def _row_positions(rows: np.ndarray, findings: Sequence[Finding]) -> list[int | None]:
    """Each finding's record in the batch by its sheet row: rows ascend within a batch, so
    one vectorised binary search, no per-row dictionary."""
    if not len(rows):
        return [None] * len(findings)
    wanted = np.array([-1 if f.row is None else f.row for f in findings], dtype=np.int64)
    at = np.minimum(np.searchsorted(rows, wanted), len(rows) - 1)
    hit = (rows[at] == wanted) & (wanted >= 0)
    return [int(a) if h else None for a, h in zip(at.tolist(), hit.tolist(), strict=True)]


def _concealed_patterns(schema: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """Patterns of ``x-conceal`` subschemas (``not: {pattern}``) on the key columns."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("x-conceal"):
                inner = node.get("not") if isinstance(node.get("not"), dict) else node
                if isinstance(inner.get("pattern"), str):
                    found.append(inner["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for column in columns:
        walk(schema.get("properties", {}).get(column))
    return found


def _first(column: pd.Series, count: int) -> list[Any]:
    """The column's first ``count`` cells (a small batch's whole column: no Series between)."""
    return (column if count >= len(column) else column.head(count)).tolist()


def _places(batch: RecordBatch, count: int) -> Sequence[Any]:
    """Each record's place: its sheet row (tables) or element path (XML)."""
    if batch.rows is not None:
        return [int(r) for r in batch.rows[:count]]
    if batch.xpaths is not None:
        return batch.xpaths[:count]
    return [None] * count
