"""One mistake, one problem: which cell of a summary file is wrong when several checks fail.

A count typed wrong (93 for 39) breaks every check it takes part in: numerator <= denominator
on its row, the strata adding up to the total row, the row's rate. The receipt should tell it
once, at the cell the abstractor must change, with the value that makes the numbers agree
("did you mean 39?"), and tell the other failures under it (specs README section 4,
``caused_by`` and ``suggestion``).

The numbers decide, without guessing: a total row is wrong when every breakdown of its strata
agrees on another value, or its own rate agrees with that value and not with its count; a
stratum row is wrong when the total row is right (its rate agrees, or the other breakdowns do)
and exactly one row of the breakdown can take the difference and then satisfy its own checks.
When the numbers do not single out a cell, the totals finding stays the root and names the rows
one of which is wrong.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gateway.contract import ROW, Finding, exact, lazy_module, plain, ratio, within

pd = lazy_module("pandas")

RATE = "reported_rate"
TOLERANCE = "0.05"


@dataclass(frozen=True)
class Suspect:
    """The cell believed wrong, the value that makes the numbers agree (None: unknown), and
    the rows it takes part with (its total row and breakdown)."""

    row: int
    column: str
    value: int | None
    suggestion: str | None
    component: str
    total_row: int
    breakdown_rows: tuple[int, ...]
    why: str
    stratum: dict[str, str] | None = None  # the row's strata other than ALL (None: total)


def _rate_agrees(row: pd.Series, numerator: object, denominator: object) -> bool | None:
    """Whether the row's reported rate agrees with these counts (None: no rate to tell)."""
    if RATE not in row.index or pd.isna(row[RATE]) or pd.isna(numerator) \
            or pd.isna(denominator):
        return None
    expected = ratio(100, numerator, denominator) if denominator else exact(0)
    return within(row[RATE], expected, TOLERANCE)


def _row_ok(row: pd.Series, column: str, value: int) -> bool:
    """Whether the row would pass its own checks with ``value`` in ``column``."""
    numerator = value if column == "numerator" else row.get("numerator")
    denominator = value if column == "denominator" else row.get("denominator")
    if value < 0:
        return False
    if pd.notna(numerator) and pd.notna(denominator) and numerator > denominator:
        return False
    return _rate_agrees(row, numerator, denominator) is not False


def _row_broken(row: pd.Series) -> bool:
    """Whether the row fails a check of its own now (counts out of order, rate off)."""
    n, d = row.get("numerator"), row.get("denominator")
    if pd.notna(n) and pd.notna(d) and n > d:
        return True
    return _rate_agrees(row, n, d) is False


def _stratum(row: pd.Series, names: Sequence[str]) -> dict[str, str] | None:
    found = {s: str(row[s]) for s in names if str(row[s]).upper() != "ALL"}
    return found or None


def find_suspects(totals: pd.DataFrame, strata: pd.DataFrame, counts: Sequence[str],
                  names: Sequence[str], flagged: set[tuple[int, str]]) -> list[Suspect]:
    """The wrong cells the numbers single out (see the module's docstring). ``totals`` is
    indexed by component, ``strata`` carries ``_breakdown``; ``names`` are the strata
    columns; ``flagged`` the (row, column) cells other findings already name (a composite
    larger than its part), which count as a row breaking its own checks."""
    out: list[Suspect] = []

    def broken(row: pd.Series, count: str) -> bool:
        return _row_broken(row) or (int(row[ROW]), count) in flagged

    for component, total in totals.iterrows():
        parts = strata[strata["component"] == component]
        for count in counts:
            if count not in parts.columns or pd.isna(total[count]):
                continue
            groups = {b: g for b, g in parts.groupby("_breakdown") if not g[count].isna().all()}
            sums = {b: int(g[count].sum()) for b, g in groups.items()}
            value = int(total[count])
            off = {b: s for b, s in sums.items() if s != value}
            if not off:
                continue
            rows = tuple(int(r) for r in parts[ROW])
            agreed = set(sums.values())
            total_fix = next(iter(agreed)) if len(agreed) == 1 else None
            total_evidence = total_fix is not None and (
                len(sums) > 1 or (broken(total, count) and _row_ok(total, count, total_fix)))
            if total_evidence and total_fix is not None:
                out.append(Suspect(int(total[ROW]), count, total_fix, str(total_fix),
                                   str(component), int(total[ROW]), rows,
                                   f"the strata add up to {total_fix}"))
                continue
            total_right = len(sums) - len(off) > 0 or _rate_agrees(
                total, total.get("numerator"), total.get("denominator")) is True
            for breakdown, summed in off.items():
                delta = summed - value
                group = groups[breakdown]
                feasible = [(r, int(r[count]) - delta) for _, r in group.iterrows()
                            if pd.notna(r[count]) and _row_ok(r, count, int(r[count]) - delta)]
                evident = [(r, v) for r, v in feasible if broken(r, count)]
                chosen = evident if len(evident) == 1 else feasible
                group_rows = tuple(int(r) for r in group[ROW])
                if total_right and len(chosen) == 1:
                    row, fixed = chosen[0]
                    out.append(Suspect(int(row[ROW]), count, fixed, str(fixed), str(component),
                                       int(total[ROW]), group_rows,
                                       f"the other rows and the total row agree on {fixed}",
                                       _stratum(row, names)))
                else:
                    out.append(Suspect(int(total[ROW]), count, None, None, str(component),
                                       int(total[ROW]), group_rows, ""))
    return out


