"""``gateway new-measure``: scaffold a reporting year or a new measure in a plugin's source tree.

A year is copied from the previous one and shifted (calendar, schema, examples); what only the
author can know (did a threshold, a code list or a date change?) is printed. A new measure gets
a schema and manifest skeleton whose open questions carry ``TODO(new-measure)`` markers, which
the conformance run (``gateway.testing.check_plugin``) refuses until they are resolved.

Families written as ``gateway.contract.Family`` with a calendar per year
(``gateway.kit.manifest``) are scaffolded here from their files, and a new family is made in
that form; a family with another layout (the clinic family, whose schemas are generated; the
hospital families, whose calendar is a deadline table) scaffolds itself through the
``gateway_scaffold`` hook (``Family(..., scaffold=...)``) using the helpers below. Installed
copies (site-packages) are never edited: a year added there would vanish on the next upgrade.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sysconfig
import tomllib
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gateway.contract.records import LEVELS
from gateway.kit.conformance import TODO_MARKER
from gateway.kit.manifest import (
    MANIFEST,
    Manifest,
    ManifestError,
    parse_manifest,
    schema_path,
)

INSTALLED = ("site-packages", "dist-packages")
SKIPPED = {".git", ".venv", "venv", "build", "dist", "node_modules", "__pycache__", *INSTALLED}
_DATES = re.compile(r"(?<![0-9])(?P<iso>\d{4}-\d{2}-\d{2})(?![0-9])"
                    r"|\b(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<usyear>\d{4})\b"
                    r"|(?<![0-9A-Za-z])(?P<qyear>(?:19|20)\d{2})(?P<q>[Qq][1-4])\b"
                    r"|\b(?P<year>(?:19|20)\d{2})\b")
PROSE = ("title", "description", "x-message", "x-hint")
_FAMILY_ID = re.compile(r"[a-z][a-z0-9_-]{0,39}")
_MEASURE_ID = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,39}")


class ScaffoldError(Exception):
    """A scaffold that cannot be made; the message says what to do instead."""


def refuse_installed(path: Path) -> Path:
    """``path`` resolved, or ``ScaffoldError`` when it is (inside) an installed package."""
    resolved = path.resolve()
    roots = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    if any(part in INSTALLED for part in resolved.parts) or any(
            resolved == root or root in resolved.parents for root in roots):
        raise ScaffoldError(
            f"{resolved} is an installed copy (site-packages); a year or measure added there "
            "is lost on the next upgrade. Run new-measure in the plugin's source tree (its "
            "checkout, installed with pip install -e), or pass --path to it.")
    return resolved


def shift_date(day: date, years: int) -> date:
    """The same day ``years`` later (February 29 becomes February 28)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _shifter(years: int, whole_years: bool) -> Callable[[re.Match[str]], str]:
    def shift(match: re.Match[str]) -> str:
        iso, us_month, us_day, us_year, year = (match.group(k) for k in (
            "iso", "month", "day", "usyear", "year"))
        if match.group("qyear"):  # a quarter, 2015Q1 (or 2015q1 in a file name)
            return f"{int(match.group('qyear')) + years}{match.group('q')}"
        try:
            if iso:
                return shift_date(date.fromisoformat(iso), years).isoformat()
            if us_year:
                moved = shift_date(date(int(us_year), int(us_month), int(us_day)), years)
                day = str(moved.day) if len(us_day) == 1 else f"{moved.day:02d}"
                return f"{us_month}/{day}/{moved.year}"
        except ValueError:
            return match.group(0)  # an impossible date (an invalid example) stays as it is
        return str(int(year) + years) if year and whole_years else match.group(0)
    return shift


def shift_dates_in(text: str, years: int, *, whole_years: bool = False) -> str:
    """Every ISO (``2015-03-01``) or US (``3/1/2015``) date and every quarter (``2015Q1``) in
    ``text`` moved ``years`` later; with ``whole_years``, also every other four-digit year
    (descriptions, titles)."""
    return _DATES.sub(_shifter(years, whole_years), text)


