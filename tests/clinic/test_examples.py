"""Every clinic example: valid files accepted with results, invalid ones rejected with exactly
the code their name starts with; every measure has both levels and an example per file rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from gateway_plugins.clinic.mncm.manifest import measures
from gateway_plugins.clinic.mncm.patient_rules import patient_rules
from gateway_plugins.clinic.mncm.summary_rules import summary_rules

from gateway.testing import ExampleCase, check_example, example_cases, example_params

EXAMPLES = Path(__file__).resolve().parents[2] / "plugins" / "clinic" / "mncm" / "examples"


@pytest.mark.parametrize("case", example_params(EXAMPLES))
def test_example(case: ExampleCase) -> None:
    receipt = check_example(case)
    if case.valid:
        components = receipt.results["components"]
        assert set(components) == set(measures()[case.path.parts[-4].upper()].all_components)


@pytest.mark.parametrize(("measure", "year"), [
    (measure, year) for measure, spec in sorted(measures().items()) for year in spec.years])
@pytest.mark.parametrize("level", ["summary", "patient"])
def test_every_file_rule_has_an_invalid_example(measure: str, year: int, level: str) -> None:
    spec = measures()[measure]
    folder = EXAMPLES / str(year) / measure.lower() / level
    cases = example_cases(folder)
    assert any(c.valid for c in cases), f"{measure} {level} {year} has no valid example"
    rules = summary_rules(spec) if level == "summary" else patient_rules(spec, year)
    shown = {c.expected_code for c in cases if not c.valid}
    assert {r.code for r in rules} <= shown
