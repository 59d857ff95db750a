"""QI forms and exemption requests (opioid.md, files 2-5): rules that look back at the accepted
prescribing feed and earlier forms, the receipt's figures, and what an accepted form adds.

Every rule of a form file shares one ``FormFacts``: the reference lookups of the file's
prescribers, made once. Without accepted prescribing data for the measurement year the file is
refused with ``E-OPIP-NO-DATA`` before any record is read (``no_data``, a precondition: the
spec's "checked first: without data nothing else is judged"); a row whose prescriber is not
the sending health system's gets ``E-SUBMITTER-FACILITY`` and is judged no further (its QI
status is another system's business).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

from gateway.contract import (
    CollectedRule,
    FileRule,
    Finding,
    ReferenceCollector,
    ReferenceView,
    ReferenceWrite,
    ResultCalculator,
    RuleContext,
    lazy_module,
)
from gateway_opioid import datasets
from gateway_opioid.collect import CollectsColumns, repeated_rows
from gateway_opioid.program import (
    EXEMPTION,
    QI_EVALUATION,
    QI_PLAN,
    SELF_ASSESSMENT,
    YearRules,
    program,
)
from gateway_opioid.stats import rate_percent

pd = lazy_module("pandas")

NPI = "prescriber_npi"


def parts(text: object) -> list[str]:
    """A ``;``-separated cell as upper-case items (empty cell: none)."""
    if not isinstance(text, str):
        return []
    return [item.strip().upper() for item in text.split(";") if item.strip()]


def day(value: object) -> str | None:
    """A typed date cell as ``YYYY-MM-DD``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date().isoformat()


class FormFacts:
    """What the reference data say about one form file's prescribers."""

    def __init__(self, reference: ReferenceView, year: int, submitter: str) -> None:
        self.reference = reference
        self.year = year
        self.submitter = submitter
        self.has_data = reference.info(datasets.prescribers(year)) is not None
        self._prescribers: dict[str, dict[str, Any] | None] = {}

    def prescriber(self, npi: str) -> dict[str, Any] | None:
        if npi not in self._prescribers:
            entry = self.reference.get(datasets.prescribers(self.year), npi)
            self._prescribers[npi] = entry.value if entry else None
        return self._prescribers[npi]

    def load(self, npis: Iterable[str]) -> None:
        wanted = [n for n in dict.fromkeys(npis) if n not in self._prescribers]
        found = self.reference.get_many(datasets.prescribers(self.year), wanted)
        for npi in wanted:
            self._prescribers[npi] = found[npi].value if npi in found else None

    def ours(self, npi: str) -> bool:
        """The prescriber works for the sending health system in the latest accepted feed."""
        found = self.prescriber(npi)
        return found is not None and found.get("health_system") == self.submitter

    def required(self, npi: str) -> list[str]:
        found = self.prescriber(npi)
        return list(found.get("qi_required", [])) if found else []

    def form(self, kind: str, key: str) -> dict[str, Any] | None:
        entry = self.reference.get(datasets.forms(kind, self.year), key)
        return entry.value if entry else None


class FormRule(CollectedRule):
    """A rule of a form file (run only when the year has prescribing data: ``no_data``). By
    default it judges each row whose prescriber is the sender's."""

    def __init__(self, facts: FormFacts) -> None:
        super().__init__()
        self.facts = facts

    def judge(self, table: pd.DataFrame) -> Iterable[Finding]:
        self.facts.load(table[NPI])
        yield from self.judge_table(table)

    def judge_table(self, table: pd.DataFrame) -> Iterable[Finding]:
        for _, row in table.iterrows():
            if self.facts.ours(row[NPI]):
                yield from self.judge_row(row)

    def judge_row(self, row: pd.Series) -> Iterable[Finding]:
        return ()


def no_data(facts: FormFacts) -> list[Finding]:
    """``E-OPIP-NO-DATA`` when the measurement year has no accepted prescribing data, at the
    first row's ``measurement_year`` (the year every row of the file carries)."""
    if facts.has_data:
        return []
    return [Finding("E-OPIP-NO-DATA", f"There is no accepted prescribing data for measurement "
                    f"year {facts.year}, so no form for it can be judged yet.", row=2,
                    column="measurement_year", value=str(facts.year))]


# The core's fix for E-SUBMITTER-FACILITY points to the registry, which lists clinic NPIs only:
# a prescriber belongs to a health system through the program's prescribing data.
FACILITY_HINT = ("Send forms only for prescribers the program's prescribing report lists under "
                 "your health system (check the NPI); if a prescriber is listed under the "
                 "wrong health system, ask the program to correct its data.")


class FacilityRule(FormRule):
    code = "E-SUBMITTER-FACILITY"
    title = "Every prescriber belongs to the sending health system."

    def judge_table(self, table: pd.DataFrame) -> Iterable[Finding]:
        for _, row in table.iterrows():
            if not self.facts.ours(row[NPI]):
                yield self.at(row, f"prescriber {row[NPI]} is not one of your health system's "
                                   f"prescribers in the accepted prescribing data for "
                                   f"measurement year {self.facts.year}.", column=NPI,
                              hint=FACILITY_HINT)


