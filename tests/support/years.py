"""The registry of years a test asks instead of naming one: a test that needs a year a measure
lacks takes the one after its latest, so adding a year to a family never breaks it."""

from __future__ import annotations


def declared_years(family: str, measure: str) -> tuple[int, ...]:
    """The reporting years the installed plugins declare for a measure."""
    from gateway.engine.pipeline import default_plugins

    info = default_plugins().measure(family, measure)
    assert info is not None, f"no installed measure {family} {measure}"
    return info.reporting_years


def undeclared_year(family: str, measure: str) -> int:
    """A reporting year the measure does not have: the one after its latest."""
    return max(declared_years(family, measure)) + 1
