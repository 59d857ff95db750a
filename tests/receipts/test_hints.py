"""A fix on every finding, worded for the file's format, in the JSON and the text alike."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.contract.catalog import Catalog
from gateway.engine.pipeline import default_plugins
from gateway.receipts.schema import receipt_errors
from gateway.receipts.text import render_text
from tests.receipts.files import ODC_PATIENT, ROOT, check, read_rows, write_table
from tests.support.paths import shipped

INVALID = shipped("**/examples/**/invalid/*")
# Words that make a fix wrong for the other kind of file.
NOT_FOR_XML = re.compile(r"\b(CSV|Excel|cells?|rows?|columns?|header)\b")
NOT_FOR_TABLES = re.compile(r"\belements?\b|<[a-z-]+>")


# Codes a file of the format never gets: the format is not known yet (E-FILE-FORMAT), a
# workbook's own problems, a CSV's short rows, a table family's rules.
_TABLES_ONLY = ("E-FILE-FORMAT", "E-FILE-UNSAFE-ZIP", "E-FILE-UNSUPPORTED-WORKBOOK",
                "W-RECORD-SHORT-ROW", "E-RULE-AVERAGE-MISMATCH", "E-FILE-ENCRYPTED",
                "E-FILE-EXTERNAL-LINK", "W-RECORD-MIDNIGHT")
ONE_KIND = {"xml": _TABLES_ONLY}


def suits(hint: str, format: str | None) -> bool:
    if format == "xml":
        return NOT_FOR_XML.search(hint) is None
    if format in ("csv", "xlsx"):
        return NOT_FOR_TABLES.search(hint) is None
    return True


def test_the_corpus_has_invalid_examples() -> None:
    assert len(INVALID) > 200


@pytest.mark.parametrize("path", INVALID, ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_every_finding_of_an_invalid_example_says_how_to_fix_it(path: Path) -> None:
    receipt = check(path)
    document = receipt.as_dict()
    assert document["findings"], "an invalid example is rejected with findings"
    assert receipt_errors(document) == []
    text = render_text(receipt, default_plugins().catalog)
    for finding in document["findings"]:
        hint = finding["hint"]
        assert isinstance(hint, str) and hint.strip(), finding["code"]
        assert suits(hint, document["file"]["format"]), (finding["code"], hint)
        assert hint in text or default_plugins().catalog[finding["code"]].hint_for(
            document["file"]["format"]) == hint


def test_every_catalog_code_has_a_fix_for_every_format() -> None:
    catalog = default_plugins().catalog
    codes = list(catalog)
    assert len(codes) > 40
    for entry in codes:
        for format in ("csv", "xlsx", "xml"):
            hint = entry.hint_for(format)
            assert hint.strip(), entry.code
            if entry.code in ONE_KIND.get(format, ()) or entry.code.startswith(
                    "E-HEADER" if format == "xml" else "E-XML"):
                continue  # a code only files of another format get
            assert suits(hint, format), (entry.code, format, hint)


def test_a_code_missing_from_the_catalog_still_gets_a_fix() -> None:
    from gateway.contract.findings import FALLBACK_HINT, Finding, FindingList

    findings = FindingList()
    findings.add(Finding("E-SOMETHING-NEW", "A plugin's new check failed."))
    findings.give_hints(Catalog(), "csv")
    assert findings.listed[0].hint == FALLBACK_HINT


def test_record_hints_are_specific(tmp_path: Path) -> None:
    rows = read_rows(ODC_PATIENT)
    header = rows[0]
    rows[1][header.index("payer_type")] = "CASH"
    rows[2][header.index("age")] = "forty"
    receipt = check(write_table(rows, tmp_path / "odc.csv"))
    hints = {f.column: f.hint for f in receipt.findings.listed}
    assert "PRIVATE" in hints["payer_type"] and "MEDICARE" in hints["payer_type"]
    assert "whole number" in hints["age"]


def test_rule_hints_give_the_expected_figures(tmp_path: Path) -> None:
    summary = ROOT / "plugins/clinic/mncm/examples/2015/odc/summary/invalid"
    totals = check(summary / "E-RULE-TOTALS--strata-do-not-add-up.csv")
    [finding] = [f for f in totals.findings.listed if "add up to" in f.message]
    expected = re.search(r"total row says (\d+)", finding.message).group(1)  # type: ignore[union-attr]
    summed = re.search(r"add up to (\d+)", finding.message).group(1)  # type: ignore[union-attr]
    assert expected in finding.hint and summed in finding.hint
    stroke = ROOT / "plugins/hospital/stroke/examples/2015/STROKE/patient/invalid"
    order = next(stroke.glob("E-RULE-TIME-ORDER*"))
    [early] = check(order).findings.listed
    arrival = re.search(r"arrival_time (\S+ \S+|\S+)", early.message).group(1)  # type: ignore[union-attr]
    assert "arrival_time" in early.hint and arrival.split()[0] in early.hint
