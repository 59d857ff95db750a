"""The ``ahrq`` family's plugin object ``FAMILY`` (entry point ``ahrq`` in pyproject.toml): its
layout, calendar and obligations are ``manifest.toml``; its rules and results are here."""

from __future__ import annotations

from gateway_plugins.hospital.ahrq.results import AhrqResults
from gateway_plugins.hospital.ahrq.rules import ahrq_rules
from gateway_schemas import schema_root

from gateway.contract import Family

FAMILY = Family("gateway_plugins.hospital.ahrq", schemas=schema_root() / "ahrq",
                rules=ahrq_rules, results=lambda m, r, c: AhrqResults(m.data["indicators"]))
