"""The ``ahrq`` family's plugin object ``FAMILY`` (entry point ``ahrq`` in pyproject.toml)."""

from __future__ import annotations

from gateway_plugins.hospital.ahrq.results import AhrqResults
from gateway_plugins.hospital.ahrq.rules import ahrq_rules
from gateway_schemas import schema_root

from gateway.contract import TableFamily

FAMILY = TableFamily(
    package="gateway_plugins.hospital.ahrq", schemas=schema_root() / "ahrq",
    measure="AHRQ-QI",
    measure_name="AHRQ Quality Indicators (IQI, PSI, PDI)", level="summary",
    schema="summary", signature=("indicator", "software_version"),
    rules=ahrq_rules, results=lambda m, r, c: AhrqResults(m.data["indicators"]))

