"""Synthetic ODC 2015 patient-level files for the benchmark (never real patients).

Rows are built column-wise with numpy so a 5,000,000-row file takes seconds to make. A chosen
share of rows carries exactly one error of a rotating kind (code, range, date, NPI, required,
SSN-like id, type), so every error kind the record layer reports is exercised.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ["clinic_npi", "measure_id", "reporting_year", "patient_id", "age", "gender",
           "zip_code", "payer_type", "identification_method", "population_basis", "excluded",
           "exclusion_reason", "diabetes_type", "a1c_value", "a1c_date", "bp_systolic",
           "bp_diastolic", "bp_date", "ivd", "aspirin", "tobacco_status"]
_BREAKS = [("payer_type", "MEDICAID"), ("a1c_value", "31.5"), ("a1c_date", "2014-02-30"),
           ("clinic_npi", "1234567890"), ("gender", ""), ("patient_id", "123-45-6789"),
           ("age", "forty"), ("bp_date", "13/45/2014")]


def patient_frame(rows: int, error_share: float, seed: int = 7) -> pd.DataFrame:
    """``rows`` patients of one clinic; ``error_share`` of them broken (one error each)."""
    rng = np.random.default_rng(seed)

    def pick(values: list[str]) -> np.ndarray:
        return np.asarray(values, dtype=object)[rng.integers(0, len(values), rows)]

    days = pd.to_datetime("2014-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D")
    iso = days.strftime("%Y-%m-%d").to_numpy(dtype=object)
    us = (days.month.astype(str) + "/" + days.day.astype(str) + "/2014").to_numpy(dtype=object)
    excluded = rng.random(rows) < 0.05
    ivd = rng.random(rows) < 0.3
    frame = pd.DataFrame({
        "clinic_npi": "1234567893", "measure_id": "ODC", "reporting_year": "2015",
        "patient_id": np.char.add("MRN", np.arange(1, rows + 1).astype(str)).astype(object),
        "age": rng.integers(18, 76, rows).astype(str).astype(object),
        "gender": pick(["F", "M"]), "zip_code": pick(["55455", "55101", "55902-1234", "56001"]),
        "payer_type": pick(["PRIVATE", "MEDICARE", "MHCP", "SELF_PAY", "UNINSURED"]),
        "identification_method": "EMR", "population_basis": "FULL",
        "excluded": np.where(excluded, "Y", "N").astype(object),
        "exclusion_reason": np.where(excluded, "HOSPICE", "").astype(object),
        "diabetes_type": pick(["1", "2"]),
        "a1c_value": np.round(rng.uniform(5.0, 12.0, rows), 1).astype(str).astype(object),
        "a1c_date": iso, "bp_systolic": rng.integers(100, 170, rows).astype(str).astype(object),
        "bp_diastolic": rng.integers(60, 100, rows).astype(str).astype(object), "bp_date": us,
        "ivd": np.where(ivd, "Y", "N").astype(object),
        "aspirin": np.where(ivd, "Y", "").astype(object),
        "tobacco_status": pick(["FREE", "USER", "UNKNOWN"])}, columns=COLUMNS)
    broken = np.flatnonzero(rng.random(rows) < error_share)
    for k, (column, text) in enumerate(_BREAKS):
        where = broken[k::len(_BREAKS)]
        values = frame[column].to_numpy(dtype=object).copy()
        values[where] = text
        frame[column] = values
    return frame


def write_patient_csv(path: Path, rows: int, error_share: float) -> Path:
    """Write (once) and return a CSV; an existing file of the same name is reused."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        chunk = 500_000
        with path.open("w", encoding="utf-8", newline="") as handle:
            for start in range(0, rows, chunk):
                part = patient_frame(min(chunk, rows - start), error_share, seed=start)
                ids = part["patient_id"].to_numpy(dtype=object).copy()
                fresh = ids != "123-45-6789"  # keep the planted SSN-like ids
                ids[fresh] = np.char.add("MRN", np.arange(start + 1, start + len(part) + 1)
                                         .astype(str)).astype(object)[fresh]
                part["patient_id"] = ids
                part.to_csv(handle, index=False, header=start == 0)
    return path


_XLSX_INTEGERS = {"reporting_year", "age", "bp_systolic", "bp_diastolic"}
_XLSX_NUMBERS = {"a1c_value"}
_XLSX_DATES = {"a1c_date", "bp_date"}


