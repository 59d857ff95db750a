"""What clinics owe and which obligation a clinic file answers (registry.md).

Every clinic owes every measure of a reporting year once, at summary or patient level (its
choice), inside the measure's ``submission_window`` from ``manifest.toml``; urgent care centres
owe none and may send none, and ``well_child_only`` measures (AMH, OWC) concern only clinics
with well-child visits. A submitter that sends for several clinic NPIs owes each measure once
(single-entity submission; docs/registry.md).
"""

from __future__ import annotations

import dataclasses
from functools import cache

from gateway_plugins.clinic.mncm import layouts
from gateway_plugins.clinic.mncm.manifest import MeasureSpec, measures
from gateway_plugins.clinic.mncm.recognise import FAMILY

from gateway.contract import LEVELS, Obligation, ObligationReader, Route, Submitter


def _obligation(spec: MeasureSpec, reporting_year: int) -> Obligation:
    return _obligation_of(spec.measure, reporting_year)


@cache  # the same for every clinic: a compliance report for 2,000 clinics asks 24,000 times
def _obligation_of(measure: str, reporting_year: int) -> Obligation:
    spec = measures()[measure]
    opens, due = spec.years[reporting_year].submission_window
    levels = tuple(lv for lv in LEVELS if layouts.has_layout(spec.measure, lv, reporting_year))
    return Obligation(family=FAMILY, measure=spec.measure, reporting_year=reporting_year,
                      period=str(reporting_year), opens=opens, due=due, levels=levels)


def _not_applicable(spec: MeasureSpec, submitter: Submitter) -> str | None:
    if submitter.urgent_care:
        return ("Urgent care centers do not submit the clinic measures; the registry lists your "
                "clinic as an urgent care center.")
    if spec.well_child_only and not submitter.well_child:
        return (f"{spec.measure} ({spec.name}) comes only from clinics that provide well-child "
                "visits; the registry lists your clinic as not providing them.")
    return None


def owed(submitter: Submitter, reporting_year: int) -> list[Obligation]:
    """Every clinic measure the submitter owes for the year."""
    if submitter.kind != "clinic":
        return []
    return [_obligation(spec, reporting_year) for spec in measures().values()
            if reporting_year in spec.years and _not_applicable(spec, submitter) is None]


class ClinicObligations(ObligationReader):
    """A clinic file answers its measure's obligation for the reporting year."""

    kinds = ("clinic",)
    facility_columns = {"clinic_npi": "npi"}  # noqa: RUF012 - a read-only declaration
    basis_column = "population_basis"

    def __init__(self, route: Route) -> None:
        self.spec = measures()[route.measure]
        self.route = route
        self.sample_allowed = self.spec.sample_allowed
        self.service_start = self.spec.years[route.reporting_year].dates_of_service[0]

    def not_applicable(self, submitter: Submitter) -> str | None:
        return _not_applicable(self.spec, submitter)

    def finish(self) -> list[Obligation]:
        obligation = _obligation(self.spec, self.route.reporting_year)
        return [dataclasses.replace(obligation, levels=(self.route.level,))]
