"""The typed values the file rules read, from a layout column's distinct texts.

pandas decides the typing (``pandas_typed``): ``to_numeric`` and ``to_datetime`` over the
distinct texts of the whole column, so the dtype is the one pandas picks for the column. That is
a chain of about ten small pandas operations per column, whatever the row count: for a ten-row
file, with eight typed columns, a third of its validation. Almost every text has a plain form
whose value pandas gives is known exactly: an integer of at most 15 digits, a decimal of at most
15 digits (both exact as a double, so pandas' float and integer paths agree), an ISO date or
date and time from the year 1000 on. ``typed_values`` types a column whose (few) texts all have
such forms directly into the array pandas would return, and hands any other column to pandas.
``tests/engine/test_typed_columns.py`` holds the direct path to pandas' own answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gateway.contract.lazy import lazy_module

if TYPE_CHECKING:
    import pandas

np = lazy_module("numpy")
pd = lazy_module("pandas")

_PLAIN_INTEGER = re.compile(r"[+-]?[0-9]{1,15}")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_NUMBER_DIGITS = 15  # digits of a plain decimal, leading and trailing zeros included
_PLAIN_DATE = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}")
_PLAIN_MOMENT = re.compile(r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]")
_DATE_FORMATS = {"date": "%Y-%m-%d", "local-date-time": "%Y-%m-%dT%H:%M"}
# Distinct texts typed directly at most: Python's cost grows with them, pandas' hardly does, and
# beyond a few hundred (a large file's amounts or ids) pandas is the cheaper of the two.
_DIRECT_TEXTS = 256


def pandas_typed(kind: str, format: str | None, text: pandas.Series) -> pandas.Series:
    """The typed column as pandas makes it (element-wise, so it may run on distinct texts):
    integers ``Int64``, numbers ``Float64``, dates ``datetime64``, other text ``string``;
    empty and unreadable texts missing."""
    empty = text == ""
    if kind == "integer":
        numbers = pd.to_numeric(text.where(~empty), errors="coerce")
        # beyond 64 bits (valid JSON, no Int64): the rules see it as missing
        numbers = numbers.where(numbers.abs() < 2**63)
        return numbers.astype("Float64").round().astype("Int64") \
            if numbers.dtype.kind == "f" else numbers.astype("Int64")
    if kind == "number":
        return pd.to_numeric(text.where(~empty), errors="coerce").astype("Float64")
    if format in _DATE_FORMATS:
        return pd.to_datetime(text.where(~empty), format=_DATE_FORMATS[format],
                              errors="coerce")
    return text.where(~empty, pd.NA).astype("string")


def typed_values(kind: str, format: str | None, texts: Sequence[str]
                 ) -> pandas.api.extensions.ExtensionArray:
    """``pandas_typed`` of ``texts`` as an array, made directly when every text has a plain
    form (see the module's docstring), else by pandas."""
    direct = _direct(kind, format, texts) if len(texts) <= _DIRECT_TEXTS else None
    if direct is not None:
        return direct
    return pandas_typed(kind, format, pd.Series(texts, dtype=object)).array


def _direct(kind: str, format: str | None, texts: Sequence[str]
            ) -> pandas.api.extensions.ExtensionArray | None:
    """The typed array made without pandas' chain, or None when a text is not plain."""
    filled = [t for t in texts if t]
    missing = np.array([not t for t in texts], dtype=bool)
    if kind == "integer":
        if not all(_PLAIN_INTEGER.fullmatch(t) for t in filled):
            return None
        return pd.arrays.IntegerArray(np.array([int(t or 0) for t in texts], dtype=np.int64),
                                      missing)
    if kind == "number":
        if not all(_PLAIN_NUMBER.fullmatch(t) and sum(map(str.isdigit, t)) <= _NUMBER_DIGITS
                   for t in filled):
            return None
        return pd.arrays.FloatingArray(
            np.array([float(t or 0) for t in texts], dtype=np.float64), missing)
    plain = {"date": _PLAIN_DATE, "local-date-time": _PLAIN_MOMENT}.get(format or "")
    if plain is None or not filled:
        return None  # no text at all: pandas picks another unit
    if not all(plain.fullmatch(t) for t in filled):
        return None
    values = np.full(len(texts), np.datetime64("NaT"), dtype="datetime64[us]")
    try:  # numpy refuses a day the calendar does not have, as pandas makes it missing
        values[~missing] = np.array(filled, dtype="datetime64[m]")
    except ValueError:
        return None
    return pd.array(values)
