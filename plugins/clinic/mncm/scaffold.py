"""``gateway new-measure mncm MEASURE --year Y``: a clinic reporting year, through the generator.

The clinic schemas are generated (``schemagen``), so a new year is made where the generator
reads: the measure's ``[MEASURE.years.Y]`` tables in the source tree's ``measures.toml``
(copied from the previous year, dates moved), then the generator writes the tree's
``schemas/mncm/Y/`` from those files; patient columns carry forward from
``patient_columns.json``; the examples are copied with their dates moved. A new clinic measure
needs its numerator in ``numerators.py`` (the one part that is code), so it is refused with what
to write instead.
"""

from __future__ import annotations

from pathlib import Path

from gateway_plugins.clinic.mncm import schemagen
from gateway_plugins.clinic.mncm.manifest import parse_measures

from gateway.authoring.scaffold import (
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
        if (folder / "measures.toml").is_file() and (folder / "schemagen.py").is_file():
            return refuse_installed(folder)
    raise ScaffoldError(f"no clinic source (plugins/clinic/mncm/measures.toml) at or around "
                        f"{root}; run new-measure in a checkout of the gateway or pass --path")


def scaffold_year(measure: str, year: int, from_year: int | None, root: Path) -> list[str]:
    """Add reporting ``year`` to a clinic measure; return what the author must still decide."""
    source = clinic_source(root)
    manifest = source / "measures.toml"
    spec = parse_measures(manifest.read_text("utf-8")).get(measure)
    if spec is None:
        raise ScaffoldError(
            f"mncm has no measure {measure}. A new clinic measure is a [{measure}] table in "
            "measures.toml, its patient columns in patient_columns.json and its numerator in "
            "numerators.py (the one part that is code); see docs/plugins.md")
    if year in spec.years:
        raise ScaffoldError(f"{measure} already has reporting year {year}")
    from_year = from_year or max((y for y in spec.years if y < year), default=None)
    if from_year not in spec.years:
        raise ScaffoldError(f"{measure} has no reporting year {from_year} to copy; it has "
                            f"{', '.join(map(str, sorted(spec.years)))}")
    manifest.write_text(copy_toml_year(manifest.read_text("utf-8"), f"{measure}.years",
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
        f"measures.toml [{measure}.years.{year}]: dates of service {service[0]}..{service[1]} "
        f"and window {window[0]}..{window[1]} were moved from {from_year}; check them against "
        f"the program's {year} calendar",
        f"schemas/mncm/{year}/ were written by the generator ({len(written)} files); to change "
        f"{measure}'s patient columns for {year}, add a \"{year}\" entry to patient_columns.json "
        "and rerun python -m gateway_plugins.clinic.mncm.schemagen",
        f"examples/{year}/{measure.lower()}/ are {from_year}'s with dates moved; the valid "
        "summary example keeps its counts: rederive it if a target changes",
    ]
    if targets:
        notes.insert(1, f"numerator targets copied from {from_year} ({targets}): change them in "
                        f"[{measure}.years.{year}.targets] if the {year} specification did")
    return notes
