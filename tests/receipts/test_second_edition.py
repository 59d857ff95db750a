"""The receipt schema's second edition: every receipt of the shipped examples carries and
validates the new fields, and the generated error-code docs say where suggestions come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.authoring.docs import ERROR_CODES, render_docs
from gateway.engine.pipeline import default_plugins
from gateway.engine.synonyms import synonym_lists
from gateway.receipts.schema import receipt_errors
from tests.receipts.files import check
from tests.support.paths import shipped

# the invalid examples' receipts are checked against the schema by test_hints
EXAMPLES = shipped("**/examples/**/valid/*")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_shipped_example_gets_a_receipt_valid_against_the_schema(path: Path) -> None:
    document = check(path).as_dict()
    assert receipt_errors(document) == []
    assert document["receipt_version"] == "1"
    assert isinstance(document["not_checked"], list)
    for finding in document["findings"]:
        assert {"record", "suggestion", "caused_by"} <= set(finding)
        if finding["caused_by"] is not None:
            root = document["findings"][finding["caused_by"]]
            assert root["caused_by"] is None


def test_a_receipt_missing_a_new_field_is_refused_by_the_schema() -> None:
    document = check(EXAMPLES[0]).as_dict()
    del document["not_checked"]
    assert receipt_errors(document)


def test_the_error_code_docs_list_the_suggestions_sources() -> None:
    page = render_docs(default_plugins())[ERROR_CODES]
    assert "## Suggestions" in page and "never applied" in page.lower()
    for item in synonym_lists():
        assert item.source in page
        for code, words in item.codes.items():
            assert all(word in page for word in words), (item.name, code)
    assert "Medicaid" in page and "E-HEADER-MISSING-COLUMN" in page


def test_the_minimum_synonyms_of_the_specification_are_listed() -> None:
    from gateway.engine.synonyms import suggest_code

    payer = ("PRIVATE", "MEDICARE", "MHCP", "SELF_PAY", "UNINSURED")
    for word, code in (("Medicaid", "MHCP"), ("Medical Assistance", "MHCP"),
                       ("MinnesotaCare", "MHCP"), ("Commercial", "PRIVATE"),
                       ("Self pay", "SELF_PAY")):
        assert suggest_code("payer_type", word, payer) == code
    for word, code in (("Female", "F"), ("Woman", "F"), ("Male", "M"), ("Man", "M")):
        assert suggest_code("gender", word, ("F", "M", "U")) == code
    for word, code in (("Type 2", "2"), ("Type II", "2"), ("T2", "2"), ("Type 1", "1"),
                       ("Type I", "1"), ("T1", "1")):
        assert suggest_code("diabetes_type", word, ("1", "2")) == code
    for word, code in (("Yes", "Y"), ("No", "N"), ("True", "Y"), ("False", "N")):
        assert suggest_code("ivd", word, ("Y", "N")) == code
    assert suggest_code("gender", "Medicaid", ("F", "M", "U")) is None
