"""The record layer's oracle: every record through the reference ``jsonschema`` validator, cell
by cell in plain Python, as the record layer worked before its column-wise filter. It is slow
and exists only so the differential tests can compare ``RecordLayer.check`` against it; it
lives with the tests so the product carries no second validator."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from jsonschema.exceptions import ValidationError

from gateway.contract.findings import Finding
from gateway.contract.formats import NORMALISERS
from gateway.contract.records import RecordBatch
from gateway.engine.records import (
    _REQUIRED_KEYWORDS,
    Column,
    RecordLayer,
    _missing,
    json_value,
    one_per_cell,
)


def normalised(column: Column, text: list[str]) -> list[str]:
    """The record layer's normalisation, cell by cell: codes upper case, dates and ZIP codes
    canonical."""
    if column.codes is not None and column.kind == "string":
        text = [t.upper() for t in text]
    normalise = NORMALISERS.get(column.format or "")
    if normalise is not None:
        text = [normalise(t) if t != "" else t for t in text]
    return text


def reference_check(layer: RecordLayer, batch: RecordBatch) -> tuple[np.ndarray, list[Finding]]:
    """The mask of bad records and the findings, as ``layer.check`` must give them."""
    raw = batch.frame
    names = [n for n in raw.columns if n in layer.columns]
    lists = {n: normalised(layer.columns[n], [str(v) for v in raw[n].tolist()]) for n in names}
    bad = np.zeros(len(raw), dtype=bool)
    findings: list[Finding] = []
    for i in range(len(raw)):
        instance = {n: json_value(layer.columns[n].kind, lists[n][i]) for n in names
                    if lists[n][i] != ""}
        errors = list(layer.validator.iter_errors(instance))
        if errors:
            bad[i] = True
            columns = missing_in_order(errors, instance)
            # codes and dates are echoed as written (before upper-casing), as the layer does
            written = {str(e.path[0]): str(raw[str(e.path[0])].iat[i]).strip() for e in errors
                       if e.path and str(e.validator) in ("enum", "const", "format")
                       and str(e.path[0]) in raw.columns}
            findings.extend(one_per_cell(
                layer.describe(e, batch, i, instance, c, written)
                for e, c in zip(errors, columns, strict=True)))
    return bad, findings


def missing_in_order(errors: Sequence[ValidationError], instance: dict[str, Any]
                     ) -> list[str | None]:
    """The reference validator yields one ``required`` error per absent column, in the
    keyword's order, without naming it: the k-th error of a keyword is its k-th absent column."""
    seen: Counter[tuple[Any, ...]] = Counter()
    out: list[str | None] = []
    for error in errors:
        if str(error.validator) not in _REQUIRED_KEYWORDS:
            out.append(None)
            continue
        key = (str(error.validator), id(error.schema))
        absent = _missing(error, instance)
        out.append(absent[seen[key]] if seen[key] < len(absent) else None)
        seen[key] += 1
    return out
