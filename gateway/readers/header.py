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


RENAME_CUTOFF = 0.6  # difflib's similarity of two names (spaces, case, _ and - ignored)


def _plain(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def closeness(written: str, expected: str) -> float:
    """How alike a header and a layout column are: difflib's ratio of the names without
    case, spaces, underscores and hyphens, or 1.0 when one is the other's leading word(s)
    (``Payer`` for ``payer_type``, ``A1C value`` for ``a1c_value``)."""
    a, b = _plain(written), _plain(expected)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    words = [w for w in expected.lower().replace("-", "_").split("_") if w]
    if any(a == "".join(words[:k]) for k in range(1, len(words))):
        return 0.95
    return difflib.SequenceMatcher(None, a, b).ratio()


def renames(unknown: Sequence[str], missing: Sequence[str]) -> dict[str, str]:
    """Unknown header -> the missing column it most likely renames, each used once, the
    closest pairs first; pairs below ``RENAME_CUTOFF`` are not renames."""
    pairs = sorted(((closeness(u, m), i, j) for i, u in enumerate(unknown)
                    for j, m in enumerate(missing)), reverse=True)
    out: dict[str, str] = {}
    taken: set[str] = set()
    for score, i, j in pairs:
        if score < RENAME_CUTOFF:
            break
        if unknown[i] in out or missing[j] in taken:
            continue
        out[unknown[i]] = missing[j]
        taken.add(missing[j])
    return out


def check_header(columns: Sequence[str], letters: Mapping[str, str], known: Iterable[str],
                 required: Iterable[str], layout: str) -> list[Finding]:
    """Findings for unknown and missing columns against the routed layout. A renamed column
    (an unknown header close to a missing required one) is one finding: the expected column
    is missing, the unknown header is named as its likely rename and the expected name is the
    suggestion (specs README section 4)."""
    known = list(known)
    present = set(columns)
    unknown = [name for name in columns if name not in known]
    missing = [name for name in required if name not in present]
    renamed = renames(unknown, missing)
    renamed_to = {expected: written for written, expected in renamed.items()}
    out: list[Finding] = []
    for name in unknown:
        if name in renamed:
            continue
        close = difflib.get_close_matches(name, [k for k in known if k not in present], n=1,
                                          cutoff=RENAME_CUTOFF)
        suggestion = f" Did you mean '{close[0]}'?" if close else ""
        out.append(Finding(
            code="E-HEADER-UNKNOWN-COLUMN", row=1, column=name, cell=f"{letters[name]}1",
            message=f"Column '{name}' is not part of the {layout} layout.{suggestion}",
            hint=(f"Rename the column to '{close[0]}'." if close else
                  "Delete the column or correct its name (see the measure's template)."),
            suggestion=close[0] if close else None))
    for name in missing:
        written = renamed_to.get(name)
        if written is not None:
            out.append(Finding(
                code="E-HEADER-MISSING-COLUMN", row=1, column=name,
                cell=f"{letters[written]}1", value=written, suggestion=name,
                message=f"Required column '{name}' is missing from the header row; the column "
                        f"headed '{written}' (cell {letters[written]}1) is probably it, renamed.",
                hint=f"Rename the header '{written}' to '{name}'."))
            continue
        out.append(Finding(
            code="E-HEADER-MISSING-COLUMN", row=1, column=name,
            message=f"Required column '{name}' is missing from the header row.",
            hint=f"Add a column headed '{name}' (the {layout} template has every column)."))
    return out