def _shift_csv(text: str, years: int, year_column: str, from_year: int, year: int) -> str:
    ending = "\r\n" if "\r\n" in text else "\n"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=ending)
    writer.writerow(rows[0] if rows else [])
    for row in rows[1:]:
        writer.writerow([str(year) if i < len(header) and header[i] == year_column
                         and cell.strip() == str(from_year) else shift_dates_in(cell, years)
                         for i, cell in enumerate(row)])
    return out.getvalue()


def _shift_workbook(source: Path, target: Path, years: int, year_column: str,
                    from_year: int, year: int) -> None:
    from openpyxl import load_workbook

    book = load_workbook(source)
    for sheet in book.worksheets:
        header = [str(c.value or "").strip().lower() for c in next(sheet.iter_rows(max_row=1),
                                                                      ())]
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                name = header[cell.column - 1] if cell.column <= len(header) else ""
                if name == year_column and str(cell.value).strip() == str(from_year):
                    cell.value = year if isinstance(cell.value, int) else str(year)
                elif isinstance(cell.value, datetime | date):
                    cell.value = shift_date(cell.value, years)
                elif isinstance(cell.value, str):
                    cell.value = shift_dates_in(cell.value, years)
    book.save(target)


def copy_examples(source: Path, target: Path, from_year: int, year: int,
                  year_column: str = "reporting_year") -> list[Path]:
    """Copy an example tree of ``from_year`` to ``year``: the year column (an XML element
    holding just the year) set to ``year`` and every date and quarter moved by the years
    between. A file-layer example (``E-FILE-*``: a broken
    encoding, a malformed table) is copied byte for byte, since rewriting it could mend the very
    fault it shows. Refuses to write over existing examples."""
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(f"{target} already has examples; new-measure never overwrites them")
    years, written = year - from_year, []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.name == "invalid" and path.name.startswith("E-FILE-"):
            out.write_bytes(path.read_bytes())
        elif path.suffix.lower() == ".xlsx":
            _shift_workbook(path, out, years, year_column, from_year, year)
        elif path.suffix.lower() == ".csv":
            out.write_text(_shift_csv(path.read_text("utf-8"), years, year_column, from_year,
                                      year), encoding="utf-8", newline="")
        elif path.suffix.lower() == ".xml":  # an element holding just the year is its year
            text = re.sub(rf">(\s*){from_year}(\s*)<", rf">\g<1>{year}\g<2><",
                          shift_dates_in(path.read_text("utf-8"), years))
            out.write_text(text, encoding="utf-8")
        else:
            out.write_text(shift_dates_in(path.read_text("utf-8"), years), encoding="utf-8")
        written.append(out)
    return written


def copy_toml_year(text: str, prefix: str, from_year: int, year: int) -> str:
    """``text`` with the tables ``[<prefix>.<from_year>...]`` copied after themselves as
    ``[<prefix>.<year>...]``, dates moved by the years between (comments and order kept)."""
    lines = text.splitlines(keepends=True)
    start = f"[{prefix}.{from_year}"
    if any(line.startswith(f"[{prefix}.{year}]") for line in lines):
        raise ScaffoldError(f"[{prefix}.{year}] already exists")
    first = next((i for i, line in enumerate(lines) if line.startswith(start + "]")), None)
    if first is None:
        raise ScaffoldError(f"no [{prefix}.{from_year}] table to copy")
    end = first + 1
    while end < len(lines) and (not lines[end].startswith("[") or lines[end].startswith(start)):
        end += 1
    last = end
    while last > first and not lines[last - 1].strip():
        last -= 1
    block = [*lines[first:last - 1], lines[last - 1].rstrip("\n") + "\n"]
    copied = [shift_dates_in(line.replace(start, f"[{prefix}.{year}", 1), year - from_year)
              for line in block]
    return "".join([*lines[:first], *block, "\n", *copied, *lines[last:]])


