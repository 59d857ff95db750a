"""The ``von`` family's plugin object ``FAMILY`` (entry point ``von`` in pyproject.toml): its
layout, calendar and obligations are ``manifest.toml``; its rules and results are here."""

from __future__ import annotations

from gateway_plugins.hospital.common.results import RowRates
from gateway_plugins.hospital.von.rules import von_rules
from gateway_schemas import schema_root

from gateway.contract import Family

FAMILY = Family(
    "gateway_plugins.hospital.von", schemas=schema_root() / "von", rules=von_rules,
    results=lambda m, r, c: RowRates("cohort", "late_infections", "eligible_infants"))
