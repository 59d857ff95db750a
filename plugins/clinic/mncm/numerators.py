"""Who is in each numerator, per measure, as vectorised tests over typed patient records.

Each function takes the typed records of non-excluded patients and returns, per component
(``ALL`` and each part of a composite), a boolean array: in the numerator or not. This is the
part of a measure that declarations cannot say; everything else is in the manifest and schemas.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Numerator = Callable[[pd.DataFrame], dict[str, np.ndarray]]


def _is(frame: pd.DataFrame, column: str, *values: str) -> np.ndarray:
    return frame[column].isin(values).fillna(False).to_numpy(dtype=bool)


def _below(frame: pd.DataFrame, column: str, limit: float) -> np.ndarray:
    return (frame[column] < limit).fillna(False).to_numpy(dtype=bool)


def odc(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A1C < 8.0; BP < 140/90; aspirin (Y or C) when IVD; documented tobacco free."""
    parts = {
        "A1C": _below(frame, "a1c_value", 8.0),
        "BP": _below(frame, "bp_systolic", 140) & _below(frame, "bp_diastolic", 90),
        "ASPIRIN": _is(frame, "ivd", "N") | _is(frame, "aspirin", "Y", "C"),
        "TOBACCO": _is(frame, "tobacco_status", "FREE"),
    }
    parts["ALL"] = np.logical_and.reduce(list(parts.values()))
    return parts


NUMERATORS: dict[str, Numerator] = {"odc": odc}
