"""Specialty averages, QI thresholds and QI status of a prescribing feed (opioid.md).

Rates are compared exactly: the averages and thresholds are computed in floating point, and a
rate within rounding distance of its group's threshold is decided again with exact fractions
(``rate > mean + k * sd`` is ``d > 0 and d**2 > k**2 * variance`` with ``d = rate - mean``), so a
prescriber exactly at the threshold is never called above it. Rounding is for display only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from gateway.contract import lazy_module
from gateway_opioid.program import YearRules

np = lazy_module("numpy")
pd = lazy_module("pandas")

NEAR = 1e-9  # distance below which a float comparison with the threshold is decided exactly
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class GroupStat:
    """One specialty group on one measure."""

    specialty: str
    measure: str
    compared: int  # prescribers at the minimum denominator
    average: float | None
    threshold: float | None
    rates: tuple[float, ...] = ()  # the compared rates, ascending


@dataclass(frozen=True)
class FeedStats:
    """What the program computes from a feed: per (group, measure) and per prescriber."""

    groups: dict[tuple[str, str], GroupStat]
    required: dict[str, list[str]]  # npi -> measures on which the prescriber is QI-required


def compute(frame: pd.DataFrame, rules: YearRules) -> FeedStats:
    """``frame`` has columns prescriber_npi, specialty_group, measure, numerator, denominator
    (one row per prescriber and measure)."""
    numerator = frame["numerator"].to_numpy(dtype="float64")
    denominator = frame["denominator"].to_numpy(dtype="float64")
    minimum = frame["measure"].map(rules.min_denominator).to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(denominator > 0, numerator / denominator, np.nan)
    table = pd.DataFrame({
        "npi": frame["prescriber_npi"].to_numpy(dtype=object),
        "specialty": frame["specialty_group"].to_numpy(dtype=object),
        "measure": frame["measure"].to_numpy(dtype=object),
        "numerator": frame["numerator"].to_numpy(dtype="int64"),
        "denominator": frame["denominator"].to_numpy(dtype="int64"),
        "rate": rate})
    compared = table[(denominator >= minimum) & (denominator > 0)]
    summary = compared.groupby(["specialty", "measure"], sort=True)["rate"].agg(
        average="mean", sd=lambda r: float(np.std(r.to_numpy(), ddof=0)), compared="size")
    groups: dict[tuple[str, str], GroupStat] = {}
    for (specialty, measure), row in summary.iterrows():
        threshold = None
        if measure in rules.qi_measures and row["compared"] >= rules.min_prescribers:
            threshold = float(row["average"] + rules.threshold_sd * row["sd"])
        groups[specialty, measure] = GroupStat(specialty, measure, int(row["compared"]),
                                               float(row["average"]), threshold)
    for (specialty, measure), members in compared.groupby(["specialty", "measure"], sort=True):
        stat = groups[specialty, measure]
        groups[specialty, measure] = GroupStat(
            stat.specialty, stat.measure, stat.compared, stat.average, stat.threshold,
            tuple(float(r) for r in np.sort(members["rate"].to_numpy())))
    required: dict[str, list[str]] = {}
    for (specialty, measure), members in compared.groupby(["specialty", "measure"], sort=True):
        threshold = groups[specialty, measure].threshold
        if threshold is None:
            continue
        rates = members["rate"].to_numpy()
        above = rates > threshold
        near = np.abs(rates - threshold) <= NEAR
        if near.any():
            exact = _exact_above(members, rules.threshold_sd)
            above = np.where(near, exact, above)
        for npi in members["npi"].to_numpy()[above]:
            required.setdefault(npi, []).append(measure)
    return FeedStats(groups, {npi: sorted(ms) for npi, ms in required.items()})


def _exact_above(members: pd.DataFrame, sd_multiple: float) -> np.ndarray:
    """For each member: is its rate above mean + k * population SD, in exact arithmetic."""
    rates = [Fraction(int(n), int(d)) for n, d in
             zip(members["numerator"], members["denominator"], strict=True)]
    mean = sum(rates, Fraction(0)) / len(rates)
    variance = sum(((r - mean) ** 2 for r in rates), Fraction(0)) / len(rates)
    k = Fraction(sd_multiple)
    return np.array([(r - mean) > 0 and (r - mean) ** 2 > k * k * variance for r in rates])


def rate_percent(numerator: int, denominator: int) -> float | None:
    """A rate as a percentage rounded half up to 0.1, from the exact fraction; None when the
    denominator is 0."""
    if denominator <= 0:
        return None
    tenths = (2000 * numerator + denominator) // (2 * denominator)
    return tenths / 10


def percent(value: float | None) -> float | None:
    """An average or threshold (a share) as a percentage rounded half up to 0.1."""
    if value is None or value != value:
        return None
    shown = Decimal(f"{value * 100:.9f}").quantize(TENTH, rounding=ROUND_HALF_UP)
    return float(shown)


def shown(value: float | None) -> str:
    """A percentage for people: ``12.3%``, or an em dash when there is none."""
    return "—" if value is None else f"{value:.1f}%"
