"""``gateway new-measure mncm MEASURE --year Y``: a clinic reporting year, through the generator.

The clinic schemas are generated (``schemagen``), so a new year is made where the generator
reads: the measure's ``[measures.MEASURE.years.Y]`` tables in the source tree's ``manifest.toml``
(copied from the previous year, dates moved), then the generator writes the tree's
``schemas/mncm/Y/`` from those files; patient columns carry forward from
``patient_columns.json``; the examples are copied with their dates moved. A new measure gets a
``[measures.MEASURE]`` table and a patient-columns entry whose open questions are marked for the
conformance run to refuse, the generated schemas, and example folders; its numerator is the one
part that is code (``numerators.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from gateway_plugins.clinic.mncm import schemagen
from gateway_plugins.clinic.mncm.manifest import parse_measures

from gateway.contract import (
    MANIFEST,
    TODO_MARKER,
    ScaffoldError,
    copy_examples,
    copy_toml_year,
    refuse_installed,
    shift_date,
)

PACKAGE = Path("plugins") / "clinic" / "mncm"  # in a checkout of the gateway


def clinic_source(root: Path) -> Path:
    """The clinic package folder of the checkout at (or around) ``root``: ``root`` itself, its
    ``plugins/clinic/mncm``, or the checkout ``root`` lies in. Never an installed copy."""
    for folder in (root, root / PACKAGE, *(p / PACKAGE for p in root.parents)):
        if (folder / MANIFEST).is_file() and (folder / "schemagen.py").is_file():
            return refuse_installed(folder)
    raise ScaffoldError(f"no clinic source (plugins/clinic/mncm/manifest.toml) at or around "
                        f"{root}; run new-measure in a checkout of the gateway or pass --path")


def scaffold_measure(source: Path, measure: str, year: int) -> list[str]:
    """A new clinic measure: manifest and patient-column skeletons with markers, the generated
    schemas and example folders."""
    name = measure.lower()
    manifest = source / MANIFEST
    manifest.write_text(manifest.read_text("utf-8").rstrip("\n") + f"""

[measures.{measure}]
name = "{TODO_MARKER}: the measure's name"
levels = ["summary", "patient"]
# {TODO_MARKER}: the measure's age bands and range, sampling, and components if a composite
age_bands = ["18-64"]
age_range = [18, 64]
sample_allowed = false
numerator = "{name}"   # {TODO_MARKER}: write numerators.{name} and add it to NUMERATORS

[measures.{measure}.years.{year}]
# {TODO_MARKER}: the program's dates of service and submission window
dates_of_service = ["{year - 1}-01-01", "{year - 1}-12-31"]
submission_window = ["{year}-01-01", "{year}-02-15"]
""", encoding="utf-8")
    columns_file = source / "patient_columns.json"
    columns = json.loads(columns_file.read_text("utf-8"))
    columns.setdefault(str(year), {})[measure] = {
        "columns": {"example_column": {"type": "string", "description": (
            f"{TODO_MARKER}: replace with the measure's own patient columns, each with its "
            "type, codes or range and a description")}},
        "required": [], "rules": []}
    columns_file.write_text(json.dumps(columns, indent=1, ensure_ascii=False) + "\n",
                            encoding="utf-8")
    written = schemagen.write(source.parents[2] / "schemas" / "mncm", source)
    for level in ("summary", "patient"):
        for kind in ("valid", "invalid"):
            folder = source / "examples" / str(year) / name / level / kind
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "README.md").write_text(
                f"{TODO_MARKER}: add {kind} {level}-level examples here, then delete this "
                "file.\n", encoding="utf-8")
    return [f"manifest.toml [measures.{measure}]: name, age bands, sampling, calendar (marked)",
            f"patient_columns.json \"{year}\".{measure}: the patient columns (marked)",
            f"numerators.py: who is in the numerator (numerators.{name}, in NUMERATORS)",
            f"schemas/mncm/{year}/{name}.*.schema.json were written by the generator "
            f"({len(written)} files); rerun it after each change",
            f"examples/{year}/{name}/: valid and invalid examples of both levels",
            f"each open question is marked {TODO_MARKER}; the conformance run fails until "
            "none is left"]


def scaffold(measure: str, year: int, from_year: int | None, root: Path) -> list[str]:
    """Add reporting ``year`` to a clinic measure, or a new measure; return what the author
    must still decide."""
    source = clinic_source(root)
    manifest = source / MANIFEST
    spec = parse_measures(manifest.read_text("utf-8")).get(measure)
    if spec is None:
        return scaffold_measure(source, measure, year)
    if year in spec.years:
        raise ScaffoldError(f"{measure} already has reporting year {year}")
    from_year = from_year or max((y for y in spec.years if y < year), default=None)
    if from_year not in spec.years:
        raise ScaffoldError(f"{measure} has no reporting year {from_year} to copy; it has "
                            f"{', '.join(map(str, sorted(spec.years)))}")
    manifest.write_text(copy_toml_year(manifest.read_text("utf-8"), f"measures.{measure}.years",
                                       from_year, year), encoding="utf-8")
    written = schemagen.write(source.parents[2] / "schemas" / "mncm", source)
    examples = source / "examples"
    copy_examples(examples / str(from_year) / measure.lower(),
                  examples / str(year) / measure.lower(), from_year, year)
    old, years = spec.years[from_year], year - from_year
    service, window = ([shift_date(day, years) for day in pair]
                       for pair in (old.dates_of_service, old.submission_window))
    targets = "; ".join(f"{part}: " + ", ".join(f"{c} < {v}" for c, v in limits.items())
                        for part, limits in old.targets.items())
    notes = [
        f"manifest.toml [measures.{measure}.years.{year}]: dates of service "
        f"{service[0]}..{service[1]} and window {window[0]}..{window[1]} were moved from "
        f"{from_year}; check them against the program's {year} calendar",
        f"schemas/mncm/{year}/ were written by the generator ({len(written)} files); to change "
        f"{measure}'s patient columns for {year}, add a \"{year}\" entry to patient_columns.json "
        "and rerun python -m gateway_plugins.clinic.mncm.schemagen",
        f"examples/{year}/{measure.lower()}/ are {from_year}'s with dates moved; the valid "
        "summary example keeps its counts: rederive it if a target changes",
    ]
    if targets:
        notes.insert(1, f"numerator targets copied from {from_year} ({targets}): change them "
                        f"in [measures.{measure}.years.{year}.targets] if the {year} "
                        "specification did")
    return notes
