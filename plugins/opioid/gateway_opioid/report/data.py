"""A prescriber's report as data, read from the reference data of an accepted feed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gateway.contract import ReferenceView
from gateway_opioid import datasets
from gateway_opioid.program import Measure, YearRules, program
from gateway_opioid.stats import rate_percent


@dataclass(frozen=True)
class MeasureLine:
    """One measure on a prescriber's report. Rates are exact shares (0-1), None when there is
    none; ``compared`` when the denominator reaches the measure's minimum."""

    measure: Measure
    numerator: int | None
    denominator: int | None
    rate: float | None
    average: float | None
    threshold: float | None
    qi_measure: bool
    compared: bool
    required: bool

    @property
    def rate_percent(self) -> float | None:
        """The rate as shown: percent rounded half up to 0.1 from the exact counts, as in the
        feed's receipt (None without a row or with no patients)."""
        if self.numerator is None or self.denominator is None:
            return None
        return rate_percent(self.numerator, self.denominator)


@dataclass(frozen=True)
class PrescriberReport:
    npi: str
    name: str
    specialty: str
    specialty_name: str
    health_system: str | None
    lines: tuple[MeasureLine, ...]
    required: tuple[str, ...]

    @property
    def status(self) -> str:
        """The QI status: ``required``, ``not_required`` or ``too_few``."""
        if self.required:
            return "required"
        if any(line.qi_measure and line.compared and line.threshold is not None
               for line in self.lines):
            return "not_required"
        return "too_few"

    @property
    def status_words(self) -> str:
        """The QI status in plain words, for the page and the CSV."""
        if self.status == "required":
            return f"required on {and_list(self.required)}"
        if self.status == "not_required":
            return "not required"
        return "too few patients to compare"


def and_list(items: tuple[str, ...] | list[str]) -> str:
    """``M2``, ``M2 and M5``, ``M2, M3 and M5``."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def report(npi: str, value: dict[str, Any], groups: dict[str, Any], rules: YearRules
           ) -> PrescriberReport:
    """The report of one prescriber from its reference entry and its group's figures."""
    specialty = value["specialty"]
    group = groups.get(specialty, {})
    required = tuple(value.get("qi_required", ()))
    lines = []
    for measure_id, measure in program().measures.items():
        counts = value["measures"].get(measure_id)
        numerator, denominator = counts if counts else (None, None)
        stat = group.get(measure_id, {})
        rate = numerator / denominator if denominator else None
        lines.append(MeasureLine(
            measure=measure, numerator=numerator, denominator=denominator, rate=rate,
            average=stat.get("average"), threshold=stat.get("threshold"),
            qi_measure=measure_id in rules.qi_measures,
            compared=denominator is not None and denominator >= rules.min_denominator[measure_id]
            and denominator > 0,
            required=measure_id in required))
    return PrescriberReport(npi, value["name"], specialty,
                            program().specialties.get(specialty, specialty),
                            value.get("health_system"), tuple(lines), required)


def reports(view: ReferenceView, year: int, npis: list[str] | None = None
            ) -> Iterator[PrescriberReport]:
    """Every prescriber's report of the year (or only ``npis``), in NPI order."""
    rules = program().years[year]
    groups = {e.key: e.value for e in view.entries(datasets.specialties(year))}
    if npis is None:
        entries = view.entries(datasets.prescribers(year))
    else:
        found = view.get_many(datasets.prescribers(year), npis)
        entries = (found[n] for n in sorted(found))
    for entry in entries:
        yield report(entry.key, entry.value, groups, rules)
