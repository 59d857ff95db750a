"""The ``von`` family's hook implementations (entry point ``von`` in pyproject.toml)."""

from __future__ import annotations

from importlib.resources.abc import Traversable

from gateway_plugins.hospital.common.family import TableFamily
from gateway_plugins.hospital.common.results import RowRates
from gateway_plugins.hospital.von.rules import von_rules

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
    package="gateway_plugins.hospital.von", measure="VON",
    measure_name="Late sepsis or meningitis in very-low-birth-weight infants", level="summary",
    schema="summary", signature=("cohort", "eligible_infants"),
    rules=von_rules,
    results=lambda m, r, c: RowRates("cohort", "late_infections", "eligible_infants"))


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
