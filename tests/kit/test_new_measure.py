"""``gateway new-measure``: scaffolds made in a source tree, never in an installed copy."""

from __future__ import annotations

import csv
import json
import shutil
import sysconfig
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.authoring.scaffold import copy_examples, core_requirement
from gateway.cli import app
from gateway.engine.plugins import Plugins
from gateway.testing import check_plugin
from tests.support.demo import DemoCopy
from tests.support.paths import ROOT
from tests.support.years import undeclared_year

CLINIC = ROOT / "plugins" / "clinic" / "mncm" / "examples"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["new-measure", *args])
    return result.exit_code, result.output


def test_an_installed_copy_is_never_edited() -> None:
    code, output = run("demo", "VAX", "--year", "2017", "--path",
                       sysconfig.get_paths()["purelib"])
    assert code == 2 and "is an installed copy (site-packages)" in output
    assert "source tree" in output


def test_the_clinic_family_refuses_a_tree_without_its_source(tmp_path: Path) -> None:
    code, output = run("mncm", "ODC", "--year", str(undeclared_year("mncm", "ODC")), "--path",
                       str(tmp_path))
    assert code == 2 and "no clinic source (plugins/clinic/mncm/manifest.toml)" in output


def clinic_copy(tmp_path: Path) -> Path:
    """The clinic source and its schemas, copied into a checkout-shaped folder."""
    shutil.copytree(ROOT / "plugins" / "clinic" / "mncm", tmp_path / "plugins/clinic/mncm",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "schemas" / "mncm", tmp_path / "schemas" / "mncm")
    return tmp_path / "plugins/clinic/mncm"


def test_a_clinic_year_goes_through_the_generator_in_the_given_tree(tmp_path: Path) -> None:
    """In a copy of the checkout's clinic source: the manifest year, the generated schemas and
    the examples of ODC's next year (the one after its latest, asked of the registry of
    years), carrying the latest year's targets; the checkout is untouched."""
    clinic_copy(tmp_path)
    year = undeclared_year("mncm", "ODC")
    latest = year - 1
    before = (ROOT / "plugins/clinic/mncm/manifest.toml").read_text()
    code, output = run("mncm", "ODC", "--year", str(year), "--path", str(tmp_path))
    assert code == 0, output
    assert f"numerator targets copied from {latest} (A1C: a1c_value <" in output
    assert (ROOT / "plugins/clinic/mncm/manifest.toml").read_text() == before
    manifest = (tmp_path / "plugins/clinic/mncm/manifest.toml").read_text()
    assert (f'[measures.ODC.years.{year}]\n'
            f'dates_of_service = ["{year - 1}-01-01", "{year - 1}-12-31"]' in manifest)
    schemas = tmp_path / "schemas" / "mncm"
    for level in ("summary", "patient"):
        made = json.loads((schemas / str(year) / f"odc.{level}.schema.json").read_text())
        last = json.loads((schemas / str(latest) / f"odc.{level}.schema.json").read_text())
        assert made["x-targets"] == last["x-targets"]
        assert made["properties"]["reporting_year"]["const"] == year
        assert set(made["properties"]) == set(last["properties"])
    assert not (ROOT / "schemas" / "mncm" / str(year)).exists()
    made = list((tmp_path / f"plugins/clinic/mncm/examples/{year}/odc").rglob("*.csv"))
    assert len(made) == len(list((CLINIC / str(latest) / "odc").rglob("*.csv")))


def test_the_committed_odc_2016_examples_are_2015_moved_a_year(tmp_path: Path) -> None:
    """What the scaffold wrote for 2016; the valid summary was then rederived from the same
    patients under the 2016 target (tests/kit/test_reporting_years.py checks its figures)."""
    copy_examples(CLINIC / "2015" / "odc", tmp_path / "odc", 2015, 2016)
    made = sorted((tmp_path / "odc").rglob("*.csv"))
    assert len(made) == len(list((CLINIC / "2016" / "odc").rglob("*.csv"))) == 21
    for path in made:
        committed = CLINIC / "2016" / "odc" / path.relative_to(tmp_path / "odc")
        if committed.name != "odc-summary-full.csv":
            assert path.read_bytes() == committed.read_bytes(), committed.name


def test_what_names_a_period_but_cannot_be_moved_is_listed(demo_copy: DemoCopy) -> None:
    demo_copy.edit("schemas/2016/vax.patient.schema.json", '"minLength": 1',
                   '"minLength": 1, "pattern": "^P(2015|2016)-"')
    code, output = run("demo", "VAX", "--year", "2017", "--path", str(demo_copy.folder))
    assert code == 0, output
    assert ("could not decide, left as it is: schemas/2017/vax.patient: "
            "#/properties/patient_id/pattern = '^P(2015|2016)-'") in output


