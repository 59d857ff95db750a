"""Routing (exactly one claim), the plugin contract, and each layer's rejection."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.contract.formats import npi_is_valid, parse_date, parse_datetime
from gateway.contract.hooks import hookimpl
from gateway.contract.records import Candidate, FamilyInfo, FileSample, MeasureInfo
from gateway.engine.pipeline import validate_file
from gateway.engine.plugins import PluginConflict, load_plugins
from gateway.testing import check_example, example_params
from tests.support.paths import ODC
from tests.support.years import declared_years, undeclared_year


class GreedyFamily:
    """A faulty plugin that claims every table file."""

    @hookimpl
    def gateway_families(self) -> list[FamilyInfo]:
        return [FamilyInfo("greedy", "Claims everything", ("csv",),
                           (MeasureInfo("ANY", "Anything", ("patient",), (2015,)),))]

    @hookimpl
    def gateway_recognise(self, sample: FileSample) -> list[Candidate]:
        return [Candidate("greedy", "ANY", "patient", 2015)]


def test_two_plugins_claiming_a_file_reject_it_naming_both(write_csv,
                                                           odc_patient_rows) -> None:
    plugins = load_plugins([GreedyFamily()])
    header, rows = odc_patient_rows
    receipt = validate_file(write_csv("x.csv", header, rows), submitter="t", plugins=plugins)
    assert receipt.layer == "file" and list(receipt.findings.by_code) == ["E-ROUTE-AMBIGUOUS"]
    message = receipt.findings.listed[0].message
    assert "mncm ODC patient-level 2015" in message and "greedy ANY patient-level 2015" in message


def test_an_implementation_of_an_unknown_hook_is_refused_at_load() -> None:
    class Misspelt:
        @hookimpl
        def gateway_recognize(self, sample):  # American spelling: not a hook of the contract
            return []

    with pytest.raises(PluginConflict, match="unknown hook"):
        load_plugins([Misspelt()], entry_points=False)


def test_a_family_declared_twice_is_refused_at_load() -> None:
    class Copy:
        @hookimpl
        def gateway_families(self) -> list[FamilyInfo]:
            return [FamilyInfo("mncm", "copy", ("csv",), ())]

    with pytest.raises(PluginConflict, match="declared by both"):
        load_plugins([Copy()])


def test_unknown_reporting_year_lists_the_known_years(write_csv, odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    year = undeclared_year("mncm", "ODC")
    for row in rows:
        row["reporting_year"] = str(year)
    receipt = validate_file(write_csv("y.csv", header, rows), submitter="t")
    assert list(receipt.findings.by_code) == ["E-ROUTE-YEAR"]
    assert str(year) in receipt.findings.listed[0].message
    assert ", ".join(map(str, declared_years("mncm", "ODC"))) in \
        receipt.findings.listed[0].message


def test_unrecognised_file_names_the_closest_layout_and_what_it_lacks(
        write_csv, odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    header = [c for c in header if c not in ("measure_id", "bp_date")]
    receipt = validate_file(write_csv("z.csv", header, rows), submitter="t")
    assert list(receipt.findings.by_code) == ["E-ROUTE-UNRECOGNISED"]
    message = receipt.findings.listed[0].message
    assert "ODC patient-level" in message and "measure_id" in message and "bp_date" in message


def test_the_closest_layout_is_the_one_the_columns_fit_not_the_shortest_list(
        write_csv, odc_patient_rows) -> None:
    """Without a1c_value and bp_date an ODC file lacks more than an OVC one would, but it still
    carries ODC's own columns (a1c_date, diabetes_type): it looks like ODC, in the spec's words."""
    header, rows = odc_patient_rows
    header = [c for c in header if c not in ("measure_id", "a1c_value", "bp_date")]
    receipt = validate_file(write_csv("z.csv", header, rows), submitter="t")
    assert receipt.findings.listed[0].message == (
        "The file looks like ODC patient-level 2015 but lacks columns measure_id, a1c_value, "
        "bp_date.")


def test_record_layer_reports_every_failing_record_up_to_the_cap(write_csv,
                                                                 odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    many = [dict(r, patient_id=f"P{i}", payer_type="BOGUS", gender="X")
            for i, r in enumerate(rows * 8)]
    receipt = validate_file(write_csv("many.csv", header, many), submitter="t")
    assert receipt.layer == "record"
    assert receipt.records_rejected == len(many) == 640
    assert receipt.findings.total == 1280 and len(receipt.findings.listed) == 1000
    document = receipt.as_dict()
    assert document["findings_total"] == 1280 and len(document["findings"]) == 1000


def test_record_layer_stops_before_file_rules(write_csv, odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    rows[1]["age"] = "200"            # record: implausible age
    rows[2]["patient_id"] = rows[3]["patient_id"]  # file rule: duplicate
    receipt = validate_file(write_csv("r.csv", header, rows), submitter="t")
    assert receipt.layer == "record" and list(receipt.findings.by_code) == ["E-RECORD-RANGE"]
    finding = receipt.findings.listed[0]
    assert (finding.row, finding.cell, finding.value) == (3, "E3", 200)


def test_ssn_looking_patient_id_is_not_echoed(write_csv, odc_patient_rows) -> None:
    header, rows = odc_patient_rows
    rows[0]["patient_id"] = "123456789"
    receipt = validate_file(write_csv("s.csv", header, rows), submitter="t")
    finding = receipt.findings.listed[0]
    assert finding.code == "E-RECORD-SSN" and finding.value is None
    assert "123456789" not in str(receipt.as_dict())


@pytest.mark.parametrize("case", example_params(ODC))
def test_odc_examples(case) -> None:
    receipt = check_example(case)
    if case.valid:
        assert receipt.results and receipt.results["components"]["ALL"]["denominator"] > 0


def test_npi_check_digit() -> None:
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("123456789")
    assert not npi_is_valid("12345678931")


def test_dates_in_the_spec_forms_and_impossible_dates() -> None:
    assert str(parse_date("2014-03-09")) == str(parse_date("3/9/2014")) == "2014-03-09"
    assert parse_date("03/09/2014") is not None
    for bad in ("2015-02-30", "1/0/2015", "2014-3-9", "13/01/2014", "2014-03-09\n"):
        assert parse_date(bad) is None, bad
    assert parse_datetime("2015-03-01T14:05") == parse_datetime("03/01/2015 14:05")
    assert parse_datetime("2015-03-01T24:05") is None


def test_every_package_folder_is_listed_in_pyproject() -> None:
    import tomllib

    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config["package-dir"]
    listed = set(config["packages"])
    for name, folder in mapping.items():
        for init in (root / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(root / folder).parts
            if any((root / folder).joinpath(*relative[:n], "pyproject.toml").exists()
                   for n in range(1, len(relative) + 1)):
                continue  # a separate distribution in the tree (plugins/opioid)
            assert ".".join((name, *relative)) in listed, f"{init.parent} missing in packages"


def test_a_column_only_some_rows_need_is_one_finding_when_the_header_lacks_it(
        tmp_path: Path) -> None:
    """A SAMPLE summary file without sample_size and oversample columns: two findings (one a
    column), not two for every total row."""
    source = ODC / "summary" / "valid" / "odc-summary-full.csv"
    path = tmp_path / "odc-sample.csv"
    path.write_text(source.read_text().replace(",FULL,", ",SAMPLE,"))
    receipt = validate_file(path, submitter="t")
    assert receipt.layer == "record" and receipt.records_rejected == 5
    assert [(f.code, f.column) for f in receipt.findings.listed] == [
        ("E-RECORD-REQUIRED", "sample_size"), ("E-RECORD-REQUIRED", "oversample")]
    first = receipt.findings.listed[0]
    assert first.message.startswith("The file has no sample_size column")
    assert first.row == 2 and first.cell is None and "Add the sample_size column" in first.hint


def test_every_bad_record_is_reported_in_every_batch(write_csv, odc_patient_rows) -> None:
    """After the first bad batch the later batches are judged without typing their records
    (no later layer reads them): each bad record is still reported, where it is, as when the
    whole file is one batch."""
    from gateway.readers.limits import Limits

    header, rows = odc_patient_rows
    breaks = {3: ("gender", "X"), 11: ("age", "forty"), 19: ("a1c_date", "2014-02-30"),
              27: ("clinic_npi", ""), 33: ("patient_id", "123-45-6789")}
    for index, (column, text) in breaks.items():
        rows[index][column] = text
    path = write_csv("bad.csv", header, rows)
    one = validate_file(path, submitter="t", limits=Limits(batch_rows=10_000))
    many = validate_file(path, submitter="t", limits=Limits(batch_rows=4))
    assert many.records_rejected == one.records_rejected == len(breaks)
    assert [(f.row, f.column, f.code, f.message) for f in many.findings.listed] == [
        (f.row, f.column, f.code, f.message) for f in one.findings.listed]
    assert [(f.row, f.column) for f in many.findings.listed] == [
        (index + 2, column) for index, (column, _text) in sorted(breaks.items())]
