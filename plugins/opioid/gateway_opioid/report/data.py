"""A prescriber's report as data, read from the reference data of an accepted feed."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from typing import Any

from gateway.contract import ReferenceEntry, ReferenceView, lazy_module
from gateway_opioid import datasets
from gateway_opioid.program import Measure, YearRules, program
from gateway_opioid.stats import percent, rate_percent

np = lazy_module("numpy")


@dataclass(frozen=True)
class Standing:
    """Where a prescriber's rate stands among the group's compared prescribers."""

    percentile: int  # share of peers below, ties counted half, 0-100
    quartiles: tuple[float, float, float, float, float]  # min, Q1, median, Q3, max (shares)
    peers: int


@dataclass(frozen=True)
class MeasureLine:
    """One measure on a prescriber's report. Rates are exact shares (0-1), None when there is
    none; ``compared`` when the denominator reaches the measure's minimum. ``group_compared``
    prescribers of the group reached it; below ``min_prescribers`` the group is private: no
    average is shown to prescribers or health systems."""

    measure: Measure
    numerator: int | None
    denominator: int | None
    rate: float | None
    average: float | None
    threshold: float | None
    qi_measure: bool
    compared: bool
    required: bool
    group_compared: int = 0
    min_denominator: int = 0
    min_prescribers: int = 0
    specialty_name: str = ""
    standing: Standing | None = None
    last_rate: float | None = None  # the previous MY's exact rate, when there is one
    last_required: bool = False  # QI-required on this measure in the previous MY

    @property
    def rate_percent(self) -> float | None:
        """The rate as shown: percent rounded half up to 0.1 from the exact counts, as in the
        feed's receipt (None without a row or with no patients)."""
        if self.numerator is None or self.denominator is None:
            return None
        return rate_percent(self.numerator, self.denominator)

    @property
    def group_shown(self) -> bool:
        """The group is large enough for its figures to be shown."""
        return self.group_compared >= self.min_prescribers

    @property
    def shown_average(self) -> float | None:
        return self.average if self.group_shown else None

    @property
    def shown_threshold(self) -> float | None:
        return self.threshold if self.group_shown and self.qi_measure else None

    @property
    def comparable(self) -> bool:
        return self.compared and self.group_shown

    @property
    def reason(self) -> str | None:
        """Why the row has no comparison, with the numbers; None when it has one."""
        if self.comparable:
            return None
        if self.denominator is None:
            return "no data for you on this measure this year"
        if not self.compared:
            return (f"your denominator {self.denominator:,} is below the minimum "
                    f"{self.min_denominator}")
        return (f"{self.group_compared} {self.specialty_name} prescriber"
                f"{'' if self.group_compared == 1 else 's'} had enough patients; "
                f"{self.min_prescribers} are needed to compare")

    @property
    def change_points(self) -> float | None:
        """The change from last year in percentage points (from the rounded rates, so the
        page's figures add up)."""
        if self.rate is None or self.last_rate is None:
            return None
        now, then = percent(self.rate), percent(self.last_rate)
        return None if now is None or then is None else round(now - then, 1)


