"""The manifest of a table family (``manifest.toml``), in its two shapes.

A *data manifest* (``DataManifest``, read by ``parse_manifest``) lists every measure with its
levels and one calendar per reporting year; ``DataFamily`` serves all its measures. A *period
manifest* (``TableManifest``, read by ``load_manifest``) belongs to a family with one layout
whose data come per quarter or per year against a ``[deadlines]`` table
(``gateway.kit.calendar``); ``TableFamily`` serves it. Both carry the same ``[obligation]``
table (``gateway.kit.obligations``).

A data family is the layout ``docs/plugins.md`` teaches and ``gateway new-measure`` scaffolds::

    my_family/
      __init__.py
      plugin.py        FAMILY = DataFamily(__package__)  (gateway.kit.family)
      manifest.toml    this file
      schemas/<year>/<measure>.<level>.schema.json
      examples/<year>/<measure>/<level>/valid/  and  .../invalid/

The manifest::

    [family]
    id = "opip"                       # unique among installed plugins
    title = "Opioid prescribing"
    formats = ["csv", "xlsx"]
    measure_column = "measure_id"     # optional: the column naming the measure in every row
    year_column = "reporting_year"    # the column giving the reporting year

    [measures.RX]
    name = "Opioid prescriptions"
    levels = ["patient"]

    [measures.RX.years.2016]
    dates_of_service = ["2015-01-01", "2015-12-31"]
    submission_window = ["2016-01-01", "2016-02-15"]

Adding a reporting year is a ``[measures.X.years.Y]`` table, the year's schemas and its
examples: no Python.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from gateway.contract.records import LEVELS, FamilyInfo, MeasureInfo, ReportingPeriod

MANIFEST = "manifest.toml"
PathLike = TypeVar("PathLike", Path, Traversable)


class ManifestError(ValueError):
    """A manifest that cannot be used: a fault of the plugin, reported with the key at fault."""


@dataclass(frozen=True)
class DataMeasure:
    """One measure of a data family: its levels and its calendar per reporting year."""

    measure: str
    name: str
    levels: tuple[str, ...]
    years: dict[int, ReportingPeriod]


@dataclass(frozen=True)
class DataManifest:
    """A parsed ``manifest.toml``."""

    family: str
    title: str
    formats: tuple[str, ...]
    measure_column: str | None
    year_column: str
    measures: dict[str, DataMeasure]
    obligation: dict[str, Any] | None = None  # see gateway.kit.obligations

    def info(self) -> FamilyInfo:
        return FamilyInfo(self.family, self.title, self.formats, tuple(
            MeasureInfo(m.measure, m.name, m.levels, tuple(sorted(m.years)))
            for m in self.measures.values()))

    def schema_id(self, measure: str, level: str, year: int) -> str:
        return f"urn:gateway-plugin:{self.family}:{year}:{measure.lower()}:{level}"


def schema_path(root: PathLike, measure: str, level: str, year: int) -> PathLike:
    """Where a layout's schema lives inside a data family's package folder (a source folder or
    the installed package's resources)."""
    return root / "schemas" / str(year) / f"{measure.lower()}.{level}.schema.json"


def _dates(raw: Any, key: str) -> tuple[date, date]:
    try:
        first, last = (date.fromisoformat(str(d)) for d in raw)
    except (TypeError, ValueError):
        raise ManifestError(f"{key} must be two ISO dates, e.g. [\"2015-01-01\", "
                            "\"2015-12-31\"]") from None
    return first, last


def parse_manifest(text: str) -> DataManifest:
    """Read a manifest's text; a missing or malformed key raises ``ManifestError`` naming it."""
    try:
        data = tomllib.loads(text)
        family = data["family"]
        measures = {}
        for measure, body in data.get("measures", {}).items():
            levels = tuple(body["levels"])
            if not set(levels) <= set(LEVELS):
                raise ManifestError(f"measures.{measure}.levels: use {' or '.join(LEVELS)}")
            years = {}
            for year, spec in body.get("years", {}).items():
                key = f"measures.{measure}.years.{year}"
                years[int(year)] = ReportingPeriod(
                    str(year), _dates(spec["dates_of_service"], f"{key}.dates_of_service"),
                    _dates(spec["submission_window"], f"{key}.submission_window"))
            measures[measure] = DataMeasure(measure, body["name"], levels, years)
        return DataManifest(family=family["id"], title=family["title"],
                            formats=tuple(family.get("formats", ("csv", "xlsx"))),
                            measure_column=family.get("measure_column"),
                            year_column=family.get("year_column", "reporting_year"),
                            measures=measures, obligation=data.get("obligation"))
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(f"{MANIFEST} is not valid TOML: {err}") from None
    except KeyError as err:
        raise ManifestError(f"{MANIFEST} lacks the key {err.args[0]!r}") from None
    except (TypeError, AttributeError):
        raise ManifestError(f"{MANIFEST} does not have the data-family shape: [family] id, "
                            "title, formats; [measures.ID] name, levels; [measures.ID.years.Y] "
                            "dates_of_service, submission_window") from None


@dataclass(frozen=True)
class TableManifest:
    """A period manifest: the family's reporting years, its deadline rule and tables, and the
    rest of the file as ``data`` for the family's own rules (sub-measures, indicators...)::

        [family]
        id = "edtc"
        title = "Emergency department transfer communication (EDTC)"
        formats = ["csv", "xlsx"]
        reporting_years = [2015]
        deadline_rule = "edtc"            # optional: named for the family's own period rules

        [obligation]                      # as gateway.kit.obligations, plus:
        period = "quarter"                # or "year"
        period_column = "quarter"         # the column naming a file's quarter

        [deadlines]
        "2015Q1" = "2015-04-30"           # per quarter; per year: "2015" = { due = "..." }
    """

    family: str
    title: str
    formats: tuple[str, ...]
    years: tuple[int, ...]
    deadline_rule: str | None
    data: dict[str, Any]

    @property
    def obligation(self) -> dict[str, Any] | None:
        """The ``[obligation]`` table, as ``DataManifest.obligation``."""
        return self.data.get("obligation")

    def schema_id(self, name: str, year: int) -> str:
        """The ``$id`` of one of the first-party family's schemas for a reporting year."""
        return f"urn:mn-sqrms:schema:{self.family}:{year}:{name}"


@cache
def load_manifest(package: str) -> TableManifest:
    """The period manifest beside a family's plugin module, read once per process."""
    try:
        data = tomllib.loads((files(package) / MANIFEST).read_text(encoding="utf-8"))
        family = data["family"]
        return TableManifest(family=family["id"], title=family["title"],
                             formats=tuple(family["formats"]),
                             years=tuple(family["reporting_years"]),
                             deadline_rule=family.get("deadline_rule"), data=data)
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(f"{package}: {MANIFEST} is not valid TOML: {err}") from None
    except KeyError as err:
        raise ManifestError(f"{package}: {MANIFEST} lacks the key {err.args[0]!r}") from None
