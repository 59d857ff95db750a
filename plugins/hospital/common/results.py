"""Result calculators the hospital summary families share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway.contract import RecordBatch, ResultCalculator, lazy_module, plain

pd = lazy_module("pandas")


def computed_rate(numerator: int, denominator: int, scale: float = 100.0,
                  decimals: int = 1) -> float | None:
    """``scale * numerator / denominator`` rounded; None when the denominator is 0."""
    return round(scale * numerator / denominator, decimals) if denominator else None


class RowRates(ResultCalculator):
    """One entry per row keyed by ``key``: the counts and the rate computed from them (the
    submitted rate is checked by the rules, the receipt carries the gateway's own figure)."""

    def __init__(self, key: str, numerator: str, denominator: str, *,
                 scale: Callable[[str], float] = lambda key: 100.0, decimals: int = 1,
                 extra: tuple[str, ...] = (), header: tuple[str, ...] = ()) -> None:
        self.key, self.numerator, self.denominator = key, numerator, denominator
        self.scale, self.decimals, self.extra, self.header = scale, decimals, extra, header
        self.rows: dict[str, dict[str, Any]] = {}
        self.first: dict[str, Any] = {}

    def observe(self, batch: RecordBatch) -> None:
        frame = batch.frame
        if not self.first and len(frame):
            self.first = {h: plain(frame[h].iloc[0]) for h in self.header}
        for _, row in frame.iterrows():
            key = str(row[self.key])
            entry: dict[str, Any] = {c: plain(row[c]) for c in self.extra}
            n, d = row[self.numerator], row[self.denominator]
            if pd.notna(n) and pd.notna(d):
                scale = self.scale(key)
                entry.update({"numerator": int(n), "denominator": int(d),
                              "rate": computed_rate(int(n), int(d), scale, self.decimals),
                              "per": int(scale)})
            self.rows[key] = entry

    def finish(self) -> dict[str, Any]:
        return {**self.first, "rows": dict(sorted(self.rows.items()))}
