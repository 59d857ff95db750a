"""Caps that keep one hostile or runaway file from exhausting the daemon.

Every number is an operator setting with a documented default (docs/decisions.md, "Limits"); a
file over a cap is rejected with a message that names the cap, never truncated silently. Each cap
is checked while the file streams past, so a file over one costs at most the reading up to it.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 2048 * MIB
    max_rows: int = 10_000_000
    max_columns: int = 200
    # above the longest text a published layout allows (the opioid QI evaluation's narrative,
    # 4,000), so a cell a little over its column's limit is told that limit by the record layer
    max_cell_chars: int = 5000
    # CSV: one physical line, checked in the hashing pass before any parser buffers it.
    max_line_bytes: int = MIB
    # XLSX: checked from the ZIP central directory before anything is unpacked.
    max_xlsx_bytes: int = 100 * MIB
    max_xlsx_unpacked_bytes: int = 600 * MIB
    max_xlsx_ratio: int = 100
    max_xlsx_entries: int = 10_000
    # The spreadsheet reader holds the data sheet as a dense grid (first to last used row times
    # first to last used column, ~32 bytes a cell): 20 million cells is ~640 MB.
    max_sheet_cells: int = 20_000_000
    # XML: counted while the file is hashed (start tags, comments and processing instructions),
    # so a file with millions of elements is refused before it is parsed; depth while parsing.
    max_xml_elements: int = 1_000_000
    max_xml_depth: int = 64
    # Records typed and checked together: large enough to amortise per-batch work, small enough
    # that one batch's Arrow columns and typed frame stay well inside the memory target
    # (measured on 1M rows: 50,000 -> 32,768 saved 23 MB of peak for no measurable CPU time).
    batch_rows: int = 32_768