def find_data_family(root: Path, family: str) -> Path | None:
    """The package folder under ``root`` whose ``manifest.toml`` declares ``family``."""
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [s for s in subfolders if s not in SKIPPED and not s.endswith(".egg-info")]
        if MANIFEST in names:
            try:
                declared = tomllib.loads((Path(folder) / MANIFEST).read_text("utf-8"))
            except tomllib.TOMLDecodeError as err:
                raise ScaffoldError(f"{Path(folder) / MANIFEST} is not valid TOML: {err}") \
                    from None
            if declared.get("family", {}).get("id") == family:
                return Path(folder)
    return None


def _prose_shift(node: Any, years: int) -> Any:
    if isinstance(node, list):
        return [_prose_shift(n, years) for n in node]
    if not isinstance(node, dict):
        return shift_dates_in(node, years) if isinstance(node, str) else node
    return {k: shift_dates_in(v, years, whole_years=True) if k in PROSE and isinstance(v, str)
            else _prose_shift(v, years) for k, v in node.items()}


_YEARISH = re.compile(r"(?<![0-9])(?:19|20)\d{2}(?![0-9])")
NOT_PERIODS = ("$schema", "$id")


def undecided(node: Any, where: str = "#") -> list[str]:
    """Values of a moved schema that still name a year outside its wording (a year inside a
    pattern, a code list of years): the scaffold cannot tell whether they move, so it lists
    them for the author."""
    if isinstance(node, list):
        return [item for i, n in enumerate(node) for item in undecided(n, f"{where}/{i}")]
    if isinstance(node, dict):
        return [item for k, v in node.items() if k not in (*PROSE, *NOT_PERIODS)
                for item in undecided(v, f"{where}/{k}")]
    if isinstance(node, str) and _YEARISH.search(node) and not _DATES.fullmatch(node):
        return [f"{where} = {node!r}"]
    return []


def _write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def scaffold_data_year(folder: Path, manifest: Manifest, measure: str, year: int,
                       from_year: int | None) -> list[str]:
    """Reporting ``year`` of an existing measure with a calendar per year, copied from
    ``from_year``."""
    spec = manifest.measures[measure]
    if not spec.years and manifest.reporting_years:
        raise ScaffoldError(
            f"{measure}'s calendar is the [deadlines] table of {folder / MANIFEST}; the core "
            "copies only [measures.X.years.Y] calendars: add the year to [family] "
            "reporting_years, its [deadlines] lines, schemas and examples by hand, or let the "
            "family scaffold itself (Family(..., scaffold=...))")
    if year in spec.years:
        raise ScaffoldError(f"{measure} already has reporting year {year}")
    from_year = from_year or max((y for y in spec.years if y < year), default=None)
    if from_year is None or from_year not in spec.years:
        raise ScaffoldError(f"{measure} has no reporting year {from_year or 'before ' + str(year)}"
                            f" to copy; it has {', '.join(map(str, sorted(spec.years)))}")
    years = year - from_year
    left: list[str] = []
    text = (folder / MANIFEST).read_text("utf-8")
    (folder / MANIFEST).write_text(copy_toml_year(text, f"measures.{measure}.years", from_year,
                                                  year), encoding="utf-8")
    for level in spec.levels:
        document = json.loads(schema_path(folder, measure, level, from_year).read_text("utf-8"))
        document = _prose_shift(document, years)
        document["$id"] = manifest.schema_id(measure, level, year)
        column = document.get("properties", {}).get(manifest.year_column, {})
        if column.get("const") == from_year:
            column["const"] = year
        left += [f"schemas/{year}/{measure.lower()}.{level}: {item}" for item in
                 undecided(document)]
        _write_json(schema_path(folder, measure, level, year), document)
    copy_examples(folder / "examples" / str(from_year) / measure.lower(),
                  folder / "examples" / str(year) / measure.lower(), from_year, year,
                  manifest.year_column)
    old = spec.years[from_year]
    return [
        f"calendar: dates of service and submission window copied from {from_year} and moved "
        f"{years} year(s) ({old.window[0]}..{old.window[1]} -> "
        f"{shift_date(old.window[0], years)}..{shift_date(old.window[1], years)}); check them "
        f"against the program's published {year} calendar in {MANIFEST}",
        f"schema: schemas/{year}/ is {from_year}'s with the year and dates moved; change any "
        "column, code, range or threshold the measure changed for the year, then compare with "
        f"`gateway schema diff {manifest.family} {measure} {from_year} {year}`",
        f"examples: examples/{year}/{measure.lower()}/ are {from_year}'s, dates moved; each "
        "invalid one must still break its rule and the valid ones' results reflect any change: "
        "the conformance run (pytest) checks both",
        *(f"could not decide, left as it is: {item}" for item in left),
    ]


