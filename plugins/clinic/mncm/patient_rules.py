"""File rules of patient-level clinic files, streaming with compact aggregates.

Patient files run to millions of rows, so every rule here keeps a bounded or compact state:
patient-id uniqueness keeps 8-byte hashes in numpy arrays and row numbers only where a batch's
rows are not consecutive (about 8 bytes a patient), never the ids themselves, and looks for
repeats one sixteenth of the hash range at a time, so the search adds a sixteenth to that.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway_plugins.clinic.mncm.manifest import MeasureSpec, YearSpec
from gateway_plugins.clinic.mncm.masks import equals, outside, texts
from gateway_plugins.clinic.mncm.strata import age_bands, ages

from gateway.contract import FileRule, Finding, RecordBatch, lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")

MIN_SAMPLE = 60


def _hashes(ids: pd.Series) -> np.ndarray:
    """64-bit hashes of ids, vectorised (a collision among millions of ids is about 1 in 10^7).
    ``patient_id`` is required, so a valid record's id is text. Ids are mostly distinct: they
    are hashed as they are, not first grouped into categories (the same hashes, at a tenth of
    the cost for ten ids and a sixth for 100,000)."""
    return pd.util.hash_array(np.asarray(ids.array, dtype=object), categorize=False)


_PARTS = 16  # slices of the 64-bit hash range the duplicate search sorts one at a time
_PART_SHIFT = 60  # the bits below a slice number


_ONE_SORT = 1 << 16  # patients up to which all hashes are sorted at once (512 KiB)


def _repeated_in(chunks: list[np.ndarray], part: int | None) -> np.ndarray:
    """The hashes in slice ``part`` of the hash range (its top four bits) seen more than once,
    in order; ``None``: in the whole range."""
    shift = np.uint64(_PART_SHIFT)
    ordered = np.concatenate([chunk if part is None else chunk[(chunk >> shift) == part]
                              for chunk in chunks])
    ordered.sort()
    return np.unique(ordered[1:][ordered[1:] == ordered[:-1]])


class UniquePatients(FileRule):
    code, title = "E-RULE-DUPLICATE", "patient_id is unique in the file."

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        # per batch: (first row, count) when its rows are consecutive, else the row numbers
        self._rows: list[tuple[int, int] | np.ndarray] = []

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        self._hashes.append(_hashes(batch.frame["patient_id"]))
        rows = np.asarray(batch.rows, dtype=np.int64)
        consecutive = len(rows) > 0 and int(rows[-1]) - int(rows[0]) == len(rows) - 1
        self._rows.append((int(rows[0]), len(rows)) if consecutive else rows)
        return ()

    def finish(self) -> Iterable[Finding]:
        if not self._hashes:
            return []
        # Repeated hashes are rare: find them one slice of the hash range at a time (a sorted
        # copy of a sixteenth of the patients, not of all of them), then order only the
        # patients that carry one (the same order as a stable sort of every patient).
        small = sum(map(len, self._hashes)) <= _ONE_SORT
        repeated = _repeated_in(self._hashes, None) if small else np.concatenate(
            [_repeated_in(self._hashes, part) for part in range(_PARTS)])
        picked_hashes, picked_rows = [], []
        if len(repeated):
            for hashes, rows in zip(self._hashes, self._rows, strict=True):
                where = np.flatnonzero(np.isin(hashes, repeated))
                picked_hashes.append(hashes[where])
                picked_rows.append(rows[0] + where if isinstance(rows, tuple) else rows[where])
        self._hashes, self._rows = [], []
        if not picked_hashes:
            return []
        hashes, rows = np.concatenate(picked_hashes), np.concatenate(picked_rows)
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
        npis = batch.frame["clinic_npi"].array
        if self._first is None:
            self._first = str(npis[0])
        other = np.flatnonzero(~equals(batch.frame, "clinic_npi", self._first))
        out = []
        for i in other[: max(0, 20 - self._reported)]:
            out.append(batch.finding(int(i), self.code, "clinic_npi differs from the file's "
                                     f"first row ({self._first}); send one file per clinic.",
                                     column="clinic_npi", value=str(npis[i])))
        self._reported += len(out)
        return out

    def finish(self) -> Iterable[Finding]:
        return []


class DatesInPeriod(FileRule):
    code, title = "E-RULE-PERIOD", ("Every date is inside the measure's dates of service; "
                                    "follow-up dates may run past their end by the measure's "
                                    "follow-up time, look-back dates may precede their start.")

    def __init__(self, year: YearSpec) -> None:
        self.year = year
        first, last = (pd.Timestamp(d) for d in year.dates_of_service)
        late = last + pd.Timedelta(days=year.followup_days)
        # column -> (earliest, latest) allowed, None meaning open
        self.bounds: dict[str, tuple[pd.Timestamp | None, pd.Timestamp]] = {
            **{c: (first, last) for c in year.date_columns},
            **{c: (first, late) for c in year.followup_columns},
            **{c: (None, last) for c in year.history_columns}}

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        out = []
        for column, (first, last) in self.bounds.items():
            if column not in batch.frame:
                continue
            dates = batch.frame[column].array
            allowed = (f"on or before {last.date()}" if first is None
                       else f"{first.date()} to {last.date()}")
            for i in np.flatnonzero(outside(dates, first, last)):
                out.append(batch.finding(
                    int(i), self.code, f"{column} {dates[i].date()} is outside what "
                    f"reporting year {self.year.year} allows for it ({allowed}).",
                    column=column, value=dates[i].date().isoformat(),
                    hint="Check the date, and that the file is for the right reporting year."))
        return out

    def finish(self) -> Iterable[Finding]:
        return []


class AgeInRange(FileRule):
    code, title = "E-RULE-AGE", "Age (PCS: age at delivery) is inside the measure's age range."

    def __init__(self, measure: MeasureSpec) -> None:
        self.low, self.high = measure.age_range
        self.spec = measure
        self.column = "age" if measure.age_from == "age" else measure.age_from

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        years = ages(self.spec, batch.frame).array
        return [batch.finding(int(i), self.code, f"age {years[i]} is outside the "
                              f"{self.spec.measure} age range {self.low} to {self.high}.",
                              column=self.column, value=int(years[i]),
                              hint="Remove patients outside the measure's ages, or correct the "
                                   "age (whole years at the end of the period).")
                for i in np.flatnonzero(outside(years, self.low, self.high))]

    def finish(self) -> Iterable[Finding]:
        return []


class SampleRules(FileRule):
    code, title = "E-RULE-SAMPLE-SIZE", ("SAMPLE only where allowed, with at least 60 patients "
                                         "and eligible_population >= 60, the same on every row "
                                         "(per age band for measures sampled per band).")

    def __init__(self, measure: MeasureSpec) -> None:
        self.measure = measure
        self.bases: set[str] = set()
        # sample unit (the age band, or "" for the whole file) -> eligible values, patients
        self.eligible: dict[str, set[int]] = {}
        self.rows: dict[str, int] = {}

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        frame = batch.frame
        self.bases.update(texts(frame, "population_basis"))
        if not self.measure.sample_per_band:  # one sample unit, the whole file: no grouping
            self._count("", frame)
            return ()
        units = age_bands(self.measure, frame).fillna("")
        for unit, group in frame.groupby(units.to_numpy(), sort=False):
            self._count(unit, group)
        return ()

    def _count(self, unit: str, group: pd.DataFrame) -> None:
        self.rows[unit] = self.rows.get(unit, 0) + len(group)
        if "eligible_population" in group:
            self.eligible.setdefault(unit, set()).update(
                int(v) for v in group["eligible_population"].array.dropna().unique()[:10])

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
        out = []
        for unit, rows in sorted(self.rows.items()):
            out.extend(self._judge(unit, rows, self.eligible.get(unit, set())))
        return out

    def _judge(self, unit: str, rows: int, eligible: set[int]) -> list[Finding]:
        where = f" of age band {unit}" if unit else ""
        if len(eligible) > 1:
            return [Finding(code="E-RULE-CONSISTENCY", column="eligible_population",
                            message=f"eligible_population{where} differs between rows; it is "
                                    "the size of the population the sample came from, the "
                                    "same on every row.")]
        value = next(iter(eligible), None)
        if value is not None and value < MIN_SAMPLE:
            return [Finding(code=self.code, column="population_basis",
                            message=f"eligible_population{where} is {value}, under "
                                    f"{MIN_SAMPLE}: a population this small must be submitted "
                                    "FULL.")]
        if rows < MIN_SAMPLE:
            return [Finding(code=self.code, column="patient_id",
                            message=f"The sample{where} has {rows} patients; "
                            f"a sample has at least {MIN_SAMPLE}.")]
        return []


def patient_rules(measure: MeasureSpec, year: int) -> list[FileRule]:
    """The file rules of the measure's patient layout for one reporting year."""
    spec = measure.years[year]
    rules: list[FileRule] = [OneClinic(), UniquePatients(), AgeInRange(measure),
                             SampleRules(measure)]
    dates = DatesInPeriod(spec)
    return [*rules[:2], dates, *rules[2:]] if dates.bounds else rules
