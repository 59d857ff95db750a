"""Collecting only the columns a rule or calculator needs, so a 210,000-row feed is held once
per rule as a few narrow columns rather than whole frames."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from gateway.contract import ROW, CollectedRule, Finding, RecordBatch, lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")


class NarrowRule(CollectedRule):
    """A ``CollectedRule`` that keeps only ``columns`` of each batch."""

    columns: Sequence[str] = ()

    def observe(self, batch: RecordBatch) -> Iterable[Finding]:
        return super().observe(RecordBatch(
            frame=batch.frame[list(self.columns)], rows=batch.rows, xpaths=batch.xpaths,
            lines=batch.lines, cells=batch.cells))


class Columns:
    """Typed columns gathered batch by batch, for a calculator or a reference collector."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._parts: list[pd.DataFrame] = []

    def add(self, batch: RecordBatch) -> None:
        # an optional column left out of the header reads as empty
        self._parts.append(batch.frame.reindex(columns=self.columns))

    def table(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({c: [] for c in self.columns})
        return pd.concat(self._parts, ignore_index=True)


class CollectsColumns:
    """Mixin for a result calculator or reference collector that needs ``columns`` of every
    valid record, gathered as they stream past (``self.collected``)."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.collected = Columns(columns)

    def observe(self, batch: RecordBatch) -> None:
        self.collected.add(batch)


def repeated_rows(table: pd.DataFrame, key: Sequence[str]) -> Iterator[tuple[pd.Series, int]]:
    """Each row whose ``key`` an earlier row already had, with that earlier row's number, so a
    duplicate's message names both rows (the catalog's fix for ``E-RULE-DUPLICATE`` says so)."""
    repeated = table.duplicated(list(key), keep=False).to_numpy(dtype=bool)
    if not repeated.any():
        return
    both = table[repeated]
    firsts = both.groupby(list(key), sort=False)[ROW].transform("first")
    for index in np.flatnonzero(both.duplicated(list(key), keep="first").to_numpy(dtype=bool)):
        yield both.iloc[index], int(firsts.iat[index])