def scaffold_data_measure(folder: Path, manifest: Manifest, measure: str, year: int,
                          levels: list[str]) -> list[str]:
    """A new measure of a data family: manifest tables, schema skeletons and example folders,
    each open question marked for the conformance run to refuse until resolved."""
    text = (folder / MANIFEST).read_text("utf-8").rstrip("\n")
    text += (f'\n\n[measures.{measure}]\nname = "{TODO_MARKER}: the measure\'s name"\n'
             f"levels = {json.dumps(levels)}\n\n[measures.{measure}.years.{year}]\n"
             f"# {TODO_MARKER}: the program's dates of service and submission window\n"
             f'dates_of_service = ["{year - 1}-01-01", "{year - 1}-12-31"]\n'
             f'submission_window = ["{year}-01-01", "{year}-02-15"]\n')
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    for level in levels:
        properties: dict[str, Any] = {}
        if manifest.measure_column:
            properties[manifest.measure_column] = {
                "type": "string", "const": measure, "description": f"{measure} on every row."}
        properties[manifest.year_column] = {
            "type": "integer", "const": year,
            "description": f"{year} on every row: the year the data are due."}
        properties["example_column"] = {"type": "string", "description": (
            f"{TODO_MARKER}: replace with the measure's columns, each with its type, codes or "
            "range and a description a submitter understands.")}
        _write_json(schema_path(folder, measure, level, year), {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": manifest.schema_id(measure, level, year),
            "title": f"{measure}, {level} level, reporting year {year}",
            "description": f"{TODO_MARKER}: what one row is (one patient, one stratum, ...).",
            "type": "object", "additionalProperties": False, "properties": properties,
            "required": list(properties)})
        for kind in ("valid", "invalid"):
            where = folder / "examples" / str(year) / measure.lower() / level / kind
            where.mkdir(parents=True, exist_ok=True)
            (where / "README.md").write_text(
                f"{TODO_MARKER}: add {kind} example files here"
                + (" named <EXPECTED-CODE>--what-it-breaks.csv, one per rule" if kind ==
                   "invalid" else "") + ", then delete this file.\n", encoding="utf-8")
    return [f"{MANIFEST}: the measure's name and its {year} calendar",
            f"schemas/{year}/{measure.lower()}.<level>.schema.json: the columns",
            f"examples/{year}/{measure.lower()}/: valid and invalid examples",
            f"each is marked {TODO_MARKER}; the conformance run fails until none is left"]


def scaffold_new_family(root: Path, family: str, measure: str, year: int, levels: list[str],
                        package: str | None = None) -> list[str]:
    """A new data family in ``root``: a package, its plugin module, manifest, a conformance
    test and (when the folder has none) a ``pyproject.toml`` with the entry point."""
    package = package or f"{family.replace('-', '_')}_plugin"
    folder = root / package
    if folder.exists():
        raise ScaffoldError(f"{folder} exists but has no {MANIFEST} declaring {family}")
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(f'"""The {family} measure family for the gateway."""\n',
                                        encoding="utf-8")
    (folder / "plugin.py").write_text(
        '"""The plugin object the entry point names: the family is its data files."""\n\n'
        "from gateway.contract import Family\n\nFAMILY = Family(__package__)\n",
        encoding="utf-8")
    (folder / MANIFEST).write_text(
        f'[family]\nid = "{family}"\ntitle = "{TODO_MARKER}: the family\'s title"\n'
        'formats = ["csv", "xlsx"]\nmeasure_column = "measure_id"\n'
        'year_column = "reporting_year"\n', encoding="utf-8")
    tests = root / "tests"
    tests.mkdir(exist_ok=True)
    (tests / "test_conformance.py").write_text(
        f'"""The whole plugin through the gateway\'s conformance kit."""\n\n'
        "from gateway.testing import check_plugin\n\n\n"
        f"def test_the_family_conforms():\n    check_plugin({json.dumps(family)})\n",
        encoding="utf-8")
    notes = [f"created the package {package}/ and tests/test_conformance.py"]
    if not (root / "pyproject.toml").exists():
        (root / "pyproject.toml").write_text(_PYPROJECT.format(
            family=family, package=package, core=core_requirement()), encoding="utf-8")
        notes.append(f"created pyproject.toml (distribution gateway-{family}, entry point "
                     f"{family} = {package}.plugin:FAMILY)")
    else:
        notes.append(f'add to pyproject.toml: [project.entry-points."gateway.plugins"] '
                     f'{family} = "{package}.plugin:FAMILY" and the package data')
    manifest = parse_manifest((folder / MANIFEST).read_text("utf-8"))
    return [*notes, *scaffold_data_measure(folder, manifest, measure, year, levels)]


