"""Every hospital family's example files through the real pipeline: valid ones accepted with
computed results, each invalid one rejected with the code in its name and a location."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.receipts.model import Status
from gateway.testing import ExampleCase, check_example, example_params

HOSPITAL = Path(__file__).resolve().parents[2] / "plugins" / "hospital"
CASES = example_params(HOSPITAL)


def test_every_family_ships_examples() -> None:
    families = {p.parts[len(HOSPITAL.parts)] for p in HOSPITAL.rglob("examples/*/*/*/valid/*")}
    assert {"cart", "edtc", "nhsn", "stroke", "von", "ahrq"} <= families


@pytest.mark.parametrize("case", CASES)
def test_example(case: ExampleCase) -> None:
    receipt = check_example(case)
    if case.valid:
        assert receipt.status is not Status.REJECTED
        assert receipt.results, f"{case.id}: no computed results"
    else:
        located = [f for f in receipt.findings.listed if f.code == case.expected_code]
        assert any(f.row or f.cell or f.xpath or f.line for f in located) or any(
            f.column for f in located), f"{case.id}: {case.expected_code} has no location"
