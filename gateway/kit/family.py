"""``DataFamily``: the hooks of a table family whose measures are data, written once.

An outside plugin laid out as ``gateway.kit.manifest`` describes (``manifest.toml``,
``schemas/``, ``examples/``) needs only::

    from gateway.kit.family import DataFamily
    FAMILY = DataFamily(__package__)                 # entry point: "my_family.plugin:FAMILY"

and, for checks across records or computed results, ``rules=`` and ``results=`` callables. It
recognises a CSV/XLSX file by its header (every column the layout requires) and by the measure
column's value, routes it to the year in the year column, validates records against the year's
schema, answers the calendar and examples hooks the conformance kit asks, and the submitter
layer's obligation hooks from the manifest's optional ``[obligation]`` table
(``gateway.kit.obligations``).

This is part of the plugin contract (docs/plugins.md): its constructor only gains keyword
arguments, as hooks only gain arguments.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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
    Obligation,
    ObligationReader,
    ReportingPeriod,
    ResultCalculator,
    Route,
    RuleContext,
    Submitter,
)
from gateway.kit.manifest import MANIFEST, DataManifest, parse_manifest, schema_path
from gateway.kit.obligations import DataObligations, owed

NEAR_MISS_SHARE = 0.5
Rules = Callable[[Route, RuleContext], list[FileRule]]
Results = Callable[[Route, RuleContext], ResultCalculator | None]


class DataFamily:
    """A plugin object serving one data family from its package's files."""

    def __init__(self, package: str, *, rules: Rules | None = None,
                 results: Results | None = None, codes: Sequence[ErrorCode] = ()) -> None:
        self.package = package
        self._rules = rules
        self._results = results
        self._codes = list(codes)

    @property
    def root(self) -> Traversable:
        return files(self.package)

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

    def _year(self, sample: FileSample) -> int | None:
        text = sample.first_value(self.manifest.year_column) or ""
        return int(text) if text.isdigit() and len(text) == 4 else None

    @hookimpl
    def gateway_families(self) -> list[FamilyInfo]:
        return [self.manifest.info()]

    @hookimpl
    def gateway_error_codes(self) -> list[ErrorCode]:
        return self._codes

    @hookimpl
    def gateway_schema_dirs(self) -> list[Traversable]:
        return [self.root / "schemas"]

    @hookimpl
    def gateway_example_dirs(self) -> list[Traversable]:
        return [self.root / "examples"]

    @hookimpl
    def gateway_recognise(self, sample: FileSample) -> list[Candidate]:
        """Claim a file that has every column a layout requires and names the layout's
        measure; name the closest layout as a near miss otherwise."""
        m = self.manifest
        if sample.format not in m.formats:
            return []
        present, year = set(sample.columns), self._year(sample)
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
