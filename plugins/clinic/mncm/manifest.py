"""The clinic measures of the family's ``manifest.toml`` as typed data.

The kit (``gateway.contract.Family``) reads what every family declares (levels, calendar);
this reads what only the clinic measures declare in the same tables. Measures that differ only
by data (components, bands, periods, strata, sampling) differ here and nowhere else; code reads
these fields instead of naming measures.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from gateway.contract import load_manifest

STRATA = ("payer_type", "age_band", "gender", "zip_code")
RATE, AVERAGE = "rate", "average_change"


@dataclass(frozen=True)
class YearSpec:
    year: int
    dates_of_service: tuple[date, date]
    submission_window: tuple[date, date]
    date_columns: tuple[str, ...]
    followup_days: int
    followup_columns: tuple[str, ...] = ()
    history_columns: tuple[str, ...] = ()
    targets: dict[str, dict[str, int | float]] = field(default_factory=dict)


@dataclass(frozen=True)
class MeasureSpec:
    measure: str
    name: str
    components: tuple[str, ...]
    age_bands: tuple[str, ...]
    age_range: tuple[int, int]
    extra_strata: tuple[str, ...]
    sample_allowed: bool
    numerator: str
    years: dict[int, YearSpec]
    result: str = RATE
    sample_per_band: bool = False
    well_child_only: bool = False
    age_from: str = "age"
    age_at: str | None = None
    extra_counts: tuple[str, ...] = ()
    lookback_years: dict[str, int] = field(default_factory=dict)
    scores: dict[str, str] = field(default_factory=dict)
    stratum_codes: dict[str, str] = field(default_factory=dict)

    def score_columns(self, component: str) -> tuple[str, str]:
        """The (pre-operative, post-operative) score columns of a scored domain."""
        return f"pre_{component.lower()}", f"post_{component.lower()}"

    @property
    def averages(self) -> bool:
        """True for the functional-status measures, which report an average change."""
        return self.result == AVERAGE

    @property
    def all_components(self) -> tuple[str, ...]:
        """The components a file reports: ``ALL`` (the measure or the composite) then the
        composite's parts; an average-change measure reports each scored domain only."""
        return self.components if self.averages else ("ALL", *self.components)

    @property
    def strata(self) -> tuple[str, ...]:
        return STRATA + self.extra_strata

    def band_bounds(self) -> list[tuple[str, int, int]]:
        """(band, lowest age, highest age) for each summary age band."""
        return [(band, *band_bounds(band)) for band in self.age_bands]


def band_bounds(band: str) -> tuple[int, int]:
    """Ages covered by a band written ``18-24``, ``65+`` or ``<=17``."""
    if band.startswith("<="):
        return 0, int(band[2:])
    if band.endswith("+"):
        return int(band[:-1]), 150
    low, high = band.split("-")
    return int(low), int(high)


def _dates(pair: list[str]) -> tuple[date, date]:
    return date.fromisoformat(pair[0]), date.fromisoformat(pair[1])


def _year(year: str, spec: dict) -> YearSpec:
    return YearSpec(
        year=int(year), dates_of_service=_dates(spec["dates_of_service"]),
        submission_window=_dates(spec["submission_window"]),
        date_columns=tuple(spec.get("date_columns", ())),
        followup_days=int(spec.get("followup_days", 0)),
        followup_columns=tuple(spec.get("followup_columns", ())),
        history_columns=tuple(spec.get("history_columns", ())),
        targets={part: dict(limits) for part, limits in spec.get("targets", {}).items()})


@cache
def measures() -> dict[str, MeasureSpec]:
    """Every measure of the manifest, by id."""
    return measures_of(load_manifest(__package__).data["measures"])


def parse_measures(text: str) -> dict[str, MeasureSpec]:
    """The measures of a ``manifest.toml`` text (the scaffold reads a source tree's copy)."""
    return measures_of(tomllib.loads(text)["measures"])


def measures_of(raw: dict[str, Any]) -> dict[str, MeasureSpec]:
    """The ``[measures]`` tables of the manifest, by measure id."""
    out = {}
    for measure, body in raw.items():
        out[measure] = MeasureSpec(
            measure=measure, name=body["name"], components=tuple(body.get("components", ())),
            age_bands=tuple(body["age_bands"]), age_range=tuple(body["age_range"]),
            extra_strata=tuple(body.get("extra_strata", ())),
            sample_allowed=bool(body["sample_allowed"]),
            numerator=body.get("numerator", ""),
            years={int(y): _year(y, s) for y, s in body["years"].items()},
            result=body.get("result", RATE), sample_per_band=bool(body.get("sample_per_band")),
            well_child_only=bool(body.get("well_child_only")),
            age_from=body.get("age_from", "age"), age_at=body.get("age_at"),
            extra_counts=tuple(body.get("extra_counts", ())),
            lookback_years=dict(body.get("lookback_years", {})),
            scores=dict(body.get("scores", {})),
            stratum_codes=dict(body.get("stratum_codes", {})))
    return out