def distinct_values(part: pd.DataFrame, start: int, total: int, seed: int) -> pd.DataFrame:
    """Rows ``start..start+len(part)`` of a file whose values are as varied as a real one's:
    every patient id distinct and in no order (a fixed permutation of 0..total-1 written as
    12 characters), ZIP codes from 10,000 five-digit codes and a ZIP+4 on a third of rows,
    A1c with two decimals, blood pressures and ages over their whole valid ranges."""
    rng = np.random.default_rng(seed)
    rows = len(part)
    # an affine permutation of 0..total-1 (the multiplier is coprime with total): distinct,
    # not sorted, the same whatever the chunking
    step = 2_654_435_761
    while np.gcd(step, total) != 1:
        step += 2
    index = (np.arange(start, start + rows, dtype=np.int64) * step + 12_345) % total
    part["patient_id"] = np.char.add("P", np.char.zfill(index.astype(str), 11)).astype(object)
    zips = rng.integers(50_000, 60_000, rows).astype(str).astype(object)
    plus4 = rng.random(rows) < 1 / 3
    zips[plus4] = zips[plus4] + "-" + np.char.zfill(
        rng.integers(0, 10_000, int(plus4.sum())).astype(str), 4).astype(object)
    part["zip_code"] = zips
    part["age"] = rng.integers(18, 76, rows).astype(str).astype(object)
    part["a1c_value"] = np.char.mod("%.2f", rng.uniform(4.0, 14.0, rows)).astype(object)
    part["bp_systolic"] = rng.integers(80, 220, rows).astype(str).astype(object)
    part["bp_diastolic"] = rng.integers(40, 130, rows).astype(str).astype(object)
    return part


def write_distinct_csv(path: Path, rows: int) -> Path:
    """Write (once) a valid CSV whose patient ids are all distinct and whose other columns
    vary as in a real file (``distinct_values``)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        chunk = 500_000
        with path.open("w", encoding="utf-8", newline="") as handle:
            for start in range(0, rows, chunk):
                part = patient_frame(min(chunk, rows - start), 0.0, seed=start)
                part = distinct_values(part, start, rows, seed=start + 1)
                part.to_csv(handle, index=False, header=start == 0)
    return path


def write_patient_xlsx(path: Path, rows: int) -> Path:
    """A valid workbook (sheet ``data``) shaped as Excel saves one: numbers and dates as typed
    cells, text in the shared-strings table, empty cells absent (xlsxwriter writes that form;
    openpyxl's streaming writer would make every cell an inline string, which no Excel does)."""
    if not path.exists():
        import xlsxwriter

        from gateway.contract.formats import parse_date

        path.parent.mkdir(parents=True, exist_ok=True)
        book = xlsxwriter.Workbook(str(path))
        sheet = book.add_worksheet("data")
        date_format = book.add_format({"num_format": "yyyy-mm-dd"})
        sheet.write_row(0, 0, COLUMNS)
        frame = patient_frame(rows, 0.0)
        for col, name in enumerate(COLUMNS):
            for row, text in enumerate(frame[name].tolist(), start=1):
                if not text:
                    continue
                if name in _XLSX_INTEGERS:
                    sheet.write_number(row, col, int(text))
                elif name in _XLSX_NUMBERS:
                    sheet.write_number(row, col, float(text))
                elif name in _XLSX_DATES:
                    sheet.write_datetime(row, col, parse_date(text), date_format)
                else:
                    sheet.write_string(row, col, text)
        book.close()
    return path


def suite(data: Path, quick: bool) -> dict[str, Path]:
    """Every data set the benchmark runner measures, written once and reused."""
    rows = 100_000 if quick else 1_000_000
    xlsx_rows = 10_000 if quick else 100_000
    files = {
        "bad": write_patient_csv(data / f"odc-{rows}-5pct.csv", rows, 0.05),
        "good": write_patient_csv(data / f"odc-{rows}-valid.csv", rows, 0.0),
        "tiny": write_patient_csv(data / "odc-tiny-valid.csv", 10, 0.0),
        "xlsx": write_patient_xlsx(data / f"odc-{xlsx_rows}-valid-excel.xlsx", xlsx_rows),
    }
    if not quick:
        files["huge"] = write_patient_csv(data / "odc-5000000-valid.csv", 5_000_000, 0.0)
        files["distinct"] = write_distinct_csv(data / "odc-5000000-distinct.csv", 5_000_000)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path, nargs="?",
                        help="one CSV to write (otherwise: --suite)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--errors", type=float, default=0.05)
    parser.add_argument("--suite", type=Path, metavar="DIR",
                        help="write the benchmark's whole data set into DIR")
    parser.add_argument("--quick", action="store_true", help="the --quick run's data set")
    args = parser.parse_args()
    if args.suite is not None:
        for name, path in suite(args.suite, args.quick).items():
            print(f"{name}\t{path}")
    elif args.out is not None:
        write_patient_csv(args.out, args.rows, args.errors)
    else:
        parser.error("give OUT or --suite DIR")


if __name__ == "__main__":
    main()
