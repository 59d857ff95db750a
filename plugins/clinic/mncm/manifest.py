"""The measure manifest (``measures.toml``) as typed data."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

STRATA = ("payer_type", "age_band", "gender", "zip_code")


@dataclass(frozen=True)
class YearSpec:
    year: int
    dates_of_service: tuple[date, date]
    submission_window: tuple[date, date]
    date_columns: tuple[str, ...]
    followup_days: int


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

    @property
    def all_components(self) -> tuple[str, ...]:
        """``ALL`` (the measure or the composite) first, then the composite's parts."""
        return ("ALL", *self.components)

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


@cache
def measures() -> dict[str, MeasureSpec]:
    """Every measure of the manifest, by id."""
    raw = tomllib.loads(files(__package__).joinpath("measures.toml").read_text("utf-8"))
    out = {}
    for measure, body in raw.items():
        years = {
            int(year): YearSpec(
                year=int(year), dates_of_service=_dates(spec["dates_of_service"]),
                submission_window=_dates(spec["submission_window"]),
                date_columns=tuple(spec.get("date_columns", ())),
                followup_days=int(spec.get("followup_days", 0)))
            for year, spec in body["years"].items()
        }
        out[measure] = MeasureSpec(
            measure=measure, name=body["name"], components=tuple(body.get("components", ())),
            age_bands=tuple(body["age_bands"]), age_range=tuple(body["age_range"]),
            extra_strata=tuple(body.get("extra_strata", ())),
            sample_allowed=bool(body["sample_allowed"]), numerator=body["numerator"],
            years=years)
    return out
