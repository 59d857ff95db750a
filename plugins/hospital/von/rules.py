"""VON file rules: three cohorts, INBORN + OUTBORN = ALL for both counts, counts and rates."""

from __future__ import annotations

from collections.abc import Iterable

from gateway_plugins.hospital.common.rules import (
    NoDuplicates,
    NotAbove,
    OneValue,
    RateMatches,
    RequiredValues,
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

COUNTS = ("eligible_infants", "late_infections")


def _label(row: pd.Series) -> str:
    return f"cohort {row['cohort']}"


class CohortsAddUp(CollectedRule):
    """ALL is every eligible infant, so it is the sum of those born here and those
    transferred in."""

    code, title = "E-RULE-TOTALS", "INBORN + OUTBORN = ALL for eligible_infants and " \
                                   "late_infections."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        by_cohort = table.drop_duplicates("cohort").set_index("cohort")
        if not {"INBORN", "OUTBORN", "ALL"} <= set(by_cohort.index):
            return  # a missing cohort is reported by RequiredValues
        total = by_cohort.loc["ALL"]
        for count in COUNTS:
            inborn, outborn = by_cohort.loc["INBORN", count], by_cohort.loc["OUTBORN", count]
            if inborn + outborn != total[count]:
                yield self.at(total, f"{count}: INBORN {show(inborn)} + OUTBORN {show(outborn)} "
                              f"= {show(inborn + outborn)}, but the ALL row says "
                              f"{show(total[count])}.", count)


def von_rules(manifest: Manifest, route: Route, context: RuleContext) -> list[FileRule]:
    """Fresh rules for one VON file."""
    return [
        OneValue(["ccn"]),
        NoDuplicates(["cohort"], "Cohort"),
        RequiredValues("cohort", list(manifest.data["cohorts"]), "cohort"),
        NotAbove([("late_infections", "eligible_infants")], _label),
        RateMatches("late_infections", "eligible_infants", "rate", label=_label, decimals=1),
        CohortsAddUp(),
    ]
