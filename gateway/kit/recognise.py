"""Recognising a table family's CSV/XLSX file from its header (``gateway_recognise``).

A ``DataFamily`` claims a file that has every column a layout requires and names the layout's
measure. A ``TableFamily`` has a signature instead: columns no other layout has together
(``location_type`` and ``central_line_days`` for NHSN). Either way a file with at least half of a
layout's columns that is not claimed is a near miss naming what it lacks, so the routing
rejection can tell the submitter what to add.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.contract.records import Candidate, FileSample

TABLE_FORMATS = ("csv", "xlsx")
NEAR_MISS_SHARE = 0.5


def year_of(sample: FileSample, column: str = "reporting_year") -> int | None:
    """The reporting year from the first filled ``column`` cell, if it is 4 digits."""
    text = sample.first_value(column)
    return int(text) if text and text.isdigit() and len(text) == 4 else None


def recognise_signature(sample: FileSample, *, family: str, measure: str, level: str,
                        columns: Sequence[str], required: Sequence[str],
                        signature: Sequence[str]) -> list[Candidate]:
    """A claim, a near miss, or nothing, for one table layout known by its signature."""
    if sample.format not in TABLE_FORMATS:
        return []
    present = set(sample.columns)
    year = year_of(sample)
    if all(column in present for column in signature):
        return [Candidate(family, measure, level, year)]
    if len(present & set(columns)) < NEAR_MISS_SHARE * len(columns):
        return []
    lacks = tuple(f"column {c}" for c in (*signature, *required)
                  if c not in present and c in {*signature, *required})
    return [Candidate(family, measure, level, year, tuple(dict.fromkeys(lacks)))]
