"""The hooks of a table family (CSV/XLSX) written once: the one way to write a table family.

A table family is a package with a ``manifest.toml`` (``gateway.kit.manifest``), its schemas and
its examples; the plugin object built here *is* the plugin (its methods are the ``@hookimpl``s)
and the entry point names it (``"my_family.plugin:FAMILY"``). The core's table reader supplies
the records, so a family is a manifest, schemas, and for checks across records or computed
results a rule list and a results calculator. Two shapes share the recognition
(``gateway.kit.recognise``), the obligations (``gateway.kit.obligations``) and the hooks:

``DataFamily(__package__)``
    every measure of a data manifest, each with its levels and one calendar per reporting year;
    a file is recognised by the columns a layout requires and the measure column's value.
``TableFamily(package=..., measure=..., level=..., schema=..., signature=...)``
    one layout whose data come per quarter or per year against the ``[deadlines]`` of a period
    manifest (``gateway.kit.calendar``); a file is recognised by its signature columns.

This is part of the plugin contract (docs/plugins.md): the constructors only gain keyword
arguments, as hooks only gain arguments.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib.resources import files
from importlib.resources.abc import Traversable

from gateway.contract.catalog import ErrorCode
from gateway.contract.hooks import hookimpl
from gateway.contract.records import (
    Candidate,
    FamilyInfo,
    FileRule,
    FileSample,
    MeasureInfo,
    Obligation,
    ObligationReader,
    ReportingPeriod,
    ResultCalculator,
    Route,
    RuleContext,
    Submitter,
)
from gateway.kit.calendar import calendar
from gateway.kit.manifest import (
    MANIFEST,
    DataManifest,
    TableManifest,
    load_manifest,
    parse_manifest,
    schema_path,
)
from gateway.kit.obligations import DataObligations, PeriodObligations, owed, owed_periods
from gateway.kit.recognise import NEAR_MISS_SHARE, recognise_signature, year_of

Rules = Callable[[Route, RuleContext], list[FileRule]]
Results = Callable[[Route, RuleContext], ResultCalculator | None]
TableRules = Callable[[TableManifest, Route, RuleContext], list[FileRule]]
TableResults = Callable[[TableManifest, Route, RuleContext], ResultCalculator]


class _FamilyHooks:
    """The hooks both shapes answer alike: the package's examples and the family's codes."""

    package: str
    codes: Sequence[ErrorCode]

    @property
    def root(self) -> Traversable:
        return files(self.package)

    @hookimpl
    def gateway_error_codes(self) -> list[ErrorCode]:
        return list(self.codes)

    @hookimpl
    def gateway_example_dirs(self) -> list[Traversable]:
        return [self.root / "examples"]


class DataFamily(_FamilyHooks):
    """A plugin object serving one data family from its package's files."""

    def __init__(self, package: str, *, rules: Rules | None = None,
                 results: Results | None = None, codes: Sequence[ErrorCode] = ()) -> None:
        self.package = package
        self._rules = rules
        self._results = results
        self.codes = list(codes)

    @cached_property
    def manifest(self) -> DataManifest:
        return parse_manifest((self.root / MANIFEST).read_text(encoding="utf-8"))

    def ours(self, route: Route) -> bool:
        return route.family == self.manifest.family and route.measure in self.manifest.measures

    def _schema(self, measure: str, level: str, year: int) -> Traversable:
        return schema_path(self.root, measure, level, year)

    @cached_property
    def _latest_columns(self) -> dict[tuple[str, str], tuple[list[str], list[str]]]:
        """(every column, header-required columns) of each layout's latest year."""
        out = {}
        for measure in self.manifest.measures.values():
            for level in measure.levels:
                years = [y for y in sorted(measure.years, reverse=True)
                         if self._schema(measure.measure, level, y).is_file()]
                if not years:
                    continue
                schema = json.loads(self._schema(measure.measure, level, years[0])
                                    .read_text(encoding="utf-8"))
                properties = schema.get("properties", {})
                out[(measure.measure, level)] = (list(properties), [
                    c for c, p in properties.items() if not p.get("x-optional-column")])
        return out

    @hookimpl
    def gateway_families(self) -> list[FamilyInfo]:
        return [self.manifest.info()]

    @hookimpl
    def gateway_schema_dirs(self) -> list[Traversable]:
        return [self.root / "schemas"]

    @hookimpl
    def gateway_recognise(self, sample: FileSample) -> list[Candidate]:
        """Claim a file that has every column a layout requires and names the layout's
        measure; name the closest layout as a near miss otherwise."""
        m = self.manifest
        if sample.format not in m.formats:
            return []
        present, year = set(sample.columns), year_of(sample, m.year_column)
        named = (sample.first_value(m.measure_column) or "").upper() if m.measure_column else ""
        claims, misses = [], []
        for (measure, level), (every, required) in self._latest_columns.items():
            if len(present & set(every)) < NEAR_MISS_SHARE * len(every):
                continue
            lacks = [f"column {c}" for c in required if c not in present]
            if m.measure_column and named != measure.upper():
                lacks.insert(0, f"{m.measure_column} {measure}")
            target = claims if not lacks else misses
            target.append((len(required), Candidate(m.family, measure, level, year,
                                                    tuple(lacks))))
        if claims:  # a patient layout also has the summary layout's columns: take the fuller
            return [max(claims, key=lambda c: c[0])[1]]
        return [candidate for _, candidate in misses]

    @hookimpl
    def gateway_schema_id(self, route: Route) -> str | None:
        if not self.ours(route) or route.level not in self.manifest.measures[route.measure].levels:
            return None
        if route.reporting_year not in self.manifest.measures[route.measure].years:
            return None
        path = self._schema(route.measure, route.level, route.reporting_year)
        return json.loads(path.read_text(encoding="utf-8"))["$id"] if path.is_file() else None

    @hookimpl
    def gateway_calendar(self, route: Route) -> list[ReportingPeriod] | None:
        if not self.ours(route):
            return None
        period = self.manifest.measures[route.measure].years.get(route.reporting_year)
        return [period] if period else None

    @hookimpl
    def gateway_file_rules(self, route: Route, context: RuleContext) -> list[FileRule]:
        return self._rules(route, context) if self._rules and self.ours(route) else []

    @hookimpl
    def gateway_results(self, route: Route, context: RuleContext) -> ResultCalculator | None:
        return self._results(route, context) if self._results and self.ours(route) else None

    @hookimpl
    def gateway_obligation_reader(self, route: Route) -> ObligationReader | None:
        if not self.ours(route) or self.manifest.obligation is None:
            return None
        return DataObligations(self.manifest, route)

    @hookimpl
    def gateway_obligations(self, submitter: Submitter, reporting_year: int) -> list[Obligation]:
        return owed(self.manifest, submitter, reporting_year)


