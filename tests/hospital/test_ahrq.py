"""AHRQ specifics: software version order and the per-100 / per-1,000 scales."""

from __future__ import annotations

from pathlib import Path

import pytest
from gateway_plugins.hospital.ahrq.rules import version_key

from gateway.engine.pipeline import validate_file

VALID = (Path(__file__).resolve().parents[2] / "plugins" / "hospital" / "ahrq" / "examples"
         / "2015" / "AHRQ-QI" / "summary" / "valid" / "ahrq-2014-discharges.csv")


@pytest.mark.parametrize(("found", "accepted"), [
    ("4.5a", True), ("4.5", False), ("4.5b", True), ("v4.5a", True), ("4.10", True),
    ("5.0", True), ("5", True), ("4.4z", False), ("2019.1", True), ("3.9", False)])
def test_version_order(found: str, accepted: bool) -> None:
    assert (version_key(found) >= version_key("4.5a")) is accepted


def test_rates_per_100_and_per_1000() -> None:
    results = validate_file(VALID, submitter="t").results["indicators"]
    assert results["IQI-15"]["per"] == 100 and results["PSI-04"]["per"] == 1000
    # only PSI-04, 18 and 19 are per 1,000 (hospital.md); composite parts are per 100
    assert results["PSI-03"]["per"] == 100 and results["PDI-12"]["per"] == 100
    part = results["PSI-03"]
    assert part["rate"] == round(100 * part["numerator"] / part["denominator"], 2)
    psi = results["PSI-04"]
    assert psi["rate"] == round(1000 * psi["numerator"] / psi["denominator"], 2)
    assert results["PSI-90"] == {"composite_value": 0.87}
    assert results["PDI-07"] == {"volume": 0}
