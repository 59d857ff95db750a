"""The ``edtc`` family's plugin object ``FAMILY`` (entry point ``edtc`` in pyproject.toml): its
layout, calendar and obligations are ``manifest.toml``; its rules and results are here.

EDTC is required of critical access hospitals only; a file from a hospital the registry does
not list as CAH is E-SUBMITTER-NOT-APPLICABLE at the submitter layer, which waits for the
registry (docs/hospital-decisions.md).
"""

from __future__ import annotations

from gateway_plugins.hospital.common.results import RowRates
from gateway_plugins.hospital.edtc.rules import edtc_rules
from gateway_schemas import schema_root

from gateway.contract import Family

FAMILY = Family(
    "gateway_plugins.hospital.edtc", schemas=schema_root() / "edtc", rules=edtc_rules,
    results=lambda m, r, c: RowRates("measure", "numerator", "denominator",
                                     header=("quarter", "population_basis")))
