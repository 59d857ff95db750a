"""The manifest of a table family (``manifest.toml``): one shape whose optional tables cover a
calendar per reporting year and a calendar of quarterly (or yearly) deadlines.

A family is a package laid out as ``docs/plugins.md`` teaches and ``gateway new-measure``
scaffolds::

    my_family/
      __init__.py
      plugin.py        FAMILY = Family(__package__)  (gateway.kit.family)
      manifest.toml    this file
      schemas/<year>/<measure>.<level>.schema.json
      examples/<year>/<measure>/<level>/valid/  and  .../invalid/

The manifest::

    [family]
    id = "opip"                       # unique among installed plugins
    title = "Opioid prescribing"
    formats = ["csv", "xlsx"]         # default
    measure_column = "measure_id"     # optional: the column naming the measure in every row
    year_column = "reporting_year"    # default: the column giving the reporting year
    reporting_years = [2016]          # optional: the years the [deadlines] calendar serves

    [measures.RX]
    name = "Opioid prescriptions"
    levels = ["patient"]              # "summary" and/or "patient"
    signature = ["dose_mme"]          # optional: columns only this layout has (recognition)
    schema = "{measure}.{level}"      # optional: the schema file's stem ({measure} lower case)

    [measures.RX.years.2016]          # a calendar per reporting year ...
    dates_of_service = ["2015-01-01", "2015-12-31"]
    submission_window = ["2016-01-01", "2016-02-15"]

    [deadlines]                       # ... or, for the family's reporting_years, per period
    "2015Q1" = "2015-04-30"           # (gateway.kit.calendar)

A measure is reported in each year it has a ``years`` table for and in the family's
``reporting_years``. The ``[obligation]`` table says who owes the files
(``gateway.kit.obligations``). Every other table and key (sub-measures, indicators, a clinic
measure's age bands) is the family's own: the kit keeps the whole file as ``Manifest.data`` for
the family's rules. Adding a reporting year is data: a ``years`` table or ``[deadlines]`` lines,
the year's schemas and its examples.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

from gateway.contract.deprecation import renamed
from gateway.contract.records import LEVELS, FamilyInfo, MeasureInfo, ReportingPeriod

MANIFEST = "manifest.toml"
SCHEMA_STEM = "{measure}.{level}"
PathLike = TypeVar("PathLike", Path, Traversable)


class ManifestError(ValueError):
    """A manifest that cannot be used: a fault of the plugin, reported with the key at fault."""


@dataclass(frozen=True)
class MeasureSpec:
    """One measure of a family: its levels, its calendar per reporting year (when the manifest
    gives one), how its files are recognised and where its schemas are."""

    measure: str
    name: str
    levels: tuple[str, ...]
    years: dict[int, ReportingPeriod] = field(default_factory=dict)
    signature: tuple[str, ...] = ()
    schema: str = SCHEMA_STEM

    def schema_stem(self, level: str) -> str:
        """The schema file's name without ``.schema.json`` for one level."""
        return self.schema.format(measure=self.measure.lower(), level=level)


@dataclass(frozen=True)
class Manifest:
    """A parsed ``manifest.toml``; ``data`` is the whole file, for the family's own tables."""

    family: str
    title: str
    formats: tuple[str, ...]
    measure_column: str | None
    year_column: str
    measures: dict[str, MeasureSpec]
    reporting_years: tuple[int, ...] = ()
    deadline_rule: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def obligation(self) -> dict[str, Any] | None:
        """The ``[obligation]`` table (``gateway.kit.obligations``), or None."""
        return self.data.get("obligation")

    @property
    def years(self) -> tuple[int, ...]:
        """Every reporting year of the family, of any measure."""
        return tuple(sorted({*self.reporting_years,
                             *(y for m in self.measures.values() for y in m.years)}))

    def measure_years(self, measure: str) -> tuple[int, ...]:
        """The reporting years of one measure: its own ``years`` tables and the family's."""
        return tuple(sorted({*self.reporting_years, *self.measures[measure].years}))

    def info(self) -> FamilyInfo:
        return FamilyInfo(self.family, self.title, self.formats, tuple(
            MeasureInfo(m.measure, m.name, m.levels, self.measure_years(m.measure))
            for m in self.measures.values()))

    def schema_id(self, measure: str, level: str, year: int) -> str:
        """The ``$id`` ``gateway new-measure`` gives a new schema of the family."""
        return f"urn:gateway-plugin:{self.family}:{year}:{measure.lower()}:{level}"


