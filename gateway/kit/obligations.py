"""Who owes a data family's files, from the optional ``[obligation]`` table of its manifest::

    [obligation]
    kinds = ["clinic"]                          # registry kinds that owe and send the files
    facility_columns = { clinic_npi = "npi" }   # every id there must be the sender's
    basis_column = "population_basis"           # FULL/SAMPLE column, if the files sample
    sample_allowed = false
    applies_if_any = [{ well_child = [true] }]  # registry facts; any one suffices (optional)
    not_applicable = "VAX comes only from clinics with well-child visits."

Each owing submitter owes every measure once per reporting year, at any of its levels, inside
the year's ``submission_window``. A family without the table owes nothing and its files get only
the core's submitter checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.contract.records import Obligation, ObligationReader, Route, Submitter
from gateway.kit.manifest import DataManifest


def not_applicable(rules: Mapping[str, Any], submitter: Submitter) -> str | None:
    """The manifest's sentence when none of ``applies_if_any`` holds for the submitter."""
    conditions = rules.get("applies_if_any", [])
    if not conditions or any(all(getattr(submitter, name, None) in values
                                 for name, values in c.items()) for c in conditions):
        return None
    return str(rules.get("not_applicable", "The registry's facts about your facility exclude "
                                           "it from this measure."))


def obligation(manifest: DataManifest, measure: str, year: int,
               levels: tuple[str, ...] | None = None) -> Obligation:
    spec = manifest.measures[measure]
    opens, due = spec.years[year].window
    return Obligation(family=manifest.family, measure=measure, reporting_year=year,
                      period=str(year), opens=opens, due=due, levels=levels or spec.levels)


def owed(manifest: DataManifest, submitter: Submitter, year: int) -> list[Obligation]:
    """Every measure of the family the submitter owes for the year."""
    rules = manifest.obligation
    if rules is None or submitter.kind not in rules.get("kinds", ()) or \
            not_applicable(rules, submitter) is not None:
        return []
    return [obligation(manifest, m.measure, year) for m in manifest.measures.values()
            if year in m.years]


class DataObligations(ObligationReader):
    """A data family's file answers its measure's obligation for the reporting year."""

    def __init__(self, manifest: DataManifest, route: Route) -> None:
        rules = manifest.obligation or {}
        self.manifest, self.route, self.rules = manifest, route, rules
        self.kinds = tuple(rules.get("kinds", self.kinds))
        self.facility_columns = dict(rules.get("facility_columns", {}))
        self.basis_column = rules.get("basis_column")
        self.sample_allowed = bool(rules.get("sample_allowed", True))
        self.service_start = manifest.measures[route.measure].years[
            route.reporting_year].dates_of_service[0]

    def not_applicable(self, submitter: Submitter) -> str | None:
        return not_applicable(self.rules, submitter)

    def finish(self) -> list[Obligation]:
        return [obligation(self.manifest, self.route.measure, self.route.reporting_year,
                           (self.route.level,))]
