"""Exact arithmetic for the rate and tolerance checks of every family.

A reported rate is right when it is within a tolerance of the rate its counts give (specs README
section 4: ``8.8`` for 7/80 = 8.75 is right). In binary floating point ``8.8 - 8.75`` is
``0.05000000000000071`` and a correct file is rejected; so the checks compare fractions. A
reported value is taken as the decimal the submitter wrote (the shortest decimal that reads back
as the float the reader made), counts are whole numbers, and the computed rate is a fraction.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from numbers import Rational
from typing import Any


def exact(value: Any) -> Fraction:
    """The number ``value`` was written as: ints and fractions exactly, a float as the
    shortest decimal that reads back as it (``8.8``, not ``8.800000000000000710...``)."""
    if hasattr(value, "item"):  # numpy and pandas scalars, as plain Python numbers
        value = value.item()
    if isinstance(value, Fraction | int | Decimal):
        return Fraction(value)
    if isinstance(value, Rational):
        return Fraction(int(value.numerator), int(value.denominator))
    return Fraction(Decimal(repr(float(value))))


def ratio(scale: Any, numerator: Any, denominator: Any) -> Fraction:
    """``scale * numerator / denominator``, exactly (the denominator is not 0)."""
    return exact(scale) * exact(numerator) / exact(denominator)


def within(reported: Any, expected: Fraction, tolerance: Any) -> bool:
    """Whether ``reported`` is within ``tolerance`` of ``expected``, the bound included."""
    return abs(exact(reported) - expected) <= exact(tolerance)


def decimal_text(value: Fraction, decimals: int) -> str:
    """``value`` rounded half up to ``decimals`` places, as a cell should hold it
    (``8.75`` -> ``8.8`` at one decimal)."""
    quantum = Decimal(1).scaleb(-decimals)
    shown = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        quantum, rounding=ROUND_HALF_UP) if value.denominator != 1 else Decimal(
        value.numerator).quantize(quantum)
    return f"{shown:f}"
