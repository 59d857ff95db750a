"""The ``nhsn`` family's plugin object ``FAMILY`` (entry point ``nhsn`` in pyproject.toml)."""

from __future__ import annotations

from gateway_plugins.hospital.nhsn.results import NhsnResults
from gateway_plugins.hospital.nhsn.rules import nhsn_rules
from gateway_schemas import schema_root

from gateway.contract import TableFamily

FAMILY = TableFamily(
    package="gateway_plugins.hospital.nhsn", schemas=schema_root() / "nhsn",
    measure="CLABSI",
    measure_name="Central line-associated bloodstream infections by ICU", level="summary",
    schema="summary", signature=("location_type", "central_line_days"),
    rules=nhsn_rules, results=lambda m, r, c: NhsnResults())