@dataclass(frozen=True)
class PrescriberReport:
    npi: str
    name: str
    specialty: str
    specialty_name: str
    health_system: str | None
    lines: tuple[MeasureLine, ...]
    required: tuple[str, ...]
    year: int = 0
    last_year: bool = False  # the previous MY's prescribing data were accepted
    last_required: tuple[str, ...] = ()
    exemption: str | None = None  # "granted", "requested" or None

    @property
    def status(self) -> str:
        """The QI status: ``required``, ``not_required`` or ``too_few``."""
        if self.required:
            return "required"
        if any(line.qi_measure and line.comparable and line.threshold is not None
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


def quartiles(peers: list[float]) -> tuple[float, float, float, float, float]:
    """Lowest, Q1, median, Q3 and highest of ascending rates (linear interpolation)."""
    low, q1, median, q3, high = (float(v) for v in np.percentile(np.asarray(peers),
                                                                  [0, 25, 50, 75, 100]))
    return low, q1, median, q3, high


def standing(rate: float | None, stat: dict[str, Any], compared: bool) -> Standing | None:
    """The prescriber's place among the group's compared rates (``stat["rates"]``,
    ascending), when both can be compared."""
    peers = stat.get("rates") or []
    if rate is None or not compared or not peers:
        return None
    below = bisect_left(peers, rate)
    equal = bisect_right(peers, rate) - below
    share = Fraction(2 * below + equal, 2 * len(peers))
    if "quartiles" not in stat:  # once per group and measure, not once per prescriber
        stat["quartiles"] = quartiles(peers)
    return Standing(int(share * 100 + Fraction(1, 2)), stat["quartiles"], len(peers))


def report(npi: str, value: dict[str, Any], groups: dict[str, Any], rules: YearRules,
           previous: dict[str, Any] | None = None, last_year: bool = False,
           exemption: str | None = None) -> PrescriberReport:
    """The report of one prescriber from its reference entry and its group's figures;
    ``previous``: its entry of the previous MY (``last_year``: that year's data exist)."""
    specialty = value["specialty"]
    specialty_name = program().specialties.get(specialty, specialty)
    group = groups.get(specialty, {})
    required = tuple(value.get("qi_required", ()))
    last_required = tuple(previous.get("qi_required", ())) if previous else ()
    lines = []
    for measure_id, measure in program().measures.items():
        counts = value["measures"].get(measure_id)
        numerator, denominator = counts if counts else (None, None)
        stat = group.get(measure_id, {})
        rate = numerator / denominator if denominator else None
        compared = (denominator is not None and denominator > 0
                    and denominator >= rules.min_denominator[measure_id])
        before = (previous or {}).get("measures", {}).get(measure_id)
        lines.append(MeasureLine(
            measure=measure, numerator=numerator, denominator=denominator, rate=rate,
            average=stat.get("average"), threshold=stat.get("threshold"),
            qi_measure=measure_id in rules.qi_measures, compared=compared,
            required=measure_id in required, group_compared=int(stat.get("compared", 0)),
            min_denominator=rules.min_denominator[measure_id],
            min_prescribers=rules.min_prescribers, specialty_name=specialty_name,
            standing=standing(rate, stat, compared),
            last_rate=before[0] / before[1] if before and before[1] else None,
            last_required=measure_id in last_required))
    return PrescriberReport(npi, value["name"], specialty, specialty_name,
                            value.get("health_system"), tuple(lines), required, rules.year,
                            last_year, last_required, exemption)


CHUNK = 500  # prescribers whose last-year entries and exemptions are read at once


def batched(items: Iterable[ReferenceEntry], size: int) -> Iterator[list[ReferenceEntry]]:
    """Lists of ``size`` items (the last may be shorter)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def reports(view: ReferenceView, year: int, npis: list[str] | None = None
            ) -> Iterator[PrescriberReport]:
    """Every prescriber's report of the year (or only ``npis``), in NPI order, with last
    year's figures when that year's data were accepted and the exemption as it stands."""
    from gateway_opioid.exemptions import waivers

    rules = program().years[year]
    groups = {e.key: e.value for e in view.entries(datasets.specialties(year))}
    last_year = view.info(datasets.prescribers(year - 1)) is not None
    if npis is None:
        entries: Iterable[ReferenceEntry] = view.entries(datasets.prescribers(year))
    else:
        found = view.get_many(datasets.prescribers(year), npis)
        entries = (found[n] for n in sorted(found))
    for chunk in batched(entries, CHUNK):
        keys = [e.key for e in chunk]
        before = (view.get_many(datasets.prescribers(year - 1), keys) if last_year else {})
        waived = waivers(view, year, keys)
        for entry in chunk:
            previous = before.get(entry.key)
            yield report(entry.key, entry.value, groups, rules,
                         previous.value if previous else None, last_year,
                         waived.get(entry.key))
