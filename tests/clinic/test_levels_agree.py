"""A patient-level file and the summary built from the same patients give the same figures;
the committed schemas are what the generator writes."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from gateway_plugins.clinic.mncm import layouts, schemagen
from gateway_plugins.clinic.mncm.derive import summary_rows, typed_patients
from gateway_plugins.clinic.mncm.manifest import measures

from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Status

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "plugins" / "clinic" / "mncm" / "examples"


@pytest.mark.parametrize(("measure", "year"), [
    (measure, year) for measure, spec in sorted(measures().items()) for year in spec.years])
def test_summary_from_patients_gives_the_same_figures(measure: str, year: int,
                                                      tmp_path: Path) -> None:
    spec = measures()[measure]
    patient_file = next((EXAMPLES / str(year) / measure.lower() / "patient" / "valid")
                        .glob("*.csv"))
    raw = pd.read_csv(patient_file, dtype=str, keep_default_na=False)
    rows = summary_rows(spec, year, typed_patients(spec, year, raw))
    summary_file = tmp_path / "summary.csv"
    with summary_file.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(layouts.columns(measure, "summary",
                                                                        year)[0]))
        writer.writeheader()
        writer.writerows(rows)
    patient = validate_file(patient_file, submitter="t")
    summary = validate_file(summary_file, submitter="t")
    assert summary.status is not Status.REJECTED, sorted(summary.findings.by_code)
    assert patient.results["components"] == summary.results["components"]


def test_committed_schemas_are_generated() -> None:
    for relative, text in schemagen.generated().items():
        path = ROOT / "schemas" / "mncm" / relative
        assert path.read_text(encoding="utf-8") == text, f"{relative} is stale: run schemagen"
