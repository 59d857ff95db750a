"""The ``mncm`` family's plugin object ``FAMILY`` (entry point ``mncm`` in pyproject.toml).

The kit's ``Family`` answers the hooks every table family shares from ``manifest.toml`` (the
measures, their levels and calendars) and the generated schemas; what only the clinic measures
know comes in as its arguments: the summary and patient rules and results, recognition by
``measure_id`` and the columns of each level, who owes a measure (urgent care centres never,
``well_child_only`` measures only clinics with well-child visits), the year data release notes
compare, the generated files and the scaffold of a new year.
"""

from __future__ import annotations

from pathlib import Path

from gateway_plugins.clinic.mncm.manifest import measures
from gateway_plugins.clinic.mncm.obligations import ClinicObligations, owed
from gateway_plugins.clinic.mncm.patient_rules import patient_rules
from gateway_plugins.clinic.mncm.recognise import recognise
from gateway_plugins.clinic.mncm.results import PatientResults, SummaryResults
from gateway_plugins.clinic.mncm.summary_rules import summary_rules
from gateway_schemas import schema_root

from gateway.contract import (
    Artifact,
    ErrorCode,
    Family,
    FileRule,
    Layer,
    Manifest,
    ResultCalculator,
    Route,
    RuleContext,
)

CODES = [ErrorCode("E-RULE-AVERAGE-MISMATCH", Layer.FILE_RULES,
                   "A reported average change does not equal the denominator-weighted mean of "
                   "its strata.",
                   "Recompute the total row's average_change from the strata (the message shows "
                   "both).")]


def rules(manifest: Manifest, route: Route, context: RuleContext) -> list[FileRule]:
    measure = measures()[route.measure]
    if route.level == "summary":
        return summary_rules(measure)
    return patient_rules(measure, route.reporting_year)


def results(manifest: Manifest, route: Route, context: RuleContext) -> ResultCalculator:
    measure = measures()[route.measure]
    if route.level == "summary":
        return SummaryResults(measure)
    return PatientResults(measure, measure.years[route.reporting_year])


def year_data(manifest: Manifest, route: Route) -> dict[str, object] | None:
    """What a clinic year declares in the manifest besides its dates and targets (which the
    calendar and the schema's ``x-targets`` carry)."""
    year = measures()[route.measure].years.get(route.reporting_year)
    if year is None:
        return None
    return {"date columns checked against the dates of service": list(year.date_columns),
            "follow-up days": year.followup_days,
            "follow-up columns": list(year.followup_columns),
            "history columns": list(year.history_columns)}


def artifacts() -> list[Artifact]:
    from gateway_plugins.clinic.mncm.artifacts import artifacts  # pandas: only when asked

    return artifacts()


def scaffold(measure: str, year: int, from_year: int | None, root: Path) -> list[str]:
    from gateway_plugins.clinic.mncm.scaffold import scaffold

    return scaffold(measure, year, from_year, root)


FAMILY = Family(
    __package__, schemas=schema_root() / "mncm", codes=CODES, rules=rules, results=results,
    recognise=lambda manifest, sample: recognise(sample),
    obligations=lambda manifest, submitter, year: owed(submitter, year),
    obligation_reader=lambda manifest, route, sample: ClinicObligations(route),
    year_data=year_data, artifacts=artifacts, scaffold=scaffold)