class DuplicateRule(FormRule):
    code = "E-RULE-DUPLICATE"
    title = "One row per prescriber (and measure, for self-assessments)."

    def __init__(self, facts: FormFacts, key: tuple[str, ...]) -> None:
        super().__init__(facts)
        self.key = key

    def judge_table(self, table: pd.DataFrame) -> Iterable[Finding]:
        for row, first in repeated_rows(table, self.key):
            what = " and ".join(f"{k.replace(NPI, 'prescriber')} {row[k]}" for k in self.key)
            yield self.at(row, f"a second row for {what} (the first is row {first}); send "
                               "one.", column=self.key[-1])


class RequiredRule(FormRule):
    """Self-assessments: only for a measure on which the prescriber is QI-required."""

    code = "E-OPIP-NOT-REQUIRED"
    title = "The form concerns a measure on which the prescriber is QI-required."

    def judge_row(self, row: pd.Series) -> Iterable[Finding]:
        required = self.facts.required(row[NPI])
        if row["measure"] not in required:
            yield self.at(row, _not_required(row[NPI], required, f"on {row['measure']}"),
                          column="measure")


class PlanAddressesRule(FormRule):
    code = "E-OPIP-NOT-REQUIRED"
    title = "A plan addresses a measure (or its pain phase) on which the prescriber is QI-required."

    def judge_row(self, row: pd.Series) -> Iterable[Finding]:
        # The schema has made sure the plan names measures (ids M1-M7), a phase, or both.
        measures, phase = parts(row.get("measures_addressed")), row.get("pain_phase")
        required = self.facts.required(row[NPI])
        phases = {program().measures[m].phase for m in required}
        if not (set(measures) & set(required)) and phase not in phases:
            yield self.at(row, _not_required(row[NPI], required, "on what this plan addresses"),
                          column="measures_addressed" if measures else "pain_phase")


class SelfAssessedRule(FormRule):
    code = "E-OPIP-SELF-ASSESSMENT-MISSING"
    title = "A self-assessment was accepted for every measure the prescriber is QI-required on."

    def judge_row(self, row: pd.Series) -> Iterable[Finding]:
        missing = [m for m in self.facts.required(row[NPI])
                   if self.facts.form(SELF_ASSESSMENT, f"{row[NPI]}:{m}") is None]
        if missing:
            yield self.at(row, f"no accepted self-assessment of prescriber {row[NPI]} for "
                               f"{', '.join(missing)}; send those before the plan.",
                          column=NPI)


class EvaluationRule(FormRule):
    """An evaluation needs a QI-required prescriber, an accepted plan, and a later date."""

    code = "E-OPIP-NO-PLAN"
    title = "An evaluation follows an accepted plan, completed after the plan's start date."

    def judge_row(self, row: pd.Series) -> Iterable[Finding]:
        required = self.facts.required(row[NPI])
        if not required:
            yield self.at(row, _not_required(row[NPI], required, "on any measure"),
                          column=NPI, code="E-OPIP-NOT-REQUIRED")
            return
        plan = self.facts.form(QI_PLAN, row[NPI])
        if plan is None:
            yield self.at(row, f"no accepted QI plan of prescriber {row[NPI]} for measurement "
                               f"year {self.facts.year}; the plan comes first.", column=NPI)
            return
        completed = day(row["completed_date"])
        if completed is not None and completed <= plan["start_date"]:
            finding = self.at(row, f"completed_date {completed} is not after the plan's "
                                   f"start_date {plan['start_date']}.", column="completed_date",
                              code="E-OPIP-FORM-DATES")
            # the date as a date (YYYY-MM-DD), not the typed column's timestamp
            yield replace(finding, value=completed)


class PanelRule(FormRule):
    code = "E-OPIP-PANEL"
    title = "Counts are no more than the panel, and the count the reason names is above 0."

    def judge_row(self, row: pd.Series) -> Iterable[Finding]:
        panel = int(row["panel_size"])
        for column in ("patients_chronic_pain", "patients_severe_acute_pain"):
            if int(row[column]) > panel:
                yield self.at(row, f"{column} {int(row[column])} is larger than panel_size "
                                   f"{panel}.", column=column)
        named = REASON_COUNTS.get(row["reason"])
        if named is not None and int(row[named]) <= 0:
            yield self.at(row, f"reason {row['reason']} needs {named} above 0.",
                          column=named)


def _not_required(npi: str, required: list[str], what: str) -> str:
    if not required:
        return (f"prescriber {npi} is not QI-required on any measure in the prescribing data, "
                "so no self-assessment, plan or evaluation is expected.")
    return (f"prescriber {npi} is not QI-required {what}; QI-required on "
            f"{', '.join(required)}.")


