"""The direct typing of plain texts gives exactly the arrays pandas gives.

The file rules read the typed columns, so a value or dtype that differed would change a rate
or a rule's verdict in a receipt. Every column here is typed both ways, and the direct path
must also be the one taken for the plain forms (else the comparison proves nothing).
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from gateway.engine.typed_columns import _direct, pandas_typed, typed_values

BOUNDED = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                   phases=[Phase.explicit, Phase.generate])

KINDS = [("integer", None), ("number", None), ("string", "date"),
         ("string", "local-date-time")]


def _same_as_pandas(kind: str, format: str | None, texts: list[str]) -> None:
    expected = pandas_typed(kind, format, pd.Series(texts, dtype=object)).array
    got = typed_values(kind, format, texts)
    assert got.dtype == expected.dtype
    pd.testing.assert_extension_array_equal(got, expected)


@pytest.mark.parametrize(("kind", "format", "texts"), [
    ("integer", None, ["1", "", "+5", "-0", "007", "999999999999999", "-999999999999999"]),
    ("integer", None, ["12", "forty", ""]),
    ("integer", None, ["9007199254740993", "1"]),  # beyond a double's exact integers
    ("integer", None, ["99999999999999999999", "9007199254740993"]),  # beyond 64 bits
    ("integer", None, ["1e3", "0x10", " 5", "inf", "nan", "1.0"]),
    ("number", None, ["7.", ".5", "7.25", "12", "", "-0.0", "+.5", "0.1", "99999999999999.9"]),
    ("number", None, ["8.123456789012345678", "1e1", "abc", "0.30000000000000004"]),
    ("number", None, ["1", "2"]),
    ("string", "date", ["2014-01-02", "", "1000-01-01", "9999-12-31", "2016-02-29"]),
    ("string", "date", ["2014-02-30", "2014-13-01", "0999-01-01", "0000-01-01", "2014-1-2"]),
    ("string", "date", [""]),
    ("string", "date", ["2014-01-02T10:30"]),
    ("string", "local-date-time", ["2014-01-02T10:30", "", "2014-01-02T23:59"]),
    ("string", "local-date-time", ["2014-01-02T24:00", "2014-01-02T10:60", "2014-01-02"]),
])
def test_chosen_texts_are_typed_as_pandas_types_them(kind: str, format: str | None,
                                                     texts: list[str]) -> None:
    _same_as_pandas(kind, format, texts)


def test_plain_texts_take_the_direct_path() -> None:
    assert _direct("integer", None, ["12", "", "-3"]) is not None
    assert _direct("number", None, ["1.5", "", "12"]) is not None
    assert _direct("string", "date", ["2014-06-19", ""]) is not None
    assert _direct("string", "local-date-time", ["2014-06-19T08:30"]) is not None
    assert _direct("integer", None, ["forty"]) is None  # pandas decides
    assert _direct("string", "date", ["2014-02-30"]) is None


_digits = st.text("0123456789", min_size=1, max_size=20)
_sign = st.sampled_from(["", "+", "-"])
_integer = st.builds(lambda s, d: s + d, _sign, _digits)
_decimal = st.builds(lambda s, a, b: f"{s}{a}.{b}", _sign, st.text("0123456789", max_size=12),
                     st.text("0123456789", max_size=12))
_date = st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(0, 9999),
                  st.integers(0, 13), st.integers(0, 32))
_moment = st.builds(lambda day, h, m: f"{day}T{h:02d}:{m:02d}", _date, st.integers(0, 25),
                    st.integers(0, 61))
_text = st.one_of(st.just(""), _integer, _decimal, _date, _moment,
                  st.text(max_size=6))


@BOUNDED
@given(texts=st.lists(_text, min_size=1, max_size=12, unique=True),
       kind=st.sampled_from(KINDS))
def test_any_texts_are_typed_as_pandas_types_them(texts: list[str],
                                                  kind: tuple[str, str | None]) -> None:
    _same_as_pandas(kind[0], kind[1], texts)


@BOUNDED
@given(texts=st.lists(st.one_of(st.just(""), _integer, _decimal), min_size=1, max_size=12,
                      unique=True), kind=st.sampled_from(["integer", "number"]))
def test_numbers_are_typed_as_pandas_types_them(texts: list[str], kind: str) -> None:
    _same_as_pandas(kind, None, texts)


@BOUNDED
@given(texts=st.lists(st.one_of(st.just(""), _date, _moment), min_size=1, max_size=12,
                      unique=True), format=st.sampled_from(["date", "local-date-time"]))
def test_dates_are_typed_as_pandas_types_them(texts: list[str], format: str) -> None:
    _same_as_pandas("string", format, texts)
