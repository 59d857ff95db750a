"""A data family's [obligation] table: who owes its files, and which obligation a file answers,
through the registry's submitter layer."""

from __future__ import annotations

from collections.abc import Callable

from gateway.contract.reference import EMPTY
from gateway.engine.pipeline import validate_file
from gateway.engine.plugins import Plugins
from gateway.submitters.registry_file import parse_registry
from gateway.testing import assert_receipt, assert_rejected
from tests.support.demo import DemoCopy

OBLIGATION = """
[obligation]
kinds = ["clinic"]
applies_if_any = [{ well_child = [true] }]
not_applicable = "VAX comes only from clinics with well-child visits."
"""
REGISTRY = b"""registry_version = "1"

[[submitter]]
id = "kids-clinic"
name = "Kids Clinic"
kind = "clinic"
npi = ["1234567893"]
well_child = true

[[submitter]]
id = "adult-clinic"
name = "Adult Clinic"
kind = "clinic"
npi = ["1245319599"]
well_child = false
"""
VALID = "examples/2016/vax/patient/valid/vax-two-patients.csv"


def test_who_owes_and_what_a_file_answers(demo_copy: DemoCopy,
                                          only_plugins: Callable[..., Plugins]) -> None:
    with (demo_copy.folder / "manifest.toml").open("a", encoding="utf-8") as handle:
        handle.write(OBLIGATION)
    plugins = only_plugins(demo_copy.plugin())
    registry = parse_registry(REGISTRY, "registry.toml")
    owed = {s.id: [o for found in plugins.hook.gateway_obligations(
        submitter=s, reporting_year=2016, registry=registry, reference=EMPTY) for o in found]
        for s in registry}
    assert [(o.measure, o.period, str(o.opens), str(o.due)) for o in owed["kids-clinic"]] == [
        ("VAX", "2016", "2016-01-01", "2016-02-15")]
    assert owed["adult-clinic"] == []

    path = demo_copy.folder / VALID
    kids = validate_file(path, submitter="kids-clinic", plugins=plugins, registry=registry,
                         received_at="2016-02-01T12:00:00Z")
    assert_receipt(kids, status="accepted")
    assert [(o["measure"], o["period"]) for o in kids.obligations] == [("VAX", "2016")]
    adults = validate_file(path, submitter="adult-clinic", plugins=plugins, registry=registry,
                           received_at="2016-02-01T12:00:00Z")
    assert_rejected(adults, "E-SUBMITTER-NOT-APPLICABLE")
    assert "only from clinics with well-child visits" in adults.findings.listed[0].message


def test_a_family_without_the_table_owes_nothing(demo_copy: DemoCopy,
                                                 only_plugins: Callable[..., Plugins]) -> None:
    plugins = only_plugins(demo_copy.plugin())
    registry = parse_registry(REGISTRY, "registry.toml")
    assert all(found == [] for s in registry for found in plugins.hook.gateway_obligations(
        submitter=s, reporting_year=2016, registry=registry, reference=EMPTY))
    receipt = validate_file(demo_copy.folder / VALID, submitter="kids-clinic",
                            plugins=plugins, registry=registry)
    assert receipt.obligations == []
