"""The program's yearly prescribing feed (``opip-prescribing``): its file rules, the figures in
its receipt, and what is remembered when it is accepted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gateway.contract import (
    ROW,
    FileRule,
    Finding,
    RecordBatch,
    ReferenceCollector,
    ReferenceWrite,
    ResultCalculator,
    RuleContext,
    lazy_module,
    show,
)
from gateway_opioid import datasets
from gateway_opioid.collect import CollectsColumns, NarrowRule, repeated_rows
from gateway_opioid.program import YearRules, program
from gateway_opioid.stats import FeedStats, compute, percent, rate_percent

np = lazy_module("numpy")
pd = lazy_module("pandas")

KEY = ("prescriber_npi", "measure")
STATS_COLUMNS = ("prescriber_npi", "specialty_group", "measure", "numerator", "denominator")
PRESCRIBER = ("prescriber_name", "specialty_group", "health_system")


# The core's fix speaks of patients; a feed row is a prescriber's count on a measure.
NUMERATOR_HINT = ("Correct the prescriber's counts for the measure: the numerator is part of "
                  "the denominator, so it is never larger.")


class NumeratorRule(FileRule):
    code = "E-RULE-NUMERATOR-GT-DENOMINATOR"
    title = "A numerator is no more than its denominator."

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        frame = batch.frame
        over = (frame["numerator"] > frame["denominator"]).fillna(False).to_numpy(dtype=bool)
        return [batch.finding(int(i), self.code,
                              f"numerator {frame['numerator'].iat[i]} is larger than "
                              f"denominator {frame['denominator'].iat[i]} (measure "
                              f"{frame['measure'].iat[i]}).", column="numerator",
                              value=int(frame["numerator"].iat[i]), hint=NUMERATOR_HINT)
                for i in np.flatnonzero(over)]

    def finish(self) -> Iterable[Finding]:
        return ()


class DuplicateRule(NarrowRule):
    code = "E-RULE-DUPLICATE"
    title = "One row per prescriber and measure."
    columns = KEY

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        for row, first in repeated_rows(table, KEY):
            yield self.at(row, f"prescriber {row['prescriber_npi']} has a second row for "
                               f"{row['measure']} (the first is row {first}); send one row "
                               "per prescriber and measure.", column="measure")


class ConsistencyRule(NarrowRule):
    """A prescriber whose rows disagree gets a finding on every one of its rows, each naming
    all the values and the rows that carry them: the gateway cannot tell which row is right,
    so it trusts none (the first row is as likely to be the wrong one)."""

    code = "E-RULE-CONSISTENCY"
    title = "One name, specialty group and health system per prescriber."
    columns = ("prescriber_npi", *PRESCRIBER)

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        values = table[list(PRESCRIBER)].astype(object).fillna("")  # empty cells as ""
        npis = table["prescriber_npi"].to_numpy()
        for column in PRESCRIBER:
            counts = values[column].groupby(npis, sort=False).nunique()
            differing = set(counts.index[counts.to_numpy() > 1])
            if not differing:
                continue
            chosen = np.flatnonzero(pd.Series(npis).isin(differing).to_numpy(dtype=bool))
            by_npi: dict[str, dict[str, list[int]]] = {}
            for index in chosen:
                value = values[column].iat[index]
                by_npi.setdefault(npis[index], {}).setdefault(value, []).append(
                    int(table.iloc[index][ROW]))
            for index in chosen:
                row = table.iloc[index]
                seen = "; ".join(f"{show(value or None)} on {_rows(numbers)}"
                                 for value, numbers in by_npi[npis[index]].items())
                yield self.at(row, f"{column} of prescriber {row['prescriber_npi']} differs "
                                   f"between its rows: {seen}; send one value on every row.",
                              column=column)


def _rows(numbers: list[int]) -> str:
    """``row 4`` or ``rows 2, 3 and 9`` (at most 10 listed)."""
    if len(numbers) == 1:
        return f"row {numbers[0]}"
    shown = [str(n) for n in numbers[:10]]
    tail = f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
    if tail:
        return f"rows {', '.join(shown)}{tail}"
    return f"rows {', '.join(shown[:-1])} and {shown[-1]}"


class HealthSystemRule(NarrowRule):
    code = "E-OPIP-UNKNOWN-HEALTH-SYSTEM"
    title = "A health system is a registered clinic or hospital submitter."
    columns = ("health_system",)

    def __init__(self, known: frozenset[str] | None) -> None:
        super().__init__()
        self.known = known

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        if self.known is None:  # no registry: the submitter layer says it was skipped
            return
        ids = table["health_system"].fillna("")
        unknown = (ids != "") & ~ids.isin(self.known)
        for _, row in table[unknown.to_numpy(dtype=bool)].iterrows():
            yield self.at(row, f"health_system {row['health_system']} is not a registered "
                               "clinic or hospital submitter.", column="health_system")


def prescribing_rules(context: RuleContext, health_systems: frozenset[str] | None
                      ) -> list[FileRule]:
    return [NumeratorRule(), DuplicateRule(), ConsistencyRule(),
            HealthSystemRule(health_systems)]


class PrescribingResults(CollectsColumns, ResultCalculator):
    """The receipt's figures: counts, and per measure the specialty averages and thresholds."""

    def __init__(self, rules: YearRules) -> None:
        super().__init__((*STATS_COLUMNS, "health_system"))
        self.rules = rules

    def finish(self) -> dict[str, Any]:
        table = self.collected.table()
        stats = compute(table, self.rules)
        return summary(table, stats, self.rules)


