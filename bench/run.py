"""The performance benchmark: generates the data sets, runs the gateway and the comparison
tools each in its own process, and prints rows/s, ratios, peak RSS and every target's verdict.

Run from a checkout: ``.venv/bin/python -m bench.run`` (``--quick`` for a smaller smoke run).
Data go to ``bench/data/`` (git-ignored) and are reused between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.generate import write_patient_csv, write_patient_xlsx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
PYTHON = sys.executable
GATEWAY = [str(Path(sys.executable).with_name("gateway"))]


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float
    output: str


def measure(command: list[str]) -> Run:
    """Wall time and the child's own peak RSS (``wait4``), output captured."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               cwd=ROOT, text=True)
    output = process.stdout.read() if process.stdout else ""
    _pid, _status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    return Run(seconds=seconds, peak_mb=usage.ru_maxrss / 1024, output=output)


def gateway(path: Path) -> Run:
    return measure([*GATEWAY, "validate", str(path), "--submitter", "bench"])


def pandas_read(path: Path) -> Run:
    code = ("import sys, pandas as pd; "
            "n = sum(len(c) for c in pd.read_csv(sys.argv[1], dtype=str, engine='c', "
            "keep_default_na=False, chunksize=100_000)); print(n)")
    return measure([PYTHON, "-c", code, str(path)])


TABLE_SCHEMA = {"fields": [
    {"name": "clinic_npi", "type": "string", "constraints": {"required": True,
                                                             "pattern": "[0-9]{10}"}},
    {"name": "measure_id", "type": "string", "constraints": {"required": True, "enum": ["ODC"]}},
    {"name": "reporting_year", "type": "integer", "constraints": {"required": True,
                                                                  "enum": [2015]}},
    {"name": "patient_id", "type": "string", "constraints": {
        "required": True, "minLength": 1, "maxLength": 50, "unique": True}},
    {"name": "age", "type": "integer", "constraints": {"required": True, "minimum": 0,
                                                       "maximum": 120}},
    {"name": "gender", "type": "string", "constraints": {"required": True,
                                                         "enum": ["F", "M", "U"]}},
    {"name": "zip_code", "type": "string", "constraints": {"required": True,
                                                           "pattern": "[0-9]{5}(-[0-9]{4})?"}},
    {"name": "payer_type", "type": "string", "constraints": {"required": True, "enum": [
        "PRIVATE", "MEDICARE", "MHCP", "SELF_PAY", "UNINSURED"]}},
    {"name": "identification_method", "type": "string", "constraints": {
        "required": True, "enum": ["EMR", "PRACTICE_MGMT", "BILLING"]}},
    {"name": "population_basis", "type": "string", "constraints": {
        "required": True, "enum": ["FULL", "SAMPLE"]}},
    {"name": "excluded", "type": "string", "constraints": {"required": True,
                                                           "enum": ["Y", "N"]}},
    {"name": "exclusion_reason", "type": "string", "constraints": {"enum": [
        "HOSPICE", "PALLIATIVE", "DECEASED", "PREGNANT", "OTHER"]}},
    {"name": "diabetes_type", "type": "string", "constraints": {"required": True,
                                                                "enum": ["1", "2"]}},
    {"name": "a1c_value", "type": "number", "constraints": {"minimum": 3.0, "maximum": 25.0}},
    {"name": "a1c_date", "type": "date"},
    {"name": "bp_systolic", "type": "integer", "constraints": {"minimum": 50, "maximum": 300}},
    {"name": "bp_diastolic", "type": "integer", "constraints": {"minimum": 20, "maximum": 200}},
    {"name": "bp_date", "type": "date", "format": "%m/%d/%Y"},
    {"name": "ivd", "type": "string", "constraints": {"required": True, "enum": ["Y", "N"]}},
    {"name": "aspirin", "type": "string", "constraints": {"enum": ["Y", "N", "C"]}},
    {"name": "tobacco_status", "type": "string", "constraints": {
        "required": True, "enum": ["FREE", "USER", "UNKNOWN"]}},
]}


def frictionless(path: Path) -> Run:
    schema = DATA / "odc.tableschema.json"
    schema.write_text(json.dumps(TABLE_SCHEMA))
    code = ("import sys; from frictionless import Resource, Schema, validate; "
            "r = validate(Resource(sys.argv[1], schema=Schema.from_descriptor(sys.argv[2])), "
            "limit_errors=10**8); print(r.stats['errors'])")
    return measure([PYTHON, "-c", code, str(path), str(schema)])


