"""``gateway schema diff``: every change between two years, in words, and nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable

from typer.testing import CliRunner

from gateway.authoring.scaffold import scaffold_data_year
from gateway.authoring.schemadiff import diff_years
from gateway.cli import app
from gateway.contract import Route, hookimpl
from gateway.engine.plugins import Plugins, load_plugins
from gateway.kit.manifest import parse_manifest
from tests.support.demo import DemoCopy
from tests.support.years import declared_years, undeclared_year

ODC_2016 = [
    "numerator target A1C: a1c_value below 7.0 (was below 8.0)",
    "dates of service moved from 2014-01-01..2014-12-31 to 2015-01-01..2015-12-31",
    "submission window moved from 2015-01-01..2015-02-15 to 2016-01-01..2016-02-15",
]


def test_odc_2016_names_the_a1c_target_and_the_dates_and_nothing_else() -> None:
    result = CliRunner().invoke(app, ["schema", "diff", "mncm", "ODC", "2015", "2016"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "mncm ODC: reporting year 2015 -> 2016, 3 change(s):", *(f"- {t}" for t in ODC_2016)]
    as_json = CliRunner().invoke(app, ["schema", "diff", "mncm", "odc", "2015", "2016",
                                       "--json"])
    document = json.loads(as_json.output)
    assert [c["text"] for c in document["changes"]] == ODC_2016
    target = document["changes"][0]
    assert (target["kind"], target["before"], target["after"]) == (
        "target", {"exclusiveMaximum": 8.0}, {"exclusiveMaximum": 7.0})


def test_a_year_the_measure_lacks_is_a_usage_error() -> None:
    year, known = undeclared_year("mncm", "OVC"), declared_years("mncm", "OVC")
    result = CliRunner().invoke(app, ["schema", "diff", "mncm", "OVC", str(known[0]),
                                      str(year)])
    assert result.exit_code == 2 and f"OVC has no reporting year {year}; years: " \
        f"{', '.join(map(str, known))}" in result.output


def test_each_kind_of_change_is_named(demo_copy: DemoCopy,
                                      only_plugins: Callable[..., Plugins]) -> None:
    folder = demo_copy.folder
    manifest = parse_manifest((folder / "manifest.toml").read_text())
    scaffold_data_year(folder, manifest, "VAX", 2017, None)
    plugins = only_plugins(demo_copy.plugin())
    assert diff_years(plugins, "demo", "VAX", 2016, 2017)[0].kind == "dates"
    assert len(diff_years(plugins, "demo", "VAX", 2016, 2017)) == 2  # the dates alone

    schema = folder / "schemas" / "2017" / "vax.patient.schema.json"
    document = json.loads(schema.read_text())
    props = document["properties"]
    props["vaccinated"]["enum"] = ["Y", "N", "REFUSED"]
    props["age"]["maximum"] = 110
    props["patient_id"]["pattern"] = "^[A-Z0-9]+$"
    props["vaccine"] = {"type": "string", "enum": ["FLU", "COVID"], "description": "Which."}
    del props["age"]["description"]  # wording is not a change
    document["required"].remove("age")
    document["allOf"] = [{"if": {"properties": {"vaccinated": {"const": "Y"}}},
                          "then": {"required": ["vaccine"],
                                   "x-message": "vaccine is empty but vaccinated is Y."}}]
    schema.write_text(json.dumps(document))
    texts = [c.text for c in diff_years(only_plugins(demo_copy.plugin()), "demo", "VAX",
                                        2016, 2017)]
    assert texts[:-2] == [
        "column vaccine added",
        "patient_id: pattern none -> ^[A-Z0-9]+$",
        "age: allowed range [0..120] -> [0..110]",
        "vaccinated: codes added: REFUSED",
        "age is no longer required",
        "record rule added: vaccine is empty but vaccinated is Y.",
    ]
    assert texts[-2].startswith("dates of service moved")


class _YearData:
    """A plugin that declares ODC's code list and limit as data, differently per year."""

    @hookimpl
    def gateway_year_data(self, route: Route) -> dict[str, object] | None:
        if (route.family, route.measure) != ("mncm", "ODC"):
            return None
        if route.reporting_year == 2015:
            return {"insulin codes": ["A", "B"], "largest sample": 45}
        return {"insulin codes": ["A", "C"], "largest sample": 60}


def test_code_lists_and_limits_declared_as_data_are_named() -> None:
    plugins = load_plugins([_YearData()])
    texts = [c.text for c in diff_years(plugins, "mncm", "ODC", 2015, 2016)]
    assert texts == [*ODC_2016[:1], "insulin codes: added C; removed B",
                     "largest sample: 45 -> 60", *ODC_2016[1:]]
