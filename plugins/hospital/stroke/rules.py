"""Stroke Registry file rules: times in order (both times in the finding), discharge inside
the quarter, one row per patient."""

from __future__ import annotations

from collections.abc import Iterable

from gateway_plugins.hospital.common.periods import parse_quarter
from gateway_plugins.hospital.common.rules import NoDuplicates, OneValue, QuarterInYear

from gateway.contract import (
    CollectedRule,
    FileRule,
    Finding,
    Manifest,
    Route,
    RuleContext,
    lazy_module,
    quarter_bounds,
)

pd = lazy_module("pandas")

TIMED = ("imaging_time", "thrombolytic_time")


def _hm(value: pd.Timestamp) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


class TimesAfterArrival(CollectedRule):
    """Imaging and treatment follow arrival; an earlier time is a date or AM/PM slip, and
    both times are shown so the abstractor can see which one is wrong."""

    code, title = "E-RULE-TIME-ORDER", "imaging_time and thrombolytic_time not before arrival."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        for column in TIMED:
            early = table[(table[column] < table["arrival_time"]).fillna(False)]
            for _, row in early.iterrows():
                yield self.at(row, f"{column} {_hm(row[column])} is before arrival_time "
                              f"{_hm(row['arrival_time'])} (patient {row['patient_id']}); "
                              "imaging and treatment follow arrival.", column,
                              hint=f"Check both times in the chart: {column} must be on or "
                                   f"after arrival_time {_hm(row['arrival_time'])} (dates "
                                   "swapped or a.m./p.m. mixed up?).")


class LateThrombolytic(CollectedRule):
    code = "W-RULE-PLAUSIBILITY"

    def __init__(self, hours: int) -> None:
        super().__init__()
        self.hours = hours
        self.title = f"A thrombolytic more than {hours} hours after arrival is a warning."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        late = table[((table["thrombolytic_time"] - table["arrival_time"])
                      > pd.Timedelta(hours=self.hours)).fillna(False)]
        for _, row in late.iterrows():
            yield self.at(row, f"thrombolytic_time {_hm(row['thrombolytic_time'])} is more than "
                          f"{self.hours} hours after arrival_time {_hm(row['arrival_time'])} "
                          f"(patient {row['patient_id']}); please check both times.",
                          "thrombolytic_time")


class DischargeInQuarter(CollectedRule):
    """Patients belong to the quarter of their discharge, or they would be counted twice."""

    code, title = "E-RULE-PERIOD", "discharge_date falls inside the row's quarter."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        for _, row in table.iterrows():
            bounds = quarter_bounds(str(row["quarter"])) if parse_quarter(
                str(row["quarter"])) else None
            if bounds is None or pd.isna(row["discharge_date"]):
                continue
            day = row["discharge_date"].date()
            if not bounds[0] <= day <= bounds[1]:
                yield self.at(row, f"discharge_date {day.isoformat()} is outside quarter "
                              f"{row['quarter']} ({bounds[0].isoformat()} to "
                              f"{bounds[1].isoformat()}); send the patient with the quarter "
                              "of discharge.", "discharge_date")


def stroke_rules(manifest: Manifest, route: Route, context: RuleContext) -> list[FileRule]:
    """Fresh rules for one Stroke Registry file."""
    return [
        OneValue(["ccn", "quarter"]),
        NoDuplicates(["patient_id"], "Patient"),
        TimesAfterArrival(),
        LateThrombolytic(int(manifest.data["family"]["plausible_thrombolytic_hours"])),
        DischargeInQuarter(),
        QuarterInYear("quarter", route.reporting_year, str(manifest.deadline_rule)),
    ]