def summary(table: pd.DataFrame, stats: FeedStats, rules: YearRules) -> dict[str, Any]:
    """Counts, per measure each group's average and QI threshold as displayed (percent,
    rounded half up to 0.1), the QI-required prescribers with their measures, and every
    prescriber's rates (opioid.md: computed on acceptance, in the receipt's results)."""
    measures: dict[str, Any] = {}
    for measure_id, measure in program().measures.items():
        groups = {s.specialty: {"prescribers_compared": s.compared,
                                "average_percent": percent(s.average),
                                "qi_threshold_percent": percent(s.threshold)}
                  for (_, m), s in stats.groups.items() if m == measure_id}
        measures[measure_id] = {
            "name": measure.name, "qi_requirement": measure_id in rules.qi_measures,
            "minimum_denominator": rules.min_denominator[measure_id],
            "prescribers_qi_required": sum(measure_id in ms for ms in stats.required.values()),
            "specialty_groups": dict(sorted(groups.items()))}
    systems = sorted({h for h in table["health_system"].dropna() if h})
    return {"measurement_year": rules.year, "rows": len(table),
            "prescribers": int(table["prescriber_npi"].nunique()),
            "health_systems": systems,
            "prescribers_qi_required": len(stats.required), "measures": measures,
            # who must take part in QI, and on what
            "qi_required": dict(sorted(stats.required.items())),
            "rates_percent": rates(table)}


def rates(table: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Each prescriber's rate on every measure in percent (half up to 0.1, from the exact
    counts), by NPI; None where the denominator is 0 or the feed has no row for the measure, so
    every prescriber has the same seven keys (the text receipt shows them as one table)."""
    out: dict[str, dict[str, float | None]] = {}
    for npi, measure, numerator, denominator in zip(
            table["prescriber_npi"], table["measure"], table["numerator"],
            table["denominator"], strict=True):
        if npi not in out:
            out[npi] = dict.fromkeys(program().measures)
        out[npi][measure] = rate_percent(int(numerator), int(denominator))
    return dict(sorted(out.items()))


class PrescribingMemory(CollectsColumns, ReferenceCollector):
    """On acceptance: every prescriber with counts and QI status, and every group's average and
    threshold, replacing what an earlier feed of the same year left."""

    def __init__(self, rules: YearRules) -> None:
        super().__init__((*STATS_COLUMNS, "prescriber_name", "health_system"))
        self.rules = rules

    def finish(self, results: Mapping[str, Any] | None) -> list[ReferenceWrite]:
        table = self.collected.table()
        stats = compute(table, self.rules)
        year = self.rules.year
        prescribers: dict[str, dict[str, Any]] = {}
        for row in table.itertuples(index=False):
            entry = prescribers.get(row.prescriber_npi)
            if entry is None:
                hs = row.health_system if isinstance(row.health_system, str) else None
                entry = prescribers[row.prescriber_npi] = {
                    "name": row.prescriber_name, "specialty": row.specialty_group,
                    "health_system": hs or None, "measures": {},
                    "qi_required": stats.required.get(row.prescriber_npi, [])}
            entry["measures"][row.measure] = [int(row.numerator), int(row.denominator)]
        groups: dict[str, dict[str, Any]] = {}
        for (specialty, measure), stat in stats.groups.items():
            groups.setdefault(specialty, {})[measure] = {
                "compared": stat.compared, "average": stat.average, "threshold": stat.threshold,
                # where each prescriber stands (the page's percentile and quartiles), kept
                # only for groups large enough to be shown at all
                "rates": list(stat.rates) if stat.compared >= self.rules.min_prescribers
                else []}
        return [ReferenceWrite(datasets.prescribers(year), prescribers, replace=True),
                ReferenceWrite(datasets.specialties(year), groups, replace=True)]
