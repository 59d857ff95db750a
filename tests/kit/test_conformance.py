"""The conformance kit on a small data family: it passes as shipped, and each way an author
can break a plugin fails the run with a message naming the place and the fault."""

from __future__ import annotations

import re

import pytest

from gateway.contract.hooks import hookimpl
from gateway.contract.records import Candidate, FileSample
from gateway.engine.plugins import load_plugins
from gateway.testing import check_plugin
from tests.support.demo import DemoCopy

VAX_SCHEMA = "schemas/2016/vax.patient.schema.json"
VALID = "examples/2016/vax/patient/valid/vax-two-patients.csv"


def failures(plugin: object, **kwargs: object) -> str:
    with pytest.raises(AssertionError) as caught:
        check_plugin(plugin, **kwargs)
    return str(caught.value)


def test_the_demo_family_conforms_and_its_examples_ran(demo_copy: DemoCopy) -> None:
    cases = check_plugin(demo_copy.plugin())
    assert sorted((c.valid, c.expected_code) for c in cases) == [
        (False, "E-RECORD-CODE"), (False, "E-RECORD-RANGE"), (True, None)]


def test_a_broken_valid_example_fails_naming_the_file_and_the_code(demo_copy: DemoCopy) -> None:
    demo_copy.edit(VALID, "P2,61,N", "P2,61,X")
    text = failures(demo_copy.plugin())
    assert "fails 1 conformance check" in text
    assert "vax-two-patients.csv: a valid example was rejected with E-RECORD-CODE" in text


def test_an_invalid_example_that_breaks_another_rule_fails(demo_copy: DemoCopy) -> None:
    bad = demo_copy.folder / "examples/2016/vax/patient/invalid/E-RECORD-RANGE--age-134.csv"
    bad.rename(bad.with_name("E-RECORD-REQUIRED--age-134.csv"))
    assert "expected only E-RECORD-REQUIRED, got E-RECORD-RANGE" in failures(demo_copy.plugin())


def test_a_scaffold_marker_left_behind_fails(demo_copy: DemoCopy) -> None:
    demo_copy.edit(VAX_SCHEMA, '"One row per patient seen in 2015."',
                   '"TODO(new-measure): say what one row is."')
    text = failures(demo_copy.plugin())
    assert re.search(r"vax\.patient\.schema\.json line \d+: unresolved scaffold marker", text)


def test_an_undescribed_column_and_a_broken_schema_fail(demo_copy: DemoCopy) -> None:
    demo_copy.edit(VAX_SCHEMA, '"description": "Age in whole years on 2015-12-31."',
                   '"x-note": "none"')
    assert "demo VAX patient 2016: column age has no description" in failures(
        demo_copy.plugin())
    demo_copy.edit(VAX_SCHEMA, '"type": "integer", "minimum": 0', '"type": "whole", "minimum": 0')
    assert "vax.patient.schema.json: not a valid JSON Schema" in failures(demo_copy.plugin())


def test_a_declared_year_without_its_files_is_incomplete(demo_copy: DemoCopy) -> None:
    with (demo_copy.folder / "manifest.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[measures.VAX.years.2017]\ndates_of_service = ["2016-01-01", '
                     '"2016-12-31"]\nsubmission_window = ["2017-01-01", "2017-02-15"]\n')
    text = failures(demo_copy.plugin())
    assert "demo VAX patient 2017: declared but gateway_schema_id gives no schema" in text
    assert "demo VAX patient 2017: no valid example (examples/2017/vax/patient/valid/)" in text
    assert "demo VAX patient 2017: no invalid example" in text


def test_a_calendar_that_closes_in_another_year_fails(demo_copy: DemoCopy) -> None:
    demo_copy.edit("manifest.toml", '"2016-01-01", "2016-02-15"', '"2015-12-01", "2015-12-31"')
    assert "last window does not close in the reporting year" in failures(demo_copy.plugin())


def test_an_example_in_the_wrong_year_folder_fails(demo_copy: DemoCopy) -> None:
    demo_copy.edit(VALID, "VAX,2016,P1", "VAX,2017,P1")
    demo_copy.edit(VALID, "VAX,2016,P2", "VAX,2017,P2")
    assert "E-ROUTE-YEAR" in failures(demo_copy.plugin())


class Greedy:
    """Another installed plugin that claims every CSV file."""

    @hookimpl
    def gateway_recognise(self, sample: FileSample) -> list[Candidate]:
        return [Candidate("mncm", "ODC", "patient", 2015)] if sample.format == "csv" else []


def test_an_example_claimed_by_two_families_fails(demo_copy: DemoCopy) -> None:
    plugin = demo_copy.plugin()
    both = load_plugins([plugin, Greedy()])
    text = failures(plugin, plugins=both)
    assert "E-ROUTE-AMBIGUOUS" in text and "vax-two-patients.csv" in text


def test_an_unknown_plugin_name_lists_the_installed_ones() -> None:
    with pytest.raises(LookupError, match=r"installed: .*mncm"):
        check_plugin("no-such-plugin")


def test_a_schema_no_declared_year_uses_fails(demo_copy: DemoCopy) -> None:
    schema = demo_copy.folder / VAX_SCHEMA
    (demo_copy.folder / "schemas" / "2017").mkdir()
    (demo_copy.folder / "schemas" / "2017" / "vax.patient.schema.json").write_text(
        schema.read_text().replace(":2016:", ":2017:"))
    assert ("urn:gateway-plugin:demo:2017:vax:patient is used by no declared year"
            in failures(demo_copy.plugin()))


def test_the_command_line_lists_every_problem_and_exits_1(
        demo_copy: DemoCopy, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    import gateway.kit.conformance
    from gateway.cli import app

    assert CliRunner().invoke(app, ["check-plugin", "edtc"]).output == "edtc: conforms\n"
    demo_copy.edit(VALID, "P2,61,N", "P2,61,X")
    broken = load_plugins([demo_copy.plugin()], entry_points=False)
    monkeypatch.setattr(gateway.kit.conformance, "load_plugins", lambda **_: broken)
    result = CliRunner().invoke(app, ["check-plugin", "demo"])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == "demo: 1 problem(s)"
    assert "vax-two-patients.csv: a valid example was rejected with E-RECORD-CODE" in \
        result.output
