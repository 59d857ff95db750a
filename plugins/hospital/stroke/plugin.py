"""The ``stroke`` family's plugin object ``FAMILY`` (entry point ``stroke`` in pyproject.toml)."""

from __future__ import annotations

from gateway_plugins.hospital.stroke.results import StrokeResults
from gateway_plugins.hospital.stroke.rules import stroke_rules
from gateway_schemas import schema_root

from gateway.contract import TableFamily

FAMILY = TableFamily(
    package="gateway_plugins.hospital.stroke", schemas=schema_root() / "stroke",
    measure="STROKE",
    measure_name="Stroke Registry indicators DTI-25 and DTN-60", level="patient",
    schema="patient", signature=("arrival_time", "thrombolytic_eligible"),
    rules=stroke_rules, results=lambda m, r, c: StrokeResults(m))

