"""Small helpers the receipt tests share: read a valid example, write it back changed, validate."""

from __future__ import annotations

import csv
from pathlib import Path

from gateway.engine.pipeline import default_plugins, validate_file
from gateway.receipts.model import Receipt

ROOT = Path(__file__).resolve().parents[2]
ODC_PATIENT = ROOT / "plugins/clinic/mncm/examples/2015/odc/patient/valid/odc-patient-full.csv"
ODC_SUMMARY = ROOT / "plugins/clinic/mncm/examples/2015/odc/summary/valid/odc-summary-full.csv"
STROKE = ROOT / "plugins/hospital/stroke/examples/2015/STROKE/patient/valid/stroke-2015q1.csv"
EDTC = ROOT / "plugins/hospital/edtc/examples/2015/EDTC/summary/valid/edtc-2015q1-full.csv"


def read_rows(path: Path) -> list[list[str]]:
    """A CSV's rows, header first."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [row for row in csv.reader(handle)]


def write_table(rows: list[list[str]], target: Path) -> Path:
    """``rows`` (header first) as a CSV, or as a workbook of text cells for ``.xlsx``."""
    if target.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        for row in rows:
            sheet.append(row)
        book.save(target)
    else:
        with target.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, lineterminator="\n").writerows(rows)
    return target


def check(path: Path, **options: str) -> Receipt:
    """The receipt of ``path``, as ``gateway validate`` makes it."""
    return validate_file(path, submitter="clinic-a", options=options, plugins=default_plugins())
