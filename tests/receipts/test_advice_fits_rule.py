"""The advice fits the rule that failed, for every column of every layout and every finding
code of the shipped examples: a cell a rule requires (or forbids) is told to be filled in (or
cleared), never how to write its value; a badly written value is told how to write it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from gateway.authoring.layouts import all_layouts
from gateway.contract.batch import RecordBatch
from gateway.engine.pipeline import default_plugins, record_layer
from gateway.engine.records import RecordLayer
from tests.receipts.files import check
from tests.support.paths import shipped

# words of advice about how to write a value: wrong for a cell that is only missing or extra
FORM_WORDS = ("YYYY", "MM/DD", "digits", "Write the", "Copy the", "as a whole number",
              "as a number", "Enter one of", "characters")
# per code, words its advice must use (the rule's subject)
SUBJECT = {"E-RECORD-DATE": ("date", "time", "year", "month"),
           "E-RECORD-CODE": ("one of", "codes", "code"),
           "E-RECORD-TYPE": ("number", "text", "year", "minutes", "digits"),
           "E-RECORD-NPI": ("NPI", "digit"),
           "E-RECORD-REQUIRED": ("Fill in", "Add", "Enter", "fill"),
           "E-RECORD-NOT-ALLOWED": ("Clear", "Leave", "empty", "Remove", "clear")}
BAD_VALUE = {"integer": "many", "number": "lots", "date": "2015-02-30",
             "local-date-time": "2015-02-30T10:00", "npi": "1234567890"}
LAYOUTS = all_layouts(default_plugins())


def _batch(instance: dict[str, Any]) -> RecordBatch:
    return RecordBatch(frame=pd.DataFrame({k: [str(v)] for k, v in instance.items()}),
                       rows=np.array([2]))


def _findings(layer: RecordLayer, instance: dict[str, Any]) -> list:
    batch = _batch(instance)
    return [layer.describe(e, batch, 0, instance) for e in layer.validator.iter_errors(instance)]


def _assert_fits(finding: Any, layer: RecordLayer | None) -> None:
    """The hint speaks of the failing rule: for a required or forbidden cell no advice on its
    form; otherwise the code's subject, or the column's own advice on its form (``x-hint``)."""
    hint = finding.hint or ""
    name = (finding.column or "").replace("-", "_")  # an XML element's column
    column = layer.columns.get({"id": "measure_id"}.get(name, name)) if layer else None
    own = column.schema.get("x-hint") if column else None
    if finding.code in ("E-RECORD-REQUIRED", "E-RECORD-NOT-ALLOWED"):
        assert not any(w in hint for w in FORM_WORDS), (finding.code, finding.column, hint)
    elif finding.code.startswith("E-RECORD-"):
        assert not hint.startswith("Fill in"), (finding.code, finding.column, hint)
    if own and hint == own:
        assert finding.code not in ("E-RECORD-REQUIRED", "E-RECORD-NOT-ALLOWED"), hint
        return
    words = SUBJECT.get(finding.code)
    if words and hint:
        assert any(w.lower() in hint.lower() for w in words), (finding.code, hint)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda lay: lay.schema_id.split(":", 3)[-1])
def test_every_column_kind_gets_the_advice_of_its_own_rule(layout: Any) -> None:
    layer = record_layer(default_plugins(), layout.schema_id)
    missing = _findings(layer, {})
    assert missing, "an empty record breaks the required columns"
    for finding in missing:
        _assert_fits(finding, layer)
    for column in layer.columns.values():
        kind = column.format if column.format in BAD_VALUE else column.kind
        bad = BAD_VALUE.get(kind) or ("NOT-A-CODE-Q" if column.codes else None)
        if bad is None:
            continue
        found = [f for f in _findings(layer, {column.name: bad}) if f.column == column.name]
        assert found, (column.name, bad)
        for finding in found:
            _assert_fits(finding, layer)


INVALID = [p for p in shipped("**/examples/**/invalid/*") if "E-RECORD" in p.name]


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_every_record_finding_of_the_invalid_examples_fits_its_rule(path: Any) -> None:
    receipt = check(path)
    layer = record_layer(default_plugins(), receipt.route.schema) if receipt.route else None
    for finding in receipt.findings.listed:
        _assert_fits(finding, layer)
