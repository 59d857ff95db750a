"""Copies of a valid example with a few cells changed, for tests of a single rule."""

from __future__ import annotations

import csv
from pathlib import Path


def edited_copy(source: Path, target: Path, row: int, **changes: str) -> Path:
    """Write ``source`` to ``target`` with the cells of data row ``row`` (0-based) changed."""
    with source.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[row].update(changes)
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target
