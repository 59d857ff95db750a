"""DTI-25 and DTN-60 computed from the patient rows, streaming (counts only are kept)."""

from __future__ import annotations

from typing import Any

from gateway_plugins.hospital.common.results import computed_rate

from gateway.contract import Manifest, RecordBatch, ResultCalculator, lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")


class StrokeResults(ResultCalculator):
    """DTI-25: patients whose imaging began within 25 minutes of arrival, over every patient.
    DTN-60: patients given a thrombolytic within 60 minutes of arrival, over the patients who
    were eligible (Y) and received one."""

    def __init__(self, manifest: Manifest) -> None:
        self.indicators = manifest.data["indicators"]
        self.counts = {name: [0, 0] for name in self.indicators}
        self.quarter: str | None = None

    def observe(self, batch: RecordBatch) -> None:
        frame = batch.frame
        if len(frame) and self.quarter is None:
            self.quarter = str(frame["quarter"].iloc[0])
        for name, spec in self.indicators.items():
            minutes = (frame[spec["end"]] - frame[spec["start"]]) / pd.Timedelta(minutes=1)
            within = (minutes <= spec["minutes"]).fillna(False).to_numpy(dtype=bool)
            if spec["end"] == "thrombolytic_time":
                denominator = ((frame["thrombolytic_eligible"] == "Y").fillna(False)
                               & frame["thrombolytic_time"].notna()).to_numpy(dtype=bool)
            else:
                denominator = np.ones(len(frame), dtype=bool)
            self.counts[name][0] += int(np.count_nonzero(within & denominator))
            self.counts[name][1] += int(np.count_nonzero(denominator))

    def finish(self) -> dict[str, Any]:
        return {"quarter": self.quarter, "indicators": {
            name: {"name": spec["name"], "numerator": self.counts[name][0],
                   "denominator": self.counts[name][1],
                   "rate": computed_rate(*self.counts[name])}
            for name, spec in self.indicators.items()}}
