"""The hooks of a hospital table family (CSV/XLSX), written once and configured per family.

A family module builds one ``TableFamily``; that object *is* the plugin (its methods are the
``@hookimpl``s) and the entry point names it (``nhsn = "...nhsn.plugin:FAMILY"``). The core's
table reader supplies the records, so a table family is a schema, a rule list and a results
calculator.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

from gateway_plugins.hospital.common.calendar import calendar
from gateway_plugins.hospital.common.manifest import Manifest, load_manifest
from gateway_plugins.hospital.common.obligations import HospitalObligations, owed
from gateway_plugins.hospital.common.recognise import recognise_table
from gateway_schemas import schema_root

from gateway.contract import (
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
    hookimpl,
)


@dataclass(frozen=True)
class TableFamily:
    """One table layout (measure, level) of a hospital family and what checks it."""

    package: str
    measure: str
    measure_name: str
    level: str
    schema: str
    signature: Sequence[str]
    rules: Callable[[Manifest, Route, RuleContext], list[FileRule]]
    results: Callable[[Manifest, Route, RuleContext], ResultCalculator]

    @property
    def manifest(self) -> Manifest:
        return load_manifest(self.package)

    def ours(self, route: Route) -> bool:
        return route.family == self.manifest.family and route.measure == self.measure

    @hookimpl
    def gateway_families(self) -> list[FamilyInfo]:
        m = self.manifest
        return [FamilyInfo(m.family, m.title, m.formats, (
            MeasureInfo(self.measure, self.measure_name, (self.level,), m.years),))]

    @hookimpl
    def gateway_schema_dirs(self) -> list[Traversable]:
        return [schema_root() / self.manifest.family]

    def _layout(self, year: int) -> dict:
        path = schema_root() / self.manifest.family / str(year) / f"{self.schema}.schema.json"
        return json.loads(path.read_text(encoding="utf-8"))

    @hookimpl
    def gateway_recognise(self, sample: FileSample) -> list[Candidate]:
        layout = self._layout(max(self.manifest.years))
        return recognise_table(sample, family=self.manifest.family, measure=self.measure,
                               level=self.level, columns=list(layout["properties"]),
                               required=layout.get("required", []), signature=self.signature)

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
    def gateway_example_dirs(self) -> list[Traversable]:
        return [files(self.package) / "examples"]

    @hookimpl
    def gateway_obligation_reader(self, route: Route, sample: FileSample
                                  ) -> ObligationReader | None:
        if not self.ours(route):
            return None
        return HospitalObligations(self.manifest, self.measure, self.level,
                                   route.reporting_year, sample)

    @hookimpl
    def gateway_obligations(self, submitter: Submitter, reporting_year: int
                            ) -> list[Obligation]:
        return owed(self.manifest, self.measure, self.level, submitter, reporting_year)
