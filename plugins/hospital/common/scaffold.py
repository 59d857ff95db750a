"""``gateway new-measure <hospital family> <MEASURE> --year Y``: a hospital reporting year as data.

A hospital family keeps its years in three places of the source tree: its ``manifest.toml``
(``reporting_years`` and the ``[deadlines]`` tables, quarter by quarter or year by year), its
schemas (``schemas/<family>/<year>/``, with the shared ``reporting_year_<year>`` definition in
``schemas/hospital/defs.schema.json``) and its examples. The new year is the previous one with
every period-shaped value moved: dates, quarters (``2015Q1``), the deadlines they fall due on and
the year itself. What only the author can decide (values that name a period but are not the
year's, such as CART's retirement quarters, or a year inside a pattern) is listed, not moved.
"""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from gateway_schemas import schema_root

from gateway.contract import (
    ScaffoldError,
    copy_examples,
    refuse_installed,
    shift_dates_in,
    undecided,
)

HOSPITAL = "gateway_plugins.hospital"
PROSE = ("title", "description", "x-message", "x-hint")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
_ENTRY = re.compile(r'^\s*"?(?P<key>[^"=\s]+)"?\s*=')


def hospital_packages() -> dict[str, str]:
    """Family id -> package of every hospital family with a manifest."""
    found = {}
    for entry in files(HOSPITAL).iterdir():
        manifest = entry / "manifest.toml"
        if entry.is_dir() and manifest.is_file():
            family = tomllib.loads(manifest.read_text("utf-8")).get("family", {}).get("id")
            if family:
                found[family] = f"{HOSPITAL}.{entry.name}"
    return found


def family_measures(package: str) -> list[str]:
    """The measure ids the family's plugin object (or module) declares."""
    module = importlib.import_module(f"{package}.plugin")
    plugin = getattr(module, "FAMILY", module)
    return [m.measure for info in plugin.gateway_families() for m in info.measures]


def _in_tree(path: Path, root: Path) -> Path:
    resolved = refuse_installed(path)
    if resolved != root and root not in resolved.parents:
        raise ScaffoldError(f"{resolved} is not under {root}: run new-measure in the checkout "
                            "the gateway is installed from (pip install -e), or pass --path")
    return resolved


def _add_year_to_manifest(text: str, from_year: int, year: int) -> tuple[str, list[str], list[str]]:
    """The manifest with ``year`` declared and every deadline due in ``from_year`` copied to
    the next year(s); the keys added, and the lines outside the year's tables that name a
    period and were left as they are."""
    years = year - from_year
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    added: list[str] = []
    left: list[str] = []
    table = ""
    pending: list[str] = []
    existing = set()
    for line in lines:
        match = _ENTRY.match(line)
        if line.strip().startswith("["):
            table = line.strip().strip("[]").strip()
        elif table.startswith("deadlines") and match:
            existing.add((table, match.group("key")))
    table = ""

    def flush() -> None:
        if pending:
            while out and not out[-1].strip():
                pending.insert(0, out.pop())  # keep blank lines after the new entries
            blanks = [line for line in pending if not line.strip()]
            out.extend(line for line in pending if line.strip())
            out.extend(blanks)
            pending.clear()

    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            flush()
            table = stripped.strip("[]").strip()
        if re.match(r"^\s*reporting_years\s*=", line) and table == "family":
            declared = json.loads(line.split("=", 1)[1].strip())
            line = f"reporting_years = {json.dumps(sorted({*declared, year}))}\n"
        elif table.startswith("deadlines") and _ENTRY.match(line):
            due = _ISO.findall(line)
            if due and int(due[-1][:4]) == from_year:
                moved = shift_dates_in(line, years, whole_years=True)
                key = _ENTRY.match(moved).group("key")
                if (table, key) not in existing:
                    pending.append(moved if moved.endswith("\n") else moved + "\n")
                    added.append(key)
                else:  # a transition year (EDTC's 2014Q3 and 2014Q4 both due in 2015)
                    left.append(f"[{table}] {key} has a deadline already; {line.strip()} "
                                "was not moved onto it")
        elif stripped and not stripped.startswith("#") and table != "family" and (
                re.search(r"\d{4}[Qq][1-4]", stripped) or _ISO.search(stripped)):
            left.append(f"[{table}] {stripped}")
        out.append(line)
    flush()
    return "".join(out), added, left


def _json_span(text: str, key: str) -> tuple[int, int] | None:
    """Where the object value of ``"key":`` lies in JSON ``text`` (strings may hold braces)."""
    start = text.find(f'"{key}"')
    if start < 0:
        return None
    begin = text.index("{", start)
    depth, in_string, escaped = 0, False, False
    for i in range(begin, len(text)):
        char = text[i]
        if in_string:
            escaped = not escaped and char == "\\"
            if char == '"' and not escaped:
                in_string = False
            elif char != "\\":
                escaped = False
            continue
        if char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return begin, i + 1
    return None


