"""NHSN specifics beyond the examples: the patient-days warning and rates with no line days."""

from __future__ import annotations

from pathlib import Path

from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Status
from tests.hospital.editing import edited_copy

VALID = (Path(__file__).resolve().parents[2] / "plugins" / "hospital" / "nhsn" / "examples"
         / "2015" / "CLABSI" / "summary" / "valid" / "clabsi-2015q1.csv")


def _edited(tmp_path: Path, row: int, **changes: str) -> Path:
    return edited_copy(VALID, tmp_path / "clabsi.csv", row, **changes)


def test_too_many_patient_days_is_only_a_warning(tmp_path: Path) -> None:
    path = _edited(tmp_path, 5, patient_days="20000")  # PICU: 200 beds x 90 days = 18,000
    receipt = validate_file(path, submitter="t")
    assert receipt.status is Status.ACCEPTED_WITH_WARNINGS
    assert set(receipt.findings.by_code) == {"W-RULE-PLAUSIBILITY"}
    assert receipt.findings.listed[0].cell == "I7"


def test_rate_must_be_empty_without_line_days(tmp_path: Path) -> None:
    path = _edited(tmp_path, 4, rate="0.00")  # category E has 0 central line days
    receipt = validate_file(path, submitter="t")
    assert set(receipt.findings.by_code) == {"E-RULE-RATE-MISMATCH"}
    assert receipt.findings.listed[0].cell == "J6"
    accepted = validate_file(VALID, submitter="t")
    assert accepted.results["units"]["NICU-3W"]["categories"]["E"]["rate_per_1000"] is None
