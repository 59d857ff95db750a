"""The hospital schemas are complete enough for generated templates and docs: every column has
a description, coded columns list their codes, and every family's schema $id follows the
project's naming."""

from __future__ import annotations

import pytest

from gateway.engine.pipeline import default_plugins

FAMILIES = ("cart", "edtc", "nhsn", "stroke", "von", "ahrq")


def _schema_ids() -> list[str]:
    store = default_plugins().schemas
    return sorted(i for i in store.documents if i.split(":")[3] in FAMILIES)


def test_every_family_has_a_schema() -> None:
    assert {i.split(":")[3] for i in _schema_ids()} == set(FAMILIES)


@pytest.mark.parametrize("schema_id", _schema_ids())
def test_every_property_is_described(schema_id: str) -> None:
    resolved = default_plugins().schemas.resolved(schema_id)
    assert resolved.get("title") and resolved.get("description")
    for name, prop in resolved["properties"].items():
        assert prop.get("description"), f"{schema_id}: {name} has no description"
        if name in ("measure_id", "measure", "location_type", "birthweight_category",
                    "diagnosis", "cohort", "indicator", "gender", "population_basis",
                    "thrombolytic_eligible"):
            assert prop.get("enum"), f"{schema_id}: coded column {name} has no enum"
