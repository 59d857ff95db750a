"""Data that is not submitted as a file is refused with where it goes instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.engine.pipeline import validate_file
from gateway.receipts.model import Status

FOLDER = Path(__file__).resolve().parents[2] / "plugins" / "hospital" / "common" / "refused"


@pytest.mark.parametrize(("name", "words"), [
    ("E-ROUTE-NOT-ACCEPTED-HERE--mortality.csv", "computed by CMS"),
    ("E-ROUTE-NOT-ACCEPTED-HERE--hcahps.csv", "certified survey vendor"),
    ("E-ROUTE-NOT-ACCEPTED-HERE--hit-survey.csv", "web survey")])
def test_refusal_says_where_the_data_go(name: str, words: str) -> None:
    receipt = validate_file(FOLDER / name, submitter="t")
    assert receipt.status is Status.REJECTED and receipt.layer == "file"
    (finding,) = receipt.findings.listed
    assert finding.code == "E-ROUTE-NOT-ACCEPTED-HERE"
    assert words in finding.message
