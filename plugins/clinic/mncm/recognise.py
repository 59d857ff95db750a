"""Recognising a clinic file from its header and ``measure_id`` values.

A file is claimed when it has a ``measure_id`` naming a manifest measure; its level follows from
the columns (``patient_id`` for patient level, ``component`` for summary level). A file without
those is compared with every layout, and the closest becomes the "looks like ... but lacks ..."
of the rejection.
"""

from __future__ import annotations

from gateway_plugins.clinic.mncm import layouts
from gateway_plugins.clinic.mncm.manifest import measures

from gateway.contract import Candidate, FileSample

FAMILY = "mncm"
NEAR_MISS_SHARE = 0.5


def _year(sample: FileSample) -> int | None:
    text = sample.first_value("reporting_year")
    return int(text) if text and text.isdigit() and len(text) == 4 else None


def _level(columns: set[str]) -> str | None:
    if "patient_id" in columns:
        return "patient"
    if "component" in columns:
        return "summary"
    return None


def recognise(sample: FileSample) -> list[Candidate]:
    if sample.format not in ("csv", "xlsx"):
        return []
    present = set(sample.columns)
    year = _year(sample)
    measure_id = (sample.first_value("measure_id") or "").upper()
    level = _level(present)
    if measure_id in measures() and level:
        return [Candidate(FAMILY, measure_id, level, year)]
    return _near_misses(present, year, measure_id)


def _near_misses(present: set[str], year: int | None, measure_id: str) -> list[Candidate]:
    """The layouts the file comes closest to: fewest things lacking plus fewest columns the
    layout does not know (an ODC file without ``a1c_value`` and ``bp_date`` still carries
    ``a1c_date``, which OVC lacks, so it looks like ODC, not like OVC)."""
    scored: list[tuple[int, Candidate]] = []
    for measure, spec in measures().items():
        for level in ("patient", "summary"):
            for known_year in spec.years:
                every, required = layouts.columns(measure, level, known_year)
                if not every or len(present & set(every)) < NEAR_MISS_SHARE * len(every):
                    continue
                lacks = [f"column {c}" for c in required if c not in present]
                if "measure_id" in present and measure_id != measure:
                    lacks.insert(0, f"measure_id {measure}" + (
                        f" (the file says {measure_id})" if measure_id else " (it is empty)"))
                if lacks:
                    unknown = len(present - set(every))
                    scored.append((len(lacks) + unknown, Candidate(
                        FAMILY, measure, level, year or known_year, tuple(lacks))))
    best = min((score for score, _ in scored), default=0)
    return [candidate for score, candidate in scored if score == best]
