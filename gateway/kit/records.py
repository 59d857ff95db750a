"""Records typed through an installed schema, as the record layer types a submitted file's.

A family that derives data from records (the clinic examples' summaries are computed from their
patient rows) must see the values its rules see: dates as dates, numbers as numbers, every
record the schema refuses named. This runs the core's record layer for that, with the schemas of
every installed plugin, without the plugin reaching into the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.contract.findings import Finding
from gateway.contract.records import RecordBatch

if TYPE_CHECKING:
    import numpy as np


def check_records(schema_id: str,
                  batch: RecordBatch) -> tuple[RecordBatch, np.ndarray, list[Finding]]:
    """Validate ``batch`` (cells as text) against the installed schema ``schema_id``: the typed
    batch of the valid records, a mask of the records that failed, and the findings."""
    from gateway.engine.pipeline import default_plugins, record_layer

    return record_layer(default_plugins(), schema_id).check(batch)
