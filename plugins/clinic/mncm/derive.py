"""The summary-level file that a set of patients makes: total rows and one breakdown per
stratum, for every component.

A clinic that keeps patient data can send the summary built here; the tests use it to show
that both levels give the same figures, and the example files are derived with it.
"""

from __future__ import annotations

from gateway_plugins.clinic.mncm import layouts
from gateway_plugins.clinic.mncm.manifest import MeasureSpec
from gateway_plugins.clinic.mncm.numerators import NUMERATORS, score_changes
from gateway_plugins.clinic.mncm.strata import age_bands, strata

from gateway.contract import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")

OVERSAMPLE = 20
Met = dict[str, "np.ndarray"]  # quoted: numpy loads when a file is judged


def numerator_masks(measure: MeasureSpec, year: int, kept: pd.DataFrame) -> Met:
    """Per component (and extra count), who of the non-excluded patients counts."""
    return NUMERATORS[measure.numerator](kept, measure, measure.years[year])


def summary_rows(measure: MeasureSpec, year: int, patients: pd.DataFrame,
                 met: Met | None = None, basis: str = "FULL") -> list[dict[str, str]]:
    """Summary rows (text, in the layout's column order) for typed patient records.

    ``met`` overrides the numerator masks (the tests use it to build a broken file);
    ``basis`` SAMPLE fills the sample columns as a sampled file would.
    """
    excluded = (patients["excluded"] == "Y").fillna(False).to_numpy(dtype=bool)
    kept = patients[~excluded].reset_index(drop=True)
    groups = strata(measure, kept)
    first = patients.iloc[0]
    base = {"clinic_npi": str(first["clinic_npi"]), "measure_id": measure.measure,
            "reporting_year": str(year), "identification_method":
            str(first["identification_method"]), "population_basis": basis}
    if measure.averages:
        values = {c: v.to_numpy(dtype=float) for c, v in score_changes(kept, measure).items()}
    else:
        values = met if met is not None else numerator_masks(measure, year, kept)
    everyone = np.ones(len(kept), dtype=bool)
    bands_all = age_bands(measure, patients).fillna("")
    rows = []
    for component in measure.all_components:
        total = _row(measure, base, component, {}, everyone, values)
        total.update(exclusions=str(int(excluded.sum())), eligible_population=str(len(patients)))
        if not measure.averages:
            total["reported_rate"] = f"{_rate(total):.1f}"
        if basis == "SAMPLE" and measure.sample_allowed:
            total.update(sample_size=total["denominator"], oversample=str(OVERSAMPLE))
        rows.append(total)
        for stratum in measure.strata:
            for value in sorted(groups[stratum].dropna().unique()):
                mask = (groups[stratum] == value).fillna(False).to_numpy(dtype=bool)
                row = _row(measure, base, component, {stratum: str(value)}, mask, values)
                if basis == "SAMPLE" and measure.sample_per_band and stratum == "age_band":
                    row.update(sample_size=row["denominator"], oversample=str(OVERSAMPLE),
                               eligible_population=str(int((bands_all == value).sum())))
                rows.append(row)
    every, _ = layouts.columns(measure.measure, "summary", year)
    return [{c: row.get(c, "") for c in every} for row in rows]


def _row(measure: MeasureSpec, base: dict[str, str], component: str, set_strata: dict[str, str],
         mask: np.ndarray, values: Met) -> dict[str, str]:
    row = {**base, "component": component,
           **{s: set_strata.get(s, "ALL") for s in measure.strata},
           "denominator": str(int(mask.sum()))}
    if measure.averages:
        chosen = values[component][mask]
        row["average_change"] = f"{chosen.mean() if len(chosen) else 0.0:.2f}"
        return row
    row["numerator"] = str(int(np.count_nonzero(values[component][mask])))
    if component == "ALL":
        for count in measure.extra_counts:
            row[count] = str(int(np.count_nonzero(values[count][mask])))
    return row


def _rate(row: dict[str, str]) -> float:
    denominator = int(row["denominator"])
    return 100.0 * int(row["numerator"]) / denominator if denominator else 0.0


def typed_patients(measure: MeasureSpec, year: int, raw: pd.DataFrame) -> pd.DataFrame:
    """Patient rows as text (a read CSV) typed through the record layer, as the rules see them.

    Raises ``ValueError`` when a row fails its schema: a summary is derived from valid data.
    """
    from gateway.contract import RecordBatch, check_records

    typed, bad, findings = check_records(layouts.schema_id(measure.measure, "patient", year),
                                         RecordBatch(frame=raw.fillna("").astype(str)))
    if bad.any():
        raise ValueError(f"{int(bad.sum())} patient rows fail the schema: "
                         f"{sorted({f.code for f in findings})}")
    return typed.frame
