"""The program's data (``program.toml``): measures, specialty groups, and per measurement year
the QI parameters, exemption criteria, review parameters and form deadlines. A year's table
holds only what it changes: every parameter holds for the later years until one says
otherwise."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from functools import cache
from importlib.resources import files
from typing import Any

FAMILY = "opip"
PRESCRIBING = "opip-prescribing"
SELF_ASSESSMENT = "opip-self-assessment"
QI_PLAN = "opip-qi-plan"
QI_EVALUATION = "opip-qi-evaluation"
EXEMPTION = "opip-exemption"
SUBSCRIBERS = "opip-subscribers"  # the sign-up list for reports by e-mail; no year
FORMS = (SELF_ASSESSMENT, QI_PLAN, QI_EVALUATION, EXEMPTION)
PROGRAM_FILES = (PRESCRIBING, SUBSCRIBERS)  # sent by the program itself, owed by nobody
KINDS = (PRESCRIBING, *FORMS, SUBSCRIBERS)
LEVEL = "prescriber"  # every file has a row per prescriber (and measure)
PHASES = ("ACUTE", "POST_ACUTE", "CHRONIC")


@dataclass(frozen=True)
class Measure:
    """A sentinel measure: id, description and pain phase."""

    id: str
    name: str
    phase: str


@dataclass(frozen=True)
class YearRules:
    """The QI parameters, exemption criteria, review parameters and form deadlines of one
    measurement year. Shares are exact fractions (0-1), compared exactly."""

    year: int
    qi_measures: tuple[str, ...]
    min_denominator: dict[str, int]
    threshold_sd: float
    min_prescribers: int
    forms_open: date
    due: dict[str, date]
    exemption_criteria: dict[str, Fraction]  # reason -> least share of the panel
    review_improving: Fraction | None = None  # None: no review parameters yet
    review_sd: float | None = None


@dataclass(frozen=True)
class Program:
    """Everything ``program.toml`` says."""

    title: str
    source: str
    exclusions: str
    measures: dict[str, Measure]
    specialties: dict[str, str]  # code -> name, in the program's order
    surgical: frozenset[str]  # codes
    years: dict[int, YearRules]

    def rules(self, measurement_year: int) -> YearRules | None:
        return self.years.get(measurement_year)


def specialty_code(name: str) -> str:
    """The code of a specialty group: its name in upper case, spaces, ``/``, dashes as ``_``."""
    return re.sub("[ /\u2014\u2013-]", "_", name.upper())  # em and en dashes too


def measurement_year(reporting_year: int) -> int:
    """Forms for MY 2021 are due in 2022: a file's reporting year is its MY + 1."""
    return reporting_year - 1


def _month_day(text: str, year: int) -> date:
    """``06-15`` in ``year``."""
    month, day = (int(part) for part in text.split("-"))
    return date(year, month, day)


def _year_rules(year: int, spec: dict[str, Any]) -> YearRules:
    """One year's rules from its table merged over the earlier years' (dates fall in the year
    after the MY, when its forms are due)."""
    review = spec.get("review_improving")
    return YearRules(
        year=year, qi_measures=tuple(spec["qi_measures"]),
        min_denominator=dict(spec["min_denominator"]),
        threshold_sd=float(spec["threshold_sd"]), min_prescribers=int(spec["min_prescribers"]),
        forms_open=_month_day(spec["forms_open"], year + 1),
        due={kind: _month_day(day, year + 1) for kind, day in spec["due"].items()},
        exemption_criteria={reason: Fraction(share) / 100
                            for reason, share in spec["exemption_criteria"].items()},
        review_improving=Fraction(review) if review is not None else None,
        review_sd=float(spec["review_sd"]) if "review_sd" in spec else None)


@cache
def program() -> Program:
    data = tomllib.loads(files(__package__).joinpath("program.toml").read_text("utf-8"))
    measures = {mid: Measure(mid, spec["name"], spec["phase"])
                for mid, spec in data["measures"].items()}
    years: dict[int, YearRules] = {}
    merged: dict[str, Any] = {}
    for year, spec in sorted((int(text), spec) for text, spec in data["years"].items()):
        merged = {**merged, **spec, "due": {**merged.get("due", {}), **spec.get("due", {})}}
        years[year] = _year_rules(year, merged)
    head = data["program"]
    return Program(
        title=head["title"], source=head["source"], exclusions=head["exclusions"],
        measures=measures,
        specialties={specialty_code(n): n for n in data["specialties"]["groups"]},
        surgical=frozenset(specialty_code(n) for n in data["specialties"]["surgical"]),
        years=years)
