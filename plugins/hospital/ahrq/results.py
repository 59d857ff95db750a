"""The figures of an accepted AHRQ QI file: each indicator's rate computed per 100 or per
1,000, each composite's reported value, and PDI-07's volume."""

from __future__ import annotations

from typing import Any

from gateway_plugins.hospital.common.results import computed_rate

from gateway.contract import RecordBatch, ResultCalculator, plain


class AhrqResults(ResultCalculator):
    """Rates recomputed from the counts at each indicator's scale; composites and PDI-07 as
    sent (there is nothing to recompute them from)."""

    def __init__(self, indicators: dict) -> None:
        self.indicators = indicators
        self.rows: dict[str, dict[str, Any]] = {}
        self.version: str | None = None

    def observe(self, batch: RecordBatch) -> None:
        for _, row in batch.frame.iterrows():
            self.version = self.version or str(row["software_version"])
            name = str(row["indicator"])
            spec = self.indicators[name]
            if spec["kind"] == "rate":
                n, d = int(row["numerator"]), int(row["denominator"])
                self.rows[name] = {"numerator": n, "denominator": d, "per": spec["per"],
                                   "rate": computed_rate(n, d, float(spec["per"]), 2)}
            elif spec["kind"] == "composite":
                self.rows[name] = {"composite_value": plain(row["observed_rate"])}
            else:
                self.rows[name] = {"volume": plain(row["volume"])}

    def finish(self) -> dict[str, Any]:
        return {"software_version": self.version, "indicators": dict(sorted(self.rows.items()))}
