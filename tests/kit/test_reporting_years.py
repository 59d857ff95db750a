"""ODC 2015 and 2016 side by side: the same patients, each year under its own rules.

2016 is data only (a manifest year table, generated schemas, shifted examples): its A1c target
is < 7.0 where 2015's was < 8.0, so the A1C part and the composite differ on the same patients
while the other parts agree. Both years validate in one process and in the daemon; a year with
no schema is refused naming the years the plugin knows.
"""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest

from gateway.engine.pipeline import validate_file
from gateway.testing import assert_receipt, assert_rejected
from tests.support.daemon import Gateway, settings
from tests.support.paths import ROOT
from tests.support.years import declared_years, undeclared_year

EXAMPLES = ROOT / "plugins" / "clinic" / "mncm" / "examples"
YEARS = (2015, 2016)
# (numerator, denominator) per component; the denominators (75 of 80 patients, 5 excluded)
# are the same in both years, only the A1c target moved
EXPECTED = {
    2015: {"ALL": (8, 75), "A1C": (32, 75), "BP": (39, 75), "ASPIRIN": (72, 75),
           "TOBACCO": (41, 75)},
    2016: {"ALL": (4, 75), "A1C": (14, 75), "BP": (39, 75), "ASPIRIN": (72, 75),
           "TOBACCO": (41, 75)},
}
SIDE_BY_SIDE: dict[int, dict[str, tuple[int, int, float]]] = {}


def patients(year: int) -> Path:
    return EXAMPLES / str(year) / "odc" / "patient" / "valid" / "odc-patient-full.csv"


def figures(results: dict) -> dict[str, tuple[int, int]]:
    return {name: (c["numerator"], c["denominator"]) for name, c in
            results["components"].items()}


def test_the_2016_example_holds_the_same_patients_a_year_later() -> None:
    with patients(2015).open() as old, patients(2016).open() as new:
        pairs = list(zip(csv.DictReader(old), csv.DictReader(new), strict=True))
    for before, after in pairs:
        assert after["reporting_year"] == "2016" and before["reporting_year"] == "2015"
        for column in ("a1c_date", "bp_date"):
            if before[column]:
                assert _parse(after[column]) == _parse(before[column]).replace(
                    year=_parse(before[column]).year + 1)
        same = {k for k in before if k not in ("reporting_year", "a1c_date", "bp_date")}
        assert {k: before[k] for k in same} == {k: after[k] for k in same}


def _parse(text: str) -> date:
    if "/" in text:
        month, day, year = (int(p) for p in text.split("/"))
        return date(year, month, day)
    return date.fromisoformat(text)


@pytest.mark.parametrize("year", YEARS)
def test_each_year_is_judged_by_its_own_rules_in_one_process(year: int) -> None:
    receipt = validate_file(patients(year), submitter="clinic")
    assert_receipt(receipt, status="accepted",
                   route=("mncm", "ODC", "patient", year))
    assert receipt.route.schema == f"urn:mn-sqrms:schema:mncm:{year}:odc:patient"
    assert figures(receipt.results) == EXPECTED[year]
    SIDE_BY_SIDE[year] = {name: (*pair, receipt.results["components"][name]["rate"])
                          for name, pair in figures(receipt.results).items()}
    summary = validate_file(EXAMPLES / str(year) / "odc" / "summary" / "valid" /
                            "odc-summary-full.csv", submitter="clinic")
    assert figures(summary.results) == EXPECTED[year], "the summary of the same patients"


def test_only_the_a1c_part_and_the_composite_differ_between_years() -> None:
    changed = {name for name in EXPECTED[2015] if EXPECTED[2015][name] != EXPECTED[2016][name]}
    assert changed == {"A1C", "ALL"}


def test_a_year_without_a_schema_is_refused_naming_the_known_years(tmp_path: Path) -> None:
    year = undeclared_year("mncm", "ODC")
    text = patients(2016).read_text().replace(",ODC,2016,", f",ODC,{year},")
    (tmp_path / f"odc-{year}.csv").write_text(text)
    receipt = validate_file(tmp_path / f"odc-{year}.csv", submitter="clinic")
    assert_rejected(receipt, "E-ROUTE-YEAR", column="reporting_year")
    message = receipt.findings.listed[0].message
    assert f"Reporting year {year}" in message
    assert ", ".join(map(str, declared_years("mncm", "ODC"))) in message


def test_the_daemon_judges_each_year_by_its_own_rules(tmp_path: Path) -> None:
    gateway = Gateway(tmp_path / "gw", settings(pipeline=None))
    try:
        upload = gateway.add_submitter("clinic-a")
        gateway.start()
        for year in YEARS:
            shutil.copy(patients(year), upload / f"odc-{year}.csv")
        receipts = {r["file"]["name"]: r for r in gateway.wait_receipts("clinic-a", 2)}
        for year in YEARS:
            receipt = receipts[f"odc-{year}.csv"]
            assert receipt["status"] == "accepted"
            assert receipt["route"]["reporting_year"] == year
            assert figures(receipt["results"]) == EXPECTED[year]
        assert gateway.stop() == 0
    finally:
        gateway.close()


@pytest.mark.parametrize(("year", "target", "service"), [
    (2015, "below 8.0", "dates of service 2014-01-01 to 2014-12-31; submitted 2015-01-01 to "
                        "2015-02-15"),
    (2016, "below 7.0", "dates of service 2015-01-01 to 2015-12-31; submitted 2016-01-01 to "
                        "2016-02-15")])
def test_each_years_specification_page_states_its_target_and_calendar(
        year: int, target: str, service: str) -> None:
    from gateway.authoring.docs import layout_page
    from gateway.authoring.layouts import find_layout
    from gateway.engine.pipeline import default_plugins

    plugins = default_plugins()
    page = layout_page(plugins, find_layout(plugins, "ODC", level="patient", year=year))
    assert f"| `A1C` | `a1c_value` | {target} |" in page
    assert f"- Period {year}: {service}" in page
