"""Finding the layout (family, measure, level, reporting year and its schema) that a template or
a specification page is written for, by asking the loaded plugins exactly what the pipeline asks.

The schema comes from the same ``gateway_schema_id`` hook that routes a submitted file, so a
template can only offer a layout the validator accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from gateway.contract.records import FamilyInfo, MeasureInfo, Route
from gateway.engine.plugins import Plugins
from gateway.engine.records import Column
from gateway.readers.sniff import CSV, XLSX

TABLE_FORMATS = (CSV, XLSX)


class LayoutError(LookupError):
    """The measure, level or year asked for is unknown or ambiguous; the text says what exists."""


@dataclass(frozen=True)
class Layout:
    """One record layout: where a file of it routes and the schema its records meet."""

    family: FamilyInfo
    measure: MeasureInfo
    level: str
    year: int
    schema_id: str
    schema: dict[str, Any]  # with $refs inlined, as the record layer reads it

    @property
    def route(self) -> Route:
        """The route a file of this layout takes, so hooks are asked exactly as for a file."""
        return Route(self.family.family, self.measure.measure, self.level, self.year,
                     self.schema_id)

    @cached_property
    def columns(self) -> list[Column]:
        """The file's columns in schema order (the order templates and pages list them)."""
        return [Column.from_schema(name, prop)
                for name, prop in self.schema.get("properties", {}).items()]

    @property
    def table_formats(self) -> tuple[str, ...]:
        """The table formats (CSV, XLSX) the family accepts; empty for an XML-only family."""
        return tuple(f for f in self.family.formats if f in TABLE_FORMATS)

    @property
    def label(self) -> str:
        """The layout in the words receipts use: ``mncm ODC patient-level 2015``."""
        return (f"{self.family.family} {self.measure.measure} {self.level}-level "
                f"{self.year}")

    @property
    def slug(self) -> str:
        """A file-name stem: ``odc-patient-2015``."""
        return f"{self.measure.measure.lower()}-{self.level}-{self.year}"

    @property
    def spec_page(self) -> str:
        """Its page in the generated specification, relative to the specification folder."""
        name = f"{self.measure.measure.lower()}-{self.level}"
        return f"{self.family.family}/{self.year}/{name}.md"


def layout_for(plugins: Plugins, family: FamilyInfo, measure: MeasureInfo, level: str,
               year: int) -> Layout:
    """The layout of one route, its schema chosen by the family's ``gateway_schema_id``."""
    route = Route(family.family, measure.measure, level, year)
    schema_id = plugins.hook.gateway_schema_id(route=route)
    if schema_id is None:
        raise LayoutError(f"the {family.family} family has no schema for {measure.measure} "
                          f"{level}-level {year}")
    return Layout(family, measure, level, year, schema_id, plugins.schemas.resolved(schema_id))


def all_layouts(plugins: Plugins) -> list[Layout]:
    """Every (family, measure, level, year) the families declare, in declaration order."""
    return [layout_for(plugins, family, measure, level, year)
            for family in plugins.families.values() for measure in family.measures
            for level in measure.levels for year in measure.reporting_years]


def find_measure(plugins: Plugins, measure: str,
                 family: str | None = None) -> tuple[FamilyInfo, MeasureInfo]:
    """A measure id (any case) looked up across families; ``family`` settles a clash."""
    wanted = measure.strip().upper()
    found = [(f, m) for f in plugins.families.values() for m in f.measures
             if m.measure.upper() == wanted and (family is None or f.family == family)]
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(f.family for f, _ in found)
        raise LayoutError(f"measure {measure} is defined by several families ({names}); "
                          "choose one with --family")
    if family is not None and family not in plugins.families:
        raise LayoutError(f"unknown family {family}; known: "
                          f"{', '.join(sorted(plugins.families))}")
    known = sorted({m.measure for f in plugins.families.values() for m in f.measures
                    if family is None or f.family == family})
    where = f" in family {family}" if family else ""
    raise LayoutError(f"unknown measure {measure}{where}; known: {', '.join(known)}")


def find_layout(plugins: Plugins, measure: str, *, level: str | None = None,
                year: int | None = None, family: str | None = None) -> Layout:
    """The layout a user names on the command line. A measure with one level or one year
    needs no ``level``/``year``; otherwise the level must be given and the year defaults to
    the latest, because that is the template a submitter almost always wants."""
    family_info, measure_info = find_measure(plugins, measure, family)
    if level is None:
        if len(measure_info.levels) != 1:
            raise LayoutError(f"{measure_info.measure} has levels "
                              f"{', '.join(measure_info.levels)}; choose one with --level")
        level = measure_info.levels[0]
    if level not in measure_info.levels:
        raise LayoutError(f"{measure_info.measure} has no {level} level; levels: "
                          f"{', '.join(measure_info.levels)}")
    years = measure_info.reporting_years
    if year is None:
        if not years:
            raise LayoutError(f"{measure_info.measure} declares no reporting year")
        year = max(years)
    if year not in years:
        raise LayoutError(f"{measure_info.measure} has no reporting year {year}; years: "
                          f"{', '.join(str(y) for y in years)}")
    return layout_for(plugins, family_info, measure_info, level, year)