def _add_year_definition(defs: Path, from_year: int, year: int) -> bool:
    """``reporting_year_<year>`` in the shared hospital definitions, copied from
    ``reporting_year_<from_year>`` with its year and prose moved; False when there is none
    to copy or it exists already."""
    text = defs.read_text("utf-8")
    old, new = f"reporting_year_{from_year}", f"reporting_year_{year}"
    span = _json_span(text, old)
    if span is None or f'"{new}"' in text:
        return False
    line_start = text.rfind("\n", 0, text.find(f'"{old}"')) + 1
    indent = text[line_start:text.find(f'"{old}"')]
    block = shift_dates_in(text[span[0]:span[1]], year - from_year, whole_years=True)
    block = block.replace(f'"const": {from_year}', f'"const": {year}')
    defs.write_text(text[:span[1]] + f',\n{indent}"{new}": {block}' + text[span[1]:],
                    encoding="utf-8")
    return True


def _moved_schema(node: Any, from_year: int, year: int) -> Any:
    """The schema of ``from_year`` as ``year``'s: its ``$id``, reporting-year definition and
    year constant, its dates and quarters, and the years in its wording moved."""
    years = year - from_year
    if isinstance(node, list):
        return [_moved_schema(n, from_year, year) for n in node]
    if isinstance(node, dict):
        moved = {}
        for key, value in node.items():
            if key in PROSE and isinstance(value, str):
                moved[key] = shift_dates_in(value, years, whole_years=True)
            elif key == "$schema":
                moved[key] = value
            elif key == "$id" and isinstance(value, str):
                moved[key] = value.replace(f":{from_year}:", f":{year}:")
            elif key == "$ref" and isinstance(value, str):
                moved[key] = value.replace(f"reporting_year_{from_year}",
                                           f"reporting_year_{year}")
            elif key == "const" and value == from_year:
                moved[key] = year
            else:
                moved[key] = _moved_schema(value, from_year, year)
        return moved
    return shift_dates_in(node, years) if isinstance(node, str) else node


def scaffold_year(family: str, measure: str, year: int, from_year: int | None,
                  root: Path) -> list[str] | None:
    """Reporting ``year`` of a hospital family, in the source tree under ``root``; None when
    ``family`` is not a hospital family."""
    package = hospital_packages().get(family)
    if package is None:
        return None
    measures = family_measures(package)
    if measure.upper() not in (m.upper() for m in measures):
        raise ScaffoldError(f"{family} has the measures {', '.join(measures)}; a new hospital "
                            "measure is a table family in code (plugins/hospital/*/plugin.py), "
                            "new-measure adds reporting years")
    manifest_file = _in_tree(Path(str(files(package) / "manifest.toml")), root)
    manifest = tomllib.loads(manifest_file.read_text("utf-8"))
    declared = sorted(manifest["family"]["reporting_years"])
    if year in declared:
        raise ScaffoldError(f"{family} already has reporting year {year}")
    from_year = from_year or max((y for y in declared if y < year), default=None)
    if from_year is None or from_year not in declared:
        raise ScaffoldError(f"{family} has no reporting year {from_year or 'before ' + str(year)}"
                            f" to copy; it has {', '.join(map(str, declared))}")
    schemas = _in_tree(Path(str(schema_root() / family)), root)
    examples = _in_tree(Path(str(files(package) / "examples")), root)
    source_schemas = schemas / str(from_year)
    if (schemas / str(year)).exists():
        raise ScaffoldError(f"{schemas / str(year)} exists already; new-measure never "
                            "overwrites it")

    text, added, left = _add_year_to_manifest(manifest_file.read_text("utf-8"), from_year, year)
    defs_added = _add_year_definition(schemas.parent / "hospital" / "defs.schema.json",
                                      from_year, year)
    for path in sorted(source_schemas.glob("*.json")):
        moved = _moved_schema(json.loads(path.read_text("utf-8")), from_year, year)
        left += [f"schemas/{family}/{year}/{path.name}: {item}" for item in undecided(moved)]
        target = schemas / str(year) / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(moved, indent=1, ensure_ascii=False), encoding="utf-8")
    written = copy_examples(examples / str(from_year), examples / str(year), from_year, year)
    for path in written:  # a quarter in a file's name moves with its content
        renamed = path.with_name(shift_dates_in(path.name, year - from_year))
        if renamed != path:
            path.rename(renamed)
    manifest_file.write_text(text, encoding="utf-8")

    notes = [
        f"manifest.toml: reporting year {year} declared; deadlines added for "
        f"{', '.join(added) or 'no period'} ({from_year}'s moved {year - from_year} year(s)): "
        f"check them against the program's published {year} calendar",
        f"schemas/{family}/{year}/: {from_year}'s with the year, dates and quarters moved"
        + (f", and reporting_year_{year} added to schemas/hospital/defs.schema.json"
           if defs_added else "")
        + "; change any column, code, range or threshold that changed for the year, then "
        f"compare with `gateway schema diff {family} {measures[0]} {from_year} {year}`",
        f"examples/{year}/: {from_year}'s with the reporting year, dates and quarters moved "
        "(file names too); each invalid one must still break its rule: "
        f"`gateway check-plugin {family}` checks",
    ]
    if len(measures) > 1:
        notes.append(f"the year is declared for every measure of {family}: "
                     f"{', '.join(measures)}")
    notes += [f"could not decide, left as it is: {item}" for item in left]
    return notes
