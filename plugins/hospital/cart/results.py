"""The figures of an accepted CART file: each measure's counts, its rate recomputed from them,
or its median."""

from __future__ import annotations

from typing import Any

from gateway_plugins.hospital.cart.reader import official

from gateway.contract import Manifest, RecordBatch, ResultCalculator, lazy_module, plain

pd = lazy_module("pandas")


class CartResults(ResultCalculator):
    """Per measure: rate measures give denominator, numerator and the computed rate (percent,
    one decimal); median measures give cases and the median in minutes."""

    def __init__(self, manifest: Manifest, hospital_type: str | None) -> None:
        del manifest  # measure names come from the manifest through ``official``
        self.hospital_type = hospital_type
        self.quarter: str | None = None
        self.measures: dict[str, dict[str, Any]] = {}

    def observe(self, batch: RecordBatch) -> None:
        for _, row in batch.frame.iterrows():
            self.quarter = self.quarter or str(row["discharge_quarter"])
            name = official(str(row["measure_id"]))
            if pd.notna(row["denominator"]):
                d, n = int(row["denominator"]), int(row["numerator"])
                self.measures[name] = {"kind": "rate", "denominator": d, "numerator": n,
                                       "rate": round(100.0 * n / d, 1) if d else None,
                                       "reported_rate": plain(row["rate"])}
            else:
                self.measures[name] = {"kind": "median", "cases": int(row["cases"]),
                                       "median_minutes": plain(row["median_minutes"])}

    def finish(self) -> dict[str, Any]:
        return {"discharge_quarter": self.quarter, "hospital_type": self.hospital_type,
                "measures": dict(sorted(self.measures.items()))}
