"""The program's arithmetic (opioid.md): minimum denominators, population SD, at least five
prescribers for a threshold, exact comparison, rounding half up for display only."""

from __future__ import annotations

import pandas as pd
from gateway_opioid.program import program, specialty_code
from gateway_opioid.stats import compute, percent, rate_percent

RULES = program().years[2021]


def feed(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["prescriber_npi", "specialty_group", "measure",
                                       "numerator", "denominator"])


def test_average_counts_only_prescribers_at_the_minimum_denominator() -> None:
    stats = compute(feed([("a", "SURGERY", "M1", 5, 10), ("b", "SURGERY", "M1", 1, 10),
                          ("c", "SURGERY", "M1", 9, 9), ("d", "SURGERY", "M1", 0, 0)]), RULES)
    group = stats.groups["SURGERY", "M1"]
    assert group.compared == 2
    assert group.average == 0.3  # (0.5 + 0.1) / 2; 9/9 is below the minimum of 10
    assert group.threshold is None  # M1 has no QI requirement


def test_m5_and_m6_need_five_in_the_denominator() -> None:
    rows = [(f"p{i}", "SURGERY", "M5", 1, 5) for i in range(4)] + [("q", "SURGERY", "M5", 4, 4)]
    assert compute(feed(rows), RULES).groups["SURGERY", "M5"].compared == 4


def test_threshold_is_mean_plus_two_population_sds_with_five_prescribers() -> None:
    rates = [10, 10, 10, 10, 60]  # per 100
    rows = [(f"p{i}", "SURGERY", "M2", n, 100) for i, n in enumerate(rates)]
    stats = compute(feed(rows), RULES)
    mean = sum(rates) / 500
    sd = (sum((r / 100 - mean) ** 2 for r in rates) / 5) ** 0.5  # population SD
    assert abs(stats.groups["SURGERY", "M2"].threshold - (mean + 2 * sd)) < 1e-12
    assert stats.required == {}  # 0.6 is below 0.2 + 2 * 0.2 = 0.6: not above
    four = compute(feed(rows[:4]), RULES)
    assert four.groups["SURGERY", "M2"].threshold is None


def test_a_rate_exactly_at_the_threshold_is_not_above_it() -> None:
    # identical rates: SD 0, threshold = mean = each rate; floating point must not tip it over
    rows = [(f"p{i}", "SURGERY", "M3", 1, 10) for i in range(7)]
    assert compute(feed(rows), RULES).required == {}


def test_above_threshold_is_required_per_measure() -> None:
    rows = [(f"p{i}", "FAMILY_MEDICINE", "M2", 1, 20) for i in range(9)]
    rows += [("top", "FAMILY_MEDICINE", "M2", 19, 20), ("top", "FAMILY_MEDICINE", "M1", 19, 20)]
    stats = compute(feed(rows), RULES)
    assert stats.required == {"top": ["M2"]}


def test_display_rounds_half_up_to_a_tenth() -> None:
    assert rate_percent(1, 8) == 12.5
    assert rate_percent(1, 16) == 6.3  # 6.25 -> 6.3 (half up, not to even)
    assert rate_percent(1, 3) == 33.3
    assert rate_percent(0, 0) is None
    assert percent(0.00125) == 0.1
    assert percent(0.12345) == 12.3


def test_specialty_codes_follow_the_spec() -> None:
    assert specialty_code("Dental—General") == "DENTAL_GENERAL"
    assert specialty_code("Podiatry-Surgical") == "PODIATRY_SURGICAL"
    assert len(program().specialties) == 31
    assert "PHYSICIAN_ASSISTANT_AND_ADVANCE_PRACTICE_NURSE" in program().specialties
    assert {"SURGERY", "UROLOGY", "OTOLARYNGOLOGY"} <= program().surgical