@dataclass(frozen=True)
class TableFamily(_FamilyHooks):
    """A plugin object serving one table layout (measure, level) of a period-manifest family:
    its schema, its signature columns, and the rules and results that check it (each called
    with the manifest, so a rule can read the family's own tables)."""

    package: str
    measure: str
    measure_name: str
    level: str
    schema: str
    signature: Sequence[str]
    rules: TableRules
    results: TableResults
    schemas: Traversable | None = None  # default: the package's ``schemas/`` folder
    codes: Sequence[ErrorCode] = field(default=())

    @property
    def manifest(self) -> TableManifest:
        return load_manifest(self.package)

    @property
    def schema_dir(self) -> Traversable:
        return self.schemas if self.schemas is not None else self.root / "schemas"

    def ours(self, route: Route) -> bool:
        return route.family == self.manifest.family and route.measure == self.measure

    @hookimpl
    def gateway_families(self) -> list[FamilyInfo]:
        m = self.manifest
        return [FamilyInfo(m.family, m.title, m.formats, (
            MeasureInfo(self.measure, self.measure_name, (self.level,), m.years),))]

    @hookimpl
    def gateway_schema_dirs(self) -> list[Traversable]:
        return [self.schema_dir]

    def _layout(self, year: int) -> dict:
        path = self.schema_dir / str(year) / f"{self.schema}.schema.json"
        return json.loads(path.read_text(encoding="utf-8"))

    @hookimpl
    def gateway_recognise(self, sample: FileSample) -> list[Candidate]:
        layout = self._layout(max(self.manifest.years))
        return recognise_signature(sample, family=self.manifest.family, measure=self.measure,
                                   level=self.level, columns=list(layout["properties"]),
                                   required=layout.get("required", []),
                                   signature=self.signature)

    @hookimpl
    def gateway_schema_id(self, route: Route) -> str | None:
        if not self.ours(route) or route.reporting_year not in self.manifest.years:
            return None
        return self.manifest.schema_id(self.schema, route.reporting_year)

    @hookimpl
    def gateway_file_rules(self, route: Route, context: RuleContext) -> list[FileRule]:
        return self.rules(self.manifest, route, context) if self.ours(route) else []

    @hookimpl
    def gateway_results(self, route: Route, context: RuleContext) -> ResultCalculator | None:
        return self.results(self.manifest, route, context) if self.ours(route) else None

    @hookimpl
    def gateway_calendar(self, route: Route) -> list[ReportingPeriod] | None:
        return calendar(self.manifest, route.reporting_year) if self.ours(route) else None

    @hookimpl
    def gateway_obligation_reader(self, route: Route, sample: FileSample
                                  ) -> ObligationReader | None:
        if not self.ours(route):
            return None
        return PeriodObligations(self.manifest, self.measure, self.level,
                                 route.reporting_year, sample)

    @hookimpl
    def gateway_obligations(self, submitter: Submitter, reporting_year: int
                            ) -> list[Obligation]:
        return owed_periods(self.manifest, self.measure, self.level, submitter, reporting_year)
