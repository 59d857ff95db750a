"""Next year of a quarterly hospital family is data: ``gateway new-measure nhsn CLABSI --year
2016`` on a copy of the source tree moves the deadlines, schema and examples a year (quarters
included), the family still conforms, next year's files are accepted and a file that keeps last
year's quarters is rejected with the family's own period code."""

from __future__ import annotations

import json
from pathlib import Path

from gateway_plugins.hospital.common.scaffold import hospital_packages

from gateway.engine.pipeline import default_plugins
from tests.support.source_copy import source_copy


def next_year() -> int:
    """The year after the latest NHSN reporting year, asked of the registry of years."""
    return max(default_plugins().families["nhsn"].measures[0].reporting_years) + 1


def receipt(copy, path: Path) -> dict:
    return json.loads(copy.gateway("validate", path, "--submitter", "h", "--json").stdout)


def codes(answer: dict) -> list[str]:
    return sorted({f["code"] for f in answer["findings"] if f["code"].startswith("E-")})


def test_new_measure_moves_a_quarterly_family_a_year(tmp_path: Path) -> None:
    assert "nhsn" in hospital_packages()
    year = next_year()
    copy = source_copy(tmp_path)
    examples = copy.plugins / "hospital" / "nhsn" / "examples"
    source = next((examples / str(year - 1)).rglob("valid/*.csv"))  # the latest year's
    early = tmp_path / "early.csv"
    early.write_text(source.read_text("utf-8").replace(f",{year - 1},", f",{year},"),
                     encoding="utf-8")
    assert codes(receipt(copy, early)) == ["E-ROUTE-YEAR"]

    made = copy.gateway("new-measure", "nhsn", "CLABSI", "--year", year, "--path", "src",
                        check=True).stdout
    assert f"scaffolded nhsn CLABSI {year}" in made
    assert f"{year}Q1" in made and f"gateway schema diff nhsn CLABSI {year - 1} {year}" in made
    manifest = (copy.plugins / "hospital" / "nhsn" / "manifest.toml").read_text("utf-8")
    assert f'"{year}Q2" = "{year}-11-15"' in manifest
    assert copy.gateway("check-plugin", "nhsn").stdout.strip().endswith("nhsn: conforms")

    (valid,) = (examples / str(year) / "CLABSI" / "summary" / "valid").glob("*.csv")
    assert valid.name == f"clabsi-{year}q1.csv" and f",{year}Q1," in valid.read_text("utf-8")
    accepted = receipt(copy, valid)
    assert accepted["status"] != "rejected", codes(accepted)
    assert accepted["route"]["reporting_year"] == year
    assert receipt(copy, source)["status"] != "rejected"
    # last year's quarters labelled with the new year: the family's own period code
    assert codes(receipt(copy, early)) == ["E-RULE-PERIOD"]
    later = tmp_path / "later.csv"
    later.write_text(valid.read_text("utf-8").replace(f",{year},", f",{year + 1},"),
                     encoding="utf-8")
    assert codes(receipt(copy, later)) == ["E-ROUTE-YEAR"]
    diff = copy.gateway("schema", "diff", "nhsn", "CLABSI", year - 1, year, check=True).stdout
    assert f"{year}Q2" in diff or "calendar changed" in diff
