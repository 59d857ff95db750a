"""A patient's strata (age band, BMI band, PHQ-9 band, ...) from the patient-level columns.

The per-band sampling rule and the summary a clinic derives from its patients both need the
same mapping from patient columns to summary strata, so it is written once, here.
"""

from __future__ import annotations

from gateway_plugins.clinic.mncm.manifest import MeasureSpec

from gateway.contract import lazy_module

pd = lazy_module("pandas")

ADULT_BMI = ((25.0, "<25"), (30.0, "25-29.9"), (35.0, "30-34.9"), (40.0, "35-39.9"))
PERCENTILE = ((85.0, "<85"), (95.0, "85-94"))
PHQ9 = ((15, "10-14"), (20, "15-19"))


def ages(measure: MeasureSpec, frame: pd.DataFrame) -> pd.Series:
    """Whole years: the ``age`` column, or (PCS) the age on ``age_at`` from ``birth_date``."""
    if measure.age_from != "birth_date":
        return frame["age"]
    born, on = frame["birth_date"], frame[str(measure.age_at)]
    years = on.dt.year - born.dt.year
    before_birthday = (on.dt.month < born.dt.month) | (
        (on.dt.month == born.dt.month) & (on.dt.day < born.dt.day))
    return (years - before_birthday.astype("Int64")).astype("Int64")


def age_bands(measure: MeasureSpec, frame: pd.DataFrame) -> pd.Series:
    """The summary age band of each patient (missing when the age is outside every band)."""
    age = ages(measure, frame)
    out = pd.Series(pd.NA, index=frame.index, dtype="string")
    for band, low, high in measure.band_bounds():
        out[((age >= low) & (age <= high)).fillna(False).to_numpy(dtype=bool)] = band
    return out


def _cut(values: pd.Series, limits: tuple[tuple[float, str], ...], top: str,
         missing: str | None = None) -> pd.Series:
    out = pd.Series(top, index=values.index, dtype="string")
    for limit, label in reversed(limits):
        out[(values < limit).fillna(False).to_numpy(dtype=bool)] = label
    out[values.isna().to_numpy(dtype=bool)] = missing if missing is not None else pd.NA
    return out


def stratum(measure: MeasureSpec, name: str, frame: pd.DataFrame) -> pd.Series:
    """One summary stratum of every patient, as the summary file writes it."""
    if name == "age_band":
        return age_bands(measure, frame)
    if name == "bmi_band" and "bmi_percentile" in frame:
        return _cut(frame["bmi_percentile"], PERCENTILE, "95+", missing="NOT_ASSESSED")
    if name == "bmi_band":
        return _cut(frame["bmi"], ADULT_BMI, "40+")
    if name == "phq9_band":
        return _cut(frame["index_phq9"], PHQ9, "20+")
    return frame[name].astype("string")


def strata(measure: MeasureSpec, frame: pd.DataFrame) -> pd.DataFrame:
    """Every stratum of the measure, one column each."""
    return pd.DataFrame({name: stratum(measure, name, frame) for name in measure.strata},
                        index=frame.index)
