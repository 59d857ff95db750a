"""Recognising a hospital table (CSV/XLSX) from its header.

Each table family has a signature: columns no other layout has together (``location_type`` and
``central_line_days`` for NHSN). A file with the whole signature is claimed; one with at least
half of a layout's columns but not the signature is a near miss naming what it lacks.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.contract import Candidate, FileSample

TABLE_FORMATS = ("csv", "xlsx")
NEAR_MISS_SHARE = 0.5


def year_of(sample: FileSample) -> int | None:
    """The reporting year from the first filled ``reporting_year`` cell, if it is 4 digits."""
    text = sample.first_value("reporting_year")
    return int(text) if text and text.isdigit() and len(text) == 4 else None


def recognise_table(sample: FileSample, *, family: str, measure: str, level: str,
                    columns: Sequence[str], required: Sequence[str],
                    signature: Sequence[str]) -> list[Candidate]:
    """A claim, a near miss, or nothing, for one table layout."""
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
