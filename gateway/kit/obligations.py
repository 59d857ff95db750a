"""Who owes a table family's files and which obligation a file answers, from the optional
``[obligation]`` table of its manifest (``gateway.kit.manifest``)::

    [obligation]
    kinds = ["clinic"]                          # registry kinds that owe and send the files
    facility_columns = { clinic_npi = "npi" }   # every id there must be the sender's
    basis_column = "population_basis"           # FULL/SAMPLE column, if the files sample
    sample_allowed = false                      # default true
    applies_if_any = [{ well_child = [true] }]  # registry facts; any one suffices (optional)
    not_applicable = "VAX comes only from clinics with well-child visits."
    met_through_cms = true                      # deadlines: CMS submitters owe nothing
    period = "quarter"                          # deadlines: "quarter" (default) or "year"
    period_column = "quarter"                   # deadlines: the column naming a file's quarter

``not_applicable`` may name registry facts in braces (``"... lists your hospital as
{hospital_type}."``). A measure with a calendar of its own for the year (``[measures.X.years.Y]``)
is owed once, in the year's ``submission_window``; in the family's ``reporting_years`` it is owed
once per period of the ``[deadlines]`` (``gateway.kit.calendar``). A family without the table
owes nothing and its files get only the core's submitter checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.contract.records import FileSample, RecordBatch, Route
from gateway.contract.registry import Obligation, ObligationReader, Submitter
from gateway.kit.calendar import windows
from gateway.kit.manifest import Manifest


class _Facts(dict[str, Any]):
    """A submitter's registry facts by name, for ``str.format_map``."""

    def __init__(self, submitter: Submitter) -> None:
        super().__init__()
        self.submitter = submitter

    def __missing__(self, key: str) -> Any:
        return getattr(self.submitter, key)


def not_applicable(rules: Mapping[str, Any], submitter: Submitter) -> str | None:
    """The manifest's sentence when none of ``applies_if_any`` holds for the submitter."""
    conditions = rules.get("applies_if_any", [])
    if not conditions or any(all(getattr(submitter, name, None) in values
                                 for name, values in c.items()) for c in conditions):
        return None
    return str(rules.get("not_applicable", "The registry's facts about your facility exclude "
                                           "it from this measure.")).format_map(_Facts(submitter))


def _owing(rules: Mapping[str, Any] | None, submitter: Submitter) -> bool:
    return rules is not None and submitter.kind in rules.get("kinds", ()) and \
        not_applicable(rules, submitter) is None


def obligation(manifest: Manifest, measure: str, year: int,
               levels: tuple[str, ...] | None = None) -> Obligation:
    spec = manifest.measures[measure]
    opens, due = spec.years[year].window
    return Obligation(family=manifest.family, measure=measure, reporting_year=year,
                      period=str(year), opens=opens, due=due, levels=levels or spec.levels)


def owed(manifest: Manifest, submitter: Submitter, year: int) -> list[Obligation]:
    """Every obligation of the family the submitter owes for the year: once for a measure with
    its own calendar for the year, else once per period of the deadlines."""
    if not _owing(manifest.obligation, submitter):
        return []
    out = []
    for m in manifest.measures.values():
        if year in m.years:
            out.append(obligation(manifest, m.measure, year))
        elif year in manifest.reporting_years:
            out += _periods(manifest, m.measure, m.levels, submitter, year)
    return out


def owed_periods(manifest: Manifest, measure: str, level: str, submitter: Submitter,
                 reporting_year: int, setting: str | None = None) -> list[Obligation]:
    """Every period of the family's deadlines the submitter owes for the year (listed as not
    required when the manifest says a CMS submitter meets it there)."""
    if not _owing(manifest.obligation, submitter):
        return []
    return _periods(manifest, measure, (level,), submitter, reporting_year, setting)


def _periods(manifest: Manifest, measure: str, levels: tuple[str, ...], submitter: Submitter,
             reporting_year: int, setting: str | None = None) -> list[Obligation]:
    via_cms = bool((manifest.obligation or {}).get("met_through_cms")) and \
        submitter.submits_to_cms
    return [Obligation(family=manifest.family, measure=measure, reporting_year=reporting_year,
                       period=period, opens=opens, due=due, levels=levels,
                       required=not via_cms,
                       note="met through CMS (submits_to_cms)" if via_cms else "")
            for period, (opens, due) in sorted(windows(manifest, reporting_year,
                                                       setting).items())]


class _Declared(ObligationReader):
    """The declarations every table family's obligation reader takes from its manifest."""

    def __init__(self, rules: Mapping[str, Any]) -> None:
        self.rules = rules
        self.kinds = tuple(rules.get("kinds", self.kinds))
        self.facility_columns = dict(rules.get("facility_columns", {}))
        self.basis_column = rules.get("basis_column")
        self.sample_allowed = bool(rules.get("sample_allowed", True))

    def not_applicable(self, submitter: Submitter) -> str | None:
        return not_applicable(self.rules, submitter)


class DataObligations(_Declared):
    """A file of a measure with its own calendar for the year answers the measure's obligation
    for the reporting year."""

    def __init__(self, manifest: Manifest, route: Route) -> None:
        super().__init__(manifest.obligation or {})
        self.manifest, self.route = manifest, route
        self.service_start = manifest.measures[route.measure].years[
            route.reporting_year].dates_of_service[0]

    def finish(self) -> list[Obligation]:
        return [obligation(self.manifest, self.route.measure, self.route.reporting_year,
                           (self.route.level,))]


class PeriodObligations(_Declared):
    """A file answers the obligation of one period of the deadlines: the quarter in
    ``period_column`` (read from the records, else from the routing sample) or the year."""

    def __init__(self, manifest: Manifest, measure: str, level: str, reporting_year: int,
                 sample: FileSample) -> None:
        super().__init__(manifest.obligation or {})
        self.manifest, self.measure, self.level = manifest, measure, level
        self.reporting_year = reporting_year
        self.period_column: str | None = self.rules.get("period_column")
        self.period = self._from_sample(sample)

    def _from_sample(self, sample: FileSample) -> str | None:
        if self.period_column is None:
            return None
        if sample.format == "xml":
            text = sample.xml_fields.get(self.period_column.replace("_", "-"))
        else:
            text = sample.first_value(self.period_column)
        return text.strip().upper() if text else None

    def observe(self, batch: RecordBatch) -> None:
        column = self.period_column
        if column is not None and column in batch.frame.columns:
            values = batch.frame[column].dropna()
            if len(values):
                self.period = str(values.iloc[0]).strip().upper()

    def setting(self) -> str | None:
        """Which of the manifest's deadline tables applies (families with one table: None)."""
        return None

    def finish(self) -> list[Obligation]:
        found = windows(self.manifest, self.reporting_year, self.setting())
        period = self.period if self.period_column else str(self.reporting_year)
        if period not in found:
            return []
        opens, due = found[period]
        return [Obligation(family=self.manifest.family, measure=self.measure,
                           reporting_year=self.reporting_year, period=period, opens=opens,
                           due=due, levels=(self.level,))]
