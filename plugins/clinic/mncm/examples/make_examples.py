"""Write the example files of every clinic measure (except ODC's, written by hand).

For each measure: a valid patient-level file of made-up patients, the valid summary derived
from it, and for every file rule an invalid file that breaks that rule alone, named
``<EXPECTED-CODE>--what-it-breaks.csv``. Deterministic (seeded), so rerunning changes nothing.

    .venv/bin/python plugins/clinic/mncm/examples/make_examples.py
"""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
from gateway_plugins.clinic.mncm import layouts
from gateway_plugins.clinic.mncm.derive import numerator_masks, summary_rows, typed_patients
from gateway_plugins.clinic.mncm.manifest import MeasureSpec, band_bounds, measures

HERE = Path(__file__).resolve().parent
NPI, OTHER_NPI = "1234567893", "1245319599"
ZIPS = ["55455", "55101", "55902-1234", "56001"]
PAYERS = ["PRIVATE", "MEDICARE", "MHCP", "SELF_PAY", "UNINSURED"]
PATIENTS = 40
Row = dict[str, str]


def _day(r: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=r.randrange((last - first).days + 1))


def _yn(r: random.Random, yes: float = 0.6) -> str:
    return "Y" if r.random() < yes else "N"


def measure_columns(m: str, r: random.Random, spec: MeasureSpec, first: date,
                    last: date) -> Row:
    """Plausible values of the measure's own columns for one patient."""
    if m == "OVC":
        return {"bp_systolic": str(r.randint(105, 165)), "bp_diastolic": str(r.randint(60, 99)),
                "bp_date": str(_day(r, first, last)), "aspirin": r.choice("YYNC"),
                "tobacco_status": r.choice(["FREE", "FREE", "USER", "UNKNOWN"])}
    if m == "DRM":
        index = _day(r, first, last)
        roll = r.random()
        if roll < 0.15:
            return {"index_date": str(index), "index_phq9": str(r.randint(10, 27))}
        days = 100 if roll < 0.3 else r.randint(150, 210)
        return {"index_date": str(index), "index_phq9": str(r.randint(10, 27)),
                "followup_date": str(index + timedelta(days=days)),
                "followup_phq9": str(r.randint(0, 14))}
    if m == "OAC":
        out = {"exacerbation_risk": _yn(r, 0.3)}
        if r.random() < 0.9:
            tool = r.choice(["ACT", "CACT", "ACQ", "ATAQ"])
            score = {"ACT": str(r.randint(12, 25)), "CACT": str(r.randint(12, 27)),
                     "ACQ": f"{r.choice([0, 0.5, 0.75, 1.25, 2.5]):.2f}",
                     "ATAQ": str(r.randint(0, 2))}[tool]
            out.update(control_tool=tool, control_score=score,
                       control_date=str(_day(r, first, last)))
        return out
    if m == "AEM":
        return {"education": _yn(r, 0.7), "action_plan": _yn(r, 0.6)}
    if m == "CRC":
        kind = r.choice(["COLONOSCOPY", "COLONOSCOPY", "SIGMOIDOSCOPY", "FOBT", "NONE"])
        back = {"COLONOSCOPY": 12 * 365, "SIGMOIDOSCOPY": 7 * 365, "FOBT": 540, "NONE": 0}[kind]
        out = {"screening_type": kind}
        if back:
            out["screening_date"] = str(_day(r, last - timedelta(days=back), last))
        return out
    if m == "PCS":
        delivery = _day(r, first, last)
        born = delivery - timedelta(days=r.randint(16 * 365, 40 * 365))
        return {"birth_date": str(born), "delivery_date": str(delivery),
                "gestation_weeks": str(r.randint(37, 41)),
                "delivery_method": r.choice(["VAGINAL", "VAGINAL", "CESAREAN"])}
    if m == "AMH":
        if r.random() < 0.7:
            return {"screened": "Y", "screening_tool": r.choice(["PHQ9", "PHQA", "PSC17"]),
                    "screening_date": str(_day(r, first, last))}
        return {"screened": "N"}
    if m == "OWC":
        out = {"nutrition_counseling": _yn(r), "activity_counseling": _yn(r),
               "tobacco_status": r.choice(["FREE", "FREE", "UNKNOWN"])}
        if r.random() < 0.85:
            out["bmi_percentile"] = str(r.randint(20, 99))
        return out
    # the functional-status measures: BMI, tobacco, procedure date and pre/post scores
    out = {"bmi": f"{r.uniform(19, 44):.1f}", "tobacco_status": r.choice(["FREE", "USER"]),
           "procedure_date": str(_day(r, first, last))}
    top = {"oxford_knee_score": 48, "oswestry_score": 100, "qol_score": 100, "pain_score": 10}
    for component, definition in spec.scores.items():
        pre, post = spec.score_columns(component)
        high = top[definition]
        out[pre], out[post] = str(r.randint(0, high)), str(r.randint(0, high))
    return out