def count_line(output: str) -> str:
    return next((line.strip() for line in output.splitlines() if line.strip()
                 .startswith("Records:")), "?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k rows, no 5M, no frictionless")
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    big = 0 if args.quick else 5_000_000
    table: list[tuple[str, str, str, str]] = []
    verdicts: list[tuple[str, bool, str]] = []

    def row(name: str, n: int, run: Run) -> None:
        table.append((name, f"{run.seconds:8.2f}", f"{n / run.seconds:12,.0f}",
                      f"{run.peak_mb:8.0f}"))

    bad = write_patient_csv(DATA / f"odc-{rows}-5pct.csv", rows, 0.05)
    good = write_patient_csv(DATA / f"odc-{rows}-valid.csv", rows, 0.0)
    tiny = write_patient_csv(DATA / "odc-tiny-valid.csv", 10, 0.0)

    g_bad = gateway(bad)
    row(f"gateway validate {rows:,} rows, 5% bad", rows, g_bad)
    g_good = gateway(good)
    row(f"gateway validate {rows:,} rows, valid", rows, g_good)
    p_read = pandas_read(bad)
    row("pandas.read_csv(dtype=str) C engine", rows, p_read)
    ratio_pandas = g_bad.seconds / p_read.seconds
    verdicts.append(("1b gateway <= 3x pandas.read_csv", ratio_pandas <= 3.0,
                     f"{ratio_pandas:.2f}x"))
    if not args.quick:
        f_run = frictionless(bad)
        row("frictionless validate (Table Schema)", rows, f_run)
        speedup = f_run.seconds / g_bad.seconds
        verdicts.append(("1a gateway >= 10x frictionless", speedup >= 10, f"{speedup:.1f}x"))
    verdicts.append(("2a peak RSS < 400 MB", max(g_bad.peak_mb, g_good.peak_mb) < 400,
                     f"{max(g_bad.peak_mb, g_good.peak_mb):.0f} MB"))
    if big:
        huge = write_patient_csv(DATA / f"odc-{big}-valid.csv", big, 0.0)
        g_huge = gateway(huge)
        row(f"gateway validate {big:,} rows, valid", big, g_huge)
        growth = g_huge.peak_mb / g_good.peak_mb - 1
        verdicts.append(("2b peak 5M within 20% of 1M", growth <= 0.20, f"{growth:+.0%}"))
    xlsx_rows = 10_000 if args.quick else 100_000
    book = write_patient_xlsx(DATA / f"odc-{xlsx_rows}-valid.xlsx", xlsx_rows)
    g_xlsx = gateway(book)
    row(f"gateway validate XLSX {xlsx_rows:,} rows", xlsx_rows, g_xlsx)
    xlsx_rate = xlsx_rows / g_xlsx.seconds
    verdicts.append(("3 XLSX >= 40,000 rows/s, < 400 MB",
                     xlsx_rate >= 40_000 and g_xlsx.peak_mb < 400,
                     f"{xlsx_rate:,.0f} rows/s, {g_xlsx.peak_mb:.0f} MB"))
    g_tiny = gateway(tiny)
    verdicts.append(("5 start-up < 1 s on a tiny file", g_tiny.seconds < 1.0,
                     f"{g_tiny.seconds:.2f} s"))
    xml = ROOT / "bench" / "xml_memory.py"
    xml_output = measure([PYTHON, str(xml)]).output if xml.exists() else ""

    print(f"\n{'run':45} {'seconds':>8} {'rows/s':>12} {'peak MB':>8}")
    for name, seconds, rate, peak in table:
        print(f"{name:45} {seconds} {rate} {peak}")
    print(f"\ngateway (5% bad): {count_line(g_bad.output)}")
    print("\ntarget                                   met   figure")
    for name, met, figure in verdicts:
        print(f"{name:40} {'yes' if met else 'NO ':5} {figure}")
    print("4 daemon: not benchmarked (see docs/performance.md)")
    if xml_output:
        print("\nbench/xml_memory.py:\n" + xml_output.strip())


if __name__ == "__main__":
    main()
