"""The used-area scans against the area computed cell by cell, on sheets whose references come
in any order, cut into chunks anywhere: a scan may never report less than calamine would
allocate."""

from __future__ import annotations

import random

import pytest

from gateway.readers.sheet_scan import ExactScan, SheetScan, column_letters


def _sheet(seed: int, usual: bool) -> bytes:
    """A sheet of random cells, references in random order, some far below their row element;
    ``usual=False`` also drops some references and puts ``r`` after ``s`` in others."""
    rng = random.Random(seed)
    parts = [b"<worksheet><sheetData>"]
    for row in rng.sample(range(1, 5000), 40):
        parts.append(b'<row r="%d">' % row)
        column = 0
        for _ in range(rng.randint(1, 8)):
            column = rng.choice([column + 1, rng.randint(1, 700)])
            cell_row = row if rng.random() < 0.9 else rng.randint(1, 90_000)
            reference = column_letters(column) + str(cell_row).encode()
            form = "plain" if usual else rng.choice(["plain", "after", "none"])
            if form == "plain":
                parts.append(b'<c r="%s" t="n"><v>1</v></c>' % reference)
            elif form == "after":
                parts.append(b'<c s="1" r="%s"><v>1</v></c>' % reference)
            else:
                parts.append(b"<c><v>1</v></c>")
        parts.append(b"</row>")
    parts.append(b"</sheetData></worksheet>")
    return b"".join(parts)


def _fed(scan: SheetScan | ExactScan, xml: bytes, seed: int) -> None:
    rng = random.Random(seed)
    at = 0
    while at < len(xml):
        size = rng.randint(1, 4000)
        scan.feed(xml[at:at + size])
        at += size
    if isinstance(scan, ExactScan):
        scan.finish()


@pytest.mark.parametrize("seed", range(20))
def test_the_usual_form_is_measured_exactly_however_it_is_cut(seed: int) -> None:
    xml = _sheet(seed, usual=True)
    scan = SheetScan()
    _fed(scan, xml, seed)
    assert not scan.unusual
    assert (scan.last_row, scan.last_column) == _placed(xml)
    exact = ExactScan()
    _fed(exact, xml, seed + 100)
    assert (exact.last_row, exact.last_column) == _placed(xml)


@pytest.mark.parametrize("seed", range(20))
def test_other_forms_go_to_the_exact_reading_which_counts_every_cell(seed: int) -> None:
    xml = _sheet(seed, usual=False)
    scan = SheetScan()
    _fed(scan, xml, seed)
    assert scan.unusual
    exact = ExactScan()
    _fed(exact, xml, seed + 100)
    truth = _placed(xml)
    assert (exact.last_row, exact.last_column) == truth
    assert not exact.unreadable


def _placed(xml: bytes) -> tuple[int, int]:
    """calamine's placing, one whole tag at a time (the reference the tests trust)."""
    import re

    last_row = last_column = row_index = column_index = 0
    for tag in re.finditer(rb"<(/?)(c|row)\b([^>]*)>", xml):
        closing, name, attributes = tag.groups()
        if name == b"row":
            if closing:
                row_index, column_index = row_index + 1, 0
            elif found := re.search(rb'r="([0-9]+)"', attributes):
                row_index = int(found.group(1)) - 1
            continue
        if closing:
            continue
        found = re.search(rb'r="([A-Z]+)([0-9]+)"', attributes)
        if found:
            row = int(found.group(2))
            column = 0
            for letter in found.group(1):
                column = column * 26 + letter - 64
        else:
            row, column = row_index + 1, column_index + 1
        column_index = column
        last_row, last_column = max(last_row, row), max(last_column, column)
    return last_row, last_column
