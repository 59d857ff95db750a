"""The figures of an accepted NHSN file: CLABSI rate per 1,000 line days by unit and category,
and per unit over its categories."""

from __future__ import annotations

from typing import Any

from gateway_plugins.hospital.common.results import computed_rate

from gateway.contract import RecordBatch, ResultCalculator, lazy_module

pd = lazy_module("pandas")


class NhsnResults(ResultCalculator):
    """Events, line days and the computed rate (per 1,000, two decimals) per row and unit."""

    def __init__(self) -> None:
        self.quarter: str | None = None
        self.units: dict[str, dict[str, Any]] = {}

    def observe(self, batch: RecordBatch) -> None:
        for _, row in batch.frame.iterrows():
            self.quarter = self.quarter or str(row["quarter"])
            unit = self.units.setdefault(str(row["location_code"]), {
                "location_type": str(row["location_type"]), "clabsi_events": 0,
                "central_line_days": 0, "patient_days": 0, "categories": {}})
            events, days = int(row["clabsi_events"]), int(row["central_line_days"])
            unit["clabsi_events"] += events
            unit["central_line_days"] += days
            unit["patient_days"] += int(row["patient_days"])
            category = row["birthweight_category"]
            if pd.notna(category):
                unit["categories"][str(category)] = {
                    "clabsi_events": events, "central_line_days": days,
                    "rate_per_1000": computed_rate(events, days, 1000.0, 2)}

    def finish(self) -> dict[str, Any]:
        for unit in self.units.values():
            unit["rate_per_1000"] = computed_rate(unit["clabsi_events"],
                                                  unit["central_line_days"], 1000.0, 2)
        return {"quarter": self.quarter, "units": self.units}
