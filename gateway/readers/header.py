"""Header checks: names matched case-insensitively after trimming, any order, one error per
missing column, and a "did you mean" for unknown ones."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from gateway.contract.findings import Finding


def normalise_name(name: str) -> str:
    return name.strip().lower()


def duplicate_columns(columns: Sequence[str], cells: Mapping[int, str]) -> list[Finding]:
    """One finding per column name that appears more than once (``cells`` maps index->letter)."""
    seen: dict[str, int] = {}
    out = []
    for index, name in enumerate(columns):
        if name in seen:
            out.append(Finding(
                code="E-HEADER-DUPLICATE-COLUMN", row=1, column=name, cell=f"{cells[index]}1",
                message=f"Column '{name}' appears twice in the header (cells "
                        f"{cells[seen[name]]}1 and {cells[index]}1).",
                hint="Delete one of the two columns."))
        else:
            seen[name] = index
    return out


def check_header(columns: Sequence[str], letters: Mapping[str, str], known: Iterable[str],
                 required: Iterable[str], layout: str) -> list[Finding]:
    """Findings for unknown and missing columns against the routed layout."""
    known = list(known)
    present = set(columns)
    out: list[Finding] = []
    for name in columns:
        if name in known:
            continue
        close = difflib.get_close_matches(name, [k for k in known if k not in present], n=1,
                                          cutoff=0.6)
        suggestion = f" Did you mean '{close[0]}'?" if close else ""
        out.append(Finding(
            code="E-HEADER-UNKNOWN-COLUMN", row=1, column=name, cell=f"{letters[name]}1",
            message=f"Column '{name}' is not part of the {layout} layout.{suggestion}",
            hint=(f"Rename the column to '{close[0]}'." if close else
                  "Delete the column or correct its name (see the measure's template).")))
    for name in required:
        if name not in present:
            out.append(Finding(
                code="E-HEADER-MISSING-COLUMN", row=1, column=name,
                message=f"Required column '{name}' is missing from the header row.",
                hint=f"Add a column headed '{name}' (the {layout} template has every column)."))
    return out
