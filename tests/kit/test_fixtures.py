"""The kit's fixtures and receipt assertions, as a plugin author's tests use them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.engine.pipeline import validate_file
from gateway.engine.plugins import Plugins
from gateway.receipts.model import Receipt, Status
from gateway.testing import assert_accepted, assert_receipt, assert_rejected, check_plugin
from tests.support.demo import DemoCopy
from tests.support.paths import ODC

ODC_PATIENTS = ODC / "patient" / "valid" / "odc-patient-full.csv"


def vax_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "vax.csv"
    path.write_text("measure_id,reporting_year,patient_id,age,vaccinated\n"
                    + "".join(f"{row}\n" for row in rows), encoding="utf-8")
    return path


def test_only_plugins_holds_just_the_given_family(
        demo_copy: DemoCopy, only_plugins: Callable[..., Plugins], tmp_path: Path) -> None:
    plugins = only_plugins(demo_copy.plugin())
    assert list(plugins.families) == ["demo"]
    receipt = validate_file(vax_file(tmp_path, "VAX,2016,P1,30,Y"), submitter="t",
                            plugins=plugins)
    assert_receipt(receipt, status=Status.ACCEPTED, codes=[],
                   route=("demo", "VAX", "patient", 2016))
    odc = validate_file(ODC_PATIENTS, submitter="t", plugins=plugins)
    assert_rejected(odc, "E-ROUTE-UNRECOGNISED", layer="file")


def test_register_plugin_reaches_the_command_line_for_one_test(
        demo_copy: DemoCopy, register_plugin: Callable[[object], Plugins],
        gateway_validate: Callable[..., Receipt], tmp_path: Path) -> None:
    register_plugin(demo_copy.plugin())
    listed = CliRunner().invoke(app, ["plugins", "--json"])
    families = {row["family"] for row in json.loads(listed.output)}
    assert {"demo", "mncm"} <= families
    assert_accepted(gateway_validate(vax_file(tmp_path, "VAX,2016,P1,30,Y")))
    result = CliRunner().invoke(app, ["validate", str(vax_file(tmp_path, "VAX,2016,P1,30,Q")),
                                      "--submitter", "t"])
    assert result.exit_code == 1 and "E-RECORD-CODE" in result.output


def test_without_registering_the_demo_family_is_unknown(
        gateway_validate: Callable[..., Receipt], tmp_path: Path) -> None:
    assert_rejected(gateway_validate(vax_file(tmp_path, "VAX,2016,P1,30,Y")),
                    "E-ROUTE-UNRECOGNISED")


def test_assertions_pass_on_the_truth_and_explain_a_mismatch(tmp_path: Path) -> None:
    accepted = validate_file(ODC_PATIENTS, submitter="t")
    assert_accepted(accepted, warnings=[])
    assert_receipt(accepted, route=("mncm", "ODC", "patient", 2015),
                   results={"components": accepted.results["components"]})
    with pytest.raises(AssertionError, match="was accepted"):
        assert_rejected(accepted, "E-RECORD-CODE")
    rejected = validate_file(ODC / "patient" / "invalid" / "E-RECORD-CODE--unknown-payer.csv",
                             submitter="t")
    assert_rejected(rejected, "E-RECORD-CODE", layer="record", column="payer_type")
    with pytest.raises(AssertionError, match=r"rejected at the record layer:\n\s+E-RECORD-CODE"):
        assert_accepted(rejected)
    with pytest.raises(AssertionError, match="no E-RECORD-CODE at row=999"):
        assert_rejected(rejected, "E-RECORD-CODE", row=999)
    with pytest.raises(AssertionError, match="status rejected, expected accepted"):
        assert_receipt(rejected, status="accepted")


def test_an_installed_plugin_object_is_checked_and_registered_without_a_clash(
        register_plugin: Callable[[object], Plugins]) -> None:
    from gateway_plugins.hospital.edtc.plugin import FAMILY

    assert check_plugin(FAMILY)
    assert "edtc" in register_plugin(FAMILY).families
