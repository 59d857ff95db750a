"""Stroke specifics: the late-thrombolytic warning and the indicator arithmetic."""

from __future__ import annotations

from pathlib import Path

from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Status
from tests.hospital.editing import edited_copy

VALID = (Path(__file__).resolve().parents[2] / "plugins" / "hospital" / "stroke" / "examples"
         / "2015" / "STROKE" / "patient" / "valid" / "stroke-2015q1.csv")


def _edited(tmp_path: Path, row: int, **changes: str) -> Path:
    return edited_copy(VALID, tmp_path / "stroke.csv", row, **changes)


def test_thrombolytic_a_day_after_arrival_is_a_warning_with_both_times(tmp_path: Path) -> None:
    path = _edited(tmp_path, 0, thrombolytic_time="2015-01-05T09:00")
    receipt = validate_file(path, submitter="t")
    assert receipt.status is Status.ACCEPTED_WITH_WARNINGS
    (finding,) = receipt.findings.listed
    assert finding.code == "W-RULE-PLAUSIBILITY" and finding.cell == "J2"
    assert "2015-01-05 09:00" in finding.message and "2015-01-04 08:10" in finding.message


def test_indicators() -> None:
    results = validate_file(VALID, submitter="t").results["indicators"]
    assert (results["DTI-25"]["numerator"], results["DTI-25"]["denominator"]) == (3, 5)
    assert (results["DTN-60"]["numerator"], results["DTN-60"]["denominator"]) == (2, 3)
    assert results["DTN-60"]["rate"] == 66.7


def test_ineligible_patient_given_a_thrombolytic_is_not_in_dtn_60(tmp_path: Path) -> None:
    path = _edited(tmp_path, 0, thrombolytic_eligible="N")
    results = validate_file(path, submitter="t").results["indicators"]
    assert (results["DTN-60"]["numerator"], results["DTN-60"]["denominator"]) == (1, 2)


def test_a_date_outside_the_quarter_is_echoed_as_it_was_sent(tmp_path: Path) -> None:
    path = _edited(tmp_path, 0, discharge_date="2015-04-02")
    (finding,) = validate_file(path, submitter="t").findings.listed
    assert finding.code == "E-RULE-PERIOD"
    assert finding.as_dict()["value"] == "2015-04-02"  # not 2015-04-02T00:00:00
    assert finding.as_dict()["column"] == "discharge_date"
