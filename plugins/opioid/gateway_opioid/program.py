"""The program's data (``program.toml``): measures, specialty groups, and per measurement year
the QI parameters and form deadlines."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

FAMILY = "opip"
PRESCRIBING = "opip-prescribing"
SELF_ASSESSMENT = "opip-self-assessment"
QI_PLAN = "opip-qi-plan"
QI_EVALUATION = "opip-qi-evaluation"
EXEMPTION = "opip-exemption"
FORMS = (SELF_ASSESSMENT, QI_PLAN, QI_EVALUATION, EXEMPTION)
KINDS = (PRESCRIBING, *FORMS)
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
    """The QI parameters and form deadlines of one measurement year."""

    year: int
    qi_measures: tuple[str, ...]
    min_denominator: dict[str, int]
    threshold_sd: float
    min_prescribers: int
    forms_open: date
    due: dict[str, date]


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


@cache
def program() -> Program:
    data = tomllib.loads(files(__package__).joinpath("program.toml").read_text("utf-8"))
    measures = {mid: Measure(mid, spec["name"], spec["phase"])
                for mid, spec in data["measures"].items()}
    years = {}
    for text, spec in data["years"].items():
        years[int(text)] = YearRules(
            year=int(text), qi_measures=tuple(spec["qi_measures"]),
            min_denominator=dict(spec["min_denominator"]),
            threshold_sd=float(spec["threshold_sd"]), min_prescribers=int(spec["min_prescribers"]),
            forms_open=date.fromisoformat(spec["forms_open"]),
            due={kind: date.fromisoformat(day) for kind, day in spec["due"].items()})
    head = data["program"]
    return Program(
        title=head["title"], source=head["source"], exclusions=head["exclusions"],
        measures=measures,
        specialties={specialty_code(n): n for n in data["specialties"]["groups"]},
        surgical=frozenset(specialty_code(n) for n in data["specialties"]["surgical"]),
        years=years)