CORE = "sqrms-gateway"


def core_requirement(version: str | None = None) -> str:
    """The core a new plugin may run on: this gateway's release up to the next one allowed to
    break plugins (the next minor release before 1.0, the next major after), since hooks only
    gain arguments within it (docs/plugins.md, "How hooks evolve")."""
    import importlib.metadata

    if version is None:
        try:
            version = importlib.metadata.version(CORE)
        except importlib.metadata.PackageNotFoundError:
            return CORE
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]] + [0]
    major, minor = parts[0], parts[1]
    upper = f"{major}.{minor + 1}" if major == 0 else f"{major + 1}"
    return f"{CORE}>={major}.{minor},<{upper}"


_PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "gateway-{family}"
version = "0.1.0"
description = "The {family} measure family for the sqrms gateway"
requires-python = ">=3.11"
dependencies = ["{core}"]

[project.entry-points."gateway.plugins"]
{family} = "{package}.plugin:FAMILY"

[tool.setuptools]
packages = ["{package}"]

[tool.setuptools.package-data]
{package} = ["manifest.toml", "schemas/**/*.json", "examples/**/*"]
"""


def new_measure(family: str, measure: str, year: int, *, from_year: int | None, root: Path,
                levels: list[str], package: str | None = None) -> list[str]:
    """What ``gateway new-measure`` does, in the order it looks: an installed family that
    scaffolds itself (``gateway_scaffold``); a data family's files under ``root``; else a new
    data family in ``root``. Returns the notes to print."""
    from gateway.engine.pipeline import default_plugins

    root = refuse_installed(root)
    if not _FAMILY_ID.fullmatch(family) or not _MEASURE_ID.fullmatch(measure):
        raise ScaffoldError("a family id is lower-case letters, digits, '-' or '_' (e.g. mncm) "
                            "and a measure id upper-case ones (e.g. ODC)")
    if not levels or not set(levels) <= set(LEVELS):
        raise ScaffoldError(f"levels are {' and/or '.join(LEVELS)}, not {', '.join(levels)}")
    plugins = default_plugins()
    notes = plugins.hook.gateway_scaffold(family=family, measure=measure, year=year,
                                          from_year=from_year, root=root)
    if notes is not None:
        return notes
    folder = find_data_family(root, family)
    if folder is not None:
        try:
            manifest = parse_manifest((folder / MANIFEST).read_text("utf-8"))
        except ManifestError as err:
            raise ScaffoldError(f"{folder / MANIFEST} declares family {family} but is not a "
                                f"family manifest ({err}); a family with its own layout "
                                "scaffolds itself through the gateway_scaffold hook") from None
        if measure in manifest.measures:
            return scaffold_data_year(folder, manifest, measure, year, from_year)
        return scaffold_data_measure(folder, manifest, measure, year, levels)
    if family in plugins.families:
        raise ScaffoldError(
            f"family {family} (plugin {plugins.owners[family]}) has no {MANIFEST} under {root} "
            "and does not scaffold itself; run new-measure in the plugin's source tree")
    return scaffold_new_family(root, family, measure, year, levels, package)
