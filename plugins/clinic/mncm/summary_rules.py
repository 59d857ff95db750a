"""File rules of summary-level clinic files (clinic spec, "Summary level")."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from gateway_plugins.clinic.mncm.manifest import MeasureSpec
from gateway_plugins.clinic.mncm.one_mistake import explain_findings, find_suspects

from gateway.contract import (
    ROW,
    CollectedRule,
    FileRule,
    Finding,
    decimal_text,
    exact,
    lazy_module,
    ratio,
    within,
)

pd = lazy_module("pandas")

RATE_TOLERANCE = 0.05
RATE_TOLERANCE_TEXT = "0.05"  # compared exactly (gateway.contract.arithmetic)
MIN_SAMPLE, MIN_OVERSAMPLE = 60, 20


class SummaryRule(CollectedRule):
    """A summary rule knows the measure's components and strata."""

    def __init__(self, measure: MeasureSpec) -> None:
        super().__init__()
        self.measure = measure
        self.strata = list(measure.strata)

    @classmethod
    def applies(cls, measure: MeasureSpec) -> bool:
        """Whether the rule is part of this measure's contract (default: every measure)."""
        return True

    def is_total(self, table: pd.DataFrame) -> pd.Series:
        return (table[self.strata] == "ALL").all(axis=1)

    def breakdowns(self, table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(total rows by component, stratum rows with ``_breakdown``): rows that break down
        the same strata (the same fields set, the rest ALL) form one breakdown; a fully
        cross-classified file has one, a marginal file one per stratum."""
        total_mask = self.is_total(table)
        totals = table[total_mask].drop_duplicates("component").set_index("component")
        strata = table[~total_mask].copy()
        strata["_breakdown"] = (strata[self.strata] != "ALL").apply(
            lambda flags: ",".join(s for s, f in zip(self.strata, flags, strict=True) if f),
            axis=1) if len(strata) else pd.Series(dtype=str)
        return totals, strata

    def label(self, row: pd.Series) -> str:
        """Component and non-ALL strata, as a person would name the row."""
        parts = [f"{s}={row[s]}" for s in self.strata if row[s] != "ALL"]
        return f"component {row['component']}" + (f" ({', '.join(parts)})" if parts
                                                  else " total row")


class SameOnEveryRow(SummaryRule):
    """Every row carries the first row's value in ``column`` (one clinic, one basis a file)."""

    column = ""
    advice = ""

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        first = table[self.column].iloc[0]
        for _, row in table[table[self.column] != first].head(20).iterrows():
            yield self.at(row, f"{self.column} differs from the file's first row ({first}); "
                          f"{self.advice}", self.column)


class OneClinic(SameOnEveryRow):
    code, title = "E-RULE-ONE-FACILITY", "One clinic NPI per file."
    column, advice = "clinic_npi", "send one file per clinic."


class OneBasis(SameOnEveryRow):
    code, title = "E-RULE-CONSISTENCY", "One population_basis per file."
    column, advice = "population_basis", "a file is either FULL or SAMPLE."


class NoDuplicateStrata(SummaryRule):
    code, title = "E-RULE-DUPLICATE", "No two rows share the component and every stratum."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        key = ["component", *self.strata]
        repeated = table[table.duplicated(key, keep=False)]
        for _, group in repeated.groupby(key, sort=False):
            rows = group[ROW].tolist()
            for _, row in group.iloc[1:].iterrows():
                yield self.at(row, f"{self.label(row)} appears again: rows "
                              f"{', '.join(map(str, rows))} describe the same stratum.")


class CountsInOrder(SummaryRule):
    code = "E-RULE-NUMERATOR-GT-DENOMINATOR"
    title = "0 <= numerator <= denominator on every row."

    @classmethod
    def applies(cls, measure: MeasureSpec) -> bool:
        return not measure.averages

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        bad = table[(table["numerator"] > table["denominator"]).fillna(False)]
        for _, row in bad.iterrows():
            yield self.at(row, f"numerator {row['numerator']} is larger than "
                          f"denominator {row['denominator']} ({self.label(row)}).", "numerator",
                          hint=f"Recount: the numerator can be at most the denominator "
                               f"({row['denominator']}); every patient counted in it is also "
                               "in the denominator.")


class TotalsPresent(SummaryRule):
    code = "E-RULE-TOTALS"
    title = "Every component of the measure has a total row (composites: ALL and every part)."

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        totals = table[self.is_total(table)]
        have = set(totals["component"])
        for component in self.measure.all_components:
            if component not in have:
                what = "the composite (ALL)" if component == "ALL" and self.measure.components \
                    else f"component {component}"
                yield Finding(code=self.code, message=f"There is no total row for {what}: a "
                              "row with every stratum set to ALL.", column="component")


class StrataAddUp(SummaryRule):
    code = "E-RULE-TOTALS"
    title = ("Per component, each breakdown of the strata sums to the total row (numerator and "
             "denominator).")

    _table: pd.DataFrame | None = None

    def counts(self) -> list[str]:
        return ["denominator", *([] if self.measure.averages else ["numerator"]),
                *self.measure.extra_counts]

    def explain(self, findings: list[Finding]) -> list[Finding]:
        """One mistyped count is one problem: the cell the totals, the counts' order and the
        rates single out is the root, with the value that makes them agree
        (``one_mistake``)."""
        if self._table is None or not any(f.code == "E-RULE-TOTALS" for f in findings):
            return findings
        totals, strata = self.breakdowns(self._table)
        flagged = {(f.row, f.column) for f in findings if f.row is not None and f.column
                   and f.code != "E-RULE-TOTALS"}
        suspects = find_suspects(totals, strata, self.counts(), self.strata, flagged)
        return explain_findings(findings, suspects, self._cells, self._table)

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        self._table = table
        totals, strata = self.breakdowns(table)
        counts = self.counts()
        for (component, breakdown), group in strata.groupby(["component", "_breakdown"]):
            if component not in totals.index:
                continue
            total = totals.loc[component]
            for count in counts:
                if group[count].isna().all():
                    continue
                summed = int(group[count].sum())
                if summed != int(total[count]):
                    yield self.at(total, f"Component {component}: the {count}s of "
                                  f"the strata by {breakdown.replace(',', ' x ')} add up to "
                                  f"{summed}, but the total row says {total[count]}.", count,
                                  hint=f"Make the strata's {count}s add up to "
                                       f"{total[count]}, or correct the total row to {summed}.")


class RateMatches(SummaryRule):
    code, title = "E-RULE-RATE-MISMATCH", "reported_rate equals 100 * numerator / denominator " \
                                          "within 0.05."

    @classmethod
    def applies(cls, measure: MeasureSpec) -> bool:
        return not measure.averages

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        rated = table[table["reported_rate"].notna()]
        for _, row in rated.iterrows():
            denominator = row["denominator"]
            if pd.isna(denominator) or pd.isna(row["numerator"]):
                continue
            expected = ratio(100, row["numerator"], denominator) if denominator else exact(0)
            if not within(row["reported_rate"], expected, RATE_TOLERANCE_TEXT):
                shown = decimal_text(expected, 1)
                # counts out of order give a rate no row can have: not a value to enter
                possible = 0 <= row["numerator"] <= denominator
                found = self.at(
                    row, f"reported_rate {row['reported_rate']} does not match 100 x "
                    f"{row['numerator']} / {denominator} = {shown} ({self.label(row)}).",
                    "reported_rate",
                    hint=f"Enter {shown} as reported_rate, or correct the numerator and "
                         "denominator if they are wrong." if possible else
                         "Correct the numerator and denominator first (the numerator cannot "
                         "exceed the denominator); then enter the rate they give.")
                yield dataclasses.replace(found, suggestion=shown) if possible else found


class CompositeWithinParts(SummaryRule):
    code = "E-RULE-COMPOSITE"
    title = ("For each stratum the composite's numerator is no larger than any part's "
             "numerator.")

    @classmethod
    def applies(cls, measure: MeasureSpec) -> bool:
        return bool(measure.components) and not measure.averages

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        composite = table[table["component"] == "ALL"].set_index(self.strata)
        for part in self.measure.components:
            rows = table[table["component"] == part].set_index(self.strata)
            joined = composite.join(rows[["numerator"]].rename(
                columns={"numerator": "numerator_part"}), how="inner")
            for _, row in joined[joined["numerator"] > joined["numerator_part"]].iterrows():
                yield self.at(row, f"The composite (ALL) numerator {row['numerator']}"
                              f" is larger than the {part} numerator {row['numerator_part']} for"
                              f" the same stratum; a patient who meets every target meets each "
                              "one.", "numerator")


class AverageMatches(SummaryRule):
    code = "E-RULE-AVERAGE-MISMATCH"
    title = ("Per component, the denominator-weighted mean of each breakdown's average_change "
             "equals the total row's within 0.05.")

    @classmethod
    def applies(cls, measure: MeasureSpec) -> bool:
        return measure.averages

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        totals, strata = self.breakdowns(table)
        for (component, breakdown), group in strata.groupby(["component", "_breakdown"]):
            if component not in totals.index or group["denominator"].sum() == 0:
                continue
            total = totals.loc[component]
            known = group[group["average_change"].notna() & group["denominator"].notna()]
            weights = [exact(w) for w in known["denominator"]]
            if pd.isna(total["average_change"]) or not sum(weights):
                continue
            mean = sum((exact(a) * w for a, w in zip(known["average_change"], weights,
                                                      strict=True)), exact(0)) / sum(weights)
            if not within(total["average_change"], mean, RATE_TOLERANCE_TEXT):
                yield self.at(total, f"Component {component}: the strata by "
                              f"{breakdown.replace(',', ' x ')} average "
                              f"{decimal_text(mean, 2)} (weighted by denominator), but the "
                              f"total row says {total['average_change']}.", "average_change")


class FollowupWithinDenominator(SummaryRule):
    code = "E-RULE-CONSISTENCY"
    title = "numerator + no_followup <= denominator (a patient in remission had a follow-up)."

    @classmethod
    def applies(cls, measure: MeasureSpec) -> bool:
        return "no_followup" in measure.extra_counts

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        # rows whose numerator already exceeds the denominator are CountsInOrder's to report
        known = table[table["no_followup"].notna()
                      & (table["numerator"] <= table["denominator"]).fillna(False)]
        bad = known[(known["numerator"] + known["no_followup"] > known["denominator"])
                    .fillna(False)]
        for _, row in bad.iterrows():
            yield self.at(row, f"numerator {row['numerator']} plus no_followup "
                          f"{row['no_followup']} is more than denominator {row['denominator']} "
                          f"({self.label(row)}); a patient in remission had a follow-up.",
                          "no_followup")


class SampleRules(SummaryRule):
    code, title = "E-RULE-SAMPLE-SIZE", ("SAMPLE only where allowed; sample_size >= 60 and "
                                         "oversample >= 20; eligible_population < 60 must be "
                                         "FULL; strata sum to sample_size; measures sampled "
                                         "per age band follow these rules in each band.")

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        totals = table[self.is_total(table)]
        sampled = totals["population_basis"] == "SAMPLE"
        if sampled.any() and not self.measure.sample_allowed:
            row = totals[sampled].iloc[0]
            yield self.at(row, f"{self.measure.measure} may not be sampled; submit "
                          "the full population (population_basis FULL).", "population_basis")
            return
        for _, row in totals[totals["population_basis"] == "FULL"].iterrows():
            if pd.notna(row.get("sample_size")):
                yield self.at(row, "sample_size is given but population_basis is "
                              "FULL; clear it or mark the file SAMPLE.", "sample_size")
        sample_totals = totals[totals["population_basis"] == "SAMPLE"]
        if sample_totals.empty:
            return
        if self.measure.sample_per_band:
            yield from self._judge_bands(table, sample_totals)
            return
        for _, row in sample_totals.iterrows():
            yield from self._judge_sample(row, "")

    def _judge_bands(self, table: pd.DataFrame, totals: pd.DataFrame) -> Iterable[Finding]:
        """Each age band's row (other strata ALL) is a sample; the total adds them up."""
        others = [s for s in self.strata if s != "age_band"]
        bands = table[(table[others] == "ALL").all(axis=1) & (table["age_band"] != "ALL")]
        for _, row in bands.iterrows():
            yield from self._judge_sample(row, f" in age band {row['age_band']}")
        for _, total in totals.iterrows():
            parts = bands[bands["component"] == total["component"]]
            summed = int(parts["sample_size"].fillna(0).sum())
            if len(parts) and summed != total["sample_size"]:
                yield self.at(total, f"The age bands' sample sizes add up to "
                              f"{summed}, but the total row's sample_size is "
                              f"{total['sample_size']}.", "sample_size")
            if pd.notna(total["sample_size"]) and total["denominator"] != total["sample_size"]:
                yield self.at(total, f"The total row's denominator "
                              f"{total['denominator']} is not the sample_size "
                              f"{total['sample_size']}.", "denominator")

    def _judge_sample(self, row: pd.Series, where: str) -> Iterable[Finding]:
        eligible = row["eligible_population"]
        if pd.notna(eligible) and eligible < MIN_SAMPLE:
            yield self.at(row, f"eligible_population{where} is {eligible}, under "
                          f"{MIN_SAMPLE}: a population this small must be submitted FULL.",
                          "population_basis")
        if pd.notna(row["sample_size"]) and row["sample_size"] < MIN_SAMPLE:
            yield self.at(row, f"sample_size{where} is {row['sample_size']}; a "
                          f"sample has at least {MIN_SAMPLE} patients.", "sample_size")
        if pd.notna(row["oversample"]) and row["oversample"] < MIN_OVERSAMPLE:
            yield self.at(row, f"oversample{where} is {row['oversample']}; draw at "
                          f"least {MIN_OVERSAMPLE} extra patients.", "oversample")
        if pd.notna(row["sample_size"]) and row["denominator"] != row["sample_size"]:
            yield self.at(row, f"The denominator{where} {row['denominator']} "
                          f"is not the sample_size {row['sample_size']}.", "denominator")


SUMMARY_RULES: tuple[type[SummaryRule], ...] = (
    OneClinic, OneBasis, NoDuplicateStrata, CountsInOrder, TotalsPresent, StrataAddUp,
    RateMatches, AverageMatches, CompositeWithinParts, FollowupWithinDenominator, SampleRules)


def summary_rules(measure: MeasureSpec) -> list[FileRule]:
    """The file rules of the measure's summary layout (those that apply to it)."""
    return [rule(measure) for rule in SUMMARY_RULES if rule.applies(measure)]
