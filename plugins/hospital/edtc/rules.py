"""EDTC file rules: eight rows, one denominator, EDTC-ALL within every sub-measure, sampling."""

from __future__ import annotations

from collections.abc import Iterable

from gateway_plugins.hospital.common.rules import (
    NoDuplicates,
    NotAbove,
    OneValue,
    QuarterInYear,
    RateMatches,
    RequiredValues,
    SameValue,
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

ALL = "EDTC-ALL"


def _label(row: pd.Series) -> str:
    return f"measure {row['measure']}"


class AllWithinParts(CollectedRule):
    """A transfer meets EDTC-ALL only if it meets every sub-measure, so EDTC-ALL's numerator
    is no larger than any sub-measure's."""

    code, title = "E-RULE-COMPOSITE", "EDTC-ALL numerator <= every sub-measure's numerator."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        composite = table[table["measure"] == ALL]
        if composite.empty:
            return
        row = composite.iloc[0]
        for _, part in table[table["measure"] != ALL].iterrows():
            if pd.notna(part["numerator"]) and row["numerator"] > part["numerator"]:
                yield self.at(row, f"EDTC-ALL numerator {show(row['numerator'])} is larger than "
                              f"{part['measure']} numerator {show(part['numerator'])}; a transfer "
                              "that meets all sub-measures meets each one.", "numerator")


class Sampling(CollectedRule):
    """FULL abstracts every transfer (denominator = eligible_population); SAMPLE is allowed
    only above the minimum sample and draws at least that many."""

    code = "E-RULE-SAMPLE-SIZE"

    def __init__(self, minimum: int) -> None:
        super().__init__()
        self.minimum = minimum
        self.title = (f"FULL: denominator = eligible_population. SAMPLE: eligible_population > "
                      f"{minimum} and denominator between {minimum} and eligible_population.")

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        row = table.iloc[0]
        basis, eligible, drawn = row["population_basis"], row["eligible_population"], \
            row["denominator"]
        if basis == "FULL" and eligible != drawn:
            yield self.at(row, f"population_basis is FULL but denominator {show(drawn)} is not "
                          f"eligible_population {show(eligible)}; a full population abstracts "
                          "every transfer.", "denominator")
        if basis == "SAMPLE":
            if eligible <= self.minimum:
                yield self.at(row, f"eligible_population is {show(eligible)}: a quarter with "
                              f"{self.minimum} transfers or fewer is abstracted in full "
                              "(population_basis FULL).", "population_basis")
            elif drawn < self.minimum or drawn > eligible:
                yield self.at(row, f"The sample has {show(drawn)} transfers; draw at least "
                              f"{self.minimum} and no more than the {show(eligible)} eligible.",
                              "denominator")


def edtc_rules(manifest: Manifest, route: Route, context: RuleContext) -> list[FileRule]:
    """Fresh rules for one EDTC file."""
    return [
        OneValue(["ccn", "quarter"]),
        SameValue("population_basis", "a file is either FULL or SAMPLE"),
        NoDuplicates(["measure"], "Measure"),
        RequiredValues("measure", list(manifest.data["sub_measures"]), "measure"),
        SameValue("denominator", "every row counts the same abstracted transfers"),
        SameValue("eligible_population", "every row counts the same transfers"),
        NotAbove([("numerator", "denominator"), ("denominator", "eligible_population")], _label),
        RateMatches("numerator", "denominator", "rate", label=_label, decimals=1),
        AllWithinParts(),
        Sampling(int(manifest.data["family"]["minimum_sample"])),
        QuarterInYear("quarter", route.reporting_year, str(manifest.deadline_rule)),
    ]
