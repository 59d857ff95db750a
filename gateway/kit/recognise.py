"""Recognising a table family's CSV/XLSX file from its header (``gateway_recognise``).

A layout is claimed in one of two ways (``gateway.kit.family.Family`` picks per measure): by a
*signature*, columns no other layout has together (``location_type`` and ``central_line_days``
for NHSN), or by every column the layout requires plus the layout's measure named in the
family's measure column. Either way a file with at least half of a layout's columns that is not
claimed is a near miss naming what it lacks, so the routing rejection can tell the submitter
what to add.
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
                        signature: Sequence[str],
                        year_column: str = "reporting_year") -> list[Candidate]:
    """A claim, a near miss, or nothing, for one table layout known by its signature."""
    if sample.format not in TABLE_FORMATS:
        return []
    present = set(sample.columns)
    year = year_of(sample, year_column)
    if all(column in present for column in signature):
        return [Candidate(family, measure, level, year)]
    if len(present & set(columns)) < NEAR_MISS_SHARE * len(columns):
        return []
    lacks = tuple(f"column {c}" for c in (*signature, *required)
                  if c not in present and c in {*signature, *required})
    return [Candidate(family, measure, level, year, tuple(dict.fromkeys(lacks)))]


def recognise_columns(sample: FileSample, *, family: str, measure: str, level: str,
                      columns: Sequence[str], required: Sequence[str],
                      measure_column: str | None,
                      year_column: str = "reporting_year") -> list[Candidate]:
    """A claim, a near miss, or nothing, for one table layout known by the columns its header
    must have and (with a ``measure_column``) the measure its first row names."""
    present = set(sample.columns)
    if len(present & set(columns)) < NEAR_MISS_SHARE * len(columns):
        return []
    lacks = [f"column {c}" for c in required if c not in present]
    named = (sample.first_value(measure_column) or "").upper() if measure_column else ""
    if measure_column and named != measure.upper():
        lacks.insert(0, f"{measure_column} {measure}")
    return [Candidate(family, measure, level, year_of(sample, year_column), tuple(lacks))]
