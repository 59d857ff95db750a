"""The duplicate-patient rule finds every repeat, across batches and slices of the hash range,
and names both rows, as a plain dictionary of first rows would."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
from gateway_plugins.clinic.mncm.patient_rules import UniquePatients

from gateway.contract import RecordBatch


def _expected(ids: list[str], rows: list[int]) -> list[tuple[int, int]]:
    """(row, first row of the same id) for every repeat, in the rule's order: grouped by id
    as the hash orders them, rows ascending within an id."""
    first: dict[str, int] = {}
    repeats: list[tuple[str, int, int]] = []
    for patient, row in zip(ids, rows, strict=True):
        if patient in first:
            repeats.append((patient, row, first[patient]))
        else:
            first[patient] = row
    return sorted((row, earliest) for _, row, earliest in repeats)


def _found(ids: list[str], rows: list[int], batch: int) -> list[tuple[int, int]]:
    rule = UniquePatients()
    for start in range(0, len(ids), batch):
        frame = pd.DataFrame({"patient_id": pd.array(ids[start:start + batch],
                                                     dtype="string")})
        assert not list(rule.observe(RecordBatch(frame=frame,
                                                 rows=np.asarray(rows[start:start + batch]))))
    out = []
    for finding in rule.finish():
        assert finding.code == "E-RULE-DUPLICATE" and finding.column == "patient_id"
        first = int(finding.message.split("on row ")[2].split(";")[0])
        assert finding.message.startswith(f"patient_id on row {finding.row} repeats")
        out.append((finding.row, first))
    return sorted(out)


def test_every_repeat_is_found_with_its_first_row() -> None:
    rng = random.Random(5)
    ids = [f"P{n:07d}" for n in range(20_000)]
    # repeats near and far, some three or four times, across every batch boundary
    ids += [rng.choice(ids) for _ in range(700)]
    rng.shuffle(ids)
    rows = list(range(2, len(ids) + 2))
    expected = _expected(ids, rows)
    assert len(expected) == 700
    for batch in (997, 5_000, 50_000):
        assert _found(ids, rows, batch) == expected


def test_rows_that_are_not_consecutive_keep_their_numbers() -> None:
    ids = ["A", "B", "A", "C", "B", "A"]
    rows = [2, 3, 7, 9, 10, 15]  # blank rows skipped between records
    assert _found(ids, rows, 2) == [(7, 2), (10, 3), (15, 2)]


def test_a_file_without_repeats_has_no_finding() -> None:
    ids = [f"M{n}" for n in range(30_000)]
    assert _found(ids, list(range(2, 30_002)), 4_096) == []
