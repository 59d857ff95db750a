"""The ``mncm`` family's hook implementations: the entry point named in pyproject.toml."""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from gateway_plugins.clinic.mncm import layouts
from gateway_plugins.clinic.mncm.manifest import measures
from gateway_plugins.clinic.mncm.obligations import ClinicObligations, owed
from gateway_plugins.clinic.mncm.patient_rules import patient_rules
from gateway_plugins.clinic.mncm.recognise import FAMILY, recognise
from gateway_plugins.clinic.mncm.results import PatientResults, SummaryResults
from gateway_plugins.clinic.mncm.summary_rules import summary_rules
from gateway_schemas import schema_root

from gateway.contract import (
    Artifact,
    Candidate,
    ErrorCode,
    FamilyInfo,
    FileRule,
    FileSample,
    Layer,
    MeasureInfo,
    Obligation,
    ObligationReader,
    ReportingPeriod,
    ResultCalculator,
    Route,
    RuleContext,
    Submitter,
    hookimpl,
)

LEVELS = ("summary", "patient")


@hookimpl
def gateway_year_data(route: Route) -> dict[str, object] | None:
    """What a clinic year declares in measures.toml besides its dates and targets (which the
    calendar and the schema's ``x-targets`` carry)."""
    if route.family != FAMILY or route.measure not in measures():
        return None
    year = measures()[route.measure].years.get(route.reporting_year)
    if year is None:
        return None
    return {"date columns checked against the dates of service": list(year.date_columns),
            "follow-up days": year.followup_days,
            "follow-up columns": list(year.followup_columns),
            "history columns": list(year.history_columns)}


@hookimpl
def gateway_artifacts() -> list[Artifact]:
    from gateway_plugins.clinic.mncm.artifacts import artifacts  # pandas: only when asked

    return artifacts()


@hookimpl
def gateway_families() -> list[FamilyInfo]:
    infos = []
    for measure, spec in measures().items():
        levels = tuple(lv for lv in LEVELS if any(layouts.has_layout(measure, lv, y)
                                                  for y in spec.years))
        # every manifest year is declared: one whose schemas are missing fails the conformance
        # run instead of vanishing from the plugin
        infos.append(MeasureInfo(measure, spec.name, levels, tuple(sorted(spec.years))))
    return [FamilyInfo(FAMILY, "MN Community Measurement clinic measures", ("csv", "xlsx"),
                       tuple(infos))]


@hookimpl
def gateway_error_codes() -> list[ErrorCode]:
    return [ErrorCode("E-RULE-AVERAGE-MISMATCH", Layer.FILE_RULES,
                      "A reported average change does not equal the denominator-weighted mean "
                      "of its strata.",
                      "Recompute the total row's average_change from the strata (the message "
                      "shows both).")]


@hookimpl
def gateway_schema_dirs() -> list[Traversable]:
    # the shared common definitions are registered by the core (gateway.engine.shared_schemas)
    return [schema_root() / "mncm"]


@hookimpl
def gateway_recognise(sample: FileSample) -> list[Candidate]:
    return recognise(sample)


@hookimpl
def gateway_schema_id(route: Route) -> str | None:
    if route.family != FAMILY or route.measure not in measures():
        return None
    if route.reporting_year not in measures()[route.measure].years:
        return None
    if not layouts.has_layout(route.measure, route.level, route.reporting_year):
        return None
    return layouts.schema_id(route.measure, route.level, route.reporting_year)


@hookimpl
def gateway_file_rules(route: Route, context: RuleContext) -> list[FileRule]:
    if route.family != FAMILY:
        return []
    measure = measures()[route.measure]
    if route.level == "summary":
        return summary_rules(measure)
    return patient_rules(measure, route.reporting_year)


@hookimpl
def gateway_results(route: Route, context: RuleContext) -> ResultCalculator | None:
    if route.family != FAMILY:
        return None
    measure = measures()[route.measure]
    if route.level == "summary":
        return SummaryResults(measure)
    return PatientResults(measure, measure.years[route.reporting_year])


@hookimpl
def gateway_calendar(route: Route) -> list[ReportingPeriod] | None:
    if route.family != FAMILY or route.measure not in measures():
        return None
    year = measures()[route.measure].years.get(route.reporting_year)
    if year is None:
        return None
    return [ReportingPeriod(str(year.year), year.dates_of_service, year.submission_window)]


@hookimpl
def gateway_example_dirs() -> list[Traversable]:
    return [files(__package__) / "examples"]


@hookimpl
def gateway_scaffold(family: str, measure: str, year: int, from_year: int | None,
                     root: Path) -> list[str] | None:
    if family != FAMILY:
        return None
    from gateway_plugins.clinic.mncm.scaffold import scaffold

    return scaffold(measure, year, from_year, root)


@hookimpl
def gateway_obligation_reader(route: Route) -> ObligationReader | None:
    if route.family != FAMILY or route.measure not in measures():
        return None
    return ClinicObligations(route)


@hookimpl
def gateway_obligations(submitter: Submitter, reporting_year: int) -> list[Obligation]:
    return owed(submitter, reporting_year)
