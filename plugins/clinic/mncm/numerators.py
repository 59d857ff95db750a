"""Who is in each numerator, per measure, as vectorised tests over typed patient records.

Each function takes typed patient records (and the measure and reporting year, for measures
whose test depends on the period) and returns, per component (``ALL`` and each part of a
composite), a boolean array: in the numerator or not. Each row is judged by itself, never
against other rows: the caller asks about every patient and counts those not excluded. A key
that is not a component is an extra count the measure reports (DRM's ``no_followup``). This is
the part of a measure that declarations cannot say; everything else is in the manifest and
schemas.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway_plugins.clinic.mncm.manifest import MeasureSpec, YearSpec
from gateway_plugins.clinic.mncm.masks import below, is_in

from gateway.contract import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")

Numerator = Callable[["pd.DataFrame", MeasureSpec, YearSpec], dict[str, "np.ndarray"]]

DRM_DAYS, DRM_SLACK = 180, 30
WELL_CONTROLLED = {"ACT": (20, None), "CACT": (20, None), "ACQ": (None, 0.75), "ATAQ": (None, 0)}


def _composite(parts: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The composite ``ALL``: every part met."""
    return {"ALL": np.logical_and.reduce(list(parts.values())), **parts}


def _target(frame: pd.DataFrame, year: YearSpec, part: str) -> np.ndarray:
    """A part of a composite met: every column below its limit in the year's ``targets``."""
    return np.logical_and.reduce([below(frame, column, limit)
                                  for column, limit in year.targets[part].items()])


def odc(frame: pd.DataFrame, measure: MeasureSpec, year: YearSpec) -> dict[str, np.ndarray]:
    """A1C and BP below the year's targets (2015: A1c < 8.0, BP < 140/90); aspirin (Y or C)
    when IVD; documented tobacco free."""
    return _composite({
        "A1C": _target(frame, year, "A1C"),
        "BP": _target(frame, year, "BP"),
        "ASPIRIN": is_in(frame, "ivd", "N") | is_in(frame, "aspirin", "Y", "C"),
        "TOBACCO": is_in(frame, "tobacco_status", "FREE"),
    })


def ovc(frame: pd.DataFrame, measure: MeasureSpec, year: YearSpec) -> dict[str, np.ndarray]:
    """BP below the year's target; aspirin Y or C (every OVC patient has vascular disease);
    tobacco free."""
    return _composite({
        "BP": _target(frame, year, "BP"),
        "ASPIRIN": is_in(frame, "aspirin", "Y", "C"),
        "TOBACCO": is_in(frame, "tobacco_status", "FREE"),
    })


def drm_followup_in_window(frame: pd.DataFrame) -> np.ndarray:
    """A follow-up PHQ-9 taken 180 days +/- 30 after the index contact."""
    days = (frame["followup_date"] - frame["index_date"]).dt.days
    inside = (days >= DRM_DAYS - DRM_SLACK) & (days <= DRM_DAYS + DRM_SLACK)
    return inside.fillna(False).to_numpy(dtype=bool) & frame["followup_phq9"].notna().to_numpy()


def drm(frame: pd.DataFrame, measure: MeasureSpec, year: YearSpec) -> dict[str, np.ndarray]:
    """Remission: a PHQ-9 under 5 inside the six-month window. ``no_followup``: no PHQ-9 in
    that window (none at all, or one taken too early or too late)."""
    in_window = drm_followup_in_window(frame)
    return {"ALL": in_window & below(frame, "followup_phq9", 5), "no_followup": ~in_window}


def oac(frame: pd.DataFrame, measure: MeasureSpec, year: YearSpec) -> dict[str, np.ndarray]:
    """CONTROL: well controlled by the tool's threshold; RISK: not at increased risk."""
    control = np.zeros(len(frame), dtype=bool)
    score = frame["control_score"]
    for tool, (at_least, at_most) in WELL_CONTROLLED.items():
        ok = frame["control_tool"] == tool
        ok = ok & (score >= at_least) if at_least is not None else ok & (score <= at_most)
        control |= ok.fillna(False).to_numpy(dtype=bool)
    return _composite({"CONTROL": control, "RISK": is_in(frame, "exacerbation_risk", "N")})


def aem(frame: pd.DataFrame, measure: MeasureSpec, year: YearSpec) -> dict[str, np.ndarray]:
    """Educated and with a written action plan."""
    return {"ALL": is_in(frame, "education", "Y") & is_in(frame, "action_plan", "Y")}


def crc(frame: pd.DataFrame, measure: MeasureSpec, year: YearSpec) -> dict[str, np.ndarray]:
    """A screening recent enough for its type, counted back from the end of the period
    (a look-back of 0 years means inside the dates of service)."""
    first, last = (pd.Timestamp(d) for d in year.dates_of_service)
    met = np.zeros(len(frame), dtype=bool)
    for kind, years in measure.lookback_years.items():
        since = first if years == 0 else last - pd.DateOffset(years=years)
        ok = (frame["screening_type"] == kind) & (frame["screening_date"] > since) & (
            frame["screening_date"] <= last) if years else (
            frame["screening_type"] == kind) & (frame["screening_date"] >= since) & (
            frame["screening_date"] <= last)
        met |= ok.fillna(False).to_numpy(dtype=bool)
    return {"ALL": met}


def pcs(frame: pd.DataFrame, measure: MeasureSpec, year: YearSpec) -> dict[str, np.ndarray]:
    """Cesarean delivery (the rate is of first term births; lower is better)."""
    return {"ALL": is_in(frame, "delivery_method", "CESAREAN")}


def amh(frame: pd.DataFrame, measure: MeasureSpec, year: YearSpec) -> dict[str, np.ndarray]:
    """Screened with a standard tool."""
    return {"ALL": is_in(frame, "screened", "Y")}


def owc(frame: pd.DataFrame, measure: MeasureSpec, year: YearSpec) -> dict[str, np.ndarray]:
    """BMI percentile assessed, and below the 85th or counseled on nutrition and activity."""
    percentile = frame["bmi_percentile"]
    counseled = is_in(frame, "nutrition_counseling", "Y") & is_in(frame, "activity_counseling", "Y")
    assessed = percentile.notna().to_numpy(dtype=bool)
    return {"ALL": assessed & (below(frame, "bmi_percentile", 85) | counseled)}


NUMERATORS: dict[str, Numerator] = {
    "odc": odc, "ovc": ovc, "drm": drm, "oac": oac, "aem": aem, "crc": crc, "pcs": pcs,
    "amh": amh, "owc": owc}


def score_changes(frame: pd.DataFrame, measure: MeasureSpec) -> dict[str, pd.Series]:
    """Post-operative minus pre-operative score, per scored domain, per patient."""
    out = {}
    for component in measure.components:
        pre, post = measure.score_columns(component)
        out[component] = (frame[post] - frame[pre]).astype("Float64")
    return out
