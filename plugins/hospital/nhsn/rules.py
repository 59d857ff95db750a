"""NHSN CLABSI file rules: counts in order, weight categories per unit, rates per 1,000."""

from __future__ import annotations

from collections.abc import Iterable

from gateway_plugins.hospital.common.periods import quarter_days
from gateway_plugins.hospital.common.rules import (
    NoDuplicates,
    NotAbove,
    OneValue,
    QuarterInYear,
    RateMatches,
)

from gateway.contract import (
    CollectedRule,
    FileRule,
    Finding,
    Manifest,
    Route,
    RuleContext,
    lazy_module,
    show,
)

pd = lazy_module("pandas")


def unit_label(row: pd.Series) -> str:
    """A unit and, for a NICU, its weight category, as the hospital names them."""
    category = row["birthweight_category"]
    return f"unit {row['location_code']}" + (
        f" category {category}" if pd.notna(category) else "")


class WeightCategories(CollectedRule):
    """A NICU reports every birth-weight category (the schema keeps PICUs free of them)."""

    code = "E-RULE-MISSING-MEASURE"
    title = "Every NICU unit has a row for each birth-weight category A to E."

    def __init__(self, categories: list[str]) -> None:
        super().__init__()
        self.categories = categories

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        nicu = table[table["location_type"].astype(str).str.startswith("NICU")]
        for code, unit in nicu.groupby("location_code", sort=False):
            have = set(unit["birthweight_category"].dropna().astype(str))
            missing = [c for c in self.categories if c not in have]
            if missing:
                yield self.at(unit.iloc[0], f"NICU unit {code} has no row for birth-weight "
                              f"categor{'y' if len(missing) == 1 else 'ies'} "
                              f"{', '.join(missing)}; a NICU reports all five (A to E), with "
                              "zeros where there were no patients.", "birthweight_category")


class OneTypePerUnit(CollectedRule):
    """A unit is one kind of ICU; two types for one code is a typo in one of them."""

    code, title = "E-RULE-CONSISTENCY", "A location_code has one location_type."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        for code, unit in table.groupby("location_code", sort=False):
            first = unit["location_type"].iloc[0]
            for _, row in unit[unit["location_type"] != first].iterrows():
                yield self.at(row, f"Unit {code} is {show(row['location_type'])} here but "
                              f"{show(first)} on its first row; a unit has one type.",
                              "location_type")


class PlausiblePatientDays(CollectedRule):
    """More patient days in a unit than ``beds`` beds full every day of the quarter is
    possible only by mistake (a year's days, or days summed over units): a warning."""

    code = "W-RULE-PLAUSIBILITY"

    def __init__(self, beds: int) -> None:
        super().__init__()
        self.beds = beds
        self.title = f"A unit's patient_days at most {beds} beds' worth for the quarter."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        for code, unit in table.groupby("location_code", sort=False):
            limit = self.beds * quarter_days(str(unit["quarter"].iloc[0]))
            total = int(unit["patient_days"].sum())
            if total > limit:
                yield self.at(unit.iloc[0], f"Unit {code} reports {total} patient days, more "
                              f"than {self.beds} beds full every day of the quarter ({limit}); "
                              "check that these are one quarter's days for this unit.",
                              "patient_days")


def nhsn_rules(manifest: Manifest, route: Route, context: RuleContext) -> list[FileRule]:
    """Fresh rules for one NHSN file."""
    return [
        OneValue(["ccn", "quarter"]),
        NoDuplicates(["location_code", "birthweight_category"], "Unit and category"),
        OneTypePerUnit(),
        NotAbove([("clabsi_events", "central_line_days"),
                  ("central_line_days", "patient_days")], unit_label),
        RateMatches("clabsi_events", "central_line_days", "rate", scale=1000.0, tolerance="0.01",
                    label=unit_label),
        WeightCategories(list(manifest.data["birthweight_categories"])),
        PlausiblePatientDays(int(manifest.data["family"]["plausible_beds"])),
        QuarterInYear("quarter", route.reporting_year, str(manifest.deadline_rule)),
    ]
