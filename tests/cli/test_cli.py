"""`gateway validate` as a data abstractor and an operator use it: exit codes and receipts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gateway.receipts.schema import receipt_errors
from tests.support.paths import ODC

VALID = ODC / "patient" / "valid" / "odc-patient-full.csv"
NUM_GT_DEN = (ODC / "summary" / "invalid"
              / "E-RULE-NUMERATOR-GT-DENOMINATOR--numerator-above-denominator.csv")


def gateway(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True,
                          text=True, timeout=120)


def test_valid_patient_file_exits_0_and_prints_rates() -> None:
    run = gateway("validate", str(VALID), "--submitter", "clinic-a")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("ACCEPTED")
    assert "rate" in run.stdout and "TOBACCO" in run.stdout


def test_numerator_above_denominator_exits_1_naming_row_cell_and_rule() -> None:
    run = gateway("validate", str(NUM_GT_DEN), "--submitter", "clinic-a")
    assert run.returncode == 1
    assert run.stdout.startswith("REJECTED")
    assert "E-RULE-NUMERATOR-GT-DENOMINATOR" in run.stdout
    assert "row 31, cell M31 (numerator)" in run.stdout


def test_json_receipt_conforms_to_the_receipt_schema(tmp_path: Path) -> None:
    run = gateway("validate", str(NUM_GT_DEN), "--submitter", "clinic-a", "--json",
                  "--out", str(tmp_path))
    receipt = json.loads(run.stdout)
    assert receipt_errors(receipt) == []
    assert receipt["status"] == "rejected" and receipt["layer"] == "file_rules"
    finding = receipt["findings"][0]
    assert (finding["row"], finding["cell"], finding["column"]) == (31, "M31", "numerator")
    written = sorted(p.name for p in tmp_path.iterdir())
    assert [w.rsplit(".csv.", 1)[1] for w in written] == [
        "annotated.xlsx", "receipt.json", "receipt.txt"]
    assert json.loads((tmp_path / written[1]).read_text()) == receipt


def test_usage_error_exits_2(tmp_path: Path) -> None:
    assert gateway("validate", str(tmp_path / "missing.csv"), "--submitter", "x").returncode == 2
    assert gateway("validate", str(VALID)).returncode == 2


def test_plugins_lists_families_measures_levels_and_years() -> None:
    run = gateway("plugins", "--json")
    rows = json.loads(run.stdout)
    odc = next(r for r in rows if r["measure"] == "ODC")
    assert odc["family"] == "mncm" and set(odc["levels"]) == {"summary", "patient"}
    assert 2015 in odc["reporting_years"]


def test_several_files_in_order_each_with_its_sender(tmp_path: Path) -> None:
    """opioid.md, second edition: FILE may be SUBMITTER:PATH; --json gives an array in order;
    the exit code is 1 when any file is rejected; nothing is written without a site."""
    run = subprocess.run([sys.executable, "-m", "gateway", "validate", "--json",
                          "--submitter", "clinic-a", str(VALID), f"clinic-b:{NUM_GT_DEN}"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    receipts = json.loads(run.stdout)
    assert [(r["submitter"], r["status"]) for r in receipts] == [
        ("clinic-a", "accepted_with_warnings"), ("clinic-b", "rejected")]  # no registry: warned
    assert list(tmp_path.iterdir()) == []
    unnamed = gateway("validate", f"clinic-a:{VALID}", str(NUM_GT_DEN))  # no --submitter
    assert unnamed.returncode == 2 and "SUBMITTER:PATH" in unnamed.stderr