def form_rules(kind: str, context: RuleContext, facts: FormFacts) -> list[FileRule]:
    common: list[FileRule] = [FacilityRule(facts)]
    if kind == SELF_ASSESSMENT:
        return [*common, DuplicateRule(facts, (NPI, "measure")), RequiredRule(facts)]
    if kind == QI_PLAN:
        return [*common, DuplicateRule(facts, (NPI,)), PlanAddressesRule(facts),
                SelfAssessedRule(facts)]
    if kind == QI_EVALUATION:
        return [*common, DuplicateRule(facts, (NPI,)), EvaluationRule(facts)]
    return [*common, DuplicateRule(facts, (NPI,)), PanelRule(facts)]


class FormResults(CollectsColumns, ResultCalculator):
    """Counts per form; for exemptions each count as a share of the panel (percent, 0.1) and
    whether the request meets its reason's criterion of the year."""

    def __init__(self, kind: str, rules: YearRules) -> None:
        super().__init__(_memory_columns(kind))
        self.kind, self.rules = kind, rules

    def finish(self) -> dict[str, Any]:
        table = self.collected.table()
        results: dict[str, Any] = {"measurement_year": self.rules.year, "rows": len(table),
                                   "prescribers": int(table[NPI].nunique())}
        if self.kind == EXEMPTION:
            results["exemptions"] = {row[NPI]: exemption_figures(row, self.rules)
                                     for _, row in table.iterrows()}
        return results


REASON_COUNTS = {"CHRONIC_PAIN_PANEL": "patients_chronic_pain",
                 "SEVERE_ACUTE_PAIN": "patients_severe_acute_pain"}


def criterion_met(reason: str, counts: Mapping[str, int], panel: int, rules: YearRules
                  ) -> bool | None:
    """Does the share of the panel the reason names reach the year's criterion (exactly)?
    None for a reason without a criterion (``OTHER``: program staff judge the description)."""
    least = rules.exemption_criteria.get(reason)
    column = REASON_COUNTS.get(reason)
    if least is None or column is None or panel <= 0:
        return None
    return Fraction(int(counts[column]), panel) >= least


def exemption_figures(row: Mapping[str, Any], rules: YearRules) -> dict[str, Any]:
    """One request as the receipt shows it: the counts as shares of the panel, the share its
    reason rests on, the criterion and whether it is met."""
    panel = int(row["panel_size"])
    reason = row["reason"]
    least = rules.exemption_criteria.get(reason)
    column = REASON_COUNTS.get(reason)
    return {"reason": reason, "panel_size": panel,
            "chronic_pain_percent": rate_percent(int(row["patients_chronic_pain"]), panel),
            "severe_acute_pain_percent": rate_percent(int(row["patients_severe_acute_pain"]),
                                                      panel),
            "share_percent": rate_percent(int(row[column]), panel) if column else None,
            "criterion_percent": float(least * 100) if least is not None else None,
            "criterion_met": criterion_met(reason, row, panel, rules)}


def _memory_columns(kind: str) -> tuple[str, ...]:
    return {SELF_ASSESSMENT: (NPI, "measure", "completed_date"),
            QI_PLAN: (NPI, "measures_addressed", "pain_phase", "start_date"),
            QI_EVALUATION: (NPI, "outcome", "completed_date"),
            EXEMPTION: (NPI, "reason", "panel_size", "patients_chronic_pain",
                        "patients_severe_acute_pain")}[kind]


class FormMemory(CollectsColumns, ReferenceCollector):
    """On acceptance: each row's form, per prescriber (and measure), the latest counting."""

    def __init__(self, kind: str, rules: YearRules) -> None:
        super().__init__(_memory_columns(kind))
        self.kind, self.rules = kind, rules

    def finish(self, results: Mapping[str, Any] | None) -> list[ReferenceWrite]:
        entries: dict[str, dict[str, Any]] = {}
        for _, row in self.collected.table().iterrows():
            if self.kind == SELF_ASSESSMENT:
                entries[f"{row[NPI]}:{row['measure']}"] = {
                    "completed_date": day(row["completed_date"])}
            elif self.kind == QI_PLAN:
                phase = row["pain_phase"] if isinstance(row["pain_phase"], str) else None
                entries[row[NPI]] = {"start_date": day(row["start_date"]),
                                     "measures_addressed": parts(row["measures_addressed"]),
                                     "pain_phase": phase or None}
            elif self.kind == QI_EVALUATION:
                entries[row[NPI]] = {"completed_date": day(row["completed_date"]),
                                     "outcome": row["outcome"]}
            else:
                entries[row[NPI]] = {"reason": row["reason"], "criterion_met": criterion_met(
                    row["reason"], row, int(row["panel_size"]), self.rules)}
        return [ReferenceWrite(datasets.forms(self.kind, self.rules.year), entries)]
