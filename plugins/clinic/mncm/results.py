"""The figures an accepted clinic file reports, per component: denominator, exclusions and
numerator and rate (rate measures) or average change (functional-status measures), computed
from patients or read from the summary's total rows.

Both levels produce the same shape, so a patient-level file and the summary built from the same
patients give the same ``results``.
"""

from __future__ import annotations

from typing import Any

from gateway_plugins.clinic.mncm.manifest import MeasureSpec, YearSpec
from gateway_plugins.clinic.mncm.masks import equals
from gateway_plugins.clinic.mncm.numerators import NUMERATORS, score_changes

from gateway.contract import RecordBatch, ResultCalculator, lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")


def rate(numerator: int, denominator: int) -> float | None:
    """Percent with one decimal; None when nobody is in the denominator."""
    return round(100.0 * numerator / denominator, 1) if denominator else None


def average(total: float, denominator: int) -> float | None:
    """Average change with two decimals; None when nobody is in the denominator."""
    return round(total / denominator, 2) if denominator else None


def component(denominator: int, exclusions: int, numerator: int | None = None,
              average_change: float | None = None, **extra: int) -> dict[str, Any]:
    """One component's figures in the receipt's shape (rate or average change)."""
    out: dict[str, Any] = {"denominator": denominator, "exclusions": exclusions}
    if numerator is not None:
        out.update(numerator=numerator, rate=rate(numerator, denominator))
    else:
        out["average_change"] = average_change
    out.update(extra)
    return out


class PatientResults(ResultCalculator):
    """Counts (or sums of score changes) per component over every patient row, streaming."""

    def __init__(self, measure: MeasureSpec, year: YearSpec) -> None:
        self.measure = measure
        self.year = year
        self.patients = 0
        self.excluded = 0
        self.basis: str | None = None
        self.counts = dict.fromkeys(measure.all_components, 0)
        self.extra = dict.fromkeys(measure.extra_counts, 0)
        self.sums = dict.fromkeys(measure.components, 0.0)

    def observe(self, batch: RecordBatch) -> None:
        frame = batch.frame
        excluded = equals(frame, "excluded", "Y")
        self.patients += len(frame)
        self.excluded += int(excluded.sum())
        self.basis = self.basis or str(frame["population_basis"].array[0])
        if self.measure.averages:
            for name, change in score_changes(frame[~excluded], self.measure).items():
                self.sums[name] += float(change.sum())
            return
        # A numerator tests each row by itself: it is asked about every row and only the rows
        # not excluded are counted (a frame of those rows would copy every column).
        numerator = NUMERATORS[self.measure.numerator]
        for name, met in numerator(frame, self.measure, self.year).items():
            target = self.counts if name in self.counts else self.extra
            target[name] += int(np.count_nonzero(np.asarray(met, dtype=bool) & ~excluded))

    def finish(self) -> dict[str, Any]:
        denominator = self.patients - self.excluded
        if self.measure.averages:
            components = {c: component(denominator, self.excluded,
                                       average_change=average(s, denominator))
                          for c, s in self.sums.items()}
        else:
            components = {c: component(denominator, self.excluded, n,
                                       **(self.extra if c == "ALL" else {}))
                          for c, n in self.counts.items()}
        return {"measure": self.measure.measure, "level": "patient",
                "population_basis": self.basis, "patients": self.patients,
                "components": components}


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
            figures: dict[str, Any] = {
                "denominator": int(row["denominator"]),
                "exclusions": 0 if pd.isna(exclusions) else int(exclusions)}
            if self.measure.averages:
                figures["average_change"] = round(float(row["average_change"]), 2)
            else:
                figures["numerator"] = int(row["numerator"])
                figures.update({c: int(row[c]) for c in self.measure.extra_counts
                                if pd.notna(row[c])})
            self.totals[str(row["component"])] = component(**figures)

    def finish(self) -> dict[str, Any]:
        order = [c for c in self.measure.all_components if c in self.totals]
        return {"measure": self.measure.measure, "level": "summary",
                "population_basis": self.basis,
                "components": {c: self.totals[c] for c in order}}
