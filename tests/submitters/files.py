"""Example files the submitter tests send, and copies edited for one purpose each."""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MNCM = ROOT / "plugins" / "clinic" / "mncm" / "examples" / "2015"
HOSPITAL = ROOT / "plugins" / "hospital"

ODC = MNCM / "odc" / "patient" / "valid" / "odc-patient-full.csv"
ODC_SUMMARY = MNCM / "odc" / "summary" / "valid" / "odc-summary-full.csv"
AMH = MNCM / "amh" / "summary" / "valid" / "amh-summary-full.csv"
CART = HOSPITAL / "cart" / "examples" / "2015" / "CART" / "summary" / "valid" / \
    "cart-2015q1-pps.xml"
EDTC = HOSPITAL / "edtc" / "examples" / "2015" / "EDTC" / "summary" / "valid" / \
    "edtc-2015q1-full.csv"
NHSN = HOSPITAL / "nhsn" / "examples" / "2015" / "CLABSI" / "summary" / "valid" / \
    "clabsi-2015q1.csv"
STROKE = HOSPITAL / "stroke" / "examples" / "2015" / "STROKE" / "patient" / "valid" / \
    "stroke-2015q1.csv"
VON = HOSPITAL / "von" / "examples" / "2015" / "VON" / "summary" / "valid" / "von-2014-infants.csv"
AHRQ = HOSPITAL / "ahrq" / "examples" / "2015" / "AHRQ-QI" / "summary" / "valid" / \
    "ahrq-2014-discharges.csv"


def odc_sample(folder: Path) -> Path:
    """The ODC patient example as a valid sample: every row SAMPLE, 80 of 200 eligible."""
    with ODC.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = [*(reader.fieldnames or []), "eligible_population"]
        rows = [{**row, "population_basis": "SAMPLE", "eligible_population": "200"}
                for row in reader]
    path = folder / "odc-sample.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def replaced(source: Path, folder: Path, old: str, new: str, name: str | None = None) -> Path:
    """A copy of ``source`` with every ``old`` replaced by ``new``."""
    text = source.read_text(encoding="utf-8")
    assert old in text
    path = folder / (name or source.name)
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path
