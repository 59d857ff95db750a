"""File rules of patient-level clinic files, streaming with compact aggregates.

Patient files run to millions of rows, so every rule here keeps a bounded or compact state:
patient-id uniqueness keeps 8-byte hashes and row numbers in numpy arrays (about 16 bytes a
patient), never the ids themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from gateway_plugins.clinic.mncm.manifest import MeasureSpec, YearSpec

from gateway.contract import FileRule, RecordBatch
from gateway.findings import Finding

MIN_SAMPLE = 60


def _hashes(values: pd.Series) -> np.ndarray:
    """64-bit hashes of ids, vectorised (a collision among millions of ids is about 1 in 10^7)."""
    return pd.util.hash_pandas_object(values, index=False).to_numpy(dtype=np.uint64)


class UniquePatients(FileRule):
    code, title = "E-RULE-DUPLICATE", "patient_id is unique in the file."

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        self._hashes.append(_hashes(batch.frame["patient_id"].astype(str)))
        self._rows.append(np.asarray(batch.rows, dtype=np.int64))
        return ()

    def finish(self) -> Iterable[Finding]:
        if not self._hashes:
            return []
        hashes, rows = np.concatenate(self._hashes), np.concatenate(self._rows)
        self._hashes, self._rows = [], []
        order = np.argsort(hashes, kind="stable")
        hashes, rows = hashes[order], rows[order]
        repeat = np.flatnonzero(hashes[1:] == hashes[:-1]) + 1
        findings = []
        for index in repeat:
            first = index
            while first > 0 and hashes[first - 1] == hashes[index]:
                first -= 1
            findings.append(Finding(
                code=self.code, row=int(rows[index]), column="patient_id",
                message=f"patient_id on row {rows[index]} repeats the patient_id on row "
                        f"{rows[first]}; each patient appears once.",
                hint="Keep one row per patient; merge the two rows' data if both are partial."))
        return findings


class OneClinic(FileRule):
    code, title = "E-RULE-ONE-FACILITY", "One clinic NPI per file."

    def __init__(self) -> None:
        self._first: str | None = None
        self._reported = 0

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        npis = batch.frame["clinic_npi"]
        if self._first is None:
            self._first = str(npis.iloc[0])
        other = np.flatnonzero((npis != self._first).to_numpy(dtype=bool))
        out = []
        for i in other[: max(0, 20 - self._reported)]:
            out.append(batch.finding(int(i), self.code, "clinic_npi differs from the file's "
                                     f"first row ({self._first}); send one file per clinic.",
                                     column="clinic_npi", value=str(npis.iloc[i])))
        self._reported += len(out)
        return out

    def finish(self) -> Iterable[Finding]:
        return []


class DatesInPeriod(FileRule):
    code, title = "E-RULE-PERIOD", "Every date is inside the measure's dates of service."

    def __init__(self, year: YearSpec) -> None:
        self.year = year
        first, last = year.dates_of_service
        self._first = pd.Timestamp(first)
        self._last = pd.Timestamp(last)

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        out = []
        first, last = self.year.dates_of_service
        for column in self.year.date_columns:
            if column not in batch.frame:
                continue
            dates = batch.frame[column]
            outside = ((dates < self._first) | (dates > self._last)).fillna(False)
            for i in np.flatnonzero(outside.to_numpy(dtype=bool)):
                out.append(batch.finding(
                    int(i), self.code, f"{column} {dates.iloc[i].date()} is outside the dates "
                    f"of service of reporting year {self.year.year} ({first} to {last}).",
                    column=column, value=dates.iloc[i].date().isoformat(),
                    hint="Check the date, and that the file is for the right reporting year."))
        return out

    def finish(self) -> Iterable[Finding]:
        return []


class AgeInRange(FileRule):
    code, title = "E-RULE-AGE", "Age is inside the measure's age range."

    def __init__(self, measure: MeasureSpec) -> None:
        self.low, self.high = measure.age_range
        self.measure = measure.measure

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        ages = batch.frame["age"]
        outside = ((ages < self.low) | (ages > self.high)).fillna(False)
        return [batch.finding(int(i), self.code, f"age {ages.iloc[i]} is outside the "
                              f"{self.measure} age range {self.low} to {self.high}.",
                              column="age", value=int(ages.iloc[i]),
                              hint="Remove patients outside the measure's ages, or correct the "
                                   "age (whole years at the end of the period).")
                for i in np.flatnonzero(outside.to_numpy(dtype=bool))]

    def finish(self) -> Iterable[Finding]:
        return []


class SampleRules(FileRule):
    code, title = "E-RULE-SAMPLE-SIZE", ("SAMPLE only where allowed, with at least 60 patients "
                                         "and eligible_population >= 60, the same on every row.")

    def __init__(self, measure: MeasureSpec) -> None:
        self.measure = measure
        self.bases: set[str] = set()
        self.eligible: set[int] = set()
        self.rows = 0

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        self.bases.update(batch.frame["population_basis"].dropna().unique())
        self.rows += len(batch)
        if "eligible_population" in batch.frame:
            self.eligible.update(int(v) for v in batch.frame["eligible_population"].dropna()
                                 .unique()[:10])
        return ()

    def finish(self) -> Iterable[Finding]:
        if len(self.bases) > 1:
            return [Finding(code="E-RULE-CONSISTENCY", column="population_basis",
                            message="population_basis is FULL on some rows and SAMPLE on "
                                    "others; a file is either FULL or SAMPLE.")]
        if self.bases != {"SAMPLE"}:
            return []
        if not self.measure.sample_allowed:
            return [Finding(code=self.code, column="population_basis",
                            message=f"{self.measure.measure} may not be sampled; submit every "
                                    "eligible patient (population_basis FULL).")]
        if len(self.eligible) > 1:
            return [Finding(code="E-RULE-CONSISTENCY", column="eligible_population",
                            message="eligible_population differs between rows; it is the size "
                                    "of the population the sample came from, the same on "
                                    "every row.")]
        eligible = next(iter(self.eligible), None)
        if eligible is not None and eligible < MIN_SAMPLE:
            return [Finding(code=self.code, column="population_basis",
                            message=f"eligible_population is {eligible}, under {MIN_SAMPLE}: "
                                    "a population this small must be submitted FULL.")]
        if self.rows < MIN_SAMPLE:
            return [Finding(code=self.code, message=f"The sample has {self.rows} patients; a "
                            f"sample has at least {MIN_SAMPLE}.")]
        return []


def patient_rules(measure: MeasureSpec, year: int) -> list[FileRule]:
    spec = measure.years[year]
    return [OneClinic(), UniquePatients(), DatesInPeriod(spec), AgeInRange(measure),
            SampleRules(measure)]