def schema_path(root: PathLike, measure: str, level: str, year: int) -> PathLike:
    """Where a layout's schema lives inside a family's package folder (a source folder or the
    installed package's resources), for a measure with the default schema file name."""
    return root / "schemas" / str(year) / f"{measure.lower()}.{level}.schema.json"


def _dates(raw: Any, key: str) -> tuple[date, date]:
    try:
        first, last = (date.fromisoformat(str(d)) for d in raw)
    except (TypeError, ValueError):
        raise ManifestError(f"{key} must be two ISO dates, e.g. [\"2015-01-01\", "
                            "\"2015-12-31\"]") from None
    return first, last


def _measure(measure: str, body: dict[str, Any]) -> MeasureSpec:
    if not isinstance(body, dict):
        raise ManifestError(f"measures.{measure} must be a table with name and levels")
    levels = tuple(body["levels"])
    if not levels or not set(levels) <= set(LEVELS):
        raise ManifestError(f"measures.{measure}.levels: use {' and/or '.join(LEVELS)}")
    years = {}
    for year, spec in body.get("years", {}).items():
        key = f"measures.{measure}.years.{year}"
        years[int(year)] = ReportingPeriod(
            str(year), _dates(spec["dates_of_service"], f"{key}.dates_of_service"),
            _dates(spec["submission_window"], f"{key}.submission_window"))
    return MeasureSpec(measure, body["name"], levels, years,
                       signature=tuple(body.get("signature", ())),
                       schema=str(body.get("schema", SCHEMA_STEM)))


def manifest_from(data: dict[str, Any], source: str = MANIFEST) -> Manifest:
    """The manifest of a TOML document already read; a missing or malformed key raises
    ``ManifestError`` naming it and ``source``."""
    try:
        family = data["family"]
        measures = {measure: _measure(measure, body)
                    for measure, body in data.get("measures", {}).items()}
        return Manifest(family=family["id"], title=family["title"],
                        formats=tuple(family.get("formats", ("csv", "xlsx"))),
                        measure_column=family.get("measure_column"),
                        year_column=family.get("year_column", "reporting_year"),
                        measures=measures,
                        reporting_years=tuple(int(y) for y in family.get("reporting_years", ())),
                        deadline_rule=family.get("deadline_rule"), data=data)
    except ManifestError as err:
        raise ManifestError(f"{source}: {err}") from None
    except KeyError as err:
        raise ManifestError(f"{source} lacks the key {err.args[0]!r}") from None
    except (TypeError, AttributeError, ValueError):
        raise ManifestError(f"{source} does not have the family shape: [family] id, title; "
                            "[measures.ID] name, levels; [measures.ID.years.Y] "
                            "dates_of_service, submission_window") from None


def parse_manifest(text: str, source: str = MANIFEST) -> Manifest:
    """Read a manifest's text; a missing or malformed key raises ``ManifestError`` naming it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ManifestError(f"{source} is not valid TOML: {err}") from None
    return manifest_from(data, source)


@cache
def load_manifest(package: str) -> Manifest:
    """The manifest beside a family's plugin module, read once per process."""
    text = (files(package) / MANIFEST).read_text(encoding="utf-8")
    return parse_manifest(text, f"{package}: {MANIFEST}")


def __getattr__(name: str) -> Any:
    """``DataManifest`` and ``TableManifest``, the two shapes ``Manifest`` replaced (release
    0.2), name it for one release."""
    if name not in ("DataManifest", "TableManifest"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    renamed(f"{name} (gateway.kit.manifest)", "use gateway.contract.Manifest")
    globals()[name] = Manifest  # warned once
    return Manifest
