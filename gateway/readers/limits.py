"""Caps that keep one hostile or runaway file from exhausting the daemon.

Every number is an operator setting with a documented default (docs/limits.md); a file over a cap
is rejected with a message that names the cap, never truncated silently.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 2048 * MIB
    max_rows: int = 10_000_000
    max_columns: int = 200
    max_cell_chars: int = 2000
    # XLSX: checked from the ZIP central directory before anything is unpacked.
    max_xlsx_bytes: int = 100 * MIB
    max_xlsx_unpacked_bytes: int = 600 * MIB
    max_xlsx_ratio: int = 100
    max_xlsx_entries: int = 10_000
    # XML: lxml's own guard against deep or huge trees stays on (huge_tree=False).
    max_xml_depth: int = 64
    # Records typed and checked together: large enough to amortise per-batch work, small enough
    # that one batch's Arrow columns and typed frame stay well inside the memory target.
    batch_rows: int = 50_000
