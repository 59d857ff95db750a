"""The hooks of a table family (CSV/XLSX) written once: ``Family``, the one way to write a table
family.

A table family is a package with a ``manifest.toml`` (``gateway.kit.manifest``), its schemas and
its examples; the plugin object built here *is* the plugin (its methods are the ``@hookimpl``s)
and the entry point names it (``"my_family.plugin:FAMILY"``). The core's table reader supplies
the records, so a family is a manifest, schemas, and for checks across records or computed
results a rule list and a results calculator::

    FAMILY = Family(__package__, rules=my_rules, results=my_results)

The class answers every hook of a table family from the manifest and the schemas: the
families, schema folders and ids, the calendar (per reporting year or from ``[deadlines]``),
recognition (by signature columns, or by the columns a layout requires and its measure column),
the obligations (``[obligation]``) and the examples. What is the family's own comes in as
arguments, each called only for the family's routes and given the manifest: ``rules``,
``results``, and where a family knows better than its manifest, ``recognise``, ``obligations``
with ``obligation_reader``, ``year_data``, ``artifacts`` and ``scaffold``; a family whose
files are not tables (CART's XML) brings ``read_records`` and ``template`` too.

This is part of the plugin contract (docs/plugins.md): the constructor only gains keyword
arguments, as hooks only gain arguments. ``DataFamily`` and ``TableFamily``, the two classes it
replaces, still build one for a release (``gateway.contract.deprecation``).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from gateway.contract.catalog import ErrorCode
from gateway.contract.deprecation import renamed
from gateway.contract.hooks import hookimpl
from gateway.contract.records import (
    Artifact,
    Candidate,
    Document,
    FamilyInfo,
    FileRule,
    FileSample,
    Obligation,
    ObligationReader,
    RecordBatch,
    ReportingPeriod,
    ResultCalculator,
    Route,
    RuleContext,
    Submitter,
)
from gateway.kit.calendar import calendar
from gateway.kit.manifest import MANIFEST, Manifest, manifest_from, parse_manifest
from gateway.kit.obligations import DataObligations, PeriodObligations, owed
from gateway.kit.recognise import recognise_columns, recognise_signature, year_of

Rules = Callable[[Manifest, Route, RuleContext], list[FileRule]]
Results = Callable[[Manifest, Route, RuleContext], ResultCalculator | None]
Recognise = Callable[[Manifest, FileSample], list[Candidate]]
YearData = Callable[[Manifest, Route], dict[str, Any] | None]
Owed = Callable[[Manifest, Submitter, int], list[Obligation]]
Reader = Callable[[Manifest, Route, FileSample], ObligationReader | None]
Artifacts = Callable[[], list[Artifact]]
Scaffold = Callable[[str, int, int | None, Path], list[str]]
ReadRecords = Callable[[Manifest, Route, Document], Iterator[RecordBatch]]
Template = Callable[[Manifest, Route, str], bytes | None]


class Layout:
    """The columns of one (measure, level) in one reporting year's schema, for recognition."""

    def __init__(self, schema: dict[str, Any]) -> None:
        properties = schema.get("properties", {})
        self.columns = list(properties)
        self.header = [c for c, p in properties.items() if not p.get("x-optional-column")]
        self.required = list(schema.get("required", []))


