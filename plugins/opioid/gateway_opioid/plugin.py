"""The ``opip`` family's hook implementations (entry point ``opip`` in this distribution's
pyproject.toml)."""

from __future__ import annotations

from datetime import date
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING

from gateway.contract import (
    Candidate,
    ErrorCode,
    FamilyInfo,
    FileRule,
    FileSample,
    Finding,
    Layer,
    MeasureInfo,
    Obligation,
    ObligationReader,
    ReferenceCollector,
    ReferenceView,
    ReportingPeriod,
    ResultCalculator,
    Route,
    RuleContext,
    Submitter,
    hookimpl,
)
from gateway_opioid.program import (
    FAMILY,
    KINDS,
    LEVEL,
    PRESCRIBING,
    PROGRAM_FILES,
    SUBSCRIBERS,
    measurement_year,
    program,
)
from gateway_opioid.recognise import recognise

if TYPE_CHECKING:
    import typer

KIND_NAMES = {
    "opip-prescribing": "Opioid prescribing data (program feed)",
    "opip-self-assessment": "QI self-assessment",
    "opip-qi-plan": "QI plan",
    "opip-qi-evaluation": "QI evaluation",
    "opip-exemption": "Special cause exemption request",
    "opip-subscribers": "Prescribers signed up for reports by e-mail (program list)",
}


def _years() -> tuple[int, ...]:
    return tuple(sorted(my + 1 for my in program().years))


def _kind_years(kind: str) -> tuple[int, ...]:
    """The sign-up list has no year: it lives under the newest reporting year only."""
    years = _years()
    return years[-1:] if kind == SUBSCRIBERS else years


def _ours(route: Route) -> bool:
    return (route.family == FAMILY and route.measure in KINDS
            and route.reporting_year in _kind_years(route.measure))


@hookimpl
def gateway_families() -> list[FamilyInfo]:
    return [FamilyInfo(FAMILY, program().title, ("csv", "xlsx"), tuple(
        MeasureInfo(kind, KIND_NAMES[kind], (LEVEL,), _kind_years(kind)) for kind in KINDS))]


@hookimpl
def gateway_error_codes() -> list[ErrorCode]:
    fr = Layer.FILE_RULES
    return [
        ErrorCode("E-OPIP-UNKNOWN-HEALTH-SYSTEM", fr,
                  "A prescriber's health_system is not a registered clinic or hospital "
                  "submitter.",
                  "Use the registry id of the prescriber's health system, or leave it empty."),
        ErrorCode("E-OPIP-NO-DATA", fr,
                  "No prescribing data of the form's measurement year have been accepted yet.",
                  "Check the measurement year; send the form once the program's reports for "
                  "that year are out."),
        ErrorCode("E-OPIP-NOT-REQUIRED", fr,
                  "The form is for a prescriber, or a measure, without a QI requirement.",
                  "Send QI forms only for the measures the prescriber's report marks as "
                  "QI-required (an exemption request may be sent for anyone)."),
        ErrorCode("E-OPIP-SELF-ASSESSMENT-MISSING", fr,
                  "A QI plan came before the prescriber's self-assessments were accepted.",
                  "Send a self-assessment for every QI-required measure first (the message "
                  "names them), then the plan."),
        ErrorCode("E-OPIP-NO-PLAN", fr,
                  "A QI evaluation came for a prescriber without an accepted QI plan.",
                  "Send the prescriber's QI plan first, then the evaluation."),
        ErrorCode("E-OPIP-FORM-DATES", fr,
                  "A QI evaluation is dated on or before its plan's start date.",
                  "Enter the date the evaluation was completed, after the plan started."),
        ErrorCode("E-OPIP-PANEL", fr,
                  "An exemption's patient counts exceed the panel, or the count its reason "
                  "rests on is 0.",
                  "Correct the prescriber's request: neither count may exceed panel_size, and "
                  "the count its reason names must be above 0."),
    ]


@hookimpl
def gateway_schema_dirs() -> list[Traversable]:
    return [files(__package__) / "schemas"]


@hookimpl
def gateway_example_dirs() -> list[Traversable]:
    return [files(__package__) / "examples"]


@hookimpl
def gateway_calendar(route: Route) -> list[ReportingPeriod] | None:
    if not _ours(route):
        return None
    year = measurement_year(route.reporting_year)
    rules = program().years[year]
    return [ReportingPeriod(str(year), (date(year, 1, 1), date(year, 12, 31)),
                            (rules.forms_open, rules.due[route.measure]))]


@hookimpl
def gateway_recognise(sample: FileSample) -> list[Candidate]:
    return recognise(sample)


@hookimpl
def gateway_schema_id(route: Route) -> str | None:
    if not _ours(route):
        return None
    return f"urn:mn-sqrms:schema:opip:{route.reporting_year}:{route.measure.removeprefix('opip-')}"


@hookimpl
def gateway_preconditions(route: Route, context: RuleContext) -> list[Finding]:
    if not _ours(route) or route.measure in PROGRAM_FILES:
        return []
    from gateway_opioid.context import form_facts
    from gateway_opioid.forms import no_data

    return no_data(form_facts(route, context))


@hookimpl
def gateway_file_rules(route: Route, context: RuleContext) -> list[FileRule]:
    if not _ours(route):
        return []
    from gateway_opioid.context import form_facts, health_systems

    if route.measure == SUBSCRIBERS:
        from gateway_opioid.subscribers import subscriber_rules

        return subscriber_rules()
    if route.measure == PRESCRIBING:
        from gateway_opioid.prescribing import prescribing_rules

        return prescribing_rules(context, health_systems(context))
    from gateway_opioid.forms import form_rules

    return form_rules(route.measure, context, form_facts(route, context))


@hookimpl
def gateway_results(route: Route, context: RuleContext) -> ResultCalculator | None:
    if not _ours(route):
        return None
    if route.measure == SUBSCRIBERS:
        return None  # a list of addresses: nothing to count in its receipt
    year = measurement_year(route.reporting_year)
    if route.measure == PRESCRIBING:
        from gateway_opioid.prescribing import PrescribingResults

        return PrescribingResults(program().years[year])
    from gateway_opioid.forms import FormResults

    return FormResults(route.measure, program().years[year])


@hookimpl
def gateway_reference_collector(route: Route, context: RuleContext) -> ReferenceCollector | None:
    if not _ours(route):
        return None
    if route.measure == SUBSCRIBERS:
        from gateway_opioid.subscribers import SubscriberMemory

        return SubscriberMemory()
    year = measurement_year(route.reporting_year)
    if route.measure == PRESCRIBING:
        from gateway_opioid.prescribing import PrescribingMemory

        return PrescribingMemory(program().years[year])
    from gateway_opioid.forms import FormMemory

    return FormMemory(route.measure, program().years[year])


@hookimpl
def gateway_obligation_reader(route: Route, context: RuleContext, sample: FileSample
                              ) -> ObligationReader | None:
    if not _ours(route):
        return None
    from gateway_opioid.obligations import reader

    return reader(route, sample, context)


@hookimpl
def gateway_obligations(submitter: Submitter, reporting_year: int, reference: ReferenceView
                        ) -> list[Obligation]:
    from gateway_opioid.obligations import owed

    return owed(submitter, reporting_year, reference)


@hookimpl
def gateway_commands(cli: typer.Typer) -> None:
    from gateway_opioid.report.command import group

    cli.add_typer(group(), name=FAMILY)
