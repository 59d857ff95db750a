"""The text receipt: one line per distinct problem with the rows it occurs on, plain English
counts; the JSON keeps every finding."""

from __future__ import annotations

from pathlib import Path

from gateway.engine.pipeline import default_plugins
from gateway.receipts.text import number_ranges, plural, render_text
from tests.receipts.files import ODC_PATIENT, ROOT, check, read_rows, write_table


def _text(path: Path) -> tuple[str, dict]:
    receipt = check(path)
    return render_text(receipt, default_plugins().catalog), receipt.as_dict()


def test_findings_that_differ_only_in_their_row_are_shown_once_with_their_rows(
        tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    npi = rows[0].index("clinic_npi")
    for row in rows[1:]:
        row[npi] = "1234567890"  # a wrong check digit on all 80 rows
    text, document = _text(write_table(rows, tmp_path / "npi.csv"))
    assert len(document["findings"]) == len(rows) - 1  # the JSON keeps each row
    assert [f["row"] for f in document["findings"]] == list(range(2, len(rows) + 1))
    problem_lines = [line for line in text.splitlines() if line.startswith("  - ")]
    assert problem_lines == [
        f"  - rows 2-{len(rows)}, column clinic_npi (cells A2-A{len(rows)}): clinic_npi "
        "'1234567890' is not a valid NPI: 10 digits with a correct check digit."]
    assert text.count("Copy the") <= 2  # the fix once (code and column), not once per row
    assert f"{len(rows) - 1} errors" in text


def test_rows_are_ranges_and_a_long_list_is_cut() -> None:
    assert number_ranges([5, 2, 3, 4, 9, 11, 12]) == "2-5, 9, 11-12"
    assert number_ranges(list(range(2, 200, 2)), limit=3) == "2, 4, 6 and 96 more"


def test_counts_read_as_english() -> None:
    assert plural(1, "error") == "1 error"
    assert plural(0, "warning") == "0 warnings"
    assert plural(1234, "record") == "1,234 records"


def test_one_error_is_one_error_and_no_zero_with_errors(tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    rows[5][rows[0].index("age")] = "forty"
    text, _ = _text(write_table(rows, tmp_path / "one.csv"))
    assert "1 error," in text and "1 errors" not in text
    assert "80 records read, 1 with errors; 1 error, 0 warnings" in text
    rule = ROOT / ("plugins/clinic/mncm/examples/2015/odc/summary/invalid/"
                   "E-RULE-RATE-MISMATCH--rate-off.csv")
    text, document = _text(rule)
    assert document["counts"]["errors"] == 1 and document["counts"]["records_rejected"] == 0
    assert "0 with errors" not in text and "(1 error)" in text
    assert "read; 1 error, 0 warnings" in text


def test_a_rejection_names_its_layer_as_the_json_does(tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    rows[5][rows[0].index("age")] = "forty"
    text, document = _text(write_table(rows, tmp_path / "one.csv"))
    assert document["layer"] == "record"
    assert "Stopped at layer record: individual rows or records." in text


def test_years_in_the_results_read_as_years_and_counts_as_counts() -> None:
    from gateway.receipts.model import FileFacts, Receipt

    receipt = Receipt(submission_id="s", submitter="feed",
                      file=FileFacts(name="feed.csv", bytes=1, sha256="0" * 64, format="csv",
                                     received_at="2022-02-01T00:00:00Z"),
                      results={"measurement_year": 2021, "rows": 210000,
                               "groups": {"A": {"reporting_year": 2022, "prescribers": 1500}}})
    text = render_text(receipt)
    assert "measurement_year: 2021" in text and "rows: 210,000" in text
    assert " 2022 " in text + " " and "1,500" in text and "2,022" not in text