def patient_rows(spec: MeasureSpec, year: int) -> list[Row]:
    r = random.Random(f"{spec.measure}{year}")
    first, last = spec.years[year].dates_of_service
    rows = []
    for i in range(1, PATIENTS + 1):
        band = spec.age_bands[(i - 1) % len(spec.age_bands)]
        low, high = band_bounds(band)
        low, high = max(low, spec.age_range[0]), min(high, spec.age_range[1], 85)
        excluded = i % 13 == 0
        row = {"clinic_npi": NPI, "measure_id": spec.measure, "reporting_year": str(year),
               "patient_id": f"MRN{spec.measure}{i:04d}", "age": str(r.randint(low, high)),
               "gender": "F" if spec.measure == "PCS" else r.choice("FFMMU"),
               "zip_code": r.choice(ZIPS), "payer_type": r.choice(PAYERS),
               "identification_method": "EMR", "population_basis": "FULL",
               "excluded": "Y" if excluded else "N",
               "exclusion_reason": r.choice(["HOSPICE", "DECEASED", "OTHER"]) if excluded
               else ""}
        row.update(measure_columns(spec.measure, r, spec, first, last))
        if spec.measure == "PCS":
            delivery = date.fromisoformat(row["delivery_date"])
            row["birth_date"] = str(delivery.replace(year=delivery.year - (low + high) // 2)
                                    - timedelta(days=r.randint(1, 300)))
        if excluded and spec.scores:
            for component in spec.scores:
                for column in spec.score_columns(component):
                    row[column] = ""
        rows.append(row)
    return rows


def write(path: Path, rows: list[Row], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _copy(rows: list[Row]) -> list[Row]:
    return [dict(r) for r in rows]


def patient_invalid(spec: MeasureSpec, year: int, rows: list[Row]) -> dict[str, list[Row]]:
    out = {}
    bad = _copy(rows)
    bad[4]["clinic_npi"] = OTHER_NPI
    out["E-RULE-ONE-FACILITY--two-clinics"] = bad
    bad = _copy(rows)
    bad[2]["patient_id"] = bad[1]["patient_id"]
    out["E-RULE-DUPLICATE--patient-twice"] = bad
    ys = spec.years[year]
    dated = [*ys.date_columns, *ys.followup_columns, *ys.history_columns]
    if dated:
        column = dated[0]
        bad = _copy(rows)
        target = next(r for r in bad if r.get(column) and r["excluded"] == "N")
        late = ys.dates_of_service[1] + timedelta(days=ys.followup_days + 20)
        if column == "followup_date":
            target["index_date"] = str(late - timedelta(days=180))
        target[column] = str(late)
        out[f"E-RULE-PERIOD--{column.replace('_', '-')}-after-period"] = bad
    bad = _copy(rows)
    if spec.age_from == "birth_date":
        delivery = date.fromisoformat(bad[0]["delivery_date"])
        bad[0]["birth_date"] = str(delivery.replace(year=delivery.year - spec.age_range[0] + 2))
    else:
        bad[0]["age"] = str(spec.age_range[0] - 1)
    out["E-RULE-AGE--patient-too-young"] = bad
    bad = _copy(rows)
    for row in bad:
        row["population_basis"] = "SAMPLE"
        if spec.sample_allowed:
            row["eligible_population"] = "50"
    name = "sample-under-60" if spec.sample_allowed else "sample-not-allowed"
    out[f"E-RULE-SAMPLE-SIZE--{name}"] = bad
    bad = _copy(rows)
    bad[3]["population_basis"] = "SAMPLE"
    if spec.sample_allowed:
        bad[3]["eligible_population"] = "200"
    out["E-RULE-CONSISTENCY--full-and-sample-mixed"] = bad
    return out


def summary_invalid(spec: MeasureSpec, year: int, typed: pd.DataFrame,
                    rows: list[Row]) -> dict[str, list[Row]]:
    out = {}
    stratum_rows = [i for i, r in enumerate(rows) if r["payer_type"] != "ALL"]
    bad = _copy(rows)
    bad[stratum_rows[0]]["clinic_npi"] = OTHER_NPI
    out["E-RULE-ONE-FACILITY--two-clinics"] = bad
    out["E-RULE-DUPLICATE--total-row-twice"] = [*_copy(rows), dict(rows[0])]
    last = spec.all_components[-1]
    out[f"E-RULE-TOTALS--no-total-row-for-{last.lower()}"] = [
        r for r in _copy(rows) if not (r["component"] == last and r["age_band"] == "ALL"
                                        and r["payer_type"] == "ALL" and r["gender"] == "ALL"
                                        and r["zip_code"] == "ALL"
                                        and all(r[s] == "ALL" for s in spec.strata))]
    if spec.averages:
        bad = _copy(rows)
        bad[0]["average_change"] = f"{float(bad[0]['average_change']) + 1:.2f}"
        out["E-RULE-AVERAGE-MISMATCH--total-average-off"] = bad
    else:
        bad = _copy(rows)
        bad[stratum_rows[0]]["denominator"] = str(int(bad[stratum_rows[0]]["denominator"]) + 1)
        out["E-RULE-TOTALS--strata-do-not-add-up"] = bad
        bad = _copy(rows)
        rate = float(bad[0]["reported_rate"])
        bad[0]["reported_rate"] = f"{rate + 1 if rate < 99 else rate - 1:.1f}"
        out["E-RULE-RATE-MISMATCH--rate-off"] = bad
        out["E-RULE-NUMERATOR-GT-DENOMINATOR--numerator-above-denominator"] = \
            _numerator_above(spec, rows)
    if spec.components and not spec.averages:
        kept = typed[typed["excluded"] != "Y"].reset_index(drop=True)
        met = numerator_masks(spec, year, kept)
        met["ALL"] = met["ALL"] | True  # everyone "meets the composite", not every part
        out["E-RULE-COMPOSITE--composite-above-part"] = summary_rows(spec, year, typed, met)
    sampled = summary_rows(spec, year, typed, basis="SAMPLE")
    name = "sample-under-60" if spec.sample_allowed else "sample-not-allowed"
    out[f"E-RULE-SAMPLE-SIZE--{name}"] = sampled
    bad = _copy(rows)
    bad[stratum_rows[0]]["population_basis"] = "SAMPLE"
    out["E-RULE-CONSISTENCY--full-and-sample-mixed"] = bad
    if "no_followup" in spec.extra_counts:
        out["E-RULE-CONSISTENCY--no-followup-above-denominator"] = _followup_above(spec, rows)
    return out


def _numerator_above(spec: MeasureSpec, rows: list[Row]) -> list[Row]:
    """Move denominator between two payer rows of one component so that one row's numerator
    exceeds its denominator while every sum still adds up."""
    bad = _copy(rows)
    component = spec.components[0] if spec.components else "ALL"
    pair = [r for r in bad if r["component"] == component and r["payer_type"] != "ALL"]
    a = next(r for r in pair if int(r["numerator"]) >= 1)
    b = next(r for r in pair if r is not a)
    delta = int(a["denominator"]) - int(a["numerator"]) + 1
    a["denominator"] = str(int(a["denominator"]) - delta)
    b["denominator"] = str(int(b["denominator"]) + delta)
    return bad


def _followup_above(spec: MeasureSpec, rows: list[Row]) -> list[Row]:
    """Raise no_followup on the total and on one row of every breakdown by the same amount."""
    bad = _copy(rows)
    total = bad[0]
    k = int(total["denominator"]) - int(total["numerator"]) - int(total["no_followup"]) + 1
    total["no_followup"] = str(int(total["no_followup"]) + k)
    for stratum in spec.strata:
        row = next(r for r in bad if r[stratum] != "ALL")
        row["no_followup"] = str(int(row["no_followup"]) + k)
    return bad


def main() -> None:
    for measure, spec in measures().items():
        if measure == "ODC":
            continue
        for year in spec.years:
            folder = HERE / str(year) / measure.lower()
            rows = patient_rows(spec, year)
            patient_cols, _ = layouts.columns(measure, "patient", year)
            write(folder / "patient" / "valid" / f"{measure.lower()}-patient-full.csv", rows,
                  list(patient_cols))
            for name, bad in patient_invalid(spec, year, rows).items():
                write(folder / "patient" / "invalid" / f"{name}.csv", bad, list(patient_cols))
            typed = typed_patients(spec, year, pd.DataFrame(rows, columns=list(patient_cols)))
            summary = summary_rows(spec, year, typed)
            summary_cols, _ = layouts.columns(measure, "summary", year)
            write(folder / "summary" / "valid" / f"{measure.lower()}-summary-full.csv", summary,
                  list(summary_cols))
            for name, bad in summary_invalid(spec, year, typed, summary).items():
                write(folder / "summary" / "invalid" / f"{name}.csv", bad, list(summary_cols))


if __name__ == "__main__":
    main()
