"""The ``ahrq`` family's hook implementations (entry point ``ahrq`` in pyproject.toml)."""

from __future__ import annotations

from importlib.resources.abc import Traversable

from gateway_plugins.hospital.ahrq.results import AhrqResults
from gateway_plugins.hospital.ahrq.rules import ahrq_rules
from gateway_plugins.hospital.common.family import TableFamily

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
    package="gateway_plugins.hospital.ahrq", measure="AHRQ-QI",
    measure_name="AHRQ Quality Indicators (IQI, PSI, PDI)", level="summary",
    schema="summary", signature=("indicator", "software_version"),
    rules=ahrq_rules, results=lambda m, r, c: AhrqResults(m.data["indicators"]))


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
