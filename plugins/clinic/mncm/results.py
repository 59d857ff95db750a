"""The figures an accepted clinic file reports: per component, denominator, exclusions,
numerator and rate, computed from patients or read from the summary's total rows.

Both levels produce the same shape, so a patient-level file and the summary built from the same
patients give the same ``results``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from gateway_plugins.clinic.mncm.manifest import MeasureSpec
from gateway_plugins.clinic.mncm.numerators import NUMERATORS

from gateway.contract import RecordBatch, ResultCalculator


def rate(numerator: int, denominator: int) -> float | None:
    """Percent with one decimal; None when nobody is in the denominator."""
    return round(100.0 * numerator / denominator, 1) if denominator else None


def _component(denominator: int, exclusions: int, numerator: int) -> dict[str, Any]:
    return {"denominator": denominator, "exclusions": exclusions, "numerator": numerator,
            "rate": rate(numerator, denominator)}


class PatientResults(ResultCalculator):
    """Counts per component over every patient row, streaming."""

    def __init__(self, measure: MeasureSpec) -> None:
        self.measure = measure
        self.numerator = NUMERATORS[measure.numerator]
        self.patients = 0
        self.excluded = 0
        self.basis: str | None = None
        self.counts = dict.fromkeys(measure.all_components, 0)

    def observe(self, batch: RecordBatch) -> None:
        frame = batch.frame
        excluded = (frame["excluded"] == "Y").fillna(False).to_numpy(dtype=bool)
        self.patients += len(frame)
        self.excluded += int(excluded.sum())
        self.basis = self.basis or str(frame["population_basis"].iloc[0])
        for component, met in self.numerator(frame[~excluded]).items():
            self.counts[component] += int(np.count_nonzero(met))

    def finish(self) -> dict[str, Any]:
        denominator = self.patients - self.excluded
        return {
            "measure": self.measure.measure, "level": "patient", "population_basis": self.basis,
            "patients": self.patients,
            "components": {c: _component(denominator, self.excluded, n)
                           for c, n in self.counts.items()},
        }


class SummaryResults(ResultCalculator):
    """The total rows of a summary file, with the rate recomputed from the counts."""

    def __init__(self, measure: MeasureSpec) -> None:
        self.measure = measure
        self.totals: dict[str, dict[str, Any]] = {}
        self.basis: str | None = None

    def observe(self, batch: RecordBatch) -> None:
        frame = batch.frame
        totals = frame[(frame[list(self.measure.strata)] == "ALL").all(axis=1)]
        self.basis = self.basis or str(frame["population_basis"].iloc[0])
        for _, row in totals.iterrows():
            exclusions = row.get("exclusions")
            self.totals[str(row["component"])] = _component(
                int(row["denominator"]), 0 if pd.isna(exclusions) else int(exclusions),
                int(row["numerator"]))

    def finish(self) -> dict[str, Any]:
        order = [c for c in self.measure.all_components if c in self.totals]
        return {"measure": self.measure.measure, "level": "summary",
                "population_basis": self.basis,
                "components": {c: self.totals[c] for c in order}}
