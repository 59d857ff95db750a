"""Which deadline a CART file answers: the outpatient date when it holds an outpatient (OP-*)
measure, otherwise the inpatient date (registry.md, "window")."""

from __future__ import annotations

from gateway.contract import PeriodObligations, RecordBatch

OUTPATIENT_PREFIX = "OP-"


class CartObligations(PeriodObligations):
    """A CART file's obligation, with the setting read from its measure ids."""

    outpatient = False

    def observe(self, batch: RecordBatch) -> None:
        super().observe(batch)
        if not self.outpatient and "measure_id" in batch.frame.columns:
            ids = batch.frame["measure_id"].astype("string").str.upper()
            self.outpatient = bool(ids.str.startswith(OUTPATIENT_PREFIX).fillna(False).any())

    def setting(self) -> str | None:
        return "outpatient" if self.outpatient else "inpatient"
