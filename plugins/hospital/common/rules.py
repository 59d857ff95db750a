"""Cross-record rules the hospital families share, parameterised by column names.

Hospital files are small (a row per measure, unit, cohort or indicator; stroke files a row per
patient in one quarter), so a rule collects the typed rows and judges them once at the end. Each
row keeps its position: sheet row and cell letters for CSV/XLSX, element path and line for XML.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

from gateway_plugins.hospital.common.periods import quarters_of, reporting_year_of

from gateway.contract import (
    LINE,
    ROW,
    XPATH,
    CollectedRule,
    Finding,
    decimal_text,
    lazy_module,
    ratio,
    show,
    within,
)

pd = lazy_module("pandas")


class OneValue(CollectedRule):
    """Every row carries the same value in each of ``columns`` (one hospital, one period)."""

    code, title = "E-RULE-ONE-FACILITY", "One hospital and one period per file."

    def __init__(self, columns: Sequence[str]) -> None:
        super().__init__()
        self.columns = list(columns)

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        for column in self.columns:
            first = table[column].iloc[0]
            differs = table[(table[column] != first).fillna(False)]
            for _, row in differs.head(20).iterrows():
                yield self.at(row, f"{column} differs from the file's first record "
                              f"({show(first)}); send one file per hospital and period.", column)


class NoDuplicates(CollectedRule):
    """No two rows share ``key`` (a measure, a unit and weight category, a patient)."""

    code = "E-RULE-DUPLICATE"

    def __init__(self, key: Sequence[str], what: str) -> None:
        super().__init__()
        self.key = list(key)
        self.what = what
        self.title = f"No two records share {' and '.join(self.key)}."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        keyed = table[self.key].astype("string").fillna("")
        repeated = table[keyed.duplicated(keep="first")]
        for i, row in repeated.head(100).iterrows():
            firsts = table[(keyed == keyed.loc[i]).all(axis=1)].iloc[0]
            where = _where(firsts)
            label = ", ".join(f"{k} {show(row[k])}" for k in self.key if show(row[k]) != "(empty)")
            yield self.at(row, f"{self.what} {label} appears again; it was first given at "
                          f"{where}. Send it once.", self.key[-1])


def _where(row: pd.Series) -> str:
    if int(row[ROW]) >= 0:
        return f"row {int(row[ROW])}"
    return f"{row[XPATH]} (line {int(row[LINE])})"


class NotAbove(CollectedRule):
    """``low <= high`` on every row where both are given (numerator within denominator)."""

    code = "E-RULE-NUMERATOR-GT-DENOMINATOR"

    def __init__(self, pairs: Sequence[tuple[str, str]], label: Callable[[pd.Series], str]
                 ) -> None:
        super().__init__()
        self.pairs = list(pairs)
        self.label = label
        self.title = "; ".join(f"{low} <= {high}" for low, high in self.pairs) + " on every row."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        for low, high in self.pairs:
            bad = table[(table[low] > table[high]).fillna(False)]
            for _, row in bad.iterrows():
                yield self.at(row, f"{low} {show(row[low])} is larger than {high} "
                              f"{show(row[high])} ({self.label(row)}); it must be no larger.", low,
                              hint=f"Recount: {low} must be at most {high} "
                                   f"({show(row[high])}); cases counted in {low} are also "
                                   f"in {high}.")


class RateMatches(CollectedRule):
    """A reported rate equals ``scale * numerator / denominator`` within a tolerance; the rate
    is empty when the denominator is 0."""

    code = "E-RULE-RATE-MISMATCH"

    def __init__(self, numerator: str, denominator: str, rate: str, *,
                 scale: Callable[[pd.Series], float] | float = 100.0, tolerance: str = "0.05",
                 label: Callable[[pd.Series], str] = lambda row: "",
                 applies: Callable[[pd.DataFrame], pd.Series] | None = None,
                 decimals: int = 2) -> None:
        super().__init__()
        self.numerator, self.denominator, self.rate = numerator, denominator, rate
        self.scale, self.tolerance, self.label, self.applies = scale, tolerance, label, applies
        self.decimals = decimals  # the template's precision, for the value suggested
        self.title = (f"{rate} equals the rate computed from {numerator} / {denominator} within "
                      f"{tolerance}; empty when {denominator} is 0.")

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        rows = table if self.applies is None else table[self.applies(table).fillna(False)]
        for _, row in rows.iterrows():
            n, d, r = row[self.numerator], row[self.denominator], row[self.rate]
            if pd.isna(n) or pd.isna(d) or n > d:
                continue  # counts out of order are reported by NotAbove
            where = self.label(row)
            if d == 0:
                if pd.notna(r):
                    yield self.at(row, f"{self.rate} is {show(r)} but {self.denominator} is 0; "
                                  "leave the rate empty when there is nothing to divide by "
                                  f"({where}).", self.rate)
                continue
            scale = self.scale(row) if callable(self.scale) else self.scale
            expected = ratio(scale, n, d)
            shown = decimal_text(expected, self.decimals)
            if pd.isna(r):
                found = self.at(row, f"{self.rate} is empty; it should be {shown} "
                                f"({scale:g} x {show(n)} / {show(d)}) ({where}).", self.rate,
                                hint=f"Enter {shown} as {self.rate}.")
                yield dataclasses.replace(found, suggestion=shown)
            elif not within(r, expected, self.tolerance):
                found = self.at(row, f"{self.rate} {show(r)} does not match {scale:g} x "
                                f"{show(n)} / {show(d)} = {shown} ({where}).", self.rate,
                                hint=f"Enter {shown} as {self.rate}, or correct "
                                     f"{self.numerator} and {self.denominator} if they are "
                                     "wrong.")
                yield dataclasses.replace(found, suggestion=shown)


class RequiredValues(CollectedRule):
    """Rows for every value in ``values`` of ``column`` are present (all eight EDTC rows)."""

    code = "E-RULE-MISSING-MEASURE"

    def __init__(self, column: str, values: Sequence[str], what: str) -> None:
        super().__init__()
        self.column, self.values, self.what = column, list(values), what
        self.title = f"Every {what} is present: {', '.join(self.values)}."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        have = set(table[self.column].dropna().astype(str))
        for value in self.values:
            if value not in have:
                yield self.nowhere(f"There is no row for {self.what} {value}; the file must "
                                   f"have one for each of {', '.join(self.values)}.", self.column)


class QuarterInYear(CollectedRule):
    """The quarter belongs to the file's reporting year under the family's deadline rule."""

    code = "E-RULE-PERIOD"

    def __init__(self, column: str, reporting_year: int, deadline_rule: str) -> None:
        super().__init__()
        self.column, self.year, self.rule = column, reporting_year, deadline_rule
        self.title = (f"{column} is a quarter whose data are due in the reporting year "
                      f"({deadline_rule} deadlines).")

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        allowed = quarters_of(self.year, self.rule)
        seen: set[str] = set()
        for _, row in table.iterrows():
            quarter = row[self.column]
            if pd.isna(quarter) or quarter in seen:
                continue
            seen.add(quarter)
            if reporting_year_of(str(quarter), self.rule) != self.year:
                yield self.at(row, f"{self.column} {quarter} is not due in reporting year "
                              f"{self.year}; that year takes quarters {', '.join(allowed)}.",
                              self.column, hint=f"Enter one of {', '.join(allowed)}, or "
                                                "correct the reporting year.")


class SameValue(CollectedRule):
    """Every row has the same value in ``column`` (EDTC: one denominator for all eight rows)."""

    code = "E-RULE-CONSISTENCY"

    def __init__(self, column: str, why: str) -> None:
        super().__init__()
        self.column, self.why = column, why
        self.title = f"{column} is the same on every row ({why})."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        first = table[self.column].iloc[0]
        for _, row in table[(table[self.column] != first).fillna(False)].head(20).iterrows():
            yield self.at(row, f"{self.column} is {show(row[self.column])} but the first row "
                          f"says {show(first)}; {self.why}.", self.column)