def explain_findings(findings: list[Finding], suspects: Sequence[Suspect],
                     cells: Mapping[str, str], table: pd.DataFrame) -> list[Finding]:
    """The findings with roots at the suspect cells and the rest ``caused_by`` them; a
    finding is moved to a suspect cell no finding names (a stratum row only the totals
    caught). Length and order are kept."""
    out = list(findings)
    by_row = {int(r[ROW]): r for _, r in table.iterrows()}
    for suspect in suspects:
        related = [i for i, f in enumerate(out) if f.caused_by is None and _follows(
            f, suspect)]
        if not related:
            continue
        at_cell = [i for i in related if (out[i].row, out[i].column)
                   == (suspect.row, suspect.column)]
        root = at_cell[0] if at_cell else _movable(out, related)
        if suspect.suggestion is None:
            out[root] = _ambiguous(out[root], suspect)
            continue
        out[root] = _as_root(out[root], suspect, cells, by_row.get(suspect.row))
        for i in related:
            if i != root:
                out[i] = _consequence(out[i], root)
    return out


def _follows(finding: Finding, suspect: Suspect) -> bool:
    """Whether ``finding`` is one the suspect cell breaks: a check of its row that reads it
    (the count itself, the counts' order, the rate), or the totals of its count."""
    if finding.row is None:
        return False
    if finding.row == suspect.row and (
            finding.column in (suspect.column, RATE)
            or finding.code == "E-RULE-NUMERATOR-GT-DENOMINATOR"):
        return True
    if finding.code == "E-RULE-TOTALS":
        return finding.row == suspect.total_row and finding.column == suspect.column
    # a composite compared with a part: the same stratum, the suspect's count, either side
    return finding.code == "E-RULE-COMPOSITE" and finding.column == suspect.column \
        and finding.record is not None and finding.record.get("stratum") == suspect.stratum \
        and (finding.row == suspect.row or f" {suspect.component} " in finding.message)


def _movable(findings: list[Finding], related: list[int]) -> int:
    """The finding to move to the suspect cell: its totals finding, else the first."""
    for i in related:
        if findings[i].code == "E-RULE-TOTALS":
            return i
    return related[0]


def _as_root(finding: Finding, suspect: Suspect, cells: Mapping[str, str],
             row: pd.Series | None) -> Finding:
    value = plain(row[suspect.column]) if row is not None else finding.value
    letter = cells.get(suspect.column)
    moved = (finding.row, finding.column) != (suspect.row, suspect.column)
    message = finding.message
    if moved:
        message = (f"{suspect.column} {value} on row {suspect.row} is probably mistyped: "
                   f"{finding.message}")
    return dataclasses.replace(
        finding, row=suspect.row, column=suspect.column, value=value,
        cell=f"{letter}{suspect.row}" if letter else None, suggestion=suspect.suggestion,
        message=f"{message} Did you mean {suspect.suggestion}? "
                f"{suspect.why[0].upper()}{suspect.why[1:]}.",
        hint=f"Enter {suspect.suggestion} as {suspect.column} on row {suspect.row} if the "
             "source agrees; the other problems listed under this one follow from it.")


def _consequence(finding: Finding, root: int) -> Finding:
    hint = finding.hint
    if finding.code == "E-RULE-RATE-MISMATCH" or finding.code.startswith("E-RULE-NUMERATOR"):
        hint = ("This follows from the count named in the problem above it; once that is "
                "corrected this check agrees.")
    # a value computed from the mistyped count is no suggestion
    return dataclasses.replace(finding, caused_by=root, hint=hint, suggestion=None)


def _ambiguous(finding: Finding, suspect: Suspect) -> Finding:
    """A totals finding whose wrong cell the numbers do not single out names the rows."""
    rows = ", ".join(str(r) for r in suspect.breakdown_rows[:12])
    more = " and more" if len(suspect.breakdown_rows) > 12 else ""
    if "One of rows" in finding.message:
        return finding
    return dataclasses.replace(finding, message=f"{finding.message} One of rows {rows}{more} "
                               f"or the total row {suspect.total_row} is wrong.")
