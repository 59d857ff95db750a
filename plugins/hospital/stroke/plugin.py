"""The ``stroke`` family's plugin object ``FAMILY`` (entry point ``stroke`` in pyproject.toml): its
layout, calendar and obligations are ``manifest.toml``; its rules and results are here."""

from __future__ import annotations

from gateway_plugins.hospital.stroke.results import StrokeResults
from gateway_plugins.hospital.stroke.rules import stroke_rules
from gateway_schemas import schema_root

from gateway.contract import Family

FAMILY = Family("gateway_plugins.hospital.stroke", schemas=schema_root() / "stroke",
                rules=stroke_rules, results=lambda m, r, c: StrokeResults(m))
