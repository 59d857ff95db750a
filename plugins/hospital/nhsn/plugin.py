"""The ``nhsn`` family's plugin object ``FAMILY`` (entry point ``nhsn`` in pyproject.toml): its
layout, calendar and obligations are ``manifest.toml``; its rules and results are here."""

from __future__ import annotations

from gateway_plugins.hospital.nhsn.results import NhsnResults
from gateway_plugins.hospital.nhsn.rules import nhsn_rules
from gateway_schemas import schema_root

from gateway.contract import Family

FAMILY = Family("gateway_plugins.hospital.nhsn", schemas=schema_root() / "nhsn",
                rules=nhsn_rules, results=lambda m, r, c: NhsnResults())
