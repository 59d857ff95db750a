"""Row tests on typed patient columns as numpy booleans, missing values false.

A patient file's batch is a frame of pandas extension arrays (``Int64``, ``Float64``, Arrow
text, ``datetime64``). A test written on its Series (``frame[c].isin(...).fillna(False)``)
builds two or three Series around one comparison, and even a comparison of the arrays goes
through pandas' operator dispatch: tens of microseconds a test whatever the row count, which
for a ten-row file was most of the family's rules and results. These test the column's data
itself, Arrow text with Arrow's kernels and numbers and dates with numpy, with the same
answers (a missing value is never in a numerator, never outside a range).
"""

from __future__ import annotations

from typing import Any

from gateway.contract import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")
pa = lazy_module("pyarrow")
pc = lazy_module("pyarrow.compute")


def _flags(result: Any) -> np.ndarray:
    """A comparison's result (numpy, or a pandas boolean array with missing values) as a numpy
    boolean array, missing as false."""
    if isinstance(result, np.ndarray):
        return result.astype(bool, copy=False)
    return result.to_numpy(dtype=bool, na_value=False)


def _arrow(values: Any) -> pa.ChunkedArray | None:
    """The Arrow data of an Arrow-backed column (the record layer's text columns)."""
    if isinstance(values, pd.arrays.ArrowExtensionArray):
        return values.__arrow_array__()
    return None


def _floats(values: Any) -> np.ndarray:
    """A number column as floats, missing as NaN (which no comparison holds for). A whole
    number is compared with a limit exactly: rounding to a float keeps its order with any
    limit a float holds exactly."""
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def is_in(frame: pd.DataFrame, column: str, *values: str) -> np.ndarray:
    """Rows whose text ``column`` is one of ``values``."""
    cells = frame[column].array
    data = _arrow(cells)
    if data is None:
        return _flags(cells.isin(list(values)))
    return pc.is_in(data, value_set=pa.array(values, type=data.type)).to_numpy()


def equals(frame: pd.DataFrame, column: str, value: str) -> np.ndarray:
    """Rows whose text ``column`` is ``value``."""
    return is_in(frame, column, value)


def below(frame: pd.DataFrame, column: str, limit: float) -> np.ndarray:
    """Rows whose number ``column`` is less than ``limit``."""
    return _floats(frame[column].array) < limit


def outside(values: Any, low: Any, high: Any) -> np.ndarray:
    """Rows of a number or date column below ``low`` or above ``high`` (``None``: open)."""
    if isinstance(values, pd.arrays.DatetimeArray):
        data = np.asarray(values)  # NaT: neither before nor after anything
        low = None if low is None else np.datetime64(low)
        high = None if high is None else np.datetime64(high)
    else:
        data = _floats(values)
    out = data > high if high is not None else np.zeros(len(data), dtype=bool)
    if low is not None:
        out |= data < low
    return out


def texts(frame: pd.DataFrame, column: str) -> list[str]:
    """The distinct texts of ``column``, missing left out, in order of first appearance."""
    cells = frame[column].array
    data = _arrow(cells)
    if data is None:
        return list(cells.dropna().unique())
    return pc.unique(data).drop_null().to_pylist()
