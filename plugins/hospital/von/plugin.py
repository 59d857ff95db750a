"""The ``von`` family's plugin object ``FAMILY`` (entry point ``von`` in pyproject.toml)."""

from __future__ import annotations

from gateway_plugins.hospital.common.results import RowRates
from gateway_plugins.hospital.von.rules import von_rules
from gateway_schemas import schema_root

from gateway.contract import TableFamily

FAMILY = TableFamily(
    package="gateway_plugins.hospital.von", schemas=schema_root() / "von",
    measure="VON",
    measure_name="Late sepsis or meningitis in very-low-birth-weight infants", level="summary",
    schema="summary", signature=("cohort", "eligible_infants"),
    rules=von_rules,
    results=lambda m, r, c: RowRates("cohort", "late_infections", "eligible_infants"))

