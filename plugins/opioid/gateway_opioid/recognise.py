"""Recognising the family's files from their header: each kind has columns no other has."""

from __future__ import annotations

from gateway.contract import Candidate, FileSample
from gateway_opioid.program import (
    EXEMPTION,
    FAMILY,
    LEVEL,
    PRESCRIBING,
    QI_EVALUATION,
    QI_PLAN,
    SELF_ASSESSMENT,
    SUBSCRIBERS,
    program,
)

TABLE_FORMATS = ("csv", "xlsx")
SIGNATURES: dict[str, tuple[str, ...]] = {
    PRESCRIBING: ("prescriber_npi", "specialty_group", "numerator", "denominator"),
    SELF_ASSESSMENT: ("prescriber_npi", "report_reviewed", "barriers"),
    QI_PLAN: ("prescriber_npi", "aim_statement", "change_planned"),
    QI_EVALUATION: ("prescriber_npi", "outcome", "narrative"),
    EXEMPTION: ("prescriber_npi", "reason", "panel_size"),
    SUBSCRIBERS: ("prescriber_npi", "email", "signed_up"),
}


def reporting_year(sample: FileSample) -> int | None:
    """A file names its measurement year; forms for MY 2021 are due in 2022 (MY + 1)."""
    text = sample.first_value("measurement_year")
    return int(text) + 1 if text and text.isdigit() and len(text) == 4 else None


def subscribers_year() -> int:
    """The reporting year a sign-up list is routed under: it names none, and the route needs
    one, so the program's newest (the list itself is kept without a year)."""
    return max(program().years) + 1


def recognise(sample: FileSample) -> list[Candidate]:
    """A claim for the kind whose signature the header has; near misses for kinds of which
    it has the prescriber column and at least one other signature column."""
    if sample.format not in TABLE_FORMATS or "prescriber_npi" not in sample.columns:
        return []
    present = set(sample.columns)
    year = reporting_year(sample)
    found = []
    for kind, signature in SIGNATURES.items():
        lacks = tuple(f"column {c}" for c in signature if c not in present)
        if len(lacks) < len(signature) - 1:
            found.append(Candidate(FAMILY, kind, LEVEL,
                                   subscribers_year() if kind == SUBSCRIBERS else year, lacks))
    return found
