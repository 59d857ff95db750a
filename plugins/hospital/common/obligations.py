"""What hospitals owe a family, and which obligation a file answers, from the manifest.

A family's ``[obligation]`` table says who owes its files (registry facts; any one listed
condition suffices, none means every hospital), whether hospitals that submit to CMS meet it
there, and whether data come per quarter or per year. Deadlines are the manifest's
``[deadlines]`` table: ``"2014Q3" = "2015-02-15"`` per quarter, or ``"2015" = { due = ... }``
per reporting year. A window opens the day after the period its data cover ends (registry.md).
Next year's calendar is therefore a data change: new lines in ``[deadlines]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from gateway_plugins.hospital.common.manifest import Manifest
from gateway_plugins.hospital.common.periods import parse_quarter

from gateway.contract import FileSample, Obligation, ObligationReader, RecordBatch, Submitter

QUARTER, YEAR = "quarter", "year"


def _rules(manifest: Manifest) -> dict[str, Any]:
    return manifest.data.get("obligation", {})


def not_applicable(manifest: Manifest, submitter: Submitter) -> str | None:
    """Why a hospital may not send (nor owes) this family's files, or None."""
    conditions = _rules(manifest).get("applies_if_any", [])
    if not conditions or any(_meets(submitter, c) for c in conditions):
        return None
    facts = {f: getattr(submitter, f) for f in ("hospital_type", "nicu_level", "picu")}
    return str(_rules(manifest)["not_applicable"]).format(**facts)


def _meets(submitter: Submitter, condition: Mapping[str, list[Any]]) -> bool:
    return all(getattr(submitter, field) in values for field, values in condition.items())


def _quarter_end(quarter: str) -> date:
    parsed = parse_quarter(quarter)
    if parsed is None:
        raise ValueError(f"not a quarter: {quarter}")
    year, q = parsed
    return (date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)) - timedelta(days=1)


def windows(manifest: Manifest, reporting_year: int,
            setting: str | None = None) -> dict[str, tuple[date, date]]:
    """Period -> (opens, due) for every period of the family due in ``reporting_year``."""
    table = manifest.data.get("deadlines", {})
    if setting is not None:
        table = table[setting]
    if _rules(manifest).get("period", QUARTER) == YEAR:
        entry = table.get(str(reporting_year))
        if entry is None:
            return {}
        return {str(reporting_year): (date(reporting_year, 1, 1),
                                      date.fromisoformat(entry["due"]))}
    out = {}
    for quarter, due in table.items():
        due_date = date.fromisoformat(due)
        if due_date.year == reporting_year:
            out[quarter] = (_quarter_end(quarter) + timedelta(days=1), due_date)
    return out


def owed(manifest: Manifest, measure: str, level: str, submitter: Submitter,
         reporting_year: int, setting: str | None = None) -> list[Obligation]:
    """Everything ``submitter`` owes the family for the year (listed as not required when a
    hospital that submits to CMS meets it there)."""
    if submitter.kind != "hospital" or not_applicable(manifest, submitter) is not None:
        return []
    via_cms = bool(_rules(manifest).get("met_through_cms")) and submitter.submits_to_cms
    return [Obligation(family=manifest.family, measure=measure, reporting_year=reporting_year,
                       period=period, opens=opens, due=due, levels=(level,),
                       required=not via_cms,
                       note="met through CMS (submits_to_cms)" if via_cms else "")
            for period, (opens, due) in sorted(windows(manifest, reporting_year,
                                                       setting).items())]


class HospitalObligations(ObligationReader):
    """A hospital file answers its family's obligation for one period: the quarter in
    ``period_column`` (read from the records, else from the routing sample) or the year."""

    kinds = ("hospital",)

    def __init__(self, manifest: Manifest, measure: str, level: str, reporting_year: int,
                 sample: FileSample) -> None:
        rules = _rules(manifest)
        self.manifest, self.measure, self.level = manifest, measure, level
        self.reporting_year = reporting_year
        self.facility_columns = {rules.get("facility_column", "ccn"): "ccn"}
        self.basis_column = rules.get("basis_column")
        self.sample_allowed = bool(rules.get("sample_allowed", False))
        self.period_column: str | None = rules.get("period_column")
        self.period = self._from_sample(sample)

    def _from_sample(self, sample: FileSample) -> str | None:
        if self.period_column is None:
            return None
        if sample.format == "xml":
            text = sample.xml_fields.get(self.period_column.replace("_", "-"))
        else:
            text = sample.first_value(self.period_column)
        return text.strip().upper() if text else None

    def not_applicable(self, submitter: Submitter) -> str | None:
        return not_applicable(self.manifest, submitter)

    def observe(self, batch: RecordBatch) -> None:
        column = self.period_column
        if column is not None and column in batch.frame.columns:
            values = batch.frame[column].dropna()
            if len(values):
                self.period = str(values.iloc[0]).strip().upper()

    def setting(self) -> str | None:
        """Which of the manifest's deadline tables applies (families with one table: None)."""
        return None

    def finish(self) -> list[Obligation]:
        found = windows(self.manifest, self.reporting_year, self.setting())
        period = self.period if self.period_column else str(self.reporting_year)
        if period not in found:
            return []
        opens, due = found[period]
        return [Obligation(family=self.manifest.family, measure=self.measure,
                           reporting_year=self.reporting_year, period=period, opens=opens,
                           due=due, levels=(self.level,))]
