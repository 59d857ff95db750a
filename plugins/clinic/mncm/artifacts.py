"""What the clinic family generates from its data, for the conformance kit and
``gateway regenerate mncm``: every schema (``schemagen``, from ``manifest.toml`` and
``patient_columns.json``) and each valid summary example derived from its valid patient example
(``derive``), so a target edited in the manifest without regenerating is caught.

The 2015 ODC summary example predates the derivation (hand-made, without the sampling columns)
and many tests read its exact figures, so it is kept as written and is not an artifact.
"""

from __future__ import annotations

import csv
import io
from importlib.resources import files
from pathlib import Path

from gateway_plugins.clinic.mncm import layouts, schemagen
from gateway_plugins.clinic.mncm.derive import summary_rows, typed_patients
from gateway_plugins.clinic.mncm.manifest import measures
from gateway_plugins.clinic.mncm.recognise import FAMILY
from gateway_schemas import schema_root

from gateway.contract import Artifact, lazy_module

pd = lazy_module("pandas")

WRITTEN_BY_HAND = {("ODC", 2015)}


def derived_summary(measure: str, year: int, patients: Path) -> str | None:
    """The summary file the valid patient example ``patients`` makes, as CSV text; None when
    the patients do not pass their schema (the kit reports that example itself)."""
    spec = measures()[measure]
    raw = pd.read_csv(patients, dtype=str, keep_default_na=False)
    try:
        rows = summary_rows(spec, year, typed_patients(spec, year, raw))
    except ValueError:
        return None
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(layouts.columns(measure, "summary", year)[0]),
                            lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def artifacts() -> list[Artifact]:
    """Every generated schema and derived example, as the data make them today."""
    schemas = Path(str(schema_root() / FAMILY))
    found = [Artifact(FAMILY, schemas / relative, "the schema generator (manifest.toml, "
                      "patient_columns.json)", lambda text=text: text)
             for relative, text in schemagen.generated().items()]
    examples = Path(str(files(__package__) / "examples"))
    for measure, spec in sorted(measures().items()):
        for year in spec.years:
            if (measure, year) in WRITTEN_BY_HAND:
                continue
            folder = examples / str(year) / measure.lower()
            patients = folder / "patient" / "valid" / f"{measure.lower()}-patient-full.csv"
            if not patients.is_file():
                continue
            found.append(Artifact(
                FAMILY, folder / "summary" / "valid" / f"{measure.lower()}-summary-full.csv",
                f"the summary derived from {patients.name}",
                lambda m=measure, y=year, p=patients: derived_summary(m, y, p)))
    return found
