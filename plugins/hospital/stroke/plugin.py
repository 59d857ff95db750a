"""The ``stroke`` family's hook implementations (entry point ``stroke`` in pyproject.toml)."""

from __future__ import annotations

from importlib.resources.abc import Traversable

from gateway_plugins.hospital.common.family import TableFamily
from gateway_plugins.hospital.stroke.results import StrokeResults
from gateway_plugins.hospital.stroke.rules import stroke_rules

from gateway.contract import (
    Candidate,
    FamilyInfo,
    FileRule,
    FileSample,
    ResultCalculator,
    Route,
    RuleContext,
)
from gateway.hookspecs import hookimpl

FAMILY = TableFamily(
    package="gateway_plugins.hospital.stroke", measure="STROKE",
    measure_name="Stroke Registry indicators DTI-25 and DTN-60", level="patient",
    schema="patient", signature=("arrival_time", "thrombolytic_eligible"),
    rules=stroke_rules, results=lambda m, r, c: StrokeResults(m))


@hookimpl
def gateway_families() -> list[FamilyInfo]:
    return FAMILY.families()


@hookimpl
def gateway_schema_dirs() -> list[Traversable]:
    return FAMILY.schema_dirs()


@hookimpl
def gateway_recognise(sample: FileSample) -> list[Candidate]:
    return FAMILY.recognise(sample)


@hookimpl
def gateway_schema_id(route: Route) -> str | None:
    return FAMILY.schema_id(route)


@hookimpl
def gateway_file_rules(route: Route, context: RuleContext) -> list[FileRule]:
    return FAMILY.file_rules(route, context)


@hookimpl
def gateway_results(route: Route, context: RuleContext) -> ResultCalculator | None:
    return FAMILY.calculator(route, context)