class Family:
    """A plugin object serving one table family from its package's manifest, schemas and
    examples, with the family's own rules and results (and, where it knows better than the
    manifest, its own recognition, obligations, year data, generated files and scaffold)."""

    def __init__(self, package: str, *, rules: Rules | None = None,
                 results: Results | None = None, codes: Sequence[ErrorCode] = (),
                 schemas: Traversable | None = None, recognise: Recognise | None = None,
                 obligations: Owed | None = None, obligation_reader: Reader | None = None,
                 year_data: YearData | None = None, artifacts: Artifacts | None = None,
                 scaffold: Scaffold | None = None, read_records: ReadRecords | None = None,
                 template: Template | None = None) -> None:
        self.package = package
        self.codes = list(codes)
        self._schemas = schemas
        self._rules, self._results, self._recognise = rules, results, recognise
        self._owed, self._reader = obligations, obligation_reader
        self._year_data, self._artifacts, self._scaffold = year_data, artifacts, scaffold
        self._read, self._template = read_records, template
        self._read_layouts: dict[tuple[str, str, int], Layout] = {}

    @property
    def root(self) -> Traversable:
        return files(self.package)

    @cached_property
    def manifest(self) -> Manifest:
        return parse_manifest((self.root / MANIFEST).read_text(encoding="utf-8"),
                              f"{self.package}: {MANIFEST}")

    @property
    def schema_dir(self) -> Traversable:
        """The folder of ``<year>/<stem>.schema.json`` files: the package's ``schemas/``
        unless the family keeps them elsewhere (``schemas=``)."""
        return self._schemas if self._schemas is not None else self.root / "schemas"

    def schema_file(self, measure: str, level: str, year: int) -> Traversable:
        stem = self.manifest.measures[measure].schema_stem(level)
        return self.schema_dir / str(year) / f"{stem}.schema.json"

    def ours(self, route: Route) -> bool:
        return route.family == self.manifest.family and route.measure in self.manifest.measures

    @cached_property
    def _schema_years(self) -> dict[tuple[str, str], list[int]]:
        """Each (measure, level) and the years it has a schema for, latest first."""
        return {(spec.measure, level): [
            year for year in sorted(self.manifest.measure_years(spec.measure), reverse=True)
            if self.schema_file(spec.measure, level, year).is_file()]
            for spec in self.manifest.measures.values() for level in spec.levels}

    def _layout(self, measure: str, level: str, year: int) -> Layout:
        key = (measure, level, year)
        if key not in self._read_layouts:
            path = self.schema_file(measure, level, year)
            self._read_layouts[key] = Layout(json.loads(path.read_text(encoding="utf-8")))
        return self._read_layouts[key]

    def _layouts(self, year: int | None) -> Iterator[tuple[str, str, Layout]]:
        """Each (measure, level) with its layout of ``year`` (the file's), or of its latest
        year when it has none for that year: a column added in a later year does not hide an
        earlier year's files."""
        for (measure, level), years in self._schema_years.items():
            if years:
                yield measure, level, self._layout(measure, level,
                                                   year if year in years else years[0])

    @hookimpl
    def gateway_families(self) -> list[FamilyInfo]:
        return [self.manifest.info()]

    @hookimpl
    def gateway_error_codes(self) -> list[ErrorCode]:
        return list(self.codes)

    @hookimpl
    def gateway_schema_dirs(self) -> list[Traversable]:
        return [self.schema_dir]

    @hookimpl
    def gateway_example_dirs(self) -> list[Traversable]:
        return [self.root / "examples"]

    @hookimpl
    def gateway_recognise(self, sample: FileSample) -> list[Candidate]:
        """Claim a file by a layout's signature columns, or by every column a layout requires
        and its measure named in the measure column. Of several claims the layout with the most
        columns wins (a patient layout also has the summary layout's columns). Otherwise the
        near misses are the layouts the file comes closest to: fewest things lacking plus
        fewest columns the layout does not know (a patient file without one column still
        looks like the patient layout, not the summary one)."""
        m = self.manifest
        if self._recognise is not None:
            return self._recognise(m, sample)
        if sample.format not in m.formats:
            return []
        claims, misses = [], []
        for measure, level, layout in self._layouts(year_of(sample, m.year_column)):
            signature = m.measures[measure].signature
            if signature:
                found = recognise_signature(sample, family=m.family, measure=measure,
                                            level=level, columns=layout.columns,
                                            required=layout.required, signature=signature,
                                            year_column=m.year_column)
                weight = len(layout.required)
            else:
                found = recognise_columns(sample, family=m.family, measure=measure,
                                          level=level, columns=layout.columns,
                                          required=layout.header,
                                          measure_column=m.measure_column,
                                          year_column=m.year_column)
                weight = len(layout.header)
            unknown = len(set(sample.columns) - set(layout.columns))
            for candidate in found:
                if candidate.lacks:
                    misses.append((len(candidate.lacks) + unknown, candidate))
                else:
                    claims.append((weight, candidate))
        if claims:
            return [max(claims, key=lambda c: c[0])[1]]
        best = min((score for score, _ in misses), default=0)
        return [candidate for score, candidate in misses if score == best]

    @hookimpl
    def gateway_schema_id(self, route: Route) -> str | None:
        if not self.ours(route) or route.level not in self.manifest.measures[route.measure].levels:
            return None
        if route.reporting_year not in self.manifest.measure_years(route.measure):
            return None
        path = self.schema_file(route.measure, route.level, route.reporting_year)
        return _schema_id(path) if path.is_file() else None

    @hookimpl
    def gateway_calendar(self, route: Route) -> list[ReportingPeriod] | None:
        if not self.ours(route):
            return None
        period = self.manifest.measures[route.measure].years.get(route.reporting_year)
        if period is not None:
            return [period]
        return calendar(self.manifest, route.reporting_year)

    @hookimpl
    def gateway_file_rules(self, route: Route, context: RuleContext) -> list[FileRule]:
        return self._rules(self.manifest, route, context) if self._rules and self.ours(route) \
            else []

    @hookimpl
    def gateway_results(self, route: Route, context: RuleContext) -> ResultCalculator | None:
        if self._results is None or not self.ours(route):
            return None
        return self._results(self.manifest, route, context)

    @hookimpl
    def gateway_read_records(self, route: Route, document: Document
                             ) -> Iterator[RecordBatch] | None:
        """The core's table reader reads a table family's files; a family in another format
        (CART's XML) brings its reader."""
        if self._read is None or not self.ours(route):
            return None
        return self._read(self.manifest, route, document)

    @hookimpl
    def gateway_template(self, route: Route, format: str) -> bytes | None:
        if self._template is None or not self.ours(route):
            return None
        return self._template(self.manifest, route, format)

    @hookimpl
    def gateway_year_data(self, route: Route) -> dict[str, Any] | None:
        if self._year_data is None or not self.ours(route):
            return None
        return self._year_data(self.manifest, route)

    @hookimpl
    def gateway_artifacts(self) -> list[Artifact]:
        return self._artifacts() if self._artifacts is not None else []

    @hookimpl
    def gateway_scaffold(self, family: str, measure: str, year: int, from_year: int | None,
                         root: Path) -> list[str] | None:
        """A family with its own layout scaffolds itself; the others are scaffolded by the
        core from their files (``gateway new-measure``)."""
        if self._scaffold is None or family != self.manifest.family:
            return None
        return self._scaffold(measure, year, from_year, root)

    @hookimpl
    def gateway_obligation_reader(self, route: Route, sample: FileSample
                                  ) -> ObligationReader | None:
        if not self.ours(route):
            return None
        m = self.manifest
        if self._reader is not None:
            return self._reader(m, route, sample)
        if m.obligation is None:
            return None
        if route.reporting_year in m.measures[route.measure].years:
            return DataObligations(m, route)
        return PeriodObligations(m, route.measure, route.level, route.reporting_year, sample)

    @hookimpl
    def gateway_obligations(self, submitter: Submitter, reporting_year: int
                            ) -> list[Obligation]:
        if self._owed is not None:
            return self._owed(self.manifest, submitter, reporting_year)
        return owed(self.manifest, submitter, reporting_year)


