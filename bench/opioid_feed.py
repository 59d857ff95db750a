"""Synthetic opioid prescribing feeds (family opip) for the benchmark and the plugin's tests:
never real prescribers. NPIs are valid (Luhn check digit over 80840 + the first nine digits);
specialties are drawn so the common groups have enough prescribers for a QI threshold.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

COLUMNS = ["measurement_year", "prescriber_npi", "prescriber_name", "specialty_group",
           "health_system", "measure", "numerator", "denominator"]
MEASURES = ["M1", "M2", "M3", "M4", "M5", "M6", "M7"]
COMMON = ["FAMILY_MEDICINE", "INTERNAL_MEDICINE", "EMERGENCY_MEDICINE", "ORTHOPEDIC_SURGERY",
          "PHYSICIAN_ASSISTANT_AND_ADVANCE_PRACTICE_NURSE", "DENTAL_GENERAL"]
FIRST = ["Ann", "Bo", "Chidi", "Dana", "Eero", "Farah", "Gus", "Hana", "Ivo", "Jo"]
LAST = ["Berg", "Olson", "Nguyen", "Haddad", "Larsen", "Vang", "Okafor", "Lind", "Moe", "Yang"]


def npi(serial: int) -> str:
    """A valid NPI whose first nine digits are ``1`` and ``serial`` (8 digits)."""
    base = f"1{serial:08d}"
    digits = [int(c) for c in "80840" + base]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return base + str((10 - total % 10) % 10)


def feed_rows(prescribers: int, health_systems: Sequence[str], *, year: int = 2021,
              seed: int = 11, first_serial: int = 1) -> list[list[str]]:
    """One row per prescriber and measure; rates spread so some prescribers are above their
    group's threshold, and a few have too few patients."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(prescribers):
        serial = first_serial + number
        name = f"{FIRST[number % len(FIRST)]} {LAST[(number // 10) % len(LAST)]} {serial}"
        specialty = COMMON[int(rng.integers(0, len(COMMON)))]
        system = health_systems[number % len(health_systems)] if health_systems else ""
        outlier = rng.random() < 0.08
        for measure in MEASURES:
            denominator = int(rng.integers(0, 120)) if rng.random() > 0.04 else 0
            share = rng.beta(2, 12) * (3.5 if outlier else 1.0)
            numerator = min(denominator, round(denominator * share))
            rows.append([str(year), npi(serial), name, specialty, system, measure,
                         str(numerator), str(denominator)])
    return rows


def write_feed(path: Path, rows: Sequence[Sequence[str]]) -> Path:
    """Write rows (as built by ``feed_rows``) as the program's CSV."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path
