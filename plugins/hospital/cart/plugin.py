"""The ``cart`` family's hook implementations (entry point ``cart`` in pyproject.toml)."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable

from gateway_plugins.hospital.cart.obligations import CartObligations
from gateway_plugins.hospital.cart.reader import ROOT, read_cart
from gateway_plugins.hospital.cart.results import CartResults
from gateway_plugins.hospital.cart.rules import cart_rules, hospital_type
from gateway_plugins.hospital.cart.template import cart_template
from gateway_schemas import schema_root
from lxml import etree

from gateway.contract import (
    Candidate,
    Document,
    FamilyInfo,
    FileRule,
    FileSample,
    MeasureInfo,
    Obligation,
    ObligationReader,
    RecordBatch,
    ReportingPeriod,
    ResultCalculator,
    Route,
    RuleContext,
    Submitter,
    TableManifest,
    calendar,
    hookimpl,
    load_manifest,
    owed_periods,
)

MEASURE, LEVEL = "CART", "summary"


def manifest() -> TableManifest:
    """The family's manifest (measures, retired ids, deadlines), read once per process."""
    return load_manifest("gateway_plugins.hospital.cart")


def _ours(route: Route) -> bool:
    """Hooks about a route answer only for CART routes."""
    return route.family == manifest().family


@hookimpl
def gateway_families() -> list[FamilyInfo]:
    m = manifest()
    return [FamilyInfo(m.family, m.title, m.formats, (
        MeasureInfo(MEASURE, "CART chart-abstracted measures, one file per hospital and quarter",
                    (LEVEL,), m.years),))]


@hookimpl
def gateway_schema_dirs() -> list[Traversable]:
    return [schema_root() / "cart"]


@hookimpl
def gateway_recognise(sample: FileSample) -> list[Candidate]:
    """A CART file is XML whose root is <hospital-measures>. A root in another namespace is
    still claimed so the reader can say which namespace is wrong (E-XML-NAMESPACE)."""
    if sample.format != "xml" or not sample.xml_root:
        return []
    if etree.QName(sample.xml_root).localname != ROOT:
        return []
    text = (sample.xml_fields.get("reporting-year") or "").strip()
    year = int(text) if text.isdigit() and len(text) == 4 else None

    return [Candidate(manifest().family, MEASURE, LEVEL, year)]


@hookimpl
def gateway_schema_id(route: Route) -> str | None:
    if not _ours(route) or route.reporting_year not in manifest().years:
        return None
    return manifest().schema_id("measure", route.reporting_year)


@hookimpl
def gateway_read_records(route: Route, document: Document) -> Iterator[RecordBatch] | None:
    if not _ours(route):
        return None
    return read_cart(document.path, document.limits)


@hookimpl
def gateway_file_rules(route: Route, context: RuleContext) -> list[FileRule]:
    return cart_rules(manifest(), route, context) if _ours(route) else []


@hookimpl
def gateway_results(route: Route, context: RuleContext) -> ResultCalculator | None:
    return CartResults(manifest(), hospital_type(context)) if _ours(route) else None


@hookimpl
def gateway_template(route: Route, format: str) -> bytes | None:
    if not _ours(route) or format != "xml":
        return None
    return cart_template(route.reporting_year)


@hookimpl
def gateway_calendar(route: Route) -> list[ReportingPeriod] | None:
    return calendar(manifest(), route.reporting_year) if _ours(route) else None


@hookimpl
def gateway_example_dirs() -> list[Traversable]:
    return [files("gateway_plugins.hospital.cart") / "examples"]


@hookimpl
def gateway_obligation_reader(route: Route, sample: FileSample) -> ObligationReader | None:
    if not _ours(route):
        return None
    return CartObligations(manifest(), MEASURE, LEVEL, route.reporting_year, sample)


@hookimpl
def gateway_obligations(submitter: Submitter, reporting_year: int) -> list[Obligation]:
    m = manifest()
    return owed_periods(m, MEASURE, LEVEL, submitter, reporting_year,
                        m.data["obligation"]["owed_setting"])