def _schema_id(path: Traversable) -> str | None:
    return json.loads(path.read_text(encoding="utf-8")).get("$id")


# The two classes ``Family`` replaced (release 0.2), kept as constructors for one release.

def _data_family(package: str, *, rules: Callable[[Route, RuleContext], list[FileRule]] |
                 None = None, results: Callable[[Route, RuleContext], ResultCalculator | None]
                 | None = None, codes: Sequence[ErrorCode] = ()) -> Family:
    """``DataFamily(package, rules=, results=, codes=)``: rules and results without the
    manifest argument."""
    return Family(package, codes=codes,
                  rules=None if rules is None else lambda m, route, context: rules(route, context),
                  results=None if results is None
                  else lambda m, route, context: results(route, context))


class _OneLayout(Family):
    """What ``TableFamily(package=, measure=, ...)`` declared in Python, as a manifest measure."""

    def __init__(self, package: str, measure: dict[str, Any], **options: Any) -> None:
        super().__init__(package, **options)
        self._measure = measure

    @cached_property
    def manifest(self) -> Manifest:
        data = tomllib.loads((self.root / MANIFEST).read_text(encoding="utf-8"))
        declared = {**data, "measures": {self._measure["id"]: self._measure}}
        m = manifest_from(declared, f"{self.package}: {MANIFEST}")
        return dataclasses.replace(m, data=data)  # the family's own tables, unchanged


def _table_family(*, package: str, measure: str, measure_name: str, level: str, schema: str,
                  signature: Sequence[str], rules: Rules, results: Results,
                  schemas: Traversable | None = None, codes: Sequence[ErrorCode] = ()) -> Family:
    """``TableFamily(package=, measure=, measure_name=, level=, schema=, signature=, rules=,
    results=)``: one layout declared in Python against a manifest's ``[deadlines]``."""
    return _OneLayout(package, {"id": measure, "name": measure_name, "levels": [level],
                                "signature": list(signature), "schema": schema},
                      rules=rules, results=results, schemas=schemas, codes=codes)


_RENAMED = {"DataFamily": _data_family, "TableFamily": _table_family}


def __getattr__(name: str) -> Any:
    if name not in _RENAMED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    renamed(f"{name} (gateway.kit.family)", "use gateway.contract.Family (docs/plugins.md)")
    value = _RENAMED[name]
    globals()[name] = value  # warned once
    return value
