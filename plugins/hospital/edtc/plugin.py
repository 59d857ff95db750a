"""The ``edtc`` family's hook implementations (entry point ``edtc`` in pyproject.toml).

EDTC is required of critical access hospitals only; a file from a hospital the registry does
not list as CAH is E-SUBMITTER-NOT-APPLICABLE at the submitter layer, which waits for the
registry (docs/hospital-decisions.md).
"""

from __future__ import annotations

from importlib.resources.abc import Traversable

from gateway_plugins.hospital.common.family import TableFamily
from gateway_plugins.hospital.common.results import RowRates
from gateway_plugins.hospital.edtc.rules import edtc_rules

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
    package="gateway_plugins.hospital.edtc", measure="EDTC",
    measure_name="Emergency department transfer communication", level="summary",
    schema="summary", signature=("measure", "eligible_population", "quarter"),
    rules=edtc_rules,
    results=lambda m, r, c: RowRates("measure", "numerator", "denominator",
                                     header=("quarter", "population_basis")))


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