def test_a_data_family_year_is_scaffolded_and_conforms(demo_copy: DemoCopy) -> None:
    code, output = run("demo", "VAX", "--year", "2017", "--path", str(demo_copy.folder))
    assert code == 0, output
    assert "check them against the program's published 2017 calendar" in output
    assert "gateway schema diff demo VAX 2016 2017" in output
    with (demo_copy.folder / "examples/2017/vax/patient/valid/vax-two-patients.csv").open() as f:
        assert {row["reporting_year"] for row in csv.DictReader(f)} == {"2017"}
    cases = check_plugin(demo_copy.plugin())
    assert {c.path.parts[-5] for c in cases} == {"2016", "2017"}
    code, output = run("demo", "VAX", "--year", "2017", "--path", str(demo_copy.folder))
    assert code == 2 and "already has reporting year 2017" in output


def test_a_new_measure_is_refused_until_its_markers_are_resolved(
        demo_copy: DemoCopy, only_plugins: Callable[..., Plugins]) -> None:
    code, output = run("demo", "flu", "--year", "2016", "--path", str(demo_copy.folder))
    assert code == 0, output
    assert "each is marked TODO(new-measure)" in output
    with pytest.raises(AssertionError) as caught:
        check_plugin(demo_copy.plugin())
    text = str(caught.value)
    for where in ("manifest.toml line", "flu.patient.schema.json line", "README.md line"):
        assert f"{where}" in text and "unresolved scaffold marker" in text
    assert "demo FLU patient 2016: no valid example" in text


def test_a_new_family_gets_a_package_an_entry_point_and_a_test(tmp_path: Path) -> None:
    code, output = run("opx", "RX", "--year", "2016", "--path", str(tmp_path))
    assert code == 0, output
    assert 'opx = "opx_plugin.plugin:FAMILY"' in (tmp_path / "pyproject.toml").read_text()
    major, minor = version("sqrms-gateway").split(".")[:2]
    pinned = f'dependencies = ["sqrms-gateway>={major}.{minor},<'
    assert pinned in (tmp_path / "pyproject.toml").read_text()
    assert (tmp_path / "opx_plugin" / "schemas" / "2016" / "rx.patient.schema.json").is_file()
    assert 'check_plugin("opx")' in (tmp_path / "tests" / "test_conformance.py").read_text()
    code, output = run("opx", "RX", "--year", "2016", "--path", str(tmp_path))
    assert code == 2 and "already has reporting year 2016" in output


def test_the_core_range_allows_releases_that_keep_hooks_compatible() -> None:
    assert core_requirement("0.1.0") == "sqrms-gateway>=0.1,<0.2"
    assert core_requirement("0.3.0rc1") == "sqrms-gateway>=0.3,<0.4"
    assert core_requirement("1.4.2") == "sqrms-gateway>=1.4,<2"


def test_a_hospital_family_is_scaffolded_only_in_its_own_source_tree(tmp_path: Path) -> None:
    code, output = run("edtc", "EDTC", "--year", "2016", "--path", str(tmp_path))
    assert code == 2 and f"is not under {tmp_path.resolve()}" in output
    code, output = run("edtc", "NEWM", "--year", "2016", "--path", str(tmp_path))
    assert code == 2 and "a new hospital measure is a table family in code" in output
    assert not list(tmp_path.iterdir())


def test_ids_and_levels_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    code, output = run("Vax Family", "VAX", "--year", "2016", "--path", str(tmp_path))
    assert code == 2 and "a family id is lower-case letters" in output
    code, output = run("vax", "VAX", "--year", "2016", "--level", "both", "--path",
                       str(tmp_path))
    assert code == 2 and "levels are summary and/or patient, not both" in output
    assert list(tmp_path.iterdir()) == []


def test_a_new_clinic_measure_is_generated_with_its_open_questions_marked(
        tmp_path: Path) -> None:
    from gateway_plugins.clinic.mncm.manifest import parse_measures

    source = clinic_copy(tmp_path)
    code, output = run("mncm", "NEW", "--year", "2016", "--path", str(tmp_path))
    assert code == 0, output
    assert "numerators.py: who is in the numerator (numerators.new, in NUMERATORS)" in output
    spec = parse_measures((source / "manifest.toml").read_text())["NEW"]
    assert spec.years[2016].submission_window[1].isoformat() == "2016-02-15"
    assert "TODO(new-measure)" in spec.name
    for level in ("summary", "patient"):
        schema = json.loads((tmp_path / f"schemas/mncm/2016/new.{level}.schema.json").read_text())
        assert schema["$id"] == f"urn:mn-sqrms:schema:mncm:2016:new:{level}"
    patient = (tmp_path / "schemas/mncm/2016/new.patient.schema.json").read_text()
    assert "TODO(new-measure): replace with the measure's own patient columns" in patient
    assert (source / "examples/2016/new/patient/valid/README.md").is_file()
