"""Row tests on typed patient columns as numpy booleans, missing values false.

A patient file's batch is a frame of pandas extension arrays (``Int64``, ``Float64``, Arrow
text, ``datetime64``). A test written on its Series (``frame[c].isin(...).fillna(False)``)
builds two or three Series around one comparison, which costs tens of microseconds whatever
the row count: for a ten-row file the family's rules and results were mostly that. These test
the column's array itself, with the same answers (a missing value is never in a numerator,
never outside a range).
"""

from __future__ import annotations

from typing import Any

from gateway.contract import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")


def flags(result: Any) -> np.ndarray:
    """A comparison's result (numpy, or a pandas boolean array with missing values) as a numpy
    boolean array, missing as false."""
    if isinstance(result, np.ndarray):
        return result.astype(bool, copy=False)
    return result.to_numpy(dtype=bool, na_value=False)


def is_in(frame: pd.DataFrame, column: str, *values: str) -> np.ndarray:
    """Rows whose ``column`` is one of ``values``."""
    return flags(frame[column].array.isin(list(values)))


def below(frame: pd.DataFrame, column: str, limit: float) -> np.ndarray:
    """Rows whose ``column`` is less than ``limit``."""
    return flags(frame[column].array < limit)


def equals(frame: pd.DataFrame, column: str, value: str) -> np.ndarray:
    """Rows whose ``column`` is ``value``."""
    return flags(frame[column].array == value)
