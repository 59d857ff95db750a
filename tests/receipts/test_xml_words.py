"""CART XML findings in the file's own words: elements as written, a measure by its id, the
line of the element that is wrong, values in the template's precision, and every finding with
``xpath``, ``line`` and ``column`` keys (null for the whole file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.contract.findings import Finding
from gateway.engine.pipeline import default_plugins
from gateway.receipts.schema import receipt_errors
from gateway.receipts.text import render_text
from tests.receipts.files import check
from tests.support.paths import ROOT

VALID = ROOT / "plugins/hospital/cart/examples/2015/CART/summary/valid/cart-2015q1-pps.xml"


def _one_element_a_line(tmp_path: Path, *changes: tuple[str, str]) -> tuple[Path, list[str]]:
    """The valid file with each measure field on its own line, ``changes`` applied."""
    text = VALID.read_text(encoding="utf-8").replace("><", ">\n    <").replace(
        "    </measure>", "  </measure>")
    for old, new in changes:
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / "cart.xml"
    path.write_text(text, encoding="utf-8")
    return path, text.splitlines()


def test_a_missing_median_is_named_as_the_xml_names_it_and_located_by_measure_id(
        tmp_path: Path) -> None:
    path, _ = _one_element_a_line(tmp_path, ("<median-minutes>246</median-minutes>", ""))
    receipt = check(path)
    document = receipt.as_dict()
    [finding] = document["findings"]
    assert finding["column"] == "median-minutes" and "<median-minutes>" in finding["message"]
    assert "median_minutes" not in finding["message"] + finding["hint"]
    assert finding["xpath"] == "/hospital-measures/measure[@id='ED-1a']"
    assert finding["record"] == {"measure": "ED-1a"}
    text = render_text(receipt, default_plugins().catalog)
    assert "measure ED-1a" in text and "Not checked: the checks across records" in text


def test_a_wrong_rate_points_at_its_rate_line_and_suggests_one_decimal(tmp_path: Path) -> None:
    path, lines = _one_element_a_line(tmp_path, ("<rate>90.0</rate>", "<rate>93.40</rate>"))
    [finding] = check(path).as_dict()["findings"]
    assert finding["code"] == "E-RULE-RATE-MISMATCH"
    assert finding["xpath"] == "/hospital-measures/measure[@id='IMM-2']/rate"
    assert "<rate>93.40</rate>" in lines[finding["line"] - 1]  # the <rate> line itself
    assert finding["suggestion"] == "90.0" and "Enter 90.0 as <rate>" in finding["hint"]
    assert finding["column"] == "rate" and finding["record"] == {"measure": "IMM-2"}


def test_a_range_error_of_a_field_is_at_its_own_line(tmp_path: Path) -> None:
    path, lines = _one_element_a_line(
        tmp_path, ("<median-minutes>246</median-minutes>",
                   "<median-minutes>2000</median-minutes>"))
    [finding] = check(path).as_dict()["findings"]
    assert "2000" in lines[finding["line"] - 1] and finding["column"] == "median-minutes"
    assert finding["message"].startswith("<median-minutes> is 2000")


@pytest.mark.parametrize("name", sorted(p.name for p in (VALID.parent.parent / "invalid")
                                        .glob("*.xml")))
def test_every_xml_finding_has_xpath_line_and_column_keys(name: str) -> None:
    document = check(VALID.parent.parent / "invalid" / name).as_dict()
    assert receipt_errors(document) == []
    for finding in document["findings"]:
        assert {"xpath", "line", "column", "record", "suggestion", "caused_by"} <= set(finding)
        assert "row" not in finding and "cell" not in finding
        assert "_" not in (finding["column"] or "")  # element names, not columns


def test_a_whole_submission_warning_of_an_xml_file_has_the_xml_keys() -> None:
    finding = Finding(code="W-SUBMITTER-SKIPPED", message="No registry was used.")
    shown = finding.as_dict("xml")
    assert shown["xpath"] is None and shown["line"] is None and shown["column"] is None
    assert "row" not in shown
    table = finding.as_dict("csv")
    assert table["row"] is None and table["cell"] is None and "xpath" not in table
